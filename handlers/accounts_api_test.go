package handlers

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
)

// checkErrorBody asserts the status and the management API's error shape,
// {"error": {"code", "message", "field"?}}, and returns the message.
func checkErrorBody(t *testing.T, resp *http.Response, raw string, status int, code, field string) string {
	t.Helper()
	wantStatus(t, resp, raw, status)
	var body map[string]map[string]any
	if err := json.Unmarshal([]byte(raw), &body); err != nil || len(body) != 1 || body["error"] == nil {
		t.Fatalf("want {\"error\": {...}}, got %s", raw)
	}
	e := body["error"]
	gotCode, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	gotField, _ := e["field"].(string)
	if gotCode == "" || (code != "" && gotCode != code) || strings.TrimSpace(msg) == "" || gotField != field {
		t.Fatalf("want error code %q field %q with a message, got %s", code, field, raw)
	}
	for k := range e {
		if k != "code" && k != "message" && k != "field" {
			t.Fatalf("unexpected key %q in error body %s", k, raw)
		}
	}
	return msg
}

// wantKeys asserts that m has exactly the given keys.
func wantKeys(t *testing.T, what string, m any, keys ...string) {
	t.Helper()
	obj, ok := m.(map[string]any)
	if !ok {
		t.Fatalf("%s: want an object, got %#v", what, m)
	}
	got := make([]string, 0, len(obj))
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	keys = slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, keys) {
		t.Fatalf("%s: keys %v, want %v (%v)", what, got, keys, obj)
	}
}

func wantFutureTime(t *testing.T, what string, v any, atLeast time.Duration) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil || !at.After(time.Now().Add(atLeast)) {
		t.Fatalf("%s: want an RFC 3339 time more than %s ahead, got %v", what, atLeast, v)
	}
	return at
}

func signupBody(email, password string) map[string]string {
	return map[string]string{"email": email, "password": password, "name": "Ada Lovelace", "organization": "Analytical Engines"}
}

