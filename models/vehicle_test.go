package models_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"keyfob/models"
)

const testVINAlphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"

func checkVIN(t *testing.T, vin string) {
	t.Helper()
	if len(vin) != 17 || !strings.HasPrefix(vin, "0SC") {
		t.Errorf("VIN %q: want 17 characters starting with 0SC", vin)
	}
	for _, c := range vin {
		if !strings.ContainsRune(testVINAlphabet, c) {
			t.Errorf("VIN %q has non-VIN character %q", vin, c)
		}
	}
}

func allPermissionNames() []string {
	var out []string
	for _, p := range models.Permissions {
		out = append(out, p.Name)
	}
	return out
}

func TestVehicleSupportsPerPowertrain(t *testing.T) {
	// want[powertrain] = permissions it cannot serve
	lacks := map[string][]string{
		models.BEV:  {"read_fuel", "read_engine_oil"},
		models.PHEV: nil,
		models.HEV:  {"read_battery", "read_charge", "control_charge"},
		models.ICE:  {"read_battery", "read_charge", "control_charge"},
	}
	for _, pt := range []string{models.BEV, models.PHEV, models.HEV, models.ICE} {
		v := models.Vehicle{Make: "TEST", Model: "X", Year: 2024, Powertrain: pt}
		for _, perm := range allPermissionNames() {
			t.Run(pt+"/"+perm, func(t *testing.T) {
				want := !slices.Contains(lacks[pt], perm)
				if got := v.Supports(perm); got != want {
					t.Errorf("%s Supports(%s) = %v, want %v", pt, perm, got, want)
				}
			})
		}
		if got := v.Unsupported(allPermissionNames()); !slices.Equal(got, lacks[pt]) {
			t.Errorf("%s Unsupported(all) = %v, want %v", pt, got, lacks[pt])
		}
	}
}

func TestVehicleSupportsUniversalAndUnknown(t *testing.T) {
	universal := []string{"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_tires", "read_security", "control_security"}
	for _, pt := range []string{models.BEV, models.PHEV, models.HEV, models.ICE} {
		v := models.Vehicle{Powertrain: pt}
		if u := v.Unsupported(universal); len(u) != 0 {
			t.Errorf("%s lacks universal permissions %v", pt, u)
		}
		if v.Supports("read_nonsense") || v.Supports("") {
			t.Errorf("%s supports an unknown permission", pt)
		}
	}
}

func TestVehicleUnsupportedKeepsOrder(t *testing.T) {
	v := models.Vehicle{Powertrain: models.ICE}
	got := v.Unsupported([]string{"control_charge", "read_fuel", "read_battery", "read_odometer"})
	want := []string{"control_charge", "read_battery"}
	if !slices.Equal(got, want) {
		t.Errorf("Unsupported = %v, want %v", got, want)
	}
	if got := v.Unsupported(nil); got != nil {
		t.Errorf("Unsupported(nil) = %v, want nil", got)
	}
}

func TestSimulatedVehiclesStable(t *testing.T) {
	a := models.SimulatedVehicles("owner@example.com", "FORD")
	b := models.SimulatedVehicles("owner@example.com", "FORD")
	if !slices.Equal(a, b) {
		t.Fatalf("not stable:\n%v\n%v", a, b)
	}
	// The make is looked up case-insensitively and the owner normalised.
	if c := models.SimulatedVehicles("  Owner@Example.com ", "ford"); !slices.Equal(a, c) {
		t.Errorf("case/space variants differ:\n%v\n%v", a, c)
	}
}

func TestSimulatedVehiclesDifferAcrossOwners(t *testing.T) {
	firstVINs := map[string]bool{}
	counts := map[int]int{}
	for i := range 100 {
		vs := models.SimulatedVehicles(fmt.Sprintf("owner-%d@example.com", i), "TESLA")
		firstVINs[vs[0].VIN] = true
		counts[len(vs)]++
	}
	if len(firstVINs) < 50 {
		t.Errorf("100 owners gave only %d distinct first VINs", len(firstVINs))
	}
	for n := 1; n <= 3; n++ {
		if counts[n] == 0 {
			t.Errorf("no owner got %d vehicles: %v", n, counts)
		}
	}
}

