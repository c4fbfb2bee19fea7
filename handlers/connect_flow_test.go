package handlers

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"keyfob/models"
)

// connectApp is an app with a known secret and redirect URI, for walking Connect.
type connectApp struct {
	owner    account
	id       string
	secret   string
	redirect string
}

func (s *testServer) connectApp(t *testing.T) connectApp {
	t.Helper()
	a := s.signup("connect-dev@example.com", "Connect Co")
	app := s.createApp(a, "Fleet Tracker")
	id := app["id"].(string)
	redirect := "https://fleet.example.com/callback"
	s.apiJSON("POST", "/api/v1/apps/"+id+"/redirect_uris", a.Token, map[string]string{"uri": redirect}, 201)
	return connectApp{owner: a, id: id, secret: app["client_secret"].(string), redirect: redirect}
}

var (
	csrfField    = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	vehicleField = regexp.MustCompile(`name="vehicle" value="([^"]+)"`)
)

// owner is a browser walking Connect: it follows Keyfob's own redirects and stops at the app's.
type owner struct {
	b    *browser
	t    *testing.T
	page string
	path string
}

func (s *testServer) owner(t *testing.T) *owner { return &owner{b: s.browser(), t: t} }

// open starts at an authorize URL; it returns the final response when Keyfob redirects to the app.
func (o *owner) follow(resp *http.Response, body string) *http.Response {
	o.t.Helper()
	for resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/") {
			return resp
		}
		o.path = loc
		resp, body = o.b.get(loc)
	}
	o.page = body
	return resp
}

func (o *owner) open(query url.Values) *http.Response {
	return o.follow(o.b.get("/oauth/authorize?" + query.Encode()))
}

// submit posts the current page's form to action with the page's CSRF token.
func (o *owner) submit(action string, form url.Values) *http.Response {
	o.t.Helper()
	m := csrfField.FindStringSubmatch(o.page)
	if m == nil {
		o.t.Fatalf("no CSRF token on page %s:\n%.800s", o.path, o.page)
	}
	form.Set("_csrf", m[1])
	sessionPath := strings.SplitN(strings.TrimPrefix(o.path, "/connect/"), "?", 2)[0]
	return o.follow(o.b.postRaw("/connect/"+sessionPath+"/"+action, form))
}

func authorizeQuery(app connectApp, extra map[string]string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {app.id}, "redirect_uri": {app.redirect},
		"scope": {"required:read_vehicle_info read_odometer"}, "state": {"xyz-123"}, "mode": {"test"}}
	for k, v := range extra {
		q.Set(k, v)
	}
	return q
}

func redirectParams(t *testing.T, resp *http.Response, wantPrefix string) url.Values {
	t.Helper()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, wantPrefix+"?") {
		t.Fatalf("want a redirect to %s, got %d %q", wantPrefix, resp.StatusCode, loc)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

func (s *testServer) exchange(app connectApp, form url.Values) (int, map[string]any) {
	req := httpForm("/oauth/token", form)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(app.id+":"+app.secret)))
	resp, body := s.request(req)
	out := map[string]any{}
	json.Unmarshal([]byte(body), &out)
	if resp.Header.Get("Cache-Control") != "no-store" {
		s.t.Fatalf("/oauth/token must send Cache-Control: no-store, got %q", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, out
}

func TestConnectFlowEndToEnd(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	resp := o.open(authorizeQuery(app, map[string]string{"user": "owner-42"}))
	wantStatus(t, resp, o.page, http.StatusOK)
	if !strings.Contains(o.page, "Select your vehicle") || !strings.Contains(o.page, "Fleet Tracker") {
		t.Fatalf("brand select page expected: %.500s", o.page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("Connect headers: CSP %q, referrer %q", csp, resp.Header.Get("Referrer-Policy"))
	}
	o.submit("brand", url.Values{"make": {"KIA"}})
	if !strings.Contains(o.page, "Sign in to Kia") {
		t.Fatalf("sign-in page expected: %.500s", o.page)
	}
	o.submit("signin", url.Values{"email": {"driver@example.com"}, "password": {"anything"}})
	vehicles := vehicleField.FindAllStringSubmatch(o.page, -1)
	if len(vehicles) == 0 {
		t.Fatalf("vehicle page expected: %.800s", o.page)
	}
	o.submit("vehicles", url.Values{"vehicle": {vehicles[0][1]}})
	if !strings.Contains(o.page, "would like to") || !strings.Contains(o.page, "Required") {
		t.Fatalf("permissions page expected: %.800s", o.page)
	}
	resp = o.submit("permissions", url.Values{"decision": {"allow"}, "permission": {"read_odometer"}})
	params := redirectParams(t, resp, app.redirect)
	if params.Get("state") != "xyz-123" || !models.TokenWellFormed(params.Get("code"), models.PrefixCode) {
		t.Fatalf("redirect must carry the code and state: %v", params)
	}
	status, tokens := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {params.Get("code")}, "redirect_uri": {app.redirect}})
	if status != 200 || tokens["token_type"] != "Bearer" || tokens["expires_in"] != float64(7200) || tokens["refresh_token"] == nil {
		t.Fatalf("token exchange: %d %v", status, tokens)
	}
	grant, err := models.AuthenticateAccessToken(s.db, tokens["access_token"].(string))
	if err != nil || grant.Owner != "owner-42" || len(grant.Vehicles) != 1 || strings.Join(grant.Scope, " ") != "read_vehicle_info read_odometer" {
		t.Fatalf("grant: %+v %v", grant, err)
	}
	status, again := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {params.Get("code")}, "redirect_uri": {app.redirect}})
	if status != 400 || again["error"] != "invalid_grant" {
		t.Fatalf("a replayed code is invalid_grant: %d %v", status, again)
	}
	if _, err := models.AuthenticateAccessToken(s.db, tokens["access_token"].(string)); err == nil {
		t.Fatal("a replayed code revokes the tokens it issued")
	}
	var steps []string
	var sessionID string
	s.db.Table("connect_sessions").Select("id").Where("app_id = ?", app.id).Scan(&sessionID)
	events, _ := sessionEvents(s, sessionID)
	for _, e := range events {
		steps = append(steps, e.Step)
		if e.Owner != "owner-42" || e.Mode != "test" {
			t.Fatalf("event owner/mode: %+v", e)
		}
	}
	if got := strings.Join(steps, ","); got != "launched,brand_selected,signed_in,vehicles_selected,permissions_approved,completed" {
		t.Fatalf("session events: %s", got)
	}
}

func TestConnectSingleSignOnGoesThroughTheProviderPage(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
	if !strings.Contains(o.page, `name="sso" value="Google"`) {
		t.Fatalf("email+password makes offer Google, Microsoft and GitHub sign-in: %.600s", o.page)
	}
	o.submit("signin", url.Values{"sso": {"GitHub"}})
	if !strings.Contains(o.page, "Sign in with your GitHub account") || !strings.Contains(o.page, "simulated sign-in page") {
		t.Fatalf("single sign-on shows the provider's (simulated) page: %.800s", o.page)
	}
	o.submit("signin", url.Values{"email": {"dev@github.example"}, "password": {"x"}})
	if len(vehicleField.FindAllStringSubmatch(o.page, -1)) == 0 {
		t.Fatalf("after the provider page the owner chooses vehicles: %.600s", o.page)
	}
}
