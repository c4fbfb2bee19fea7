package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// The route fuzz test's world: an organisation with a member of every role, an app with every kind of
// credential, a published branding version with a logo, a simulated vehicle, a vehicle shared over
// OAuth, a Connect session in a browser and a Link token, so every path parameter has a real value.

// lockedBuffer collects the handler's log lines; the test reads it for panics.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fuzzCaller is who sends a request: a browser (cookies, CSRF) or a bearer or Basic credential.
type fuzzCaller struct {
	name   string
	b      *browser          // console and Connect callers; nil for header credentials
	header map[string]string // Authorization
	csrf   func() string     // the token a form must carry, when the caller has one
	// keepsCookies: the caller's browser takes the cookies it is sent. The anonymous browser does not,
	// so a sign-up or sign-in among the mutations never turns it into someone.
	keepsCookies bool
}

type fuzzWorld struct {
	s      *testServer
	log    *lockedBuffer
	origin string // the real router on a loopback port
	http   *http.Client
	// params holds a real value for every path parameter the router knows; vehicleV2 is the vehicle
	// of the OAuth grant (the simulator's :vehicle is params["vehicle"]).
	params    map[string]string
	vehicleV2 string
	// Callers, least privileged first: a mutation that succeeds for the owner (a delete) runs last.
	console, api []fuzzCaller
	anonymous    fuzzCaller
	apiKey       fuzzCaller
	vehicle      fuzzCaller
	client       fuzzCaller
	connect      fuzzCaller
}

var fuzzRoles = []models.Role{models.RoleAnalyst, models.RoleDesigner, models.RoleDeveloper, models.RoleOwner}

func newFuzzWorld(t *testing.T) *fuzzWorld {
	t.Helper()
	logs := &lockedBuffer{}
	db := modelstest.Open(t)
	h := New(db, Config{BaseURL: "http://localhost:8080", SignupOpen: true, UploadsDir: t.TempDir()}, slog.New(slog.NewTextHandler(logs, nil)))
	s := &testServer{t: t, db: db, h: h, app: h.App()}
	w := &fuzzWorld{s: s, log: logs, params: map[string]string{}}

	vc := s.sandboxClient(t, "TESLA", []string{"read_vehicle_info", "read_odometer", "read_location", "control_security", "control_charge"})
	owner, appID := vc.app.owner, vc.app.id
	var vehicles struct{ Vehicles []string }
	_, raw := s.api("GET", "/v2.0/vehicles", vc.token, nil)
	if json.Unmarshal([]byte(raw), &vehicles) != nil || len(vehicles.Vehicles) == 0 {
		t.Fatalf("the sandbox grant has no vehicle: %s", raw)
	}
	w.vehicleV2 = vehicles.Vehicles[0]
	w.vehicle = fuzzCaller{name: "access token", header: bearerHeader(vc.token)}
	w.apiKey = fuzzCaller{name: "API key", header: bearerHeader(vc.testKy)}
	w.client = fuzzCaller{name: "client", header: map[string]string{"Authorization": basicAuth(appID, vc.app.secret)}}

	accounts := map[models.Role]account{models.RoleOwner: owner}
	for _, role := range fuzzRoles[:3] {
		accounts[role] = s.member(owner, string(role)+"@example.com", role)
	}
	for _, role := range fuzzRoles {
		a := accounts[role]
		b := s.signedIn(a)
		w.console = append(w.console, fuzzCaller{name: string(role), b: b, csrf: csrfCookie(b), keepsCookies: true})
		w.api = append(w.api, fuzzCaller{name: string(role) + " token", header: bearerHeader(a.Token)})
	}
	anon := s.browser()
	anon.get("/signin")
	w.anonymous = fuzzCaller{name: "anonymous", b: anon, csrf: csrfCookie(anon)}

	w.fillParams(t, owner, appID, vc)
	w.backToTheOrg()
	w.origin = s.serveForBrowser(t)
	w.http = &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return w
}

