package handlers

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"keyfob/models"
)

// vehicleClient is an app that got tokens through the sandbox, ready to call /v2.0.
type vehicleClient struct {
	s      *testServer
	app    connectApp
	token  string
	testKy string
}

func (s *testServer) sandboxClient(t *testing.T, make string, scope []string) vehicleClient {
	t.Helper()
	app := s.connectApp(t)
	key := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "ci", "environment": "test"}, 201)["key"].(string)
	out := s.apiJSON("POST", "/sandbox/public_token/create", key, map[string]any{"user_id": "owner-9", "make": make, "scope": scope}, 201)
	status, tokens := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {out["public_token"].(string)}})
	if status != 200 {
		t.Fatalf("exchange of a public_token: %d %v", status, tokens)
	}
	return vehicleClient{s: s, app: app, token: tokens["access_token"].(string), testKy: key}
}

// call sends a /v2.0 request and decodes the JSON answer.
func (v vehicleClient) call(method, path string, body string, header map[string]string) (*http.Response, map[string]any) {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.Header.Set("Authorization", "Bearer "+v.token)
	for k, val := range header {
		req.Header.Set(k, val)
	}
	resp, raw := v.s.request(req)
	out := map[string]any{}
	json.Unmarshal([]byte(raw), &out)
	if resp.Header.Get("SC-Request-Id") == "" {
		v.s.t.Fatalf("%s %s: every /v2.0 response carries SC-Request-Id", method, path)
	}
	return resp, out
}

func wantSmartcarError(t *testing.T, resp *http.Response, body map[string]any, status int, typ string) {
	t.Helper()
	if resp.StatusCode != status || body["type"] != typ || body["statusCode"] != float64(status) || body["requestId"] != resp.Header.Get("SC-Request-Id") {
		t.Fatalf("want %d %s in Smartcar's error body, got %d %v", status, typ, resp.StatusCode, body)
	}
	for _, field := range []string{"description", "docURL", "resolution", "suggestedUserMessage"} {
		if _, ok := body[field]; !ok {
			t.Fatalf("error body lacks %s: %v", field, body)
		}
	}
}

func TestVehicleAPIThroughSandbox(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", []string{"read_vehicle_info", "read_vin", "read_odometer", "read_fuel", "read_battery",
		"read_charge", "control_charge", "read_security", "control_security", "read_tires"})

	resp, list := v.call("GET", "/v2.0/vehicles", "", nil)
	ids := list["vehicles"].([]any)
	if resp.StatusCode != 200 || len(ids) == 0 || list["paging"].(map[string]any)["count"] != float64(len(ids)) {
		t.Fatalf("vehicles: %d %v", resp.StatusCode, list)
	}
	id := ids[0].(string)
	base := "/v2.0/vehicles/" + id
	for _, path := range []string{base, base + "/"} {
		resp, attrs := v.call("GET", path, "", nil)
		if resp.StatusCode != 200 || attrs["make"] != "TESLA" || attrs["id"] != id || resp.Header.Get("SC-Data-Age") == "" || resp.Header.Get("SC-Fetched-At") == "" {
			t.Fatalf("attributes at %s: %d %v", path, resp.StatusCode, attrs)
		}
	}
	_, metric := v.call("GET", base+"/odometer", "", nil)
	resp, miles := v.call("GET", base+"/odometer", "", map[string]string{"sc-unit-system": "imperial"})
	if resp.Header.Get("SC-Unit-System") != "imperial" || math.Abs(miles["distance"].(float64)-metric["distance"].(float64)*0.621371) > 1 {
		t.Fatalf("imperial odometer: %v vs metric %v (%s)", miles, metric, resp.Header.Get("SC-Unit-System"))
	}
	_, kpa := v.call("GET", base+"/tires/pressure", "", nil)
	_, psi := v.call("GET", base+"/tires/pressure", "", map[string]string{"sc-unit-system": "imperial"})
	if math.Abs(psi["frontLeft"].(float64)-kpa["frontLeft"].(float64)*0.145038) > 0.2 {
		t.Fatalf("psi %v vs kPa %v", psi, kpa)
	}

	resp, body := v.call("GET", base+"/fuel", "", nil)
	wantSmartcarError(t, resp, body, 501, "COMPATIBILITY")
	resp, body = v.call("GET", base+"/location", "", nil)
	wantSmartcarError(t, resp, body, 403, "PERMISSION")
	resp, body = v.call("GET", "/v2.0/vehicles/00000000-0000-4000-8000-000000000000/odometer", "", nil)
	wantSmartcarError(t, resp, body, 404, "RESOURCE_NOT_FOUND")
	resp, body = v.call("GET", "/v2.0/vehicles/not-an-id/odometer", "", nil)
	wantSmartcarError(t, resp, body, 400, "VALIDATION")
	resp, body = v.call("GET", "/v2.0/vehicles?limit=51", "", nil)
	wantSmartcarError(t, resp, body, 400, "VALIDATION")
	_, empty := v.call("GET", "/v2.0/vehicles?offset=50", "", nil)
	if len(empty["vehicles"].([]any)) != 0 {
		t.Fatalf("offset past the end: %v", empty)
	}

	resp, body = v.call("POST", base+"/security", `{"action":"UNLOCK"}`, nil)
	if resp.StatusCode != 200 || body["status"] != "success" {
		t.Fatalf("unlock: %d %v", resp.StatusCode, body)
	}
	_, sec := v.call("GET", base+"/security", "", nil)
	if sec["isLocked"] != false {
		t.Fatalf("after UNLOCK: %v", sec)
	}
	v.call("POST", base+"/security", `{"action":"LOCK"}`, nil)
	if _, sec = v.call("GET", base+"/security", "", nil); sec["isLocked"] != true {
		t.Fatalf("after LOCK: %v", sec)
	}
	resp, body = v.call("POST", base+"/security", `{"action":"OPEN"}`, nil)
	wantSmartcarError(t, resp, body, 400, "VALIDATION")

	unplugged := false
	if _, err := models.UpdateVehicleState(s.db, v.app.id, id, models.VehicleStatePatch{PluggedIn: &unplugged}); err != nil {
		t.Fatal(err)
	}
	resp, body = v.call("POST", base+"/charge", `{"action":"START"}`, nil)
	wantSmartcarError(t, resp, body, 409, "VEHICLE_STATE")
	if body["code"] != "CHARGING_PLUG_NOT_CONNECTED" {
		t.Fatalf("unplugged START: %v", body)
	}

	resp, body = v.call("DELETE", base+"/application", "", nil)
	if resp.StatusCode != 200 || body["status"] != "success" {
		t.Fatalf("disconnect: %d %v", resp.StatusCode, body)
	}
	resp, body = v.call("GET", base, "", nil)
	wantSmartcarError(t, resp, body, 401, "AUTHENTICATION")
	calls, _ := models.ListVehicleCalls(s.db, v.app.id, id, 50)
	if len(calls) < 10 {
		t.Fatalf("vehicle calls are logged for the simulator, got %d", len(calls))
	}
}

