package handlers

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"keyfob/models"
)

// allScopes is every vehicle API permission (api.md §Platform).
var allScopes = []string{"read_vehicle_info", "read_vin", "read_odometer", "read_fuel", "read_battery", "read_charge",
	"control_charge", "read_location", "read_tires", "read_engine_oil", "read_security", "control_security"}

var imperialUnits = map[string]string{"sc-unit-system": "imperial"}

// grantFor makes another sandbox grant with v's test key (a new token family) and returns a client on its
// access token, and its refresh token.
func grantFor(t *testing.T, v vehicleClient, owner, makeID string, scope []string) (vehicleClient, string) {
	t.Helper()
	out := v.s.apiJSON("POST", "/sandbox/public_token/create", v.testKy, map[string]any{"user_id": owner, "make": makeID, "scope": scope}, 201)
	status, tokens := v.s.exchange(v.app, url.Values{"grant_type": {"authorization_code"}, "code": {out["public_token"].(string)}})
	if status != 200 {
		t.Fatalf("exchange for %s/%s: %d %v", owner, makeID, status, tokens)
	}
	v.token = tokens["access_token"].(string)
	return v, tokens["refresh_token"].(string)
}

// ownerWith finds a test owner whose simulated vehicles of makeID include one with the powertrain.
func ownerWith(t *testing.T, makeID, powertrain string) (owner, vehicleID string) {
	t.Helper()
	for i := range 500 {
		owner = fmt.Sprintf("owner-%d", i)
		for _, veh := range models.SimulatedVehicles(owner, makeID) {
			if veh.Powertrain == powertrain {
				return owner, veh.ID
			}
		}
	}
	t.Fatalf("no test owner has a %s %s", powertrain, makeID)
	return "", ""
}

func (v vehicleClient) ok(t *testing.T, method, path, body string, header map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	resp, out := v.call(method, path, body, header)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return resp, out
}

