package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// testServer is the real router on a fresh database.
type testServer struct {
	t   *testing.T
	db  *gorm.DB
	h   *Handler
	app *fiber.App
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	// Tests sign up many accounts from one address; the sign-up limit has its own tests.
	return newTestServerWith(t, Config{BaseURL: "http://localhost:8080", SignupOpen: true, UploadsDir: t.TempDir(),
		Limits: Limits{SignupsPerIP: 1_000_000}})
}

func newTestServerWith(t *testing.T, cfg Config) *testServer {
	t.Helper()
	db := modelstest.Open(t)
	h := New(db, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &testServer{t: t, db: db, h: h, app: h.App()}
}

// request sends req through the router and returns the response with its body read.
func (s *testServer) request(req *http.Request) (*http.Response, string) {
	s.t.Helper()
	if req.RemoteAddr == "" {
		req.RemoteAddr = "192.0.2.1:1234"
	}
	resp, err := s.app.Test(req, -1)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// api calls the JSON API with an optional bearer token and body (marshalled unless it is a string).
func (s *testServer) api(method, path, token string, body any) (*http.Response, string) {
	s.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		reader = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, reader)
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.request(req)
}

// apiJSON calls the API, checks the status and decodes the body into a map.
func (s *testServer) apiJSON(method, path, token string, body any, wantStatus int) map[string]any {
	s.t.Helper()
	resp, raw := s.api(method, path, token, body)
	if resp.StatusCode != wantStatus {
		s.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	out := map[string]any{}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			s.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return out
}

// account is a signed-up user with an API token and their first organisation.
type account struct {
	Email, Password, Token, UserID, OrgID string
}

const testPassword = "correct horse battery"

func (s *testServer) signup(email, org string) account {
	s.t.Helper()
	out := s.apiJSON("POST", "/api/v1/signup", "", map[string]string{"email": email, "password": testPassword, "name": "Test " + email, "organization": org}, 201)
	return account{Email: email, Password: testPassword, Token: out["token"].(string),
		UserID: out["user"].(map[string]any)["id"].(string), OrgID: out["organization"].(map[string]any)["id"].(string)}
}

// member signs up a new user and adds them to owner's organisation with role.
func (s *testServer) member(owner account, email string, role models.Role) account {
	s.t.Helper()
	a := s.signup(email, "Own org of "+email)
	s.apiJSON("POST", "/api/v1/orgs/"+owner.OrgID+"/members", owner.Token, map[string]string{"email": email, "role": string(role)}, 201)
	a.OrgID = owner.OrgID
	return a
}

// createApp creates an app through the API and returns its JSON (with the one-time client_secret).
func (s *testServer) createApp(a account, name string) map[string]any {
	s.t.Helper()
	return s.apiJSON("POST", "/api/v1/apps", a.Token, map[string]string{"name": name, "organization_id": a.OrgID}, 201)
}

// browser is a console client with a cookie jar.
type browser struct {
	s       *testServer
	cookies map[string]string
}

func (s *testServer) browser() *browser { return &browser{s: s, cookies: map[string]string{}} }

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.s.t.Helper()
	for name, value := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, body := b.s.request(req)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp, body
}

func (b *browser) get(path string) (*http.Response, string) {
	return b.do(httptest.NewRequest("GET", path, nil))
}

// post submits a form the way the console's pages do, with the CSRF token from the last page.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.s.t.Helper()
	if _, ok := b.cookies["keyfob_csrf"]; !ok {
		b.get("/signin")
	}
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("_csrf") {
		form.Set("_csrf", b.cookies["keyfob_csrf"])
	}
	return b.postRaw(path, form)
}

// postRaw submits a form exactly as given (no CSRF token added).
func (b *browser) postRaw(path string, form url.Values) (*http.Response, string) {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) signIn(email, password string) {
	b.s.t.Helper()
	resp, body := b.post("/signin", url.Values{"email": {email}, "password": {password}, "next": {"/apps"}})
	if resp.StatusCode != http.StatusSeeOther {
		b.s.t.Fatalf("sign in %s: status %d: %s", email, resp.StatusCode, body)
	}
}

func wantStatus(t *testing.T, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d; body: %.600s", resp.StatusCode, want, body)
	}
}

// sessionEvents lists a Connect session's events, looking up the app it belongs to.
func sessionEvents(s *testServer, sessionID string) ([]models.SessionEvent, error) {
	var appID string
	if err := s.db.Table("connect_sessions").Select("app_id").Where("id = ?", sessionID).Scan(&appID).Error; err != nil {
		return nil, err
	}
	return models.SessionEventsOf(s.db, appID, sessionID)
}
