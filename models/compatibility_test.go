package models_test

import (
	"fmt"
	"strings"
	"testing"

	"keyfob/models"
)

func TestMakeOfVIN(t *testing.T) {
	for vin, want := range map[string]string{
		"5YJ3E1EA7RF317580": "TESLA", "1FTFW1E50NFA00001": "FORD", "WBA5R1C50KAJ00001": "BMW", "KNDC34LA0N5000001": "KIA",
		"0SCAUDI012FE3B132": "AUDI", "0SCGMCT0386A85356": "GMC", "0SCTESLA01234567A": "TESLA", "0SCLANDROVER12345": "LAND_ROVER",
		"ZZZ3E1EA7RF317580": "", "0SC4B2T8ZP3K9M7X1": "", "": "",
	} {
		m, ok := models.MakeOfVIN(vin)
		if m.ID != want || ok != (want != "") {
			t.Errorf("MakeOfVIN(%q) = %q %v, want %q", vin, m.ID, ok, want)
		}
	}
}

// compat renders an answer compactly: "true|" then "permission endpoint capable/REASON" per capability.
func compat(c models.Compatibility) string {
	parts := []string{fmt.Sprintf("%v|%s", c.Compatible, c.Reason)}
	for _, cp := range c.Capabilities {
		state := "capable"
		if !cp.Capable {
			state = cp.Reason
		}
		parts = append(parts, cp.Permission+" "+cp.Endpoint+" "+state)
	}
	return strings.Join(parts, "; ")
}

func TestCheckCompatibility(t *testing.T) {
	e := newStateEnv(t)
	camry, err := models.CreateSimulatedVehicle(e.db, e.app.ID, "ada", "TOYOTA", "Camry", 0, "4T1B11HK5PU000001", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		q     models.CompatibilityQuery
		want  string
		field string // a validation error on this field instead
	}{
		{"Tesla by WMI", models.CompatibilityQuery{VIN: "5yj3e1ea7rf317580", Scope: []string{"read_odometer", "read_fuel", "read_battery"}},
			"true|; read_odometer /odometer capable; read_fuel /fuel VEHICLE_NOT_CAPABLE; read_battery /battery capable; read_battery /battery/capacity capable", ""},
		{"a Ford of 2022: some model serves each", models.CompatibilityQuery{VIN: "1FTFW1E50NFA00001", Scope: []string{"read_fuel", "control_charge"}, Country: "us"},
			"true|; read_fuel /fuel capable; control_charge /charge capable; control_charge /charge/limit capable", ""},
		{"a Chevrolet of 2016: no model sold", models.CompatibilityQuery{VIN: "1G1RC6E42GU000001", Scope: []string{"read_odometer"}},
			"false|VEHICLE_NOT_COMPATIBLE", ""},
		{"unknown make", models.CompatibilityQuery{VIN: "ZZZ3E1EA7RF317580", Scope: []string{"read_odometer"}}, "false|MAKE_NOT_COMPATIBLE", ""},
		{"the app's simulated Camry answers as itself", models.CompatibilityQuery{AppID: e.app.ID, VIN: camry.VIN, Scope: []string{"read_battery", "read_fuel"}},
			"true|; read_battery /battery VEHICLE_NOT_CAPABLE; read_battery /battery/capacity VEHICLE_NOT_CAPABLE; read_fuel /fuel capable", ""},
		{"another app's Camry is only a Toyota", models.CompatibilityQuery{AppID: "other", VIN: camry.VIN, Scope: []string{"read_battery"}},
			"true|; read_battery /battery capable; read_battery /battery/capacity capable", ""},
		{"test: dinosaur", models.CompatibilityQuery{VIN: "0SCAUDI012FE3B132", Scope: []string{"read_vin"}, Level: "dinosaur"}, "false|VEHICLE_NOT_COMPATIBLE", ""},
		{"test: incompatible connects but serves little", models.CompatibilityQuery{VIN: "0SCAUDI012FE3B132", Scope: []string{"read_vin", "read_odometer"}, Level: "incompatible"},
			"true|; read_vin /vin capable; read_odometer /odometer SMARTCAR_NOT_CAPABLE", ""},
		{"test: bev", models.CompatibilityQuery{VIN: "5YJ3E1EA7RF317580", Scope: []string{"read_fuel", "read_charge"}, Level: "bev"},
			"true|; read_fuel /fuel VEHICLE_NOT_CAPABLE; read_charge /charge capable; read_charge /charge/limit capable", ""},
		{"test: fuel", models.CompatibilityQuery{VIN: "1FTFW1E50NFA00001", Scope: []string{"read_fuel", "read_battery"}, Level: "fuel"},
			"true|; read_fuel /fuel capable; read_battery /battery VEHICLE_NOT_CAPABLE; read_battery /battery/capacity VEHICLE_NOT_CAPABLE", ""},
		{"test: compatible, even an unknown make", models.CompatibilityQuery{VIN: "ZZZ3E1EA7RF317580", Scope: []string{"read_fuel", "read_battery"}, Level: "compatible"},
			"true|; read_fuel /fuel capable; read_battery /battery capable; read_battery /battery/capacity capable", ""},
		{"short VIN", models.CompatibilityQuery{VIN: "5YJ3E1EA7RF31758", Scope: []string{"read_vin"}}, "", "vin"},
		{"VIN with a dash", models.CompatibilityQuery{VIN: "5YJ3E1EA7RF31758-", Scope: []string{"read_vin"}}, "", "vin"},
		{"no scope", models.CompatibilityQuery{VIN: "5YJ3E1EA7RF317580"}, "", "scope"},
		{"unknown permission", models.CompatibilityQuery{VIN: "5YJ3E1EA7RF317580", Scope: []string{"read_speed"}}, "", "scope"},
		{"outside the US", models.CompatibilityQuery{VIN: "5YJ3E1EA7RF317580", Scope: []string{"read_vin"}, Country: "DE"}, "", "country"},
		{"unknown level", models.CompatibilityQuery{VIN: "5YJ3E1EA7RF317580", Scope: []string{"read_vin"}, Level: "pizza"}, "", "test_mode_compatibility_level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := models.CheckCompatibility(e.db, tc.q)
			if tc.field != "" {
				if models.FieldErrors(err)[tc.field] == "" {
					t.Fatalf("want a validation error on %s, got %v %v", tc.field, compat(got), err)
				}
				return
			}
			if err != nil || compat(got) != tc.want || got.Capabilities == nil {
				t.Fatalf("got  %s (%v)\nwant %s", compat(got), err, tc.want)
			}
		})
	}
}