func TestSandboxKeys(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	live := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "prod", "environment": "live"}, 201)["key"].(string)
	test := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "ci", "environment": "test"}, 201)
	body := map[string]any{"user_id": "u1", "scope": []string{"read_vehicle_info"}}
	resp, raw := s.api("POST", "/sandbox/public_token/create", live, body)
	wantStatus(t, resp, raw, http.StatusForbidden)
	if !strings.Contains(raw, "test keys only") {
		t.Fatalf("live keys are refused with an explanation: %s", raw)
	}
	resp, raw = s.api("POST", "/sandbox/public_token/create", "", body)
	wantStatus(t, resp, raw, http.StatusUnauthorized)
	resp, raw = s.api("POST", "/sandbox/public_token/create", test["key"].(string), map[string]any{"user_id": "u1", "scope": []string{"read_everything"}})
	wantStatus(t, resp, raw, http.StatusUnprocessableEntity)
	resp, raw = s.api("POST", "/sandbox/public_token/create", test["key"].(string), map[string]any{"user_id": "u1", "scope": []string{"read_vehicle_info"}, "redirect_uri": "https://evil.example/cb"})
	wantStatus(t, resp, raw, http.StatusUnprocessableEntity)
	s.apiJSON("DELETE", "/api/v1/apps/"+app.id+"/api_keys/"+test["id"].(string), app.owner.Token, nil, 204)
	resp, raw = s.api("POST", "/sandbox/public_token/create", test["key"].(string), body)
	wantStatus(t, resp, raw, http.StatusUnauthorized)

	fresh := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "ci2", "environment": "test"}, 201)["key"].(string)
	out := s.apiJSON("POST", "/sandbox/public_token/create", fresh, map[string]any{"user_id": "u1", "scope": []string{"read_vehicle_info"}, "redirect_uri": app.redirect}, 201)
	status, _ := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {out["public_token"].(string)}})
	if status != 400 {
		t.Fatalf("a public_token bound to a redirect_uri needs it at /token, got %d", status)
	}
	var sandbox int64
	s.db.Table("connect_sessions").Where("app_id = ? AND sandbox = ?", app.id, true).Count(&sandbox)
	if sandbox != 1 {
		t.Fatalf("each sandbox grant is a session marked sandbox, got %d", sandbox)
	}
	keys, err := models.ListAPIKeys(s.db, app.owner.OrgID, app.id)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(keys, func(k models.APIKey) bool { return k.Name == "ci2" }); i < 0 || keys[i].LastUsedAt == nil {
		t.Fatal("a used key records last_used_at")
	}
}
