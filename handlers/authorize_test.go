package handlers

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"keyfob/models"
)

// Connect walking helpers, shared by the Connect, token and oauth2 client tests.

var exitLink = regexp.MustCompile(`href="(/connect/[^"/]+/exit)"`)

// sessionID is the Connect session the owner is walking (from the last Keyfob page it was on).
func (o *owner) sessionID() string {
	id, _, _ := strings.Cut(strings.TrimPrefix(o.path, "/connect/"), "?")
	id, _, _ = strings.Cut(id, "/")
	return id
}

// signIn signs in on the current sign-in page; an OAuth make goes through its simulated provider page.
func (o *owner) signIn(email string) *http.Response {
	o.t.Helper()
	if strings.Contains(o.page, "Continue to ") {
		o.submit("signin", url.Values{})
		if !strings.Contains(o.page, "simulated sign-in page") {
			o.t.Fatalf("an OAuth make signs in on the provider page first: %.600s", o.page)
		}
	}
	return o.submit("signin", url.Values{"email": {email}, "password": {"any password"}})
}

// vehicles lists the vehicle ids offered on the current page.
func (o *owner) vehicles() []string {
	var ids []string
	for _, m := range vehicleField.FindAllStringSubmatch(o.page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// finalRedirect checks that a flow ended with a 302/303 (never 307) to the app's URI and returns its query.
func finalRedirect(t *testing.T, resp *http.Response, redirect string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the final redirect must be 302 or 303, got %d (%s)", resp.StatusCode, resp.Header.Get("Location"))
	}
	return redirectParams(t, resp, redirect)
}

// wantSession checks a session's events (step, or step(error_code)) and its summary row.
func wantSession(t *testing.T, s *testServer, sessionID, events, outcome, errorCode string) models.ConnectSession {
	t.Helper()
	list, err := sessionEvents(s, sessionID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		step := e.Step
		if e.ErrorCode != "" {
			step += "(" + e.ErrorCode + ")"
		}
		got = append(got, step)
	}
	if strings.Join(got, ",") != events {
		t.Fatalf("session %s events:\n got %s\nwant %s", sessionID, strings.Join(got, ","), events)
	}
	var row models.ConnectSession
	if err := s.db.Where("id = ?", sessionID).Take(&row).Error; err != nil {
		t.Fatalf("connect_sessions row %s: %v", sessionID, err)
	}
	if row.Outcome != outcome || row.ErrorCode != errorCode {
		t.Fatalf("session %s: outcome %q error_code %q, want %q %q", sessionID, row.Outcome, row.ErrorCode, outcome, errorCode)
	}
	return row
}

// ownerWithVehicles finds a `user` value whose simulated account of make has at least n vehicles.
func ownerWithVehicles(t *testing.T, makeID string, n int) string {
	for i := range 200 {
		if u := fmt.Sprintf("owner-%d", i); len(models.SimulatedVehicles(u, makeID)) >= n {
			return u
		}
	}
	t.Fatalf("no owner with %d %s vehicles", n, makeID)
	return ""
}

var linkAttr = regexp.MustCompile(`(?i)(?:href|src|action)\s*=\s*"([^"]*)"`)

// wantConnectHeaders: Connect pages, error pages included, are never framed, cached or referred.
func wantConnectHeaders(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("%s: CSP %q lacks frame-ancestors 'none'", what, csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Cache-Control"), "no-store") {
		t.Fatalf("%s: X-Frame-Options %q, Referrer-Policy %q, Cache-Control %q", what, h.Get("X-Frame-Options"), h.Get("Referrer-Policy"), h.Get("Cache-Control"))
	}
	for _, m := range linkAttr.FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Fatalf("%s: a Connect page links or loads only same-origin paths, found %q", what, m[1])
		}
	}
}

// wantAuthorizePage: an untrusted request gets Keyfob's own 400 page, never a redirect, and the
// redirect_uri it carried appears nowhere on the page.
func wantAuthorizePage(t *testing.T, s *testServer, what, rawQuery, leaked, text string) {
	t.Helper()
	resp, body := s.browser().get("/oauth/authorize?" + rawQuery)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("%s: want a 400 page and no Location, got %d %q", what, resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "This link cannot open Connect") || !strings.Contains(body, text) {
		t.Fatalf("%s: want an HTML error page saying %q: %.600s", what, text, body)
	}
	if leaked != "" && (strings.Contains(body, leaked) || strings.Contains(body, html.EscapeString(leaked))) {
		t.Fatalf("%s: the page repeats the request's redirect_uri %q", what, leaked)
	}
	wantConnectHeaders(t, what, resp, body)
}

