package handlers

// Database outages (issue 10, item 3; security.md #32, #63, #64): with the database gone, every route
// that needs it answers 503 with Retry-After, never a 4xx that a client would act on ("unknown
// client", "revoked key", "not found"), never a 500 and never a 200 that did not happen. The routes
// come from the router itself, so a new route is walked without anyone remembering to add it.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"keyfob/models"
)

// outageWorld is one real row of everything a request can name, created while the database is up.
type outageWorld struct {
	s         *testServer
	app       connectApp
	apiKey    string
	access    string
	refresh   string
	code      string            // an unspent authorization code
	linkUser  string            // a Link user of the app
	linkState string            // the state of a Link result page (a spent link token's hash)
	params    map[string]string // route parameter → a real row's id
	cookies   map[string]string // a signed-in console, its CSRF cookie and a live Connect session's cookie
	csrf      string            // the console's CSRF token
	flowCSRF  string            // the Connect session's CSRF token
}

func newOutageWorld(t *testing.T) *outageWorld {
	t.Helper()
	s := newTestServer(t)
	app := s.connectApp(t)
	key := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "outage", "environment": "test"}, 201)
	w := &outageWorld{s: s, app: app, apiKey: key["key"].(string), cookies: map[string]string{}}
	shown := s.apiJSON("GET", "/api/v1/apps/"+app.id, app.owner.Token, nil, 200)
	sandbox := func() string {
		return s.apiJSON("POST", "/sandbox/public_token/create", w.apiKey, map[string]any{"user_id": "owner-9", "make": "FORD",
			"scope": []string{"read_vehicle_info", "read_odometer", "control_charge", "control_security"}}, 201)["public_token"].(string)
	}
	status, tokens := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {sandbox()}})
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, tokens)
	}
	w.access, w.refresh, w.code = tokens["access_token"].(string), tokens["refresh_token"].(string), sandbox()
	var vehicles struct{ Vehicles []string }
	resp, raw := s.request(bearer(httptest.NewRequest("GET", "/v2.0/vehicles", nil), w.access))
	if json.Unmarshal([]byte(raw), &vehicles); resp.StatusCode != 200 || len(vehicles.Vehicles) == 0 {
		t.Fatalf("GET /v2.0/vehicles: %d %s", resp.StatusCode, raw)
	}
	w.linkUser = s.apiJSON("POST", "/user", w.apiKey, map[string]string{"client_user_id": "crm-7"}, 201)["user_id"].(string)
	newLinkToken := func() string {
		return s.apiJSON("POST", "/link/token", w.apiKey, map[string]any{"user_id": w.linkUser}, 201)["link_token"].(string)
	}
	spent := newLinkToken()
	if resp, body := s.browser().get("/link/" + spent); resp.StatusCode != http.StatusFound {
		t.Fatalf("open a link token: %d %.300s", resp.StatusCode, body)
	}
	w.linkState = models.HashToken(spent)

	o := s.owner(t)
	wantStatus(t, o.open(authorizeQuery(app, nil)), o.page, http.StatusOK)
	w.flowCSRF = csrfField.FindStringSubmatch(o.page)[1]
	console := s.signedIn(app.owner)
	console.get("/apps")
	w.csrf = console.cookies["keyfob_csrf"]
	for _, jar := range []map[string]string{o.b.cookies, console.cookies} {
		for k, v := range jar {
			w.cookies[k] = v
		}
	}
	w.params = map[string]string{
		"app": app.id, "org": app.owner.OrgID, "user": app.owner.UserID, "key": key["id"].(string),
		"secret":  shown["secrets"].([]any)[0].(map[string]any)["id"].(string),
		"uri":     shown["redirect_uris"].([]any)[0].(map[string]any)["id"].(string),
		"vehicle": vehicles.Vehicles[0], "owner": "owner-9", "version": "1",
		"session": o.sessionID(), "token": newLinkToken(), "file": strings.Repeat("ab", 32) + ".png", "table": "steps",
	}
	return w
}