func (v vehicleClient) state(t *testing.T, id string) models.VehicleState {
	t.Helper()
	st, err := models.LoadVehicleState(v.s.db, v.app.id, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (v vehicleClient) firstVehicle(t *testing.T) string {
	t.Helper()
	_, list := v.ok(t, "GET", "/v2.0/vehicles", "", nil)
	return list["vehicles"].([]any)[0].(string)
}

func wantDataHeaders(t *testing.T, resp *http.Response, what string) {
	t.Helper()
	for _, h := range []string{"SC-Data-Age", "SC-Fetched-At"} {
		if _, err := time.Parse(time.RFC3339, resp.Header.Get(h)); err != nil {
			t.Fatalf("%s: %s %q is not RFC 3339", what, h, resp.Header.Get(h))
		}
	}
}

// strs reads a JSON array of strings.
func strs(x any) []string {
	out := []string{}
	for _, e := range x.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func near(got any, want, tol float64) bool {
	f, ok := got.(float64)
	return ok && math.Abs(f-want) <= tol
}

func TestVehicleEndpointsUserPagingSlashes(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	_, u1 := v.ok(t, "GET", "/v2.0/user", "", nil)
	_, u2 := v.ok(t, "GET", "/v2.0/user/", "", nil)
	id, _ := u1["id"].(string)
	if !models.IsUUID(id) || u2["id"] != id || len(u1) != 1 {
		t.Fatalf("/user is {id} with a stable UUID: %v then %v", u1, u2)
	}
	other, _ := grantFor(t, v, "someone-else", "TESLA", []string{"read_vehicle_info"})
	if _, u3 := other.ok(t, "GET", "/v2.0/user", "", nil); u3["id"] == id || !models.IsUUID(u3["id"].(string)) {
		t.Fatalf("another owner is another user: %v vs %v", u3, u1)
	}

	var want []string
	for _, veh := range models.SimulatedVehicles("owner-9", "TESLA") {
		want = append(want, veh.ID)
	}
	n := len(want)
	for _, tc := range []struct {
		query  string
		ids    []string
		offset int
	}{
		{"", want, 0}, {"limit=1", want[:1], 0}, {"limit=50", want, 0}, {"limit=1&offset=1", want[min(1, n):min(2, n)], 1},
		{"offset=" + strconv.Itoa(n), nil, n}, {"offset=50", nil, 50}, {"limit=50&offset=1000", nil, 1000},
	} {
		for _, path := range []string{"/v2.0/vehicles?" + tc.query, "/v2.0/vehicles/?" + tc.query} {
			_, list := v.ok(t, "GET", path, "", nil)
			paging := list["paging"].(map[string]any)
			if !slices.Equal(strs(list["vehicles"]), append([]string{}, tc.ids...)) || paging["count"] != float64(n) || paging["offset"] != float64(tc.offset) {
				t.Fatalf("%s: %v, want vehicles %v count %d offset %d", path, list, tc.ids, n, tc.offset)
			}
		}
	}
	for _, q := range []string{"limit=0", "limit=51", "limit=abc", "limit=-1", "offset=-1", "offset=abc"} {
		resp, body := v.call("GET", "/v2.0/vehicles/?"+q, "", nil)
		wantSmartcarError(t, resp, body, 400, "VALIDATION")
	}

	p := "/v2.0/vehicles/" + want[0]
	for _, path := range []string{p, p + "/odometer", p + "/battery/capacity", p + "/permissions", p + "/tires/pressure"} {
		r1, b1 := v.ok(t, "GET", path, "", nil)
		r2, b2 := v.ok(t, "GET", path+"/", "", nil)
		if fmt.Sprint(b1) != fmt.Sprint(b2) && !near(b2["distance"], b1["distance"].(float64), 0.15) {
			t.Fatalf("%s vs %s/: %v vs %v", path, path, b1, b2)
		}
		if r1.Header.Get("SC-Unit-System") != r2.Header.Get("SC-Unit-System") || (r1.Header.Get("SC-Data-Age") == "") != (r2.Header.Get("SC-Data-Age") == "") {
			t.Fatalf("%s/: headers differ: %v vs %v", path, r1.Header, r2.Header)
		}
	}
}

func TestVehicleEndpointsICEUnits(t *testing.T) {
	s := newTestServer(t)
	base := s.sandboxClient(t, "FORD", allScopes)
	owner, id := ownerWith(t, "FORD", models.ICE)
	v, _ := grantFor(t, base, owner, "FORD", allScopes)
	p := "/v2.0/vehicles/" + id
	st := v.state(t, id)
	if st.Powertrain != models.ICE || st.FuelCapacityLiters <= 0 {
		t.Fatalf("want an ICE with a tank: %+v", st)
	}

	resp, attrs := v.ok(t, "GET", p, "", nil)
	wantDataHeaders(t, resp, "attributes")
	if attrs["id"] != id || attrs["make"] != "FORD" || attrs["model"] != st.Model || attrs["year"] != float64(st.Year) || len(attrs) != 4 {
		t.Fatalf("attributes %v, stored %+v", attrs, st)
	}
	resp, vin := v.ok(t, "GET", p+"/vin", "", nil)
	wantDataHeaders(t, resp, "vin")
	if s, _ := vin["vin"].(string); len(s) != 17 || s != st.VIN {
		t.Fatalf("vin %v, stored %s", vin, st.VIN)
	}

	liters := st.FuelPercent / 100 * st.FuelCapacityLiters
	psi := models.KPaToPSI
	for _, tc := range []struct {
		path             string
		metric, imperial map[string]float64
	}{
		{"/odometer", map[string]float64{"distance": st.OdometerKm}, map[string]float64{"distance": models.KmToMiles(st.OdometerKm)}},
		{"/fuel", map[string]float64{"range": st.RangeKm(), "percentRemaining": st.FuelPercent / 100, "amountRemaining": liters},
			map[string]float64{"range": models.KmToMiles(st.RangeKm()), "percentRemaining": st.FuelPercent / 100, "amountRemaining": models.LitersToGallons(liters)}},
		{"/tires/pressure", map[string]float64{"frontLeft": st.TireFrontLeftKPa, "frontRight": st.TireFrontRightKPa, "backLeft": st.TireBackLeftKPa, "backRight": st.TireBackRightKPa},
			map[string]float64{"frontLeft": psi(st.TireFrontLeftKPa), "frontRight": psi(st.TireFrontRightKPa), "backLeft": psi(st.TireBackLeftKPa), "backRight": psi(st.TireBackRightKPa)}},
	} {
		for system, want := range map[string]map[string]float64{"metric": tc.metric, "imperial": tc.imperial} {
			resp, body := v.ok(t, "GET", p+tc.path, "", map[string]map[string]string{"imperial": imperialUnits}[system])
			wantDataHeaders(t, resp, tc.path)
			if resp.Header.Get("SC-Unit-System") != system || len(body) != len(want) {
				t.Fatalf("%s %s: SC-Unit-System %q, body %v", system, tc.path, resp.Header.Get("SC-Unit-System"), body)
			}
			for k, w := range want {
				if tol := map[bool]float64{true: 0.006, false: 0.15}[k == "percentRemaining"]; !near(body[k], w, tol) {
					t.Fatalf("%s %s: %s = %v, want %.3f from the stored state", system, tc.path, k, body[k], w)
				}
			}
		}
	}
	resp, oil := v.ok(t, "GET", p+"/engine/oil", "", nil)
	wantDataHeaders(t, resp, "oil")
	if l, _ := oil["lifeRemaining"].(float64); l < 0 || l > 1 || !near(oil["lifeRemaining"], st.OilLifePercent/100, 0.006) {
		t.Fatalf("oil %v, stored %.1f %%", oil, st.OilLifePercent)
	}
	resp, loc := v.ok(t, "GET", p+"/location", "", nil)
	wantDataHeaders(t, resp, "location")
	if !near(loc["latitude"], st.Latitude, 1e-6) || !near(loc["longitude"], st.Longitude, 1e-6) {
		t.Fatalf("location %v, stored %.6f,%.6f", loc, st.Latitude, st.Longitude)
	}
	for _, c := range [][3]string{{"GET", "/battery", ""}, {"GET", "/battery/capacity", ""}, {"GET", "/charge", ""},
		{"POST", "/charge", `{"action":"START"}`}, {"POST", "/charge", `{"action":"STOP"}`}} {
		resp, body := v.call(c[0], p+c[1], c[2], nil)
		wantSmartcarError(t, resp, body, 501, "COMPATIBILITY")
	}
}

func TestVehicleEndpointsBEVChargeSecurityLocation(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	id := v.firstVehicle(t)
	p := "/v2.0/vehicles/" + id
	st := v.state(t, id)

	resp, bat := v.ok(t, "GET", p+"/battery", "", nil)
	wantDataHeaders(t, resp, "battery")
	if resp.Header.Get("SC-Unit-System") != "metric" || !near(bat["range"], st.RangeKm(), 0.15) || !near(bat["percentRemaining"], st.BatteryPercent/100, 0.006) {
		t.Fatalf("battery %v (%s), stored %+v", bat, resp.Header.Get("SC-Unit-System"), st)
	}
	resp, bat = v.ok(t, "GET", p+"/battery", "", imperialUnits)
	if resp.Header.Get("SC-Unit-System") != "imperial" || !near(bat["range"], models.KmToMiles(st.RangeKm()), 0.15) {
		t.Fatalf("imperial battery %v", bat)
	}
	resp, capa := v.ok(t, "GET", p+"/battery/capacity", "", nil)
	wantDataHeaders(t, resp, "capacity")
	if !near(capa["capacity"], st.BatteryCapacityKWh, 0.05) {
		t.Fatalf("capacity %v, stored %v", capa, st.BatteryCapacityKWh)
	}
	for _, path := range []string{"/fuel", "/engine/oil"} {
		resp, body := v.call("GET", p+path, "", nil)
		wantSmartcarError(t, resp, body, 501, "COMPATIBILITY")
		if body["code"] != "VEHICLE_NOT_CAPABLE" {
			t.Fatalf("%s on a BEV: a physical limit is VEHICLE_NOT_CAPABLE, got %v", path, body["code"])
		}
	}

	wantCharge := func(what string) {
		t.Helper()
		st := v.state(t, id)
		want := "NOT_CHARGING"
		if st.Charging {
			want = "CHARGING"
		} else if st.PluggedIn && st.BatteryPercent >= 100 {
			want = "FULLY_CHARGED"
		}
		resp, ch := v.ok(t, "GET", p+"/charge", "", nil)
		wantDataHeaders(t, resp, "charge")
		if ch["isPluggedIn"] != st.PluggedIn || ch["state"] != want || len(ch) != 2 {
			t.Fatalf("%s: charge %v, stored plugged=%v charging=%v %.1f%%", what, ch, st.PluggedIn, st.Charging, st.BatteryPercent)
		}
	}
	patch := func(pt models.VehicleStatePatch) {
		t.Helper()
		if _, err := models.UpdateVehicleState(s.db, v.app.id, id, pt); err != nil {
			t.Fatal(err)
		}
	}
	yes, no, half, full := true, false, 50.0, 100.0
	wantCharge("seeded")
	patch(models.VehicleStatePatch{PluggedIn: &no})
	wantCharge("unplugged")
	resp, body := v.call("POST", p+"/charge", `{"action":"START"}`, nil)
	wantSmartcarError(t, resp, body, 409, "VEHICLE_STATE")
	if body["code"] != "CHARGING_PLUG_NOT_CONNECTED" || v.state(t, id).Charging {
		t.Fatalf("START unplugged: %v", body)
	}
	patch(models.VehicleStatePatch{PluggedIn: &yes, BatteryPercent: &half})
	for _, step := range []struct {
		action   string
		charging bool
	}{{"START", true}, {"STOP", false}} {
		_, out := v.ok(t, "POST", p+"/charge", `{"action":"`+step.action+`"}`, nil)
		if out["status"] != "success" || v.state(t, id).Charging != step.charging {
			t.Fatalf("%s: %v, stored charging %v", step.action, out, v.state(t, id).Charging)
		}
		wantCharge(step.action)
	}
	patch(models.VehicleStatePatch{BatteryPercent: &full})
	wantCharge("full")
	resp, body = v.call("POST", p+"/charge", `{"action":"START"}`, nil)
	wantSmartcarError(t, resp, body, 409, "VEHICLE_STATE")
	resp, body = v.call("POST", p+"/charge", `{"action":"GO"}`, nil)
	wantSmartcarError(t, resp, body, 400, "VALIDATION")

	for _, step := range []struct {
		action string
		locked bool
	}{{"UNLOCK", false}, {"LOCK", true}, {"UNLOCK", false}} {
		_, out := v.ok(t, "POST", p+"/security/", `{"action":"`+step.action+`"}`, nil)
		if out["status"] != "success" || out["message"] == nil || v.state(t, id).Locked != step.locked {
			t.Fatalf("%s: %v, stored locked %v", step.action, out, v.state(t, id).Locked)
		}
		resp, sec := v.ok(t, "GET", p+"/security", "", nil)
		wantDataHeaders(t, resp, "security")
		doors, _ := sec["doors"].([]any)
		port := fmt.Sprint(sec["chargingPort"])
		wantPort := map[bool]string{true: "[map[status:OPEN type:chargingPort]]", false: "[map[status:CLOSED type:chargingPort]]"}[v.state(t, id).PluggedIn]
		if sec["isLocked"] != step.locked || len(doors) != 4 || doors[0].(map[string]any)["status"] != "CLOSED" ||
			fmt.Sprint(sec["sunroof"]) != "[]" || len(sec["windows"].([]any)) != 4 || len(sec["storage"].([]any)) != 2 || port != wantPort || len(sec) != 6 {
			t.Fatalf("after %s: %v", step.action, sec)
		}
	}

	lat, lng := 48.137154, 11.576124
	patch(models.VehicleStatePatch{Latitude: &lat, Longitude: &lng})
	if _, loc := v.ok(t, "GET", p+"/location", "", nil); !near(loc["latitude"], lat, 1e-6) || !near(loc["longitude"], lng, 1e-6) {
		t.Fatalf("location %v after moving the car to %v,%v", loc, lat, lng)
	}
	_, perms := v.ok(t, "GET", p+"/permissions", "", nil)
	paging := perms["paging"].(map[string]any)
	if !slices.Equal(strs(perms["permissions"]), allScopes) || paging["count"] != float64(len(allScopes)) || paging["offset"] != float64(0) {
		t.Fatalf("permissions %v", perms)
	}
}

func TestVehicleEndpointsPermissionsAndCallLog(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", []string{"read_vehicle_info"})
	id := v.firstVehicle(t)
	p := "/v2.0/vehicles/" + id
	var logged []string
	for _, c := range [][3]string{{"GET", "/vin"}, {"GET", "/odometer"}, {"GET", "/fuel"}, {"GET", "/battery"},
		{"GET", "/battery/capacity"}, {"GET", "/charge"}, {"POST", "/charge", `{"action":"START"}`}, {"GET", "/location"},
		{"GET", "/tires/pressure"}, {"GET", "/engine/oil"}, {"GET", "/security"}, {"POST", "/security", `{"action":"LOCK"}`}} {
		resp, body := v.call(c[0], p+c[1], c[2], nil)
		wantSmartcarError(t, resp, body, 403, "PERMISSION")
		logged = append(logged, c[0]+" "+c[1]+" 403")
	}
	v.ok(t, "GET", p, "", nil)
	_, perms := v.ok(t, "GET", p+"/permissions", "", nil)
	if !slices.Equal(strs(perms["permissions"]), []string{"read_vehicle_info"}) {
		t.Fatalf("permissions %v", perms)
	}
	logged = append(logged, "GET  200", "GET /permissions 200")

	fuel, _ := grantFor(t, v, "owner-9", "TESLA", []string{"read_fuel"})
	resp, body := fuel.call("GET", p+"/fuel", "", nil)
	wantSmartcarError(t, resp, body, 501, "COMPATIBILITY")
	logged = append(logged, "GET /fuel 501")

	calls, _ := models.ListVehicleCalls(s.db, v.app.id, id, 100)
	seen := map[string]bool{}
	for _, c := range calls {
		seen[fmt.Sprintf("%s %s %d", c.Method, c.Path, c.Status)] = true
	}
	for _, want := range logged {
		if !seen[want] {
			t.Fatalf("the call log lacks %q: %v", want, seen)
		}
	}

	other, _ := grantFor(t, v, "someone-else", "TESLA", allScopes)
	otherID := other.firstVehicle(t)
	resp, body = v.call("GET", "/v2.0/vehicles/"+otherID, "", nil)
	wantSmartcarError(t, resp, body, 403, "PERMISSION")
	for path, want := range map[string]int{
		"/v2.0/vehicles/00000000-0000-4000-8000-000000000000":          404,
		"/v2.0/vehicles/00000000-0000-4000-8000-000000000000/odometer": 404,
		"/v2.0/vehicles/not-a-uuid/odometer":                           400,
		"/v2.0/vehicles/" + id[:35]:                                    400,
		"/v2.0/nothing-here":                                           404,
		"/v2.0/vehicles/" + id + "/nothing-here":                       404,
	} {
		resp, body := v.call("GET", path, "", nil)
		wantSmartcarError(t, resp, body, want, map[int]string{400: "VALIDATION", 404: "RESOURCE_NOT_FOUND"}[want])
	}

	// A call refused because the token was not granted this vehicle is still a call to one of the app's
	// vehicles (vehicleInGrant: "Each call is logged for the Vehicle Simulator page").
	resp, body = other.call("GET", p+"/odometer", "", nil)
	wantSmartcarError(t, resp, body, 403, "PERMISSION")
	if calls, _ = models.ListVehicleCalls(s.db, v.app.id, id, 1); len(calls) != 1 || calls[0].Path != "/odometer" || calls[0].Status != 403 {
		t.Fatalf("a 403 for a vehicle outside the token's grant is missing from its call log: %+v", calls)
	}
}

func TestVehicleEndpointsAuthentication(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	id := v.firstVehicle(t)
	expired, _ := grantFor(t, v, "owner-9", "TESLA", allScopes)
	if err := s.db.Table("oauth_tokens").Where("hash = ?", models.HashToken(expired.token)).
		Update("expires_at", time.Now().UTC().Add(-time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	flipped := map[bool]string{true: "B", false: "A"}[strings.HasSuffix(v.token, "A")]
	for name, c := range map[string]struct{ auth, query string }{
		"no bearer":       {"", ""},
		"basic":           {"Basic " + v.token, ""},
		"malformed":       {"Bearer not-a-token", ""},
		"api key":         {"Bearer " + v.testKy, ""},
		"query token":     {"", "?access_token=" + v.token},
		"bad checksum":    {"Bearer " + v.token[:len(v.token)-1] + flipped, ""},
		"unknown kf_at_":  {"Bearer " + models.NewToken(models.PrefixAccessToken), ""},
		"expired kf_at_":  {"Bearer " + expired.token, ""},
		"bearer no token": {"Bearer ", ""},
	} {
		for _, path := range []string{"/v2.0/user", "/v2.0/vehicles", "/v2.0/vehicles/" + id + "/odometer"} {
			resp, body := v.call("GET", path+c.query, "", map[string]string{"Authorization": c.auth})
			wantSmartcarError(t, resp, body, 401, "AUTHENTICATION")
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Fatalf("%s at %s: WWW-Authenticate %q (RFC 6750 §3)", name, path, got)
			}
			res, _ := body["resolution"].(map[string]any)
			if _, hasCode := body["code"]; !hasCode || res["type"] != "REAUTHENTICATE" || body["description"] == "" ||
				!strings.HasPrefix(body["docURL"].(string), "https://") || body["suggestedUserMessage"] == "" {
				t.Fatalf("%s at %s: %v", name, path, body)
			}
		}
	}
}

func TestVehicleEndpointsDisconnect(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	id := v.firstVehicle(t)
	sibling, refresh := grantFor(t, v, "owner-9", "TESLA", allScopes) // another family covering the same vehicle
	owner, _ := ownerWith(t, "FORD", models.ICE)
	other, _ := grantFor(t, v, owner, "FORD", allScopes)
	otherID := other.firstVehicle(t)

	_, out := v.ok(t, "DELETE", "/v2.0/vehicles/"+id+"/application", "", nil)
	if out["status"] != "success" {
		t.Fatalf("disconnect: %v", out)
	}
	for _, c := range []vehicleClient{v, sibling} {
		resp, body := c.call("GET", "/v2.0/vehicles/"+id+"/odometer", "", nil)
		wantSmartcarError(t, resp, body, 401, "AUTHENTICATION")
	}
	status, tokens := s.exchange(v.app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if status != 400 || tokens["error"] != "invalid_grant" {
		t.Fatalf("a revoked family's refresh token still works: %d %v", status, tokens)
	}
	other.ok(t, "GET", "/v2.0/vehicles/"+otherID+"/odometer", "", nil)
	if _, err := models.LoadVehicleState(s.db, v.app.id, id); err != nil {
		t.Fatalf("disconnect revokes access, not the simulated vehicle: %v", err)
	}
	calls, _ := models.ListVehicleCalls(s.db, v.app.id, id, 5)
	if len(calls) == 0 || calls[0].Method != "DELETE" || calls[0].Path != "/application" || calls[0].Status != 200 {
		t.Fatalf("the disconnect is logged: %+v", calls)
	}
}

func TestSandboxAPIKeyRateLimit(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	key := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "ci", "environment": "test"}, 201)["key"].(string)
	body := `{"user_id":"u1","scope":[]}` // 422 before any write, and still counted
	for i := range 600 {
		if resp, raw := s.api("POST", "/sandbox/public_token/create", key, body); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("call %d of 600: %d %s", i+1, resp.StatusCode, raw)
		}
	}
	resp, raw := s.api("POST", "/sandbox/public_token/create", key, body)
	wantStatus(t, resp, raw, http.StatusTooManyRequests)
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 0 || secs > 60 || !strings.Contains(raw, "rate_limited") {
		t.Fatalf("the 601st call needs Retry-After (seconds): %q %s", resp.Header.Get("Retry-After"), raw)
	}
}