func TestAuthorizePageErrors(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	const registered = "https://fleet.example.com/callback"
	// with is the valid query with pairs of name, value set ("" deletes).
	with := func(kv ...string) string {
		q := authorizeQuery(app, nil)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q.Encode()
	}
	wantAuthorizePage(t, s, "unknown client", with("client_id", "00000000-0000-4000-8000-00000000beef", "redirect_uri", "https://evil.example"), "evil.example", "Unknown client_id")
	wantAuthorizePage(t, s, "malformed client", with("client_id", "fleet-tracker"), "", "Unknown client_id")
	wantAuthorizePage(t, s, "missing client_id", with("client_id", ""), "", "Unknown client_id")
	wantAuthorizePage(t, s, "missing response_type", with("response_type", ""), "", "response_type")
	wantAuthorizePage(t, s, "client_id twice", with()+"&client_id="+app.id, "", "only once")
	wantAuthorizePage(t, s, "redirect_uri twice", with()+"&redirect_uri="+url.QueryEscape("https://evil.example/cb"), "evil.example", "only once")
	wantAuthorizePage(t, s, "application_id differs", with("application_id", "00000000-0000-4000-8000-00000000beef"), "", "different applications")
	for _, variant := range []string{
		"https://fleet.example.com/Callback",
		"https://FLEET.example.com/callback",
		"https://fleet.example.com/callback/",
		"https://fleet.example.com/callback/extra",
		"https://fleet.example.com/callback?next=1",
		"https://fleet.example.com/callback#frag",
		"https://fleet.example.com/callback/..;/",
		"https://fleet.example.com/callback/%2e%2e%2f",
		"https://fleet.example.com/%2e%2e%2fcallback",
		"https://user@fleet.example.com/callback",
		"https://fleet.example.com@evil.example/callback",
		"https://fleet.example.com.evil/callback",
		"https://fleet.example.com:443/callback",
		"http://fleet.example.com/callback",
		" https://fleet.example.com/callback",
	} {
		wantAuthorizePage(t, s, "variant "+variant, with("redirect_uri", variant), variant, "Unauthorized redirect_uri")
	}
	if n := countRows(t, s, "connect_sessions", ""); n != 0 {
		t.Fatalf("refused requests start no session, got %d", n)
	}
	// The exact registered URI, as the same parameter under its alias, does open Connect.
	q := authorizeQuery(app, map[string]string{"redirect_uri": registered})
	q.Set("application_id", q.Get("client_id"))
	q.Del("client_id")
	resp, body := s.browser().get("/oauth/authorize?" + q.Encode())
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/connect/") {
		t.Fatalf("application_id is an alias of client_id: %d %q %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if n := countRows(t, s, "connect_sessions", "app_id = ?", app.id); n != 1 {
		t.Fatalf("application_id starts a session of that app: %d", n)
	}
}

func TestAuthorizeDefaultRedirectURI(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	s.apiJSON("POST", "/api/v1/apps/"+app.id+"/redirect_uris", app.owner.Token, map[string]string{"uri": "https://fleet.example.com/second"}, 201)
	q := authorizeQuery(app, map[string]string{"scope": "unknown"})
	q.Del("redirect_uri")
	resp, _ := s.browser().get("/oauth/authorize?" + q.Encode())
	if p := redirectParams(t, resp, app.redirect); p.Get("error") != "invalid_scope" {
		t.Fatalf("an error goes to the first registered URI: %v", p)
	}
	code := s.codeFor(t, app, map[string]string{"redirect_uri": ""})
	status, out := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
	if status != 200 || out["access_token"] == nil {
		t.Fatalf("a code of a request without redirect_uri is exchanged without one: %d %v", status, out)
	}
}

