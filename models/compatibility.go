package models

import (
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Why the compatibility API calls a vehicle incompatible (capabilities use ReasonVehicleNotCapable and
// ReasonSmartcarNotCapable).
const (
	ReasonVehicleNotCompatible = "VEHICLE_NOT_COMPATIBLE" // the vehicle cannot connect (too old, no modem)
	ReasonMakeNotCompatible    = "MAKE_NOT_COMPATIBLE"    // a make the platform does not connect
)

// permissionEndpoints lists, per permission, the v2.0 paths it opens (the compatibility API reports each)
// and the feature's name in the compatibility matrix.
var permissionEndpoints = map[string]struct {
	paths []string
	name  string
}{
	"read_vehicle_info": {[]string{"/"}, "Vehicle info"},
	"read_vin":          {[]string{"/vin"}, "VIN"},
	"read_odometer":     {[]string{"/odometer"}, "Odometer"},
	"read_location":     {[]string{"/location"}, "Location"},
	"read_fuel":         {[]string{"/fuel"}, "Fuel tank"},
	"read_battery":      {[]string{"/battery", "/battery/capacity"}, "EV battery"},
	"read_charge":       {[]string{"/charge", "/charge/limit"}, "EV charging status"},
	"read_tires":        {[]string{"/tires/pressure"}, "Tire pressure"},
	"read_engine_oil":   {[]string{"/engine/oil"}, "Engine oil life"},
	"read_security":     {[]string{"/security"}, "Lock status"},
	"control_security":  {[]string{"/security"}, "Lock & unlock"},
	"control_charge":    {[]string{"/charge", "/charge/limit"}, "EV start & stop charge"},
}

// TestCompatibilityLevels are the test_mode_compatibility_level values, as Smartcar lists them: the Connect
// test levels of a <VIN>@<level> login, plus "dinosaur", a vehicle too old to connect at all.
var TestCompatibilityLevels = []string{simLevelCompatible, simLevelPHEV, simLevelIncompatible, simLevelFuel, "dinosaur", simLevelBEV}

// CompatibilityQuery is a compatibility-by-VIN question.
type CompatibilityQuery struct {
	AppID   string   // whose simulated vehicles are looked up by VIN first
	VIN     string   // 17 letters and digits, any case
	Scope   []string // permissions, in the order to answer them
	Country string   // "US" (the only country the by-VIN check covers); "" is US
	Level   string   // test_mode_compatibility_level; "" outside test mode
}

// Capability says whether the vehicle can serve one endpoint of a permission.
type Capability struct {
	Permission, Endpoint string
	Capable              bool
	Reason               string // "" when capable
}

// Compatibility is the answer: whether the vehicle can connect, and what each permission would serve.
type Compatibility struct {
	Compatible   bool
	Reason       string // "" when compatible
	Capabilities []Capability
}

// CheckCompatibility answers from the simulator: an app's simulated vehicle with this VIN answers as itself;
// in test mode the vehicle is the one a <VIN>@<level> login pins in Connect; otherwise the VIN's make (MakeOfVIN)
// and model year decide: a capability holds when some model of that make sold that year serves it. An unknown
// make is MAKE_NOT_COMPATIBLE, a year no model was sold VEHICLE_NOT_COMPATIBLE; both list no capabilities.
func CheckCompatibility(db *gorm.DB, q CompatibilityQuery) (Compatibility, error) {
	if err := q.validate(); err != nil {
		return Compatibility{}, err
	}
	vin := strings.ToUpper(q.VIN)
	if q.Level != "" {
		return testCompatibility(vin, q.Scope, q.Level), nil
	}
	var stored []VehicleState
	if err := db.Table("vehicle_states").Where("app_id = ? AND vin = ?", q.AppID, vin).Limit(1).Find(&stored).Error; err != nil {
		return Compatibility{}, err
	}
	if len(stored) == 1 {
		return capabilities(q.Scope, []Vehicle{stored[0].Vehicle()}), nil
	}
	m, ok := MakeOfVIN(vin)
	if !ok {
		return Compatibility{Reason: ReasonMakeNotCompatible, Capabilities: []Capability{}}, nil
	}
	year := vinModelYear(vin, time.Now().Year()+1)
	var candidates []Vehicle
	for _, vm := range m.Models {
		if year == 0 || (vm.FromYear <= year && year <= vm.ToYear) {
			candidates = append(candidates, Vehicle{Make: m.ID, Model: vm.Name, Year: year, Powertrain: vm.Powertrain})
		}
	}
	if len(candidates) == 0 {
		return Compatibility{Reason: ReasonVehicleNotCompatible, Capabilities: []Capability{}}, nil
	}
	return capabilities(q.Scope, candidates), nil
}

func (q CompatibilityQuery) validate() error {
	switch {
	case !vinShape.MatchString(strings.ToUpper(q.VIN)):
		return Invalid("vin", "invalid_vin", "vin must be 17 letters and digits.")
	case len(q.Scope) == 0:
		return Invalid("scope", "invalid_scope", "scope must list at least one permission, space-separated.")
	case q.Country != "" && !strings.EqualFold(q.Country, "US"):
		return Invalid("country", "invalid_country", "Compatibility by VIN covers vehicles sold in the US only: country=US.")
	case q.Level != "" && !slices.Contains(TestCompatibilityLevels, q.Level):
		return Invalid("test_mode_compatibility_level", "invalid_level",
			"Field must be one of: ["+strings.Join(TestCompatibilityLevels, ",")+"]")
	}
	for _, p := range q.Scope {
		if _, ok := permissionEndpoints[p]; !ok {
			return Invalid("scope", "invalid_scope", "Unknown permission in scope: "+p+".")
		}
	}
	return nil
}

// testCompatibility answers for the vehicle Connect pins for <VIN>@<level> in the make a single_select_vin
// flow for this VIN signs in to.
func testCompatibility(vin string, scope []string, level string) Compatibility {
	if level == "dinosaur" {
		return Compatibility{Reason: ReasonVehicleNotCompatible, Capabilities: []Capability{}}
	}
	m, _ := FindMake(makeOfVIN(AuthorizeRequest{SingleSelectVIN: vin}))
	pinned, _ := simPinned(vin, level, m)
	return capabilities(scope, []Vehicle{pinned})
}

// capabilities lists each endpoint of each permission in scope: capable when one of the candidates serves
// the permission, else the first candidate's reason why not.
func capabilities(scope []string, candidates []Vehicle) Compatibility {
	out := Compatibility{Compatible: true, Capabilities: []Capability{}}
	for _, p := range scope {
		reason := candidates[0].Incapability(p)
		for _, v := range candidates[1:] {
			if reason != "" && v.Supports(p) {
				reason = ""
			}
		}
		for _, path := range permissionEndpoints[p].paths {
			out.Capabilities = append(out.Capabilities, Capability{Permission: p, Endpoint: path, Capable: reason == "", Reason: reason})
		}
	}
	return out
}