// fillParams creates one of everything a path can name and notes its id.
func (w *fuzzWorld) fillParams(t *testing.T, owner account, appID string, vc vehicleClient) {
	s := w.s
	prefix := "/api/v1/apps/" + appID
	secret := s.apiJSON("POST", prefix+"/secrets", owner.Token, map[string]any{"expire_previous_in": 3600}, 201)
	uri := s.apiJSON("POST", prefix+"/redirect_uris", owner.Token, map[string]string{"uri": "https://spare.example.com/cb"}, 201)
	key := s.apiJSON("POST", prefix+"/api_keys", owner.Token, map[string]string{"name": "spare", "environment": "live"}, 201)
	resp, raw := s.uploadLogoAPI(owner.Token, appID, "logo.png", "image/png", logoTestImage(t, "png", 64, 64))
	wantStatus(t, resp, raw, http.StatusOK)
	var branding struct {
		LogoURL string `json:"logo_url"`
	}
	json.Unmarshal([]byte(raw), &branding)
	s.apiJSON("POST", prefix+"/branding/publish", owner.Token, nil, 200)
	sim := s.simVehicle(appID, "FORD", "F-150 Lightning", "BEV")
	members := s.apiJSON("GET", "/api/v1/orgs/"+owner.OrgID+"/members", owner.Token, nil, 200)["members"].([]any)

	user := s.apiJSON("POST", "/user", vc.testKy, map[string]string{"client_user_id": "fuzz-user"}, 201)["user_id"].(string)
	link := s.apiJSON("POST", "/link/token", vc.testKy, map[string]any{"user_id": user, "redirect_url": vc.app.redirect}, 201)["link_token"].(string)

	o := s.owner(t)
	o.open(authorizeQuery(vc.app, nil))
	session := strings.SplitN(strings.TrimPrefix(o.path, "/connect/"), "?", 2)[0]
	m := csrfField.FindStringSubmatch(o.page)
	if session == "" || m == nil {
		t.Fatalf("no Connect session to fuzz: %s", o.path)
	}
	w.connect = fuzzCaller{name: "Connect browser", b: o.b, csrf: func() string { return m[1] }, keepsCookies: true}

	w.params = map[string]string{
		"org": owner.OrgID, "app": appID, "secret": secret["id"].(string), "uri": uri["id"].(string), "key": key["id"].(string),
		"user": memberID(members, models.RoleDeveloper), "owner": "owner-9", "version": "1", "vehicle": sim.VehicleID,
		"file": strings.TrimPrefix(branding.LogoURL, "/logos/"), "session": session, "token": link,
	}
}

// backToTheOrg makes the owner's organisation current in every console browser: members start in
// their own, and creating or switching organisations (both fuzzed) moves a browser elsewhere.
func (w *fuzzWorld) backToTheOrg() {
	for _, c := range w.console {
		c.b.post("/orgs/switch", url.Values{"org_id": {w.params["org"]}})
	}
}

func memberID(members []any, role models.Role) string {
	for _, m := range members {
		if m := m.(map[string]any); m["role"] == string(role) {
			return m["user_id"].(string)
		}
	}
	return ""
}

func bearerHeader(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func basicAuth(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req.Header.Get("Authorization")
}

func csrfCookie(b *browser) func() string { return func() string { return b.cookies["keyfob_csrf"] } }

// callersFor are the identities a route is tried with: everyone who could plausibly call it, and
// no one. The last caller is the most privileged and gets the full set of mutations.
func (w *fuzzWorld) callersFor(path string) []fuzzCaller {
	switch {
	case path == "/api/v1/signup" || path == "/api/v1/login":
		return []fuzzCaller{w.anonymous}
	case path == "/api/v1/events" || strings.HasPrefix(path, "/sandbox/") || path == "/user" || path == "/link/token":
		return []fuzzCaller{w.anonymous, w.apiKey}
	case strings.HasPrefix(path, "/api/v1/"):
		return append([]fuzzCaller{w.anonymous}, w.api...)
	case strings.HasPrefix(path, "/v2.0/"):
		return []fuzzCaller{w.anonymous, w.vehicle}
	case path == "/oauth/token":
		return []fuzzCaller{w.anonymous, w.client}
	case strings.HasPrefix(path, "/connect/:session"):
		return []fuzzCaller{w.anonymous, w.connect}
	case path == "/oauth/authorize", strings.HasPrefix(path, "/link/"), strings.HasPrefix(path, "/logos/"),
		path == "/healthz", path == "/readyz", path == "/connect/theme.css":
		return []fuzzCaller{w.anonymous}
	}
	return append([]fuzzCaller{w.anonymous}, w.console...) // the console, and the preview it frames
}

// send builds and sends one request over a real connection, so what the server refuses before routing
// (a request line over its buffer, a multipart body that does not parse) is answered as it would be in
// production. It never fails the test itself: one broken route must not hide the others.
func (w *fuzzWorld) send(r fiber.Route, c fuzzCaller, fc fuzzCase) (*http.Response, string, error) {
	target := fillPath(r.Path, fc.params)
	if fc.query != "" {
		target += "?" + fc.query
	}
	csrf := ""
	if c.csrf != nil && !fc.noCSRF {
		csrf = c.csrf()
	}
	var body []byte
	if fc.body != nil {
		body = fc.body(csrf)
	}
	req, err := http.NewRequest(r.Method, w.origin+target, bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	if fc.contentType != "" {
		req.Header.Set("Content-Type", fc.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if fc.auth != "" {
		req.Header.Set("Authorization", fc.auth)
	}
	if csrf != "" && strings.Contains(fc.contentType, "json") {
		req.Header.Set("X-CSRF-Token", csrf) // how scripts send it with a JSON body
	}
	if c.b != nil {
		for name, value := range c.b.cookies {
			req.AddCookie(&http.Cookie{Name: name, Value: value})
		}
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if c.b != nil && c.keepsCookies {
		for _, ck := range resp.Cookies() {
			if ck.MaxAge < 0 || ck.Value == "" {
				delete(c.b.cookies, ck.Name)
			} else {
				c.b.cookies[ck.Name] = ck.Value
			}
		}
	}
	return resp, string(answer), nil
}
