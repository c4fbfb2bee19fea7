package models

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Vehicle is a simulated vehicle an owner can share.
type Vehicle struct {
	ID         string // a UUID string, stable for (owner, make, index)
	VIN        string // 17 characters, starts with "0SC", only VIN characters (no I, O, Q), stable
	Make       string // make id, e.g. "TESLA"
	Model      string
	Year       int
	Powertrain string // BEV, PHEV, HEV or ICE

	// level is the test-mode level of a pinned vehicle ("compatible", "bev", "phev", "fuel", "incompatible"),
	// or "" for a generated one. "compatible" and "incompatible" override what the powertrain serves.
	// It is unexported so Vehicle stays comparable and its JSON shape unchanged; it does not survive
	// serialisation, so re-derive a pinned vehicle with FindSimulatedVehicle rather than storing it.
	level string
}

// Test-mode levels of a <VIN>@<level> login.
const (
	simLevelCompatible   = "compatible"
	simLevelBEV          = "bev"
	simLevelPHEV         = "phev"
	simLevelFuel         = "fuel"
	simLevelIncompatible = "incompatible"
)

// Scenario outcomes a test-mode email can ask for.
const (
	ScenarioVehicleIncompatible = "vehicle_incompatible"
	ScenarioInvalidSubscription = "invalid_subscription"
	ScenarioNoVehicles          = "no_vehicles"
)

// simTestModelName is the model of a pinned vehicle whose make has no model of the level's powertrain.
const simTestModelName = "Test Vehicle"

// simVINAlphabet holds the characters a VIN may use (no I, O or Q).
const simVINAlphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"

// simVINPrefix starts every generated VIN, as Smartcar's simulated vehicles do.
const simVINPrefix = "0SC"

// simUniversal is what every vehicle serves whatever its powertrain.
var simUniversal = map[string]bool{
	"read_vehicle_info": true,
	"read_vin":          true,
	"read_odometer":     true,
	"read_location":     true,
	"read_tires":        true,
	"read_security":     true,
	"control_security":  true,
}

// Why a vehicle cannot serve a permission, in Smartcar's words (COMPATIBILITY error codes and the
// compatibility API's capability reasons).
const (
	ReasonVehicleNotCapable  = "VEHICLE_NOT_CAPABLE"  // the powertrain has no such thing (fuel on a BEV)
	ReasonSmartcarNotCapable = "SMARTCAR_NOT_CAPABLE" // the vehicle might, the platform does not serve it
)

// Supports reports whether the vehicle can serve a permission: BEVs have no read_fuel (and no read_engine_oil);
// ICE and HEV have no read_battery, read_charge or control_charge; PHEVs serve everything. Every vehicle serves
// read_vehicle_info, read_vin, read_odometer, read_location, read_tires, read_security, control_security.
// A pinned "compatible" vehicle serves every permission and an "incompatible" one only read_vehicle_info and
// read_vin. Names that are not permissions are never served.
func (v Vehicle) Supports(permission string) bool { return v.Incapability(permission) == "" }

// Incapability is why the vehicle cannot serve a permission (see Supports), or "" when it can: a
// powertrain without the part is VEHICLE_NOT_CAPABLE; an unknown permission, or any refusal of a
// pinned "incompatible" vehicle, is SMARTCAR_NOT_CAPABLE.
func (v Vehicle) Incapability(permission string) string {
	if _, ok := FindPermission(permission); !ok {
		return ReasonSmartcarNotCapable
	}
	switch v.level {
	case simLevelCompatible:
		return ""
	case simLevelIncompatible:
		if permission == "read_vehicle_info" || permission == "read_vin" {
			return ""
		}
		return ReasonSmartcarNotCapable
	}
	if simUniversal[permission] || v.Powertrain == PHEV {
		return ""
	}
	switch {
	case v.Powertrain == BEV && permission != "read_fuel" && permission != "read_engine_oil":
		return ""
	case (v.Powertrain == ICE || v.Powertrain == HEV) && permission != "read_battery" && permission != "read_charge" &&
		permission != "control_charge":
		return ""
	}
	return ReasonVehicleNotCapable
}

// Level is the test-mode level of a pinned vehicle ("compatible", "incompatible", ...), or "" for a generated one.
func (v Vehicle) Level() string { return v.level }

// RestoreVehicle rebuilds a vehicle from stored fields, its level included, so a pinned vehicle read back from
// the database serves what it served when it was pinned.
func RestoreVehicle(id, vin, makeID, model string, year int, powertrain, level string) Vehicle {
	return Vehicle{ID: id, VIN: vin, Make: makeID, Model: model, Year: year, Powertrain: powertrain, level: level}
}

// Unsupported lists which of the permissions v cannot serve, in the given order (nil when it serves them all).
func (v Vehicle) Unsupported(permissions []string) []string {
	var out []string
	for _, p := range permissions {
		if !v.Supports(p) {
			out = append(out, p)
		}
	}
	return out
}

// SimulatedVehicles returns the owner's vehicles of a make: 1 to 3 of them, derived deterministically from
// sha256(owner + "|" + make) so the same owner and make always see the same cars, and different owners usually
// different ones. Models and years come from the make's catalogue (year within the model's FromYear..ToYear).
// The owner is trimmed and lower-cased and the make looked up case-insensitively first. Unknown make → nil.
func SimulatedVehicles(owner, makeID string) []Vehicle {
	m, ok := FindMake(makeID)
	if !ok || len(m.Models) == 0 {
		return nil
	}
	owner = strings.ToLower(strings.TrimSpace(owner))
	seed := sha256.Sum256([]byte(owner + "|" + m.ID))
	n := 1 + int(seed[0])%3
	out := make([]Vehicle, 0, n)
	for i := range n {
		h := sha256.Sum256(append(seed[:], '|', byte('0'+i)))
		model := m.Models[int(h[0])%len(m.Models)]
		out = append(out, Vehicle{
			ID:         simUUID(h[16:32]),
			VIN:        simVIN(h[2:16]),
			Make:       m.ID,
			Model:      model.Name,
			Year:       simYear(model.FromYear, model.ToYear, h[1]),
			Powertrain: model.Powertrain,
		})
	}
	return out
}

