package models

import "strings"

// The status of an opening in Smartcar's security response.
const (
	OpeningOpen    = "OPEN"
	OpeningClosed  = "CLOSED"
	OpeningUnknown = "UNKNOWN"
)

// Opening is one door, window, sunroof, storage compartment or charging port, and whether it is open.
type Opening struct {
	Type   string // frontLeft, frontRight, backLeft, backRight, sunroof, front, rear, chargingPort
	Status string // OPEN, CLOSED or UNKNOWN
}

// Security is a vehicle's lock status: whether it is locked, and its openings by kind. A kind the
// vehicle does not have is an empty list.
type Security struct {
	Locked                                         bool
	Doors, Windows, Sunroof, Storage, ChargingPort []Opening
}

// simTwoDoorModels are the catalogue's coupés and three-door hatchbacks; every other model has four doors.
var simTwoDoorModels = []string{"911", "Cooper SE"}

// simFrontTrunkOnly are rear-engined models: their luggage space is at the front.
var simFrontTrunkOnly = []string{"911"}

// Security is the vehicle's lock status. The simulation keeps the locks and the plug, not each door,
// so every door, window, sunroof and trunk is closed and the charging port is open while a cable is
// plugged in. Which openings exist follows the model: two doors for the coupés (simTwoDoorModels),
// four otherwise, a window per door; a sunroof on every non-BEV (the catalogue's BEVs have fixed glass
// roofs); a rear trunk, plus a front one on BEVs (no engine there), front only on rear-engined models;
// a charging port on BEVs and PHEVs.
func (s VehicleState) Security() Security {
	closed := func(types ...string) []Opening {
		out := make([]Opening, 0, len(types))
		for _, t := range types {
			out = append(out, Opening{Type: t, Status: OpeningClosed})
		}
		return out
	}
	sides := []string{"frontLeft", "frontRight", "backLeft", "backRight"}
	if modelIn(s.Model, simTwoDoorModels) {
		sides = sides[:2]
	}
	sec := Security{Locked: s.Locked, Doors: closed(sides...), Windows: closed(sides...),
		Sunroof: closed(), Storage: closed("rear"), ChargingPort: closed()}
	if s.Powertrain != BEV {
		sec.Sunroof = closed("sunroof")
	}
	switch {
	case modelIn(s.Model, simFrontTrunkOnly):
		sec.Storage = closed("front")
	case s.Powertrain == BEV:
		sec.Storage = closed("front", "rear")
	}
	if s.Electric() {
		port := Opening{Type: "chargingPort", Status: OpeningClosed}
		if s.PluggedIn {
			port.Status = OpeningOpen
		}
		sec.ChargingPort = []Opening{port}
	}
	return sec
}

// modelIn reports whether model is one of names, as the catalogue spells them or in any case.
func modelIn(model string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(strings.TrimSpace(model), n) {
			return true
		}
	}
	return false
}