func bearer(req *http.Request, token string) *http.Request {
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

var routeParamName = regexp.MustCompile(`:([A-Za-z_]+)`)

// fill puts real ids into a route's parameters; a parameter the world does not know fails the test,
// so a new kind of route gets a real row here instead of being skipped.
func (w *outageWorld) fill(t *testing.T, path string) string {
	t.Helper()
	return routeParamName.ReplaceAllStringFunc(path, func(p string) string {
		v, ok := w.params[p[1:]]
		if !ok {
			t.Fatalf("route %s: no row for parameter %s; add one to newOutageWorld", path, p)
		}
		return url.PathEscape(v)
	})
}

// body is a request body that would succeed with the database up, for the routes that read it before
// any credential check; the others get a minimal one (a /v2.0 command's JSON, an empty form with
// its CSRF token): their credentials meet the database first.
func (w *outageWorld) body(method, route string) (string, string) {
	jsonBodies := map[string]any{
		"/api/v1/signup": map[string]string{"email": "new@example.com", "password": testPassword, "name": "New", "organization": "New Co"},
		"/api/v1/login":  map[string]string{"email": w.app.owner.Email, "password": testPassword},
		"/api/v1/events": map[string]any{"events": []map[string]string{{"id": "ev-1", "session_id": "s-1", "owner": "o-1",
			"step": models.StepLaunched, "occurred_at": time.Now().UTC().Format(time.RFC3339)}}},
		"/user":                        map[string]string{"client_user_id": "crm-8"},
		"/link/token":                  map[string]string{"user_id": w.linkUser},
		"/sandbox/public_token/create": map[string]string{"user_id": "owner-10", "make": "FORD"},
		"/api/v1/apps":                 map[string]string{"name": "Second", "organization_id": w.app.owner.OrgID},
	}
	forms := map[string]url.Values{
		"/signin":      {"email": {w.app.owner.Email}, "password": {testPassword}, "next": {"/apps"}},
		"/signup":      {"email": {"new2@example.com"}, "password": {testPassword}, "name": {"New"}, "organization": {"New Co"}},
		"/oauth/token": {"grant_type": {"authorization_code"}, "code": {w.code}},
	}
	if method == "GET" || method == "DELETE" {
		return "", ""
	}
	if strings.HasPrefix(route, "/api/") || strings.HasPrefix(route, "/v2.0/") || route == "/user" ||
		route == "/link/token" || strings.HasPrefix(route, "/sandbox/") {
		raw, _ := json.Marshal(jsonBodies[route])
		if jsonBodies[route] == nil {
			raw = []byte(`{"action":"START"}`)
		}
		return string(raw), "application/json"
	}
	form := forms[route]
	if form == nil {
		form = url.Values{}
	}
	if strings.HasPrefix(route, "/connect/") {
		form.Set("_csrf", w.flowCSRF)
	} else if route != "/oauth/token" {
		form.Set("_csrf", w.csrf)
	}
	return form.Encode(), "application/x-www-form-urlencoded"
}

// request builds a call of route as its real client makes it: with credentials, or anonymously.
func (w *outageWorld) request(t *testing.T, method, route string, signedIn bool) *http.Request {
	t.Helper()
	target := w.fill(t, route)
	switch route {
	case "/oauth/authorize":
		target += "?" + authorizeQuery(w.app, nil).Encode()
	case "/link/result":
		target += "?state=" + w.linkState + "&code=kf_code_x"
	}
	body, contentType := w.body(method, route)
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if !signedIn {
		return req
	}
	switch {
	case route == "/api/v1/events" || route == "/user" || route == "/link/token" || strings.HasPrefix(route, "/sandbox/"):
		bearer(req, w.apiKey)
	case strings.HasPrefix(route, "/api/"):
		bearer(req, w.app.owner.Token)
	case strings.HasPrefix(route, "/v2.0/compatibility"), route == "/oauth/token":
		req.SetBasicAuth(w.app.id, w.app.secret) // the app's client credentials
	case strings.HasPrefix(route, "/v2.0/"):
		bearer(req, w.access)
	default:
		for name, value := range w.cookies {
			req.AddCookie(&http.Cookie{Name: name, Value: value})
		}
	}
	return req
}

// dbFree are the routes that never touch the database: liveness, the theme stylesheet (computed
// from its query) and the OAuth metadata (from the configuration). They must keep answering, without
// a single query.
var dbFree = map[string]bool{"/healthz": true, "/connect/theme.css": true, "/.well-known/oauth-authorization-server": true}

// wantUnavailable checks a 503: Retry-After, and the body its kind of client reads.
func wantUnavailable(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d, want 503; body %.300s", what, resp.StatusCode, body)
		return
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("%s: 503 without a Retry-After of whole seconds (%q)", what, resp.Header.Get("Retry-After"))
	}
	path := strings.Fields(what)[1]
	var out map[string]any
	isJSON := json.Unmarshal([]byte(body), &out) == nil
	switch {
	case strings.HasPrefix(path, "/oauth/token"):
		if !isJSON || out["error"] != "temporarily_unavailable" || out["access_token"] != nil || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: want RFC 6749 temporarily_unavailable, no token, no-store; got %s", what, body)
		}
	case strings.HasPrefix(path, "/v2.0/"):
		if !isJSON || out["type"] != "SERVER" || out["statusCode"] != float64(503) {
			t.Errorf("%s: want Smartcar's SERVER error with statusCode 503; got %s", what, body)
		}
	case path == "/readyz":
		if !isJSON || out["status"] != "database unreachable" {
			t.Errorf("%s: readiness says why: %s", what, body)
		}
	case strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/sandbox/") || path == "/user" || path == "/link/token":
		errBody, _ := out["error"].(map[string]any)
		if !isJSON || errBody["code"] != "unavailable" {
			t.Errorf("%s: want the API's {error:{code:unavailable}}; got %s", what, body)
		}
	default:
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "try again") {
			t.Errorf("%s: want an HTML page saying to try again; got %s %.300s", what, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestDatabaseOutageAnswers503OnEveryRoute closes the pool under a live server and calls every route
// twice: as its real client (session cookie, API token, API key, access token, client secret,
// Connect cookie), which must get 503, and anonymously, which may still be refused as long as the
// refusal needed no query; anything that tried the database must say 503.
func TestDatabaseOutageAnswers503OnEveryRoute(t *testing.T) {
	w := newOutageWorld(t)
	counted := countQueries(t, w.s.db)
	sqlDB, err := w.s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close() // the database is gone: every statement from now on fails

	walked := 0
	for _, r := range w.s.app.GetRoutes(true) {
		if r.Method == "HEAD" {
			continue // Fiber's automatic twin of each GET
		}
		walked++
		for _, signedIn := range []bool{true, false} {
			what := r.Method + " " + r.Path
			if !signedIn {
				what += " (anonymous)"
			}
			before := counted.Load()
			resp, body := w.s.request(w.request(t, r.Method, r.Path, signedIn))
			touched := counted.Load() > before
			switch {
			case dbFree[r.Path]:
				if resp.StatusCode != 200 || touched {
					t.Errorf("%s: status %d (queries: %v), want 200 without the database", what, resp.StatusCode, touched)
				}
			case signedIn || touched || resp.StatusCode == http.StatusServiceUnavailable:
				// A request that reached the database must say so; credentials reach it on every route.
				wantUnavailable(t, what, resp, body)
			case resp.StatusCode >= 500:
				t.Errorf("%s: status %d before any query; body %.300s", what, resp.StatusCode, body)
			}
		}
	}
	if walked < 100 {
		t.Fatalf("walked %d routes: the router's table was not read", walked)
	}
}

// faults fails every database statement from the nth of a request on, as when the connection dies
// or the server restarts mid-request.
type faults struct {
	from  atomic.Int64 // 0 when disarmed
	seen  atomic.Int64
	first atomic.Value // table of the first failed statement
}

var errServerRestarted = &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}

func injectFaults(t *testing.T, db *gorm.DB) *faults {
	t.Helper()
	f := &faults{}
	fail := func(db *gorm.DB) {
		if db.DryRun {
			return // a subquery being rendered into its statement, not a statement of its own
		}
		if from := f.from.Load(); from > 0 && f.seen.Add(1) >= from {
			f.first.CompareAndSwap(nil, "table "+db.Statement.Table)
			db.AddError(errServerRestarted)
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().Before("gorm:query").Register("test:fail_query", fail),
		cb.Create().Before("gorm:create").Register("test:fail_create", fail),
		cb.Update().Before("gorm:update").Register("test:fail_update", fail),
		cb.Delete().Before("gorm:delete").Register("test:fail_delete", fail),
		cb.Row().Before("gorm:row").Register("test:fail_row", fail),
		cb.Raw().Before("gorm:raw").Register("test:fail_raw", fail),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *faults) arm(n int64) {
	f.seen.Store(0)
	f.first = atomic.Value{}
	f.from.Store(n)
}

// disarm reports the table of the first statement that failed, "" when the request ran fewer.
func (f *faults) disarm() string {
	f.from.Store(0)
	first, _ := f.first.Load().(string)
	return first
}

// bookkeeping may fail after the answer is decided without changing it: the vehicle call log (written
// once the answer is known, whatever it is) and the sign-in limiter's refund after a successful
// sign-in (the attempt was counted before it ran; a lost refund only counts a success as a failure).
func bookkeeping(route, table string, status int) bool {
	switch {
	case table == "table vehicle_api_calls":
		return status != http.StatusInternalServerError
	case table == "table rate_counters" && (route == "/signin" || route == "/api/v1/login"):
		return status < 400
	}
	return false
}

// walkOrder puts the routes that end a credential or a row the others use (sign-out, revocations,
// deletions) last, so the walk keeps reaching deep into the others.
func walkOrder(routes []fiber.Route) []fiber.Route {
	ends := regexp.MustCompile(`logout|signout|password|delete|remove|revoke|/exit$`)
	rank := func(r fiber.Route) int {
		switch {
		case r.Method == "DELETE" || ends.MatchString(r.Path):
			return 2
		case r.Method == "GET":
			return 0
		}
		return 1
	}
	out := slices.Clone(routes)
	slices.SortStableFunc(out, func(a, b fiber.Route) int { return rank(a) - rank(b) })
	return out
}

// refusals are requests the route table's walk does not make: the ones that end in a refusal, whose
// lookups must tell "no such thing" from "could not look".
func (w *outageWorld) refusals(t *testing.T) map[string]func() *http.Request {
	token := func(form url.Values, secret string) func() *http.Request {
		return func() *http.Request {
			req := httpForm("/oauth/token", form)
			req.SetBasicAuth(w.app.id, secret)
			return req
		}
	}
	return map[string]func() *http.Request{
		"POST /oauth/token with a wrong secret":  token(url.Values{"grant_type": {"authorization_code"}, "code": {w.code}}, models.NewToken(models.PrefixClientSecret)),
		"POST /oauth/token with a refresh token": token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.refresh}}, w.app.secret),
		"POST /oauth/token with an unknown code": token(url.Values{"grant_type": {"authorization_code"}, "code": {models.NewToken(models.PrefixCode)}}, w.app.secret),
		"GET /link/:token spent":                 func() *http.Request { return httptest.NewRequest("GET", "/link/"+w.params["token"], nil) },
		"GET /api/v1/me with an unknown token": func() *http.Request {
			return bearer(httptest.NewRequest("GET", "/api/v1/me", nil), models.NewToken(models.PrefixAPIToken))
		},
		"POST /api/v1/events with an unknown key": func() *http.Request {
			return bearer(httptest.NewRequest("POST", "/api/v1/events", strings.NewReader(`{"events":[]}`)), models.NewToken(models.PrefixTestKey))
		},
	}
}