func TestSimulatedVehiclesEveryMake(t *testing.T) {
	for _, m := range models.Makes {
		t.Run(m.ID, func(t *testing.T) {
			seenIDs := map[string]bool{}
			for i := range 20 {
				owner := fmt.Sprintf("user%d", i)
				vs := models.SimulatedVehicles(owner, m.ID)
				if len(vs) < 1 || len(vs) > 3 {
					t.Fatalf("%s: %d vehicles, want 1..3", owner, len(vs))
				}
				for _, v := range vs {
					checkVIN(t, v.VIN)
					if !models.IsUUID(v.ID) {
						t.Errorf("ID %q is not a UUID", v.ID)
					}
					if v.ID[14] != '4' || !strings.ContainsRune("89ab", rune(v.ID[19])) {
						t.Errorf("ID %q is not version 4 / RFC 4122 variant", v.ID)
					}
					if seenIDs[v.ID] {
						t.Errorf("duplicate ID %q", v.ID)
					}
					seenIDs[v.ID] = true
					if v.Make != m.ID {
						t.Errorf("make %q, want %q", v.Make, m.ID)
					}
					i := slices.IndexFunc(m.Models, func(vm models.VehicleModel) bool { return vm.Name == v.Model })
					if i < 0 {
						t.Errorf("model %q not in %s's catalogue", v.Model, m.ID)
						continue
					}
					vm := m.Models[i]
					if v.Powertrain != vm.Powertrain {
						t.Errorf("%s %s powertrain %s, want %s", m.ID, v.Model, v.Powertrain, vm.Powertrain)
					}
					if v.Year < vm.FromYear || v.Year > vm.ToYear {
						t.Errorf("%s %s year %d outside %d..%d", m.ID, v.Model, v.Year, vm.FromYear, vm.ToYear)
					}
				}
			}
		})
	}
}

func TestSimulatedVehiclesTeslaAreBEV(t *testing.T) {
	for i := range 50 {
		for _, v := range models.SimulatedVehicles(fmt.Sprintf("t%d", i), "TESLA") {
			if v.Powertrain != models.BEV || v.Supports("read_fuel") {
				t.Errorf("TESLA vehicle %+v is not a BEV without read_fuel", v)
			}
		}
	}
}

func TestSimulatedVehiclesUnknownMake(t *testing.T) {
	if vs := models.SimulatedVehicles("owner", "DELOREAN"); vs != nil {
		t.Errorf("unknown make gave %v", vs)
	}
	if vs := models.SimulatedVehicles("owner", ""); vs != nil {
		t.Errorf("empty make gave %v", vs)
	}
}

func TestScenarioForEmails(t *testing.T) {
	cases := map[string]string{
		"smartcar@vehicle-incompatible.com":   "vehicle_incompatible",
		"SmartCar@Vehicle-Incompatible.COM":   "vehicle_incompatible",
		"smartcar@invalid-subscription.com":   "invalid_subscription",
		"SMARTCAR@INVALID-SUBSCRIPTION.COM":   "invalid_subscription",
		"smartcar@no-vehicles.com":            "no_vehicles",
		" smartcar@No-Vehicles.com ":          "no_vehicles",
		"someone@example.com":                 "",
		"smartcar@example.com":                "",
		"":                                    "",
		"smartcar@no-vehicles.com.evil.test":  "",
		"xsmartcar@vehicle-incompatible.com":  "",
		"smartcar@vehicle-incompatible.co":    "",
		"smartcar@invalid-subscription.com@x": "",
	}
	for email, want := range cases {
		s := models.ScenarioFor(email, "TESLA")
		if s.Outcome != want || s.Pinned != nil {
			t.Errorf("ScenarioFor(%q) = %+v, want outcome %q and no pinned vehicle", email, s, want)
		}
	}
}