// TestCompatibilityCoversEveryPermission: every permission names at least one endpoint, and a pinned
// "compatible" vehicle is capable of all of them.
func TestCompatibilityCoversEveryPermission(t *testing.T) {
	var scope []string
	for _, p := range models.Permissions {
		scope = append(scope, p.Name)
	}
	got, err := models.CheckCompatibility(nil, models.CompatibilityQuery{VIN: "5YJ3E1EA7RF317580", Scope: scope, Level: "compatible"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range got.Capabilities {
		seen[c.Permission] = true
		if !c.Capable || !strings.HasPrefix(c.Endpoint, "/") {
			t.Errorf("capability %+v", c)
		}
	}
	if len(seen) != len(scope) {
		t.Fatalf("permissions without an endpoint: %v of %v", seen, scope)
	}
}

// matrix renders a matrix compactly: "MAKE: model type years [permissions] [endpoints]".
func matrix(m map[string][]models.MatrixEntry) string {
	var out []string
	for _, mk := range models.Makes {
		for _, e := range m[mk.ID] {
			out = append(out, fmt.Sprintf("%s: %s %s %d-%d %v %v", mk.ID, e.Model, e.Type, e.StartYear, e.EndYear, e.Permissions, e.Endpoints))
		}
	}
	return strings.Join(out, "; ")
}

func TestCompatibilityMatrix(t *testing.T) {
	for _, tc := range []struct {
		name  string
		q     models.MatrixQuery
		want  string
		field string
	}{
		{"Tesla batteries", models.MatrixQuery{Region: "US", Makes: []string{"tesla"}, Scope: []string{"read_battery", "read_fuel"}},
			"TESLA: Model 3 BEV 2017-2025 [read_battery] [EV battery]; TESLA: Model Y BEV 2020-2025 [read_battery] [EV battery]; " +
				"TESLA: Model S BEV 2017-2025 [read_battery] [EV battery]; TESLA: Model X BEV 2017-2025 [read_battery] [EV battery]", ""},
		{"no Tesla has a fuel tank", models.MatrixQuery{Region: "EUROPE", Makes: []string{"TESLA"}, Scope: []string{"read_fuel"}}, "", ""},
		{"Ford's combustion models", models.MatrixQuery{Region: "CA", Makes: []string{"FORD"}, Types: []string{"ICE"}, Scope: []string{"read_fuel", "control_security", "read_security"}},
			"FORD: F-150 ICE 2017-2025 [read_fuel control_security read_security] [Fuel tank Lock & unlock Lock status]", ""},
		{"two makes, plug-in hybrids", models.MatrixQuery{Region: "us", Makes: []string{"TOYOTA", "VOLVO"}, Types: []string{"PHEV"}, Scope: []string{"read_charge", "control_charge"}},
			"TOYOTA: RAV4 Prime PHEV 2021-2025 [read_charge control_charge] [EV charging status EV start & stop charge]; " +
				"VOLVO: XC60 Recharge PHEV 2018-2025 [read_charge control_charge] [EV charging status EV start & stop charge]", ""},
		{"no region", models.MatrixQuery{}, "", "region"},
		{"unknown region", models.MatrixQuery{Region: "MARS"}, "", "region"},
		{"unknown make", models.MatrixQuery{Region: "US", Makes: []string{"DELOREAN"}}, "", "make"},
		{"unknown type", models.MatrixQuery{Region: "US", Types: []string{"STEAM"}}, "", "type"},
		{"unknown permission", models.MatrixQuery{Region: "US", Scope: []string{"read_speed"}}, "", "scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := models.CompatibilityMatrix(tc.q)
			if tc.field != "" {
				if models.FieldErrors(err)[tc.field] == "" {
					t.Fatalf("want a validation error on %s, got %v", tc.field, err)
				}
				return
			}
			if err != nil || matrix(got) != tc.want {
				t.Fatalf("got  %s (%v)\nwant %s", matrix(got), err, tc.want)
			}
		})
	}
	all, err := models.CompatibilityMatrix(models.MatrixQuery{Region: "US"})
	count := 0
	for _, entries := range all {
		for _, e := range entries {
			count++
			if len(e.Permissions) < 7 {
				t.Errorf("every model serves at least the 7 universal permissions: %+v", e)
			}
		}
	}
	if err != nil || len(all) != len(models.Makes) || count < 70 {
		t.Fatalf("the unfiltered matrix lists every make and model: %d makes, %d models, %v", len(all), count, err)
	}
}