// TestDatabaseFailingMidRequestAnswers503 fails the database at each statement of each route in turn
// (and every statement after it): whichever read or write meets the failure, the answer is 503, so
// no lookup anywhere turns a failed query into "not found", "not signed in" or a false success.
func TestDatabaseFailingMidRequestAnswers503(t *testing.T) {
	w := newOutageWorld(t)
	f := injectFaults(t, w.s.db)
	runs := 0
	walk := func(what, route string, req func() *http.Request) {
		for n := int64(1); ; n++ {
			if n > 100 {
				t.Fatalf("%s: more than 100 statements", what)
			}
			f.arm(n)
			resp, body := w.s.request(req())
			first := f.disarm()
			if first == "" {
				return // the request ran fewer than n statements: every one of them has been failed
			}
			runs++
			if !bookkeeping(route, first, resp.StatusCode) {
				wantUnavailable(t, fmt.Sprintf("%s with statement %d (%s) failing", what, n, first), resp, body)
			}
		}
	}
	for _, r := range walkOrder(w.s.app.GetRoutes(true)) {
		if r.Method != "HEAD" {
			walk(r.Method+" "+r.Path, r.Path, func() *http.Request { return w.request(t, r.Method, r.Path, true) })
		}
	}
	for what, req := range w.refusals(t) {
		walk(what, "", req)
	}
	t.Logf("%d requests met a failing statement", runs)
}