func TestScenarioForPinnedLevels(t *testing.T) {
	const vin = "0SC12345678901234"
	type check struct {
		level, make, powertrain, model string // model "" = any catalogue model
	}
	cases := []check{
		{"compatible", "TOYOTA", models.PHEV, "RAV4 Prime"},
		{"compatible", "TESLA", models.PHEV, "Test Vehicle"},
		{"bev", "TESLA", models.BEV, ""},
		{"bev", "FORD", models.BEV, "Mustang Mach-E"},
		{"bev", "RAM", models.BEV, "Test Vehicle"},
		{"phev", "FORD", models.PHEV, "Escape PHEV"},
		{"phev", "TESLA", models.PHEV, "Test Vehicle"},
		{"fuel", "FORD", models.ICE, "F-150"},
		{"fuel", "TESLA", models.ICE, "Test Vehicle"},
		{"incompatible", "FORD", "", ""},
		{"incompatible", "TESLA", models.BEV, ""},
	}
	for _, c := range cases {
		t.Run(c.level+"/"+c.make, func(t *testing.T) {
			for _, email := range []string{vin + "@" + c.level, strings.ToLower(vin) + "@" + strings.ToUpper(c.level)} {
				s := models.ScenarioFor(email, strings.ToLower(c.make))
				if s.Outcome != "" || s.Pinned == nil {
					t.Fatalf("ScenarioFor(%q) = %+v, want a pinned vehicle", email, s)
				}
				v := *s.Pinned
				if v.VIN != vin || v.Make != c.make || !models.IsUUID(v.ID) {
					t.Errorf("pinned %+v: want VIN %s, make %s, UUID id", v, vin, c.make)
				}
				if c.powertrain != "" && v.Powertrain != c.powertrain {
					t.Errorf("powertrain %s, want %s", v.Powertrain, c.powertrain)
				}
				if c.model != "" && v.Model != c.model {
					t.Errorf("model %q, want %q", v.Model, c.model)
				}
				if v.Model != "Test Vehicle" {
					m, _ := models.FindMake(c.make)
					i := slices.IndexFunc(m.Models, func(vm models.VehicleModel) bool { return vm.Name == v.Model })
					if i < 0 || m.Models[i].Powertrain != v.Powertrain || v.Year < m.Models[i].FromYear || v.Year > m.Models[i].ToYear {
						t.Errorf("pinned %+v does not match %s's catalogue", v, c.make)
					}
				} else if v.Year < 2017 || v.Year > 2025 {
					t.Errorf("test vehicle year %d", v.Year)
				}
				again := models.ScenarioFor(email, c.make)
				if again.Pinned == nil || *again.Pinned != v {
					t.Errorf("pinned vehicle not stable: %+v vs %+v", again.Pinned, v)
				}
				switch c.level {
				case "compatible":
					if u := v.Unsupported(allPermissionNames()); len(u) != 0 {
						t.Errorf("compatible vehicle lacks %v", u)
					}
				case "bev":
					if v.Supports("read_fuel") || !v.Supports("read_battery") {
						t.Errorf("bev vehicle: read_fuel %v, read_battery %v", v.Supports("read_fuel"), v.Supports("read_battery"))
					}
				case "phev":
					if u := v.Unsupported(allPermissionNames()); len(u) != 0 {
						t.Errorf("phev vehicle lacks %v", u)
					}
				case "fuel":
					if v.Supports("read_battery") || !v.Supports("read_fuel") {
						t.Errorf("fuel vehicle: read_battery %v, read_fuel %v", v.Supports("read_battery"), v.Supports("read_fuel"))
					}
				case "incompatible":
					want := []string{"read_vehicle_info", "read_vin"}
					for _, p := range allPermissionNames() {
						if got := v.Supports(p); got != slices.Contains(want, p) {
							t.Errorf("incompatible vehicle Supports(%s) = %v", p, got)
						}
					}
					if v.Supports("read_odometer") {
						t.Error("incompatible vehicle supports read_odometer")
					}
				}
			}
		})
	}
}

func TestScenarioForFuelPrefersICE(t *testing.T) {
	// fuel takes an ICE model before an HEV one (TOYOTA has both).
	s := models.ScenarioFor("0SC12345678901234@fuel", "TOYOTA")
	if s.Pinned == nil || s.Pinned.Powertrain != models.ICE || s.Pinned.Model != "Camry" {
		t.Errorf("TOYOTA fuel = %+v, want the ICE Camry", s.Pinned)
	}
}

func TestScenarioForMalformed(t *testing.T) {
	for _, email := range []string{
		"0SC1234567890123@bev",          // 16 characters
		"0SC123456789012345@bev",        // 18 characters
		"0SC1234567890123I@bev",         // I is not a VIN character
		"0SC1234567890123O@bev",         // O
		"0SC1234567890123Q@bev",         // Q
		"0SC12345678901-34@bev",         // punctuation
		"0SC12345678901234@electric",    // unknown level
		"0SC12345678901234@bev.com",     // a domain, not a level
		"0SC12345678901234@",            // no level
		"0SC12345678901234",             // no @
		"0SC12345678901234@bev@bev",     // two @
		"@compatible",                   // no VIN
		"0SC12345678901234@compatible ", // trailing space is trimmed → pinned (checked below)
	} {
		s := models.ScenarioFor(email, "FORD")
		pinned := strings.HasSuffix(email, "@compatible ")
		if (s.Pinned != nil) != pinned || s.Outcome != "" {
			t.Errorf("ScenarioFor(%q) = %+v", email, s)
		}
	}
	if s := models.ScenarioFor("0SC12345678901234@bev", "DELOREAN"); s.Pinned != nil || s.Outcome != "" {
		t.Errorf("unknown make gave %+v", s)
	}
}

