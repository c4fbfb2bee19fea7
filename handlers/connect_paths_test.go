package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keyfob/models"
)

const fullFlow = "launched,brand_selected,signed_in,vehicles_selected,permissions_approved,completed"

func TestConnectMakeSkipsBrandSelect(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	wantStatus(t, o.open(authorizeQuery(app, map[string]string{"make": "kia", "user": "u-make"})), o.page, 200)
	if !strings.Contains(o.page, "Sign in to Kia") || strings.Contains(o.page, "make-grid") {
		t.Fatalf("make= must open on sign-in: %.500s", o.page)
	}
	wantSession(t, s, o.sessionID(), "launched,brand_selected", "", "")
	events, _ := sessionEvents(s, o.sessionID())
	if events[1].Make != "KIA" || events[1].Owner != "u-make" {
		t.Fatalf("brand_selected event: %+v", events[1])
	}
	o.signIn("driver@example.com")
	completeWithFirstVehicle(t, s, o, app)
}

// completeWithFirstVehicle finishes a signed-in owner's session: first vehicle, allow, and checks the
// redirect and the recorded steps.
func completeWithFirstVehicle(t *testing.T, s *testServer, o *owner, app connectApp) {
	t.Helper()
	o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	finalRedirect(t, o.submit("permissions", url.Values{"decision": {"allow"}}), app.redirect)
	wantSession(t, s, o.sessionID(), fullFlow, "completed", "")
}

func TestConnectSingleSelectVINWinsOverMake(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	const vin = "0SC4B2T8ZP3K9M7X1"
	pinned := models.ScenarioFor(vin+"@compatible", "TESLA").Pinned
	o := s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "TESLA", "single_select": "true", "single_select_vin": vin, "user": "vin-owner"}))
	o.signIn("driver@example.com")
	offered := o.vehicles()
	if len(offered) != 1 || offered[0] != pinned.ID || !strings.Contains(o.page, "M7X1") {
		t.Fatalf("only the VIN asked for may be offered, got %v: %.600s", offered, o.page)
	}
	for _, v := range models.SimulatedVehicles("vin-owner", "TESLA") {
		if strings.Contains(o.page, v.ID) {
			t.Fatalf("make's own vehicle %s offered despite single_select_vin", v.ID)
		}
	}
	o.submit("vehicles", url.Values{"vehicle": offered})
	code := finalRedirect(t, o.submit("permissions", url.Values{"decision": {"allow"}}), app.redirect).Get("code")
	_, tokens := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.redirect}})
	grant, err := models.AuthenticateAccessToken(s.db, fmt.Sprint(tokens["access_token"]))
	if err != nil || len(grant.Vehicles) != 1 || grant.Vehicles[0] != pinned.ID {
		t.Fatalf("the grant must cover the pinned vehicle only: %+v %v", grant, err)
	}
	wantSession(t, s, o.sessionID(), fullFlow, "completed", "")
}

func TestConnectVehicleChoiceRefusals(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	user := ownerWithVehicles(t, "KIA", 2)
	o := s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "KIA", "single_select": "true", "user": user}))
	o.signIn("driver@example.com")
	offered := o.vehicles()
	for _, tc := range []struct {
		name   string
		chosen []string
		text   string
	}{
		{"two with single_select", offered[:2], "choose one"},
		{"not offered", []string{"00000000-0000-4000-8000-000000000000"}, "Choose one of the vehicles shown"},
		{"none", nil, "Choose at least one vehicle"},
	} {
		resp := o.submit("vehicles", url.Values{"vehicle": tc.chosen})
		wantStatus(t, resp, o.page, http.StatusUnprocessableEntity)
		if !strings.Contains(o.page, tc.text) || len(o.vehicles()) != len(offered) || !strings.Contains(o.page, `type="radio"`) {
			t.Fatalf("%s: the form must be shown again with the reason: %.800s", tc.name, o.page)
		}
	}
	row := wantSession(t, s, o.sessionID(), "launched,brand_selected,signed_in", "", "")
	if row.Step != models.PageVehicles {
		t.Fatalf("refused choices must not move the session: step %q", row.Step)
	}
}

