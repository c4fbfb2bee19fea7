package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keyfob/models"
)

func TestConsoleSignUpSignInSignOut(t *testing.T) {
	s := newTestServer(t)
	b := s.browser()
	resp, body := b.post("/signup", url.Values{"email": {"ada@example.com"}, "password": {"short"}, "name": {"Ada"}, "organization": {"Analytical"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "at least 10 characters") || !strings.Contains(body, `value="ada@example.com"`) {
		t.Fatalf("the form should keep the email and explain the password rule: %s", body)
	}
	resp, body = b.post("/signup", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "name": {"Ada"}, "organization": {"Analytical"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.get("/apps")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Analytical") {
		t.Fatalf("apps page should name the organisation: %s", body)
	}
	old := b.cookies["keyfob_session"]
	resp, body = b.post("/signout", nil)
	wantStatus(t, resp, body, http.StatusSeeOther)
	// The old cookie no longer works even if someone kept a copy.
	thief := s.browser()
	thief.cookies["keyfob_session"] = old
	resp, _ = thief.get("/apps")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("a signed-out session must not open the console: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSessionIDRotatesAtSignIn(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("grace@example.com", "Navy")
	b := s.browser()
	planted := models.NewToken("")
	b.cookies["keyfob_session"] = planted
	b.signIn(a.Email, a.Password)
	got := b.cookies["keyfob_session"]
	if got == "" || got == planted {
		t.Fatalf("sign-in must issue a new session id, got %q", got)
	}
	if countRows(t, s, "auth_sessions", "id = ?", models.HashToken(planted)) != 0 {
		t.Fatal("the planted id must never become a session")
	}
	if countRows(t, s, "auth_sessions", "id = ?", got) != 0 || countRows(t, s, "auth_sessions", "id = ?", models.HashToken(got)) != 1 {
		t.Fatal("the session id must be stored hashed, not in clear")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		base, name string
		secure     bool
	}{{"http://localhost:8080", "keyfob_session", false}, {"https://keyfob.example.com", "__Host-keyfob_session", true}} {
		s := newTestServerWith(t, Config{BaseURL: tc.base, SignupOpen: true})
		s.signup("cookie@example.com", "Cookies")
		b := s.browser()
		resp, _ := b.get("/signin")
		csrfName := "keyfob_csrf"
		if tc.secure {
			csrfName = "__Host-keyfob_csrf"
		}
		token := ""
		for _, c := range resp.Cookies() {
			if c.Name == csrfName {
				token = c.Value
			}
		}
		req := httpForm("/signin", url.Values{"_csrf": {token}, "email": {"cookie@example.com"}, "password": {testPassword}})
		req.AddCookie(&http.Cookie{Name: csrfName, Value: token})
		if tc.secure {
			req.Header.Set("Referer", "https://example.com/signin")
			req.URL.Scheme = "http" // app.Test speaks plain HTTP; the Referer check applies to https only
		}
		resp, body := s.request(req)
		wantStatus(t, resp, body, http.StatusSeeOther)
		var found bool
		for _, line := range resp.Header.Values("Set-Cookie") {
			if !strings.HasPrefix(line, tc.name+"=") {
				continue
			}
			found = true
			lower := strings.ToLower(line)
			if !strings.Contains(lower, "httponly") || !strings.Contains(lower, "samesite=lax") || strings.Contains(lower, "secure") != tc.secure {
				t.Fatalf("cookie attributes for %s: %s", tc.base, line)
			}
			value := strings.SplitN(strings.SplitN(line, ";", 2)[0], "=", 2)[1]
			if len(value) < 32 || models.IsUUID(value) {
				t.Fatalf("session id must be long and not a UUID: %q", value)
			}
		}
		if !found {
			t.Fatalf("no %s cookie set: %v", tc.name, resp.Header.Values("Set-Cookie"))
		}
	}
}

func httpForm(path string, form url.Values) *http.Request {
	req, _ := http.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func TestConsoleFormWithoutCSRFTokenIsRefused(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("csrf@example.com", "CSRF Inc")
	b := s.browser()
	b.signIn(a.Email, a.Password)
	resp, body := b.postRaw("/apps", url.Values{"name": {"Sneaky"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = b.postRaw("/apps", url.Values{"name": {"Sneaky"}, "_csrf": {"forged-token"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	// Even with the right token, a browser that says the request is cross-site is refused.
	req := httpForm("/apps", url.Values{"name": {"Sneaky"}, "_csrf": {b.cookies["keyfob_csrf"]}})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, body = b.do(req)
	wantStatus(t, resp, body, http.StatusForbidden)
	apps, err := models.ListApps(s.db, a.OrgID)
	if err != nil || len(apps) != 0 {
		t.Fatalf("no app may be created by a forged form, found %d", len(apps))
	}
	resp, body = b.post("/apps", url.Values{"name": {"Legit"}})
	wantStatus(t, resp, body, http.StatusCreated)
}

func TestSignInNextStaysOnOrigin(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("next@example.com", "Next")
	for _, next := range []string{"//evil.com", `/\evil.com`, "https:evil.com", "https://evil.com/x"} {
		b := s.browser()
		resp, body := b.post("/signin", url.Values{"email": {a.Email}, "password": {a.Password}, "next": {next}})
		wantStatus(t, resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/apps" {
			t.Fatalf("next=%q redirected to %q", next, loc)
		}
	}
}