func TestAPISignupShapeAndConflicts(t *testing.T) {
	s := newTestServer(t)
	out := s.apiJSON("POST", "/api/v1/signup", "", signupBody("ada@example.com", testPassword), 201)
	wantKeys(t, "signup", out, "user", "organization", "token", "expires_at")
	wantKeys(t, "user", out["user"], "id", "email", "name")
	wantKeys(t, "organization", out["organization"], "id", "name", "role")
	user, org := out["user"].(map[string]any), out["organization"].(map[string]any)
	if user["email"] != "ada@example.com" || user["name"] != "Ada Lovelace" || !models.IsUUID(user["id"].(string)) {
		t.Fatalf("user: %v", user)
	}
	if org["name"] != "Analytical Engines" || org["role"] != "owner" || !models.IsUUID(org["id"].(string)) {
		t.Fatalf("organization: %v", org)
	}
	token, _ := out["token"].(string)
	if !models.TokenWellFormed(token, models.PrefixAPIToken) {
		t.Fatalf("token %q is not a well-formed API token", token)
	}
	wantFutureTime(t, "expires_at", out["expires_at"], 24*time.Hour)
	me := s.apiJSON("GET", "/api/v1/me", token, nil, 200)
	if me["user"].(map[string]any)["id"] != user["id"] {
		t.Fatalf("the signup token should open /me as the new user: %v", me)
	}

	for _, email := range []string{"ada@example.com", "ADA@Example.COM", "  ada@example.com "} {
		resp, raw := s.api("POST", "/api/v1/signup", "", signupBody(email, testPassword))
		checkErrorBody(t, resp, raw, 409, "email_taken", "email")
	}
	for _, tc := range []struct{ email, password, field string }{
		{"not-an-email", testPassword, "email"},
		{"ada@", testPassword, "email"},
		{"Ada <ada2@example.com>", testPassword, "email"},
		{"bob@example.com", "123456789", "password"},
		{"bob@example.com", "", "password"},
	} {
		resp, raw := s.api("POST", "/api/v1/signup", "", signupBody(tc.email, tc.password))
		checkErrorBody(t, resp, raw, 422, "", tc.field)
	}
	// Malformed JSON and unknown fields are 400 and create nothing.
	for _, body := range []string{`{"email":`, `[1,2]`, `{"email":"x@example.com"} {}`, `{"email":"eve@example.com","password":"correct horse battery","name":"Eve","organization":"E","role":"admin"}`} {
		resp, raw := s.api("POST", "/api/v1/signup", "", body)
		checkErrorBody(t, resp, raw, 400, "bad_request", "")
	}
	req := httptest.NewRequest("POST", "/api/v1/signup", strings.NewReader(`{"email":"form@example.com"}`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, raw := s.request(req)
	checkErrorBody(t, resp, raw, 415, "unsupported_media_type", "")
	if n := countRows(t, s, "users", ""); n != 1 {
		t.Fatalf("refused sign-ups must create no account, found %d users", n)
	}
}

func TestAPISignupClosed(t *testing.T) {
	s := newTestServerWith(t, Config{BaseURL: "http://localhost:8080", SignupOpen: false, UploadsDir: t.TempDir()})
	resp, raw := s.api("POST", "/api/v1/signup", "", signupBody("ada@example.com", testPassword))
	checkErrorBody(t, resp, raw, 403, "forbidden", "")
	if n := countRows(t, s, "users", ""); n != 0 {
		t.Fatalf("closed sign-up created %d users", n)
	}
}

func TestAPILoginAndLogout(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("grace@example.com", "Navy")
	out := s.apiJSON("POST", "/api/v1/login", "", map[string]string{"email": "Grace@Example.com", "password": a.Password}, 200)
	wantKeys(t, "login", out, "token", "expires_at")
	token := out["token"].(string)
	if !models.TokenWellFormed(token, models.PrefixAPIToken) || token == a.Token {
		t.Fatalf("login must issue a new well-formed token, got %q", token)
	}
	wantFutureTime(t, "expires_at", out["expires_at"], 24*time.Hour)

	// Only the hash of a token is stored.
	clear, hashed := countRows(t, s, "auth_sessions", "id = ?", token), countRows(t, s, "auth_sessions", "id = ?", models.HashToken(token))
	if clear != 0 || hashed != 1 {
		t.Fatalf("auth_sessions must hold the token's hash only: clear=%d hashed=%d", clear, hashed)
	}

	resp, raw := s.api("POST", "/api/v1/logout", token, nil)
	wantStatus(t, resp, raw, 204)
	resp, raw = s.api("GET", "/api/v1/me", token, nil)
	checkErrorBody(t, resp, raw, 401, "unauthenticated", "")
	resp, raw = s.api("POST", "/api/v1/logout", token, nil)
	checkErrorBody(t, resp, raw, 401, "unauthenticated", "")
	// Signing out one token leaves the account's other tokens alone.
	s.apiJSON("GET", "/api/v1/me", a.Token, nil, 200)
}

func TestAPILoginFailuresLookAlike(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("grace@example.com", "Navy")
	unknownResp, unknown := s.api("POST", "/api/v1/login", "", map[string]string{"email": "nobody@example.com", "password": a.Password})
	checkErrorBody(t, unknownResp, unknown, 401, "invalid_credentials", "")
	wrongResp, wrong := s.api("POST", "/api/v1/login", "", map[string]string{"email": a.Email, "password": "wrong password!"})
	checkErrorBody(t, wrongResp, wrong, 401, "invalid_credentials", "")
	if unknown != wrong {
		t.Fatalf("unknown email and wrong password must answer the same body:\n%s\n%s", unknown, wrong)
	}
	resp, raw := s.api("POST", "/api/v1/login", "", `{"email":"grace@example.com","password":"x","remember":true}`)
	checkErrorBody(t, resp, raw, 400, "bad_request", "")
}

func TestAPILoginLockoutPerAccount(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("grace@example.com", "Navy")
	other := s.signup("hopper@example.com", "Cobol")
	for i := 0; i < models.MaxFailedLogins; i++ {
		resp, raw := s.api("POST", "/api/v1/login", "", map[string]string{"email": a.Email, "password": "wrong password " + strconv.Itoa(i)})
		checkErrorBody(t, resp, raw, 401, "invalid_credentials", "")
	}
	// Locked: even the right password is refused for now, with a hint when to retry.
	resp, raw := s.api("POST", "/api/v1/login", "", map[string]string{"email": a.Email, "password": a.Password})
	checkErrorBody(t, resp, raw, 429, "too_many_attempts", "")
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || retry <= 0 || retry > int(models.LockoutWindow.Seconds())+1 {
		t.Fatalf("Retry-After %q, want 1..%d seconds", resp.Header.Get("Retry-After"), int(models.LockoutWindow.Seconds())+1)
	}
	// The lockout is per account: another account signs in from the same address.
	s.apiJSON("POST", "/api/v1/login", "", map[string]string{"email": other.Email, "password": other.Password}, 200)
}

func TestAPIMe(t *testing.T) {
	s := newTestServer(t)
	owner := s.signup("owner@example.com", "Zeta Corp")
	m := s.member(owner, "dev@example.com", models.RoleDeveloper)
	me := s.apiJSON("GET", "/api/v1/me", m.Token, nil, 200)
	wantKeys(t, "me", me, "user", "organizations")
	wantKeys(t, "me.user", me["user"], "id", "email", "name")
	if u := me["user"].(map[string]any); u["id"] != m.UserID || u["email"] != m.Email {
		t.Fatalf("me.user: %v", u)
	}
	orgs, _ := me["organizations"].([]any)
	got := map[string]string{}
	for i, o := range orgs {
		wantKeys(t, "me.organizations["+strconv.Itoa(i)+"]", o, "id", "name", "role")
		org := o.(map[string]any)
		got[org["name"].(string)] = org["role"].(string)
		if org["name"] == "Zeta Corp" && org["id"] != owner.OrgID {
			t.Fatalf("me.organizations: wrong id for Zeta Corp: %v", org)
		}
	}
	want := map[string]string{"Zeta Corp": "developer", "Own org of dev@example.com": "owner"}
	if !maps.Equal(got, want) {
		t.Fatalf("me.organizations: %v, want %v", got, want)
	}
}

// countQueries counts every statement the database runs from now on.
func countQueries(t *testing.T, db *gorm.DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	count := func(*gorm.DB) { n.Add(1) }
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().Before("gorm:query").Register("test:count_query", count),
		cb.Create().Before("gorm:create").Register("test:count_create", count),
		cb.Update().Before("gorm:update").Register("test:count_update", count),
		cb.Delete().Before("gorm:delete").Register("test:count_delete", count),
		cb.Row().Before("gorm:row").Register("test:count_row", count),
		cb.Raw().Before("gorm:raw").Register("test:count_raw", count),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return &n
}

func TestAPIBadBearerTokens(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("grace@example.com", "Navy")
	last := a.Token[len(a.Token)-1]
	flipped := a.Token[:len(a.Token)-1] + string(map[bool]byte{true: 'B', false: 'A'}[last == 'A'])
	consoleShaped := models.NewToken(models.PrefixSession)
	queries := countQueries(t, s.db)
	for name, header := range map[string]string{
		"none":           "",
		"malformed":      "Bearer not-a-token",
		"bad checksum":   "Bearer " + flipped,
		"console token":  "Bearer " + consoleShaped,
		"basic":          "Basic " + a.Token,
		"no scheme":      a.Token,
		"empty bearer":   "Bearer ",
		"truncated":      "Bearer " + a.Token[:len(a.Token)-1],
		"unknown prefix": "Bearer kf_xx_" + a.Token[len(models.PrefixAPIToken):],
	} {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, raw := s.request(req)
		if resp.StatusCode != 401 {
			t.Fatalf("%s: status %d, want 401: %s", name, resp.StatusCode, raw)
		}
		checkErrorBody(t, resp, raw, 401, "unauthenticated", "")
	}
	resp, raw := s.api("GET", "/api/v1/me?access_token="+a.Token, "", nil)
	checkErrorBody(t, resp, raw, 401, "unauthenticated", "")
	if n := queries.Load(); n != 0 {
		t.Fatalf("malformed credentials must be refused without touching the database, %d statements ran", n)
	}
	s.apiJSON("GET", "/api/v1/me", a.Token, nil, 200)
	if queries.Load() == 0 {
		t.Fatal("the query counter saw nothing for a valid token: the check above proves nothing")
	}
}