func TestConnectRequiredPermissionOnIncompatibleVehicle(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	for _, tc := range []struct {
		name, email, scope string
		wantVIN            string // "" = the first simulated vehicle
		incompatible       bool
	}{
		{"required fuel on a Tesla", "driver@example.com", "required:read_vehicle_info required:read_fuel", "", true},
		{"optional fuel on a Tesla", "driver@example.com", "required:read_vehicle_info read_fuel", "", false},
		{"scenario email", "smartcar@vehicle-incompatible.com", "read_vehicle_info", "", true},
		{"pinned bev", "0sc4b2t8zp3k9m7x1@bev", "required:read_fuel", "0SC4B2T8ZP3K9M7X1", true},
		{"pinned compatible", "0SC4B2T8ZP3K9M7X1@compatible", "required:read_fuel required:read_battery required:control_charge required:read_engine_oil", "0SC4B2T8ZP3K9M7X1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := s.owner(t)
			o.open(authorizeQuery(app, map[string]string{"make": "TESLA", "scope": tc.scope, "user": "tesla-owner", "state": "st-" + tc.name}))
			o.signIn(tc.email)
			offered := o.vehicles()
			want := models.SimulatedVehicles("tesla-owner", "TESLA")[0]
			if tc.wantVIN != "" {
				want = *models.ScenarioFor(tc.email, "TESLA").Pinned
				if len(offered) != 1 || offered[0] != want.ID || want.VIN != tc.wantVIN {
					t.Fatalf("a %s login pins exactly that vehicle, got %v", tc.email, offered)
				}
			}
			resp := o.submit("vehicles", url.Values{"vehicle": offered[:1]})
			if !tc.incompatible {
				if !strings.Contains(o.page, "would like to") {
					t.Fatalf("a compatible vehicle goes on to permissions: %d %.500s", resp.StatusCode, o.page)
				}
				finalRedirect(t, o.submit("permissions", url.Values{"decision": {"allow"}}), app.redirect)
				wantSession(t, s, o.sessionID(), fullFlow, "completed", "")
				return
			}
			p := finalRedirect(t, resp, app.redirect)
			if p.Get("error") != "vehicle_incompatible" || p.Get("vin") != want.VIN || p.Get("make") != "TESLA" ||
				p.Get("model") != want.Model || p.Get("year") != fmt.Sprint(want.Year) || p.Get("state") != "st-"+tc.name || p.Has("code") {
				t.Fatalf("vehicle_incompatible redirect: %v, want vehicle %+v", p, want)
			}
			wantSession(t, s, o.sessionID(), "launched,brand_selected,signed_in,vehicles_selected,error(vehicle_incompatible)", "error", "vehicle_incompatible")
		})
	}
	if n := countRows(t, s, "oauth_codes", ""); n != 2 {
		t.Fatalf("only the two compatible flows issue codes, got %d", n)
	}
}

func TestConnectDenyAndExit(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
	o.signIn("driver@example.com")
	o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	p := finalRedirect(t, o.submit("permissions", url.Values{"decision": {"deny"}}), app.redirect)
	if p.Get("error") != "access_denied" || p.Get("state") != "xyz-123" || p.Has("code") {
		t.Fatalf("deny: %v", p)
	}
	wantSession(t, s, o.sessionID(), "launched,brand_selected,signed_in,vehicles_selected,error(access_denied)", "error", "access_denied")

	for _, tc := range []struct{ at, events string }{
		{"brand", "launched"},
		{"signin", "launched,brand_selected"},
		{"provider", "launched,brand_selected"},
		{"vehicles", "launched,brand_selected,signed_in"},
		{"permissions", "launched,brand_selected,signed_in,vehicles_selected"},
	} {
		o := s.owner(t)
		o.open(authorizeQuery(app, nil))
		if tc.at != "brand" {
			o.submit("brand", url.Values{"make": {"TESLA"}})
		}
		if tc.at == "provider" {
			o.submit("signin", url.Values{})
		}
		if tc.at == "vehicles" || tc.at == "permissions" {
			o.signIn("driver@example.com")
		}
		if tc.at == "permissions" {
			o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
		}
		link := exitLink.FindStringSubmatch(o.page)
		if link == nil || link[1] != "/connect/"+o.sessionID()+"/exit" {
			t.Fatalf("%s: no exit link on the page: %.600s", tc.at, o.page)
		}
		resp, body := o.b.get(link[1])
		p := finalRedirect(t, resp, app.redirect)
		if p.Get("error") != "user_manually_returned_to_application" || p.Get("state") != "xyz-123" || p.Get("error_description") == "" {
			t.Fatalf("%s: exit redirect %v %s", tc.at, p, body)
		}
		wantSession(t, s, o.sessionID(), tc.events+",exited(user_manually_returned_to_application)", "exited", "user_manually_returned_to_application")
		resp, body = o.b.get("/connect/" + o.sessionID())
		wantStatus(t, resp, body, http.StatusForbidden)
	}
	if n := countRows(t, s, "oauth_codes", ""); n != 0 {
		t.Fatalf("deny and exit issue no code, got %d", n)
	}
}