func TestAuthorizeRedirectErrors(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	const state = "s t/a&te=é?"
	challenge := strings.Repeat("A", 43)
	for _, tc := range []struct {
		name, raw, code string
		set             map[string]string
	}{
		{"unknown scope", "", "invalid_scope", map[string]string{"scope": "unknown"}},
		{"unknown required scope", "", "invalid_scope", map[string]string{"scope": "read_odometer required:read_everything"}},
		{"empty scope", "", "invalid_scope", map[string]string{"scope": ""}},
		{"response_type=token", "", "unsupported_response_type", map[string]string{"response_type": "token"}},
		{"plain PKCE", "", "invalid_request", map[string]string{"code_challenge": challenge, "code_challenge_method": "plain"}},
		{"challenge without method", "", "invalid_request", map[string]string{"code_challenge": challenge}},
		{"method without challenge", "", "invalid_request", map[string]string{"code_challenge_method": "S256"}},
		{"short challenge", "", "invalid_request", map[string]string{"code_challenge": "abc", "code_challenge_method": "S256"}},
		{"single_select_vin alone", "", "invalid_request", map[string]string{"single_select_vin": "0SC4B2T8ZP3K9M7X1"}},
		{"bad VIN", "", "invalid_request", map[string]string{"single_select": "true", "single_select_vin": "NOT-A-VIN"}},
		{"approval_prompt", "", "invalid_request", map[string]string{"approval_prompt": "sometimes"}},
		{"mode", "", "invalid_request", map[string]string{"mode": "production"}},
		{"make", "", "invalid_request", map[string]string{"make": "DELOREAN"}},
		{"single_select", "", "invalid_request", map[string]string{"single_select": "yes"}},
		{"flags", "", "invalid_request", map[string]string{"flags": "remember_grant"}},
		{"scope twice", "&scope=read_location", "invalid_request", nil},
		{"state twice", "&state=other", "invalid_request", nil},
	} {
		q := authorizeQuery(app, map[string]string{"state": state})
		for k, v := range tc.set {
			q.Set(k, v)
		}
		resp, body := s.browser().get("/oauth/authorize?" + q.Encode() + tc.raw)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: want 302, got %d %.300s", tc.name, resp.StatusCode, body)
		}
		p := redirectParams(t, resp, app.redirect)
		if p.Get("error") != tc.code || p.Get("error_description") == "" || p.Has("code") {
			t.Fatalf("%s: want error=%s with a description, got %v", tc.name, tc.code, p)
		}
		if tc.name != "state twice" && (len(p["state"]) != 1 || p.Get("state") != state) {
			t.Fatalf("%s: state must come back unchanged, got %q", tc.name, p["state"])
		}
	}
	if n := countRows(t, s, "connect_sessions", ""); n != 0 {
		t.Fatalf("refused requests start no session, got %d", n)
	}
}

func TestAuthorizeLiveModeIsAConnectErrorPage(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	resp := o.open(authorizeQuery(app, map[string]string{"mode": "live", "user": "live-owner"}))
	if resp.StatusCode != http.StatusOK || !strings.Contains(o.page, "Live mode is not available") || !strings.Contains(o.page, "test mode") {
		t.Fatalf("mode=live explains itself on Connect's error page: %d %.600s", resp.StatusCode, o.page)
	}
	wantConnectHeaders(t, "live-mode page", resp, o.page)
	wantSession(t, s, o.sessionID(), "launched,error(configuration_error)", "error", "configuration_error")
	link := exitLink.FindStringSubmatch(o.page)
	if link == nil || !strings.Contains(o.page, "Back to Fleet Tracker") {
		t.Fatalf("the page offers a way back to the app: %.600s", o.page)
	}
	resp, _ = o.b.get(link[1])
	p := finalRedirect(t, resp, app.redirect)
	if p.Get("error") != "configuration_error" || p.Get("status_code") != "400" || !strings.Contains(p.Get("error_message"), "Live mode") ||
		p.Get("error_description") == "" || p.Get("state") != "xyz-123" {
		t.Fatalf("configuration_error redirect: %v", p)
	}
	wantSession(t, s, o.sessionID(), "launched,error(configuration_error)", "error", "configuration_error")
	resp, body := o.b.get(link[1])
	wantStatus(t, resp, body, http.StatusForbidden)
	wantConnectHeaders(t, "ended-session page", resp, body)
}

