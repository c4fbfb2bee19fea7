package models_test

import (
	"fmt"
	"testing"

	"keyfob/models"
)

// openings renders a list as "type:STATUS ..." for comparison.
func openings(list []models.Opening) string {
	out := ""
	for i, o := range list {
		if i > 0 {
			out += " "
		}
		out += o.Type + ":" + o.Status
	}
	return out
}

func TestVehicleSecurityFollowsTheBody(t *testing.T) {
	const four = "frontLeft:CLOSED frontRight:CLOSED backLeft:CLOSED backRight:CLOSED"
	const two = "frontLeft:CLOSED frontRight:CLOSED"
	for _, tc := range []struct {
		name                                           string
		state                                          models.VehicleState
		doors, windows, sunroof, storage, chargingPort string
	}{
		{"locked Tesla, unplugged", models.VehicleState{Make: "TESLA", Model: "Model 3", Powertrain: models.BEV, Locked: true},
			four, four, "", "front:CLOSED rear:CLOSED", "chargingPort:CLOSED"},
		{"Tesla charging: the port is open", models.VehicleState{Make: "TESLA", Model: "Model Y", Powertrain: models.BEV, PluggedIn: true},
			four, four, "", "front:CLOSED rear:CLOSED", "chargingPort:OPEN"},
		{"fuel car: no charging port, a sunroof", models.VehicleState{Make: "FORD", Model: "F-150", Powertrain: models.ICE},
			four, four, "sunroof:CLOSED", "rear:CLOSED", ""},
		{"hybrid: no plug", models.VehicleState{Make: "TOYOTA", Model: "Prius", Powertrain: models.HEV},
			four, four, "sunroof:CLOSED", "rear:CLOSED", ""},
		{"plug-in hybrid plugged in", models.VehicleState{Make: "TOYOTA", Model: "RAV4 Prime", Powertrain: models.PHEV, PluggedIn: true},
			four, four, "sunroof:CLOSED", "rear:CLOSED", "chargingPort:OPEN"},
		{"rear-engined coupé", models.VehicleState{Make: "PORSCHE", Model: "911", Powertrain: models.ICE},
			two, two, "sunroof:CLOSED", "front:CLOSED", ""},
		{"three-door electric hatch", models.VehicleState{Make: "MINI", Model: "cooper se", Powertrain: models.BEV},
			two, two, "", "front:CLOSED rear:CLOSED", "chargingPort:CLOSED"},
		{"simulator model outside the catalogue", models.VehicleState{Make: "FORD", Model: "Custom Van", Powertrain: models.ICE},
			four, four, "sunroof:CLOSED", "rear:CLOSED", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec := tc.state.Security()
			got := fmt.Sprintf("%s | %s | %s | %s | %s", openings(sec.Doors), openings(sec.Windows), openings(sec.Sunroof),
				openings(sec.Storage), openings(sec.ChargingPort))
			want := fmt.Sprintf("%s | %s | %s | %s | %s", tc.doors, tc.windows, tc.sunroof, tc.storage, tc.chargingPort)
			if got != want || sec.Locked != tc.state.Locked {
				t.Fatalf("security:\n got %s (locked %v)\nwant %s (locked %v)", got, sec.Locked, want, tc.state.Locked)
			}
			for _, list := range [][]models.Opening{sec.Doors, sec.Windows, sec.Sunroof, sec.Storage, sec.ChargingPort} {
				if list == nil {
					t.Fatal("a kind the vehicle lacks is an empty list, never nil (it is [] on the wire)")
				}
			}
		})
	}
}