func TestConnectScenarioEmailsEndOnErrorPage(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	for _, tc := range []struct{ email, code, title string }{
		{"smartcar@no-vehicles.com", "no_vehicles", "No vehicles found"},
		{"Smartcar@Invalid-Subscription.com", "invalid_subscription", "Subscription inactive"},
	} {
		o := s.owner(t)
		o.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
		resp := o.signIn(tc.email)
		if !strings.Contains(o.page, tc.title) || len(o.vehicles()) != 0 {
			t.Fatalf("%s: the error page is shown: %d %.600s", tc.email, resp.StatusCode, o.page)
		}
		want := "launched,brand_selected,signed_in,error(" + tc.code + ")"
		wantSession(t, s, o.sessionID(), want, "error", tc.code)
		link := exitLink.FindStringSubmatch(o.page)
		if link == nil {
			t.Fatalf("%s: the error page must let the owner leave: %.600s", tc.email, o.page)
		}
		resp, _ = o.b.get(link[1])
		p := finalRedirect(t, resp, app.redirect)
		if p.Get("error") != tc.code || p.Get("state") != "xyz-123" || p.Get("error_description") == "" {
			t.Fatalf("%s: exit redirect %v", tc.email, p)
		}
		wantSession(t, s, o.sessionID(), want, "error", tc.code) // leaving adds no second ending
		resp, body := o.b.get(link[1])
		wantStatus(t, resp, body, http.StatusForbidden)
	}
}

func TestConnectOAuthMakeUsesProviderPage(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"user": "tesla-driver"}))
	o.submit("brand", url.Values{"make": {"TESLA"}})
	if m, _ := models.FindMake("TESLA"); m.Auth != models.AuthOAuth || !strings.Contains(o.page, "Continue to Tesla") || strings.Contains(o.page, `name="password"`) {
		t.Fatalf("Tesla's sign-in step leads to its provider: %.600s", o.page)
	}
	o.submit("signin", url.Values{})
	if !strings.Contains(o.page, "simulated sign-in page") || !strings.Contains(o.page, `action="/connect/`+o.sessionID()+`/signin"`) {
		t.Fatalf("provider page expected, posting back to Keyfob: %.600s", o.page)
	}
	wantSession(t, s, o.sessionID(), "launched,brand_selected", "", "")
	o.submit("signin", url.Values{"email": {"elon@example.com"}, "password": {"x"}})
	if len(o.vehicles()) == 0 {
		t.Fatalf("vehicles page expected after the provider: %.600s", o.page)
	}
	completeWithFirstVehicle(t, s, o, app)
}

func TestConnectApprovalPromptAndRememberedGrants(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	// run walks to the vehicle step's answer: the permissions page, or (remembered grant) the app.
	run := func(extra map[string]string) (*owner, *http.Response) {
		q := map[string]string{"make": "KIA", "user": "returning"}
		for k, v := range extra {
			q[k] = v
		}
		o := s.owner(t)
		o.open(authorizeQuery(app, q))
		o.signIn("driver@example.com")
		return o, o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	}
	allowOnPage := func(o *owner, what string) {
		t.Helper()
		if !strings.Contains(o.page, "would like to") {
			t.Fatalf("%s: the permissions page must be shown: %.500s", what, o.page)
		}
		finalRedirect(t, o.submit("permissions", url.Values{"decision": {"allow"}, "permission": {"read_odometer"}}), app.redirect)
		wantSession(t, s, o.sessionID(), fullFlow, "completed", "")
	}
	o, _ := run(nil)
	allowOnPage(o, "first run")
	if n := countRows(t, s, "connect_grants", "app_id = ? AND owner = ?", app.id, "returning"); n != 1 {
		t.Fatalf("the grant is remembered once, got %d rows", n)
	}
	for _, prompt := range []string{"", "auto"} {
		o, resp := run(map[string]string{"approval_prompt": prompt})
		p := finalRedirect(t, resp, app.redirect)
		if !models.TokenWellFormed(p.Get("code"), models.PrefixCode) || p.Get("state") != "xyz-123" {
			t.Fatalf("approval_prompt=%q with a remembered grant redirects with a code after vehicle select: %v", prompt, p)
		}
		wantSession(t, s, o.sessionID(), "launched,brand_selected,signed_in,vehicles_selected,completed", "completed", "")
	}
	o, _ = run(map[string]string{"approval_prompt": "force"})
	allowOnPage(o, "approval_prompt=force")
	o, _ = run(map[string]string{"scope": "required:read_vehicle_info read_location"})
	allowOnPage(o, "another scope")
	o, _ = run(map[string]string{"user": "another-owner"})
	allowOnPage(o, "another owner")

	for i := range 2 {
		o, _ := run(map[string]string{"user": "forgetful", "flags": "remember_grant:false"})
		allowOnPage(o, fmt.Sprintf("remember_grant:false, run %d", i+1))
	}
	if n := countRows(t, s, "connect_grants", "owner = ?", "forgetful"); n != 0 {
		t.Fatalf("flags=remember_grant:false in test mode must not remember the grant, got %d rows", n)
	}
}