func TestFindSimulatedVehicle(t *testing.T) {
	const owner = "finder@example.com"
	for _, v := range models.SimulatedVehicles(owner, "BMW") {
		got, ok := models.FindSimulatedVehicle(owner, "BMW", owner, v.ID)
		if !ok || got != v {
			t.Errorf("generated %s: got %+v, %v", v.ID, got, ok)
		}
		if _, ok := models.FindSimulatedVehicle("someone-else", "BMW", "someone-else", v.ID); ok {
			// Another owner's vehicles are different with overwhelming likelihood.
			t.Errorf("generated %s found for another owner", v.ID)
		}
		if _, ok := models.FindSimulatedVehicle(owner, "AUDI", owner, v.ID); ok {
			t.Errorf("generated %s found under another make", v.ID)
		}
	}

	email := "1HGCM82633A004352@incompatible"
	s := models.ScenarioFor(email, "BMW")
	if s.Pinned == nil {
		t.Fatal("no pinned vehicle")
	}
	got, ok := models.FindSimulatedVehicle(email, "BMW", email, s.Pinned.ID)
	if !ok || got != *s.Pinned {
		t.Fatalf("pinned: got %+v, %v", got, ok)
	}
	if got.Supports("read_odometer") {
		t.Error("found incompatible vehicle lost its level")
	}
	if got, ok := models.FindSimulatedVehicle("x", "BMW", strings.ToUpper(email), strings.ToUpper(s.Pinned.ID)); !ok || got != *s.Pinned {
		t.Errorf("pinned, case variants: got %+v, %v", got, ok)
	}
	if _, ok := models.FindSimulatedVehicle("x", "BMW", "someone@example.com", s.Pinned.ID); ok {
		t.Error("pinned vehicle found without its email")
	}
	for _, id := range []string{"", "not-a-uuid", "00000000-0000-4000-8000-000000000000"} {
		if _, ok := models.FindSimulatedVehicle(owner, "BMW", email, id); ok {
			t.Errorf("found id %q", id)
		}
	}
	if _, ok := models.FindSimulatedVehicle(owner, "DELOREAN", email, s.Pinned.ID); ok {
		t.Error("found a vehicle of an unknown make")
	}
}

// TestVehicleIncapability: a powertrain without the part is VEHICLE_NOT_CAPABLE, what the platform does not
// serve (an unknown permission, a pinned "incompatible" vehicle) SMARTCAR_NOT_CAPABLE.
func TestVehicleIncapability(t *testing.T) {
	pinned := func(level string) models.Vehicle {
		return models.RestoreVehicle("00000000-0000-4000-8000-000000000001", "5YJ3E1EA7RF317580", "TESLA", "Model 3", 2024, models.BEV, level)
	}
	bev, ice := pinned(""), models.RestoreVehicle("00000000-0000-4000-8000-000000000002", "1FTFW1E50NFA00001", "FORD", "F-150", 2022, models.ICE, "")
	for _, tc := range []struct {
		name       string
		v          models.Vehicle
		permission string
		want       string
	}{
		{"BEV fuel", bev, "read_fuel", models.ReasonVehicleNotCapable},
		{"BEV oil", bev, "read_engine_oil", models.ReasonVehicleNotCapable},
		{"BEV battery", bev, "read_battery", ""},
		{"ICE charge", ice, "read_charge", models.ReasonVehicleNotCapable},
		{"ICE control_charge", ice, "control_charge", models.ReasonVehicleNotCapable},
		{"ICE fuel", ice, "read_fuel", ""},
		{"unknown permission", ice, "read_speedometer", models.ReasonSmartcarNotCapable},
		{"pinned incompatible odometer", pinned("incompatible"), "read_odometer", models.ReasonSmartcarNotCapable},
		{"pinned incompatible vin", pinned("incompatible"), "read_vin", ""},
		{"pinned compatible BEV fuel", pinned("compatible"), "read_fuel", ""},
	} {
		if got := tc.v.Incapability(tc.permission); got != tc.want || tc.v.Supports(tc.permission) != (tc.want == "") {
			t.Errorf("%s: Incapability = %q, Supports = %v; want %q", tc.name, got, tc.v.Supports(tc.permission), tc.want)
		}
	}
}
