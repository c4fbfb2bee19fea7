package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// compatCall sends a compatibility API request with the given Authorization header.
func compatCall(s *testServer, path, auth string) (*http.Response, map[string]any) {
	req := httptest.NewRequest("GET", path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, raw := s.request(req)
	out := map[string]any{}
	json.Unmarshal([]byte(raw), &out)
	return resp, out
}

func TestCompatibilityByVIN(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	creds := basicAuth(v.app.id, v.app.secret)
	q := func(params map[string]string) string {
		values := url.Values{}
		for k, val := range params {
			values.Set(k, val)
		}
		return "/v2.0/compatibility?" + values.Encode()
	}

	resp, out := compatCall(s, q(map[string]string{"vin": "5YJ3E1EA7RF317580", "scope": "read_odometer read_fuel", "country": "US"}), creds)
	want := `map[capabilities:[map[capable:true endpoint:/odometer permission:read_odometer reason:<nil>] ` +
		`map[capable:false endpoint:/fuel permission:read_fuel reason:VEHICLE_NOT_CAPABLE]] compatible:true reason:<nil>]`
	if resp.StatusCode != 200 || fmt.Sprint(out) != want || resp.Header.Get("SC-Request-Id") == "" {
		t.Fatalf("Tesla: %d %v", resp.StatusCode, out)
	}
	_, out = compatCall(s, q(map[string]string{"vin": "ZZZ3E1EA7RF317580", "scope": "read_odometer"}), creds)
	if fmt.Sprint(out) != "map[capabilities:[] compatible:false reason:MAKE_NOT_COMPATIBLE]" {
		t.Fatalf("unknown make: %v", out)
	}

	// The app's own simulated vehicle answers as itself: this Tesla has no fuel, whatever its VIN says.
	id := v.firstVehicle(t)
	vin := v.state(t, id).VIN
	_, out = compatCall(s, q(map[string]string{"vin": vin, "scope": "read_battery read_fuel"}), creds)
	caps, _ := out["capabilities"].([]any)
	if out["compatible"] != true || len(caps) != 3 || caps[2].(map[string]any)["reason"] != "VEHICLE_NOT_CAPABLE" {
		t.Fatalf("the app's simulated vehicle %s: %v", vin, out)
	}

	_, out = compatCall(s, q(map[string]string{"vin": "0SCAUDI012FE3B132", "scope": "read_odometer", "mode": "test",
		"test_mode_compatibility_level": "incompatible"}), creds)
	if fmt.Sprint(out["capabilities"]) != "[map[capable:false endpoint:/odometer permission:read_odometer reason:SMARTCAR_NOT_CAPABLE]]" {
		t.Fatalf("test level incompatible: %v", out)
	}
	resp, out = compatCall(s, q(map[string]string{"vin": "0SCAUDI012FE3B132", "scope": "read_odometer", "mode": "test"}), creds)
	wantSmartcarError(t, resp, out, 400, "VALIDATION")
	if detail := fmt.Sprint(out["detail"]); detail != "[map[field:test_mode_compatibility_level message:Field must be one of: [compatible,phev,incompatible,fuel,dinosaur,bev]]]" {
		t.Fatalf("test mode without a level: %v", out)
	}
	for _, params := range []map[string]string{{"scope": "read_odometer"}, {"vin": "5YJ3E1EA7RF317580"},
		{"vin": "5YJ3E1EA7RF317580", "scope": "read_speed"}, {"vin": "5YJ3E1EA7RF317580", "scope": "read_vin", "country": "DE"}} {
		resp, out := compatCall(s, q(params), creds)
		wantSmartcarError(t, resp, out, 400, "VALIDATION")
	}

	path := q(map[string]string{"vin": "5YJ3E1EA7RF317580", "scope": "read_vin"})
	for name, auth := range map[string]string{"none": "", "wrong secret": basicAuth(v.app.id, v.app.secret+"x"),
		"access token": "Bearer " + v.token, "malformed": "Basic %%%", "unknown client": basicAuth("00000000-0000-4000-8000-000000000000", v.app.secret)} {
		resp, out := compatCall(s, path, auth)
		wantSmartcarError(t, resp, out, 401, "AUTHENTICATION")
		if got := resp.Header.Get("WWW-Authenticate"); got != basicChallenge {
			t.Fatalf("%s: WWW-Authenticate %q", name, got)
		}
	}
}

// TestCompatibilityClientFailuresShareTheTokenBudget: wrong secrets at the compatibility API count against
// the client's /oauth/token budget, so it is no side door for guessing; the right secret still works.
func TestCompatibilityClientFailuresShareTheTokenBudget(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	path := "/v2.0/compatibility?vin=5YJ3E1EA7RF317580&scope=read_vin"
	wrong := basicAuth(app.id, app.secret+"x")
	for i := 1; i < maxClientFailures; i++ {
		if resp, _ := compatCall(s, path, wrong); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	resp, out := compatCall(s, path, wrong)
	wantSmartcarError(t, resp, out, 429, "RATE_LIMIT")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("a 429 says when to retry")
	}
	if status, body := s.exchange(connectApp{id: app.id, secret: app.secret + "x"}, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}); status != 429 {
		t.Fatalf("/oauth/token shares the budget: %d %v", status, body)
	}
	if resp, _ := compatCall(s, path, basicAuth(app.id, app.secret)); resp.StatusCode != 200 {
		t.Fatalf("the right secret still works: %d", resp.StatusCode)
	}
}

func TestCompatibilityMatrix(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	creds := basicAuth(app.id, app.secret)
	resp, out := compatCall(s, "/v2.0/compatibility/matrix?region=US&make=TESLA&type=BEV&scope=read_battery+read_fuel", creds)
	tesla, _ := out["TESLA"].([]any)
	first, _ := tesla[0].(map[string]any)
	if resp.StatusCode != 200 || len(out) != 1 || len(tesla) != 4 || fmt.Sprint(first) !=
		"map[endYear:2025 endpoints:[EV battery] model:Model 3 permissions:[read_battery] startYear:2017 type:BEV]" {
		t.Fatalf("matrix: %d %v", resp.StatusCode, out)
	}
	if _, out = compatCall(s, "/v2.0/compatibility/matrix?region=US&make=TESLA&scope=read_fuel", creds); len(out) != 0 {
		t.Fatalf("no Tesla has a fuel tank: %v", out)
	}
	for _, bad := range []string{"", "?region=MARS", "?region=US&make=DELOREAN", "?region=US&type=STEAM"} {
		resp, out := compatCall(s, "/v2.0/compatibility/matrix"+bad, creds)
		wantSmartcarError(t, resp, out, 400, "VALIDATION")
	}
	resp, out = compatCall(s, "/v2.0/compatibility/matrix?region=US", "")
	wantSmartcarError(t, resp, out, 401, "AUTHENTICATION")
	resp, out = compatCall(s, "/v2.0/compatibility/nothing", creds)
	wantSmartcarError(t, resp, out, 404, "RESOURCE_NOT_FOUND")
}