// A remembered grant may skip the page, but never grant more than the owner allowed the first time.
func TestConnectRememberedGrantKeepsDeclinedPermissionsOut(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	scopes := []string{}
	for run := range 2 {
		o := s.owner(t)
		o.open(authorizeQuery(app, map[string]string{"make": "KIA", "user": "careful"}))
		o.signIn("driver@example.com")
		resp := o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
		if run == 0 { // the owner unticks the optional read_odometer
			resp = o.submit("permissions", url.Values{"decision": {"allow"}, "permission": {"read_vehicle_info"}})
		}
		code := finalRedirect(t, resp, app.redirect).Get("code")
		status, tokens := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.redirect}})
		grant, err := models.AuthenticateAccessToken(s.db, fmt.Sprint(tokens["access_token"]))
		if status != 200 || err != nil {
			t.Fatalf("run %d: exchange %d %v %v", run, status, tokens, err)
		}
		scopes = append(scopes, strings.Join(grant.Scope, " "))
	}
	if scopes[0] != "read_vehicle_info" || scopes[1] != scopes[0] {
		t.Fatalf("granted scopes: first run %q, auto-approved run %q: read_odometer was declined", scopes[0], scopes[1])
	}
}

func TestConnectConsentNeedsTokenAndBrowser(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
	o.signIn("driver@example.com")
	o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	token := csrfField.FindStringSubmatch(o.page)[1]
	other := s.owner(t)
	other.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
	foreign := csrfField.FindStringSubmatch(other.page)[1]
	path := "/connect/" + o.sessionID() + "/permissions"
	allow := func(csrf string) url.Values {
		form := url.Values{"decision": {"allow"}}
		if csrf != "" {
			form.Set("_csrf", csrf)
		}
		return form
	}
	last := "A"
	if strings.HasSuffix(token, last) {
		last = "B"
	}
	altered := token[:len(token)-1] + last
	for _, tc := range []struct {
		name string
		b    *browser
		csrf string
	}{
		{"no token", o.b, ""},
		{"altered token", o.b, altered},
		{"another session's token", o.b, foreign},
		{"another browser with the right token", s.browser(), token},
	} {
		resp, body := tc.b.postRaw(path, allow(tc.csrf))
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
			t.Fatalf("%s: want 403 and no redirect, got %d %q", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
		if strings.Contains(body, "code=") || countRows(t, s, "oauth_codes", "") != 0 {
			t.Fatalf("%s: no code may be issued", tc.name)
		}
	}
	wantSession(t, s, o.sessionID(), "launched,brand_selected,signed_in,vehicles_selected", "", "")

	finalRedirect(t, o.submit("permissions", allow("")), app.redirect) // the owner's own browser still can
	for _, decision := range []string{"allow", "deny"} {
		resp, body := o.b.postRaw(path, url.Values{"decision": {decision}, "_csrf": {token}})
		wantStatus(t, resp, body, http.StatusForbidden)
		if !strings.Contains(body, "ended") {
			t.Fatalf("a finished session explains itself: %.400s", body)
		}
	}
	if n := countRows(t, s, "oauth_codes", ""); n != 1 {
		t.Fatalf("a finished session cannot be replayed: %d codes", n)
	}
	wantSession(t, s, o.sessionID(), fullFlow, "completed", "")
}