// Scenario is what a test-mode login email asks for.
type Scenario struct {
	Outcome string   // "" (normal), "vehicle_incompatible", "invalid_subscription", "no_vehicles"
	Pinned  *Vehicle // for <VIN>@<level> logins: the one vehicle the account has
}

// ScenarioFor reads a test-mode email (case-insensitive, surrounding spaces ignored):
//
//	smartcar@vehicle-incompatible.com → Outcome vehicle_incompatible
//	smartcar@invalid-subscription.com → Outcome invalid_subscription
//	smartcar@no-vehicles.com          → Outcome no_vehicles
//	<VIN>@<level>                     → Pinned vehicle with that VIN (upper-cased), of the given make
//	anything else                     → Scenario{} (normal)
//
// level is compatible (serves every permission; a PHEV model when the make has one), bev, phev, fuel (an ICE
// model, else an HEV one) or incompatible (serves only read_vehicle_info and read_vin; any model of the make).
// When the make has no model of the level's powertrain the model is "Test Vehicle" with that powertrain.
// A <VIN>@<level> login for an unknown make is normal (no pinned vehicle).
func ScenarioFor(email, makeID string) Scenario {
	email = strings.ToLower(strings.TrimSpace(email))
	switch email {
	case "smartcar@vehicle-incompatible.com":
		return Scenario{Outcome: ScenarioVehicleIncompatible}
	case "smartcar@invalid-subscription.com":
		return Scenario{Outcome: ScenarioInvalidSubscription}
	case "smartcar@no-vehicles.com":
		return Scenario{Outcome: ScenarioNoVehicles}
	}
	vin, level, ok := strings.Cut(email, "@")
	if !ok {
		return Scenario{}
	}
	vin = strings.ToUpper(vin)
	if !simValidVIN(vin) {
		return Scenario{}
	}
	m, ok := FindMake(makeID)
	if !ok {
		return Scenario{}
	}
	v, ok := simPinned(vin, level, m)
	if !ok {
		return Scenario{}
	}
	return Scenario{Pinned: &v}
}

// FindSimulatedVehicle finds a vehicle by id among SimulatedVehicles(owner, make) and the pinned vehicle of the
// email's scenario (if any).
func FindSimulatedVehicle(owner, makeID, email, id string) (Vehicle, bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		return Vehicle{}, false
	}
	if s := ScenarioFor(email, makeID); s.Pinned != nil && s.Pinned.ID == id {
		return *s.Pinned, true
	}
	for _, v := range SimulatedVehicles(owner, makeID) {
		if v.ID == id {
			return v, true
		}
	}
	return Vehicle{}, false
}

// simPinned builds the vehicle a <VIN>@<level> login pins, or false for an unknown level.
func simPinned(vin, level string, m Make) (Vehicle, bool) {
	var wants []string // powertrains that fit the level, best first; nil = any model
	switch level {
	case simLevelCompatible, simLevelPHEV:
		wants = []string{PHEV}
	case simLevelBEV:
		wants = []string{BEV}
	case simLevelFuel:
		wants = []string{ICE, HEV}
	case simLevelIncompatible:
	default:
		return Vehicle{}, false
	}
	h := sha256.Sum256([]byte("pinned|" + vin))
	var fits []VehicleModel
	if wants == nil {
		fits = m.Models
	}
	for _, p := range wants {
		for _, vm := range m.Models {
			if vm.Powertrain == p {
				fits = append(fits, vm)
			}
		}
		if len(fits) > 0 {
			break
		}
	}
	var model VehicleModel
	if len(fits) > 0 {
		model = fits[int(h[0])%len(fits)]
	} else {
		// No model of the powertrain: a generic one sold over the make's whole span.
		model = VehicleModel{Name: simTestModelName, Powertrain: wants[0], FromYear: 2017, ToYear: 2025}
		for _, vm := range m.Models {
			model.FromYear = min(model.FromYear, vm.FromYear)
			model.ToYear = max(model.ToYear, vm.ToYear)
		}
	}
	return Vehicle{
		ID:         simUUID(h[16:32]),
		VIN:        vin,
		Make:       m.ID,
		Model:      model.Name,
		Year:       simYear(model.FromYear, model.ToYear, h[1]),
		Powertrain: model.Powertrain,
		level:      level,
	}, true
}

// simValidVIN reports whether s is 17 upper-case VIN characters.
func simValidVIN(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(simVINAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// simVIN makes "0SC" plus 14 VIN characters from 14 hash bytes.
func simVIN(b []byte) string {
	var sb strings.Builder
	sb.Grow(17)
	sb.WriteString(simVINPrefix)
	for _, c := range b[:14] {
		sb.WriteByte(simVINAlphabet[int(c)%len(simVINAlphabet)])
	}
	return sb.String()
}

// simUUID formats 16 hash bytes as a version 4, RFC 4122 variant UUID.
func simUUID(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// simYear picks a year in from..to from a hash byte.
func simYear(from, to int, b byte) int {
	if to < from {
		return from
	}
	return from + int(b)%(to-from+1)
}