func TestAuthorizeSendsNoCORSHeaders(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	for _, method := range []string{"OPTIONS", "GET"} {
		req := httptest.NewRequest(method, "/oauth/authorize?"+authorizeQuery(app, nil).Encode(), nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, _ := s.request(req)
		for name := range resp.Header {
			if strings.HasPrefix(strings.ToLower(name), "access-control-") {
				t.Fatalf("%s /oauth/authorize with an Origin must send no CORS headers, got %s: %v", method, name, resp.Header[name])
			}
		}
	}
}

func TestConnectPagesSendSecurityHeaders(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	o := s.owner(t)
	wantConnectHeaders(t, "brand page", o.open(authorizeQuery(app, nil)), o.page)
	wantConnectHeaders(t, "brand search", o.follow(o.b.get("/connect/"+o.sessionID()+"?q=te")), o.page)
	wantConnectHeaders(t, "sign-in page", o.submit("brand", url.Values{"make": {"TESLA"}}), o.page)
	wantConnectHeaders(t, "provider page", o.submit("signin", url.Values{}), o.page)
	wantConnectHeaders(t, "vehicles page", o.submit("signin", url.Values{"email": {"a@example.com"}, "password": {"x"}}), o.page)
	resp := o.submit("vehicles", url.Values{"vehicle": {"00000000-0000-4000-8000-000000000000"}})
	wantStatus(t, resp, o.page, http.StatusUnprocessableEntity)
	wantConnectHeaders(t, "vehicles page with an error", resp, o.page)
	wantConnectHeaders(t, "permissions page", o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]}), o.page)
	resp, body := s.browser().get("/connect/" + o.sessionID())
	wantStatus(t, resp, body, http.StatusForbidden)
	wantConnectHeaders(t, "another browser's page", resp, body)
	resp, body = s.browser().get("/connect/not-a-session")
	wantStatus(t, resp, body, http.StatusNotFound)
	wantConnectHeaders(t, "unknown session page", resp, body)
	resp, body = s.browser().postRaw("/connect/"+o.sessionID()+"/permissions", url.Values{"decision": {"allow"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	wantConnectHeaders(t, "refused consent", resp, body)
}

func TestConnectPagesEscapeAppNameAndErrors(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("xss-dev@example.com", "XSS Co")
	const name = "<script>alert(1)</script>"
	created := s.createApp(a, name)
	app := connectApp{owner: a, id: created["id"].(string), secret: created["client_secret"].(string), redirect: "https://xss.example.com/cb"}
	s.apiJSON("POST", "/api/v1/apps/"+app.id+"/redirect_uris", a.Token, map[string]string{"uri": app.redirect}, 201)
	escaped := html.EscapeString(name)
	check := func(what, body string) {
		t.Helper()
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatalf("%s: unescaped markup on the page: %.800s", what, body)
		}
	}
	o := s.owner(t)
	o.open(authorizeQuery(app, nil))
	if !strings.Contains(o.page, escaped) && !strings.Contains(o.page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("the app name is shown, escaped: %.600s", o.page)
	}
	check("brand page", o.page)
	o.submit("brand", url.Values{"make": {"KIA"}})
	check("sign-in page", o.page)
	o.signIn("driver@example.com")
	check("vehicles page", o.page)
	o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	check("permissions page", o.page)
	live := s.owner(t)
	live.open(authorizeQuery(app, map[string]string{"mode": "live"}))
	check("live-mode error page", live.page)

	const payload = "<img src=x onerror=alert(1)><script>alert(2)</script>"
	resp, body := s.browser().get("/oauth/authorize?client_id=nope&error_description=" + url.QueryEscape(payload) + "&redirect_uri=" + url.QueryEscape(payload))
	wantStatus(t, resp, body, http.StatusBadRequest)
	check("authorize error page", body)
	resp, _ = s.browser().get("/oauth/authorize?" + authorizeQuery(app, map[string]string{"scope": payload, "state": payload}).Encode())
	loc := resp.Header.Get("Location")
	if p := redirectParams(t, resp, app.redirect); strings.ContainsAny(loc, "<>\" ") || p.Get("state") != payload || p.Get("error") != "invalid_scope" {
		t.Fatalf("the error redirect carries the values URL-encoded: %q", loc)
	}
}
