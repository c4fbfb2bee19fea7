package handlers

import (
	"testing"

	"keyfob/models"
)

// TestVehicleChargeLimit: GET and POST /charge/limit read and store the simulated vehicle's limit (a string
// or a number, 0.5–1.0), behind read_charge and control_charge, on electric vehicles only.
func TestVehicleChargeLimit(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	id := v.firstVehicle(t)
	p := "/v2.0/vehicles/" + id + "/charge/limit"
	resp, out := v.ok(t, "GET", p, "", nil)
	wantDataHeaders(t, resp, "charge limit")
	if out["limit"] != float64(1) || len(out) != 1 {
		t.Fatalf("a new vehicle charges to full: %v", out)
	}
	for _, tc := range []struct {
		body string
		want float64
	}{{`{"limit":"0.8"}`, 0.8}, {`{"limit":0.65}`, 0.65}, {`{"limit":"1"}`, 1}, {`{"limit":0.5}`, 0.5}} {
		_, out := v.ok(t, "POST", p, tc.body, nil)
		if out["status"] != "success" || v.state(t, id).ChargeLimit != tc.want {
			t.Fatalf("POST %s: %v, stored %v", tc.body, out, v.state(t, id).ChargeLimit)
		}
		if _, got := v.ok(t, "GET", p+"/", "", nil); got["limit"] != tc.want {
			t.Fatalf("GET after POST %s: %v", tc.body, got)
		}
	}
	for _, body := range []string{`{"limit":0.49}`, `{"limit":"1.1"}`, `{"limit":"80%"}`, `{"limit":true}`, `{}`, `{"limit":null}`,
		`not json`, `{"limit":0.8,"extra":1}`} {
		resp, out := v.call("POST", p, body, nil)
		wantSmartcarError(t, resp, out, 400, "VALIDATION")
		if v.state(t, id).ChargeLimit != 0.5 {
			t.Fatalf("a refused %s changed the limit to %v", body, v.state(t, id).ChargeLimit)
		}
	}

	readOnly, _ := grantFor(t, v, "owner-9", "TESLA", []string{"read_charge"})
	resp, out = readOnly.call("POST", p, `{"limit":0.9}`, nil)
	wantSmartcarError(t, resp, out, 403, "PERMISSION")
	noRead, _ := grantFor(t, v, "owner-9", "TESLA", []string{"control_charge"})
	resp, out = noRead.call("GET", p, "", nil)
	wantSmartcarError(t, resp, out, 403, "PERMISSION")

	owner, iceID := ownerWith(t, "FORD", models.ICE)
	ice, _ := grantFor(t, v, owner, "FORD", allScopes)
	for _, c := range [][2]string{{"GET", ""}, {"POST", `{"limit":"0.8"}`}} {
		resp, out := ice.call(c[0], "/v2.0/vehicles/"+iceID+"/charge/limit", c[1], nil)
		wantSmartcarError(t, resp, out, 501, "COMPATIBILITY")
		if out["code"] != models.ReasonVehicleNotCapable {
			t.Fatalf("%s on a fuel car: %v", c[0], out)
		}
	}
}
