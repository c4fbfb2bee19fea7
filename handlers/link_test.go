package handlers

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"keyfob/models"
)

// linkSetup is an app with a test API key and a Link user.
func (s *testServer) linkSetup(t *testing.T) (connectApp, string, string) {
	t.Helper()
	app := s.connectApp(t)
	key := s.apiJSON("POST", "/api/v1/apps/"+app.id+"/api_keys", app.owner.Token, map[string]string{"name": "link", "environment": "test"}, 201)["key"].(string)
	user := s.apiJSON("POST", "/user", key, map[string]string{"client_user_id": "crm-42"}, 201)
	again := s.apiJSON("POST", "/user", key, map[string]string{"client_user_id": "crm-42"}, 200)
	if again["user_id"] != user["user_id"] || user["client_user_id"] != "crm-42" {
		t.Fatalf("POST /user is idempotent per client_user_id: %v vs %v", user, again)
	}
	return app, key, user["user_id"].(string)
}

func TestLinkTokenWidgetSuccessAndReuse(t *testing.T) {
	s := newTestServer(t)
	app, key, userID := s.linkSetup(t)
	out := s.apiJSON("POST", "/link/token", key, map[string]any{"user_id": userID, "redirect_url": app.redirect, "make": "FORD", "scope": []string{"read_vehicle_info", "read_odometer"}}, 201)
	token := out["link_token"].(string)
	if !strings.HasSuffix(out["link_web_url"].(string), "/link/"+token) {
		t.Fatalf("link_web_url: %v", out)
	}
	o := s.owner(t)
	resp := o.follow(o.b.get("/link/" + token))
	wantStatus(t, resp, o.page, http.StatusOK)
	if !strings.Contains(o.page, "Sign in to Ford") {
		t.Fatalf("the widget opens Connect at the make's sign-in: %.600s", o.page)
	}
	if coop := resp.Header.Get("Cross-Origin-Opener-Policy"); coop != "unsafe-none" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors https://fleet.example.com") {
		t.Fatalf("widget headers: COOP %q CSP %q", coop, resp.Header.Get("Content-Security-Policy"))
	}
	o.signIn("driver@example.com")
	o.submit("vehicles", url.Values{"vehicle": {o.vehicles()[0]}})
	o.submit("permissions", url.Values{"decision": {"allow"}, "permission": {"read_odometer"}})
	page := html.UnescapeString(o.page)
	if !strings.Contains(page, `"event":"success"`) || !strings.Contains(page, `"source":"keyfob-link"`) || !strings.Contains(page, app.redirect+"?public_token=kf_code_") {
		t.Fatalf("result page reports success and redirects with the public_token: %s", page)
	}
	code := page[strings.Index(page, `"public_token":"`)+16:]
	code = code[:strings.Index(code, `"`)]
	status, tokens := s.exchange(app, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
	if status != 200 || tokens["access_token"] == nil {
		t.Fatalf("the public_token is an authorization code: %d %v", status, tokens)
	}
	var owner string
	s.db.Table("connect_sessions").Select("owner").Where("app_id = ?", app.id).Scan(&owner)
	if owner != userID {
		t.Fatalf("Link sessions record the Link user as the owner, got %q", owner)
	}

	second := s.owner(t)
	second.follow(second.b.get("/link/" + token))
	if !strings.Contains(html.UnescapeString(second.page), `"type":"token_consumed"`) {
		t.Fatalf("a second open is token_consumed: %s", second.page)
	}
}

func TestLinkExitExpiryAndIsolation(t *testing.T) {
	s := newTestServer(t)
	app, key, userID := s.linkSetup(t)
	token := s.apiJSON("POST", "/link/token", key, map[string]any{"user_id": userID, "redirect_url": app.redirect}, 201)["link_token"].(string)
	o := s.owner(t)
	o.follow(o.b.get("/link/" + token))
	session := strings.TrimPrefix(o.path, "/connect/")
	o.follow(o.b.get("/connect/" + session + "/exit"))
	page := html.UnescapeString(o.page)
	if !strings.Contains(page, `"event":"exit"`) || !strings.Contains(page, "error_type=user_cancelled") {
		t.Fatalf("exit reports exit and redirects with user_cancelled: %s", page)
	}

	late := s.apiJSON("POST", "/link/token", key, map[string]any{"user_id": userID}, 201)["link_token"].(string)
	s.db.Exec("UPDATE link_tokens SET expires_at = ? WHERE used_at IS NULL", time.Now().UTC().Add(-time.Minute))
	l := s.owner(t)
	l.follow(l.b.get("/link/" + late))
	if !strings.Contains(html.UnescapeString(l.page), `"type":"token_expired"`) {
		t.Fatalf("a late open is token_expired: %s", l.page)
	}

	resp, raw := s.api("POST", "/link/token", key, map[string]any{"user_id": userID, "redirect_url": "https://evil.example/cb"})
	wantStatus(t, resp, raw, http.StatusUnprocessableEntity)
	other := s.signup("other@example.com", "Other")
	otherApp := s.createApp(other, "Other app")["id"].(string)
	otherKey := s.apiJSON("POST", "/api/v1/apps/"+otherApp+"/api_keys", other.Token, map[string]string{"name": "k", "environment": "test"}, 201)["key"].(string)
	resp, raw = s.api("POST", "/link/token", otherKey, map[string]any{"user_id": userID})
	wantStatus(t, resp, raw, http.StatusNotFound)
	resp, raw = s.api("POST", "/user", "", map[string]string{"client_user_id": "x"})
	wantStatus(t, resp, raw, http.StatusUnauthorized)
}

// A link token that cannot open the widget answers with the result page (which reports the error to
// the app's page by postMessage) and a status that says why: 410 used or expired, 404 never issued.
// It was 200, so anything watching statuses (the app's logs, a monitor) saw a success (issue 10, 6).
func TestLinkTokenRefusalStatus(t *testing.T) {
	s := newTestServer(t)
	_, key, userID := s.linkSetup(t)
	issue := func() string {
		return s.apiJSON("POST", "/link/token", key, map[string]any{"user_id": userID}, 201)["link_token"].(string)
	}
	used := issue()
	if resp, body := s.browser().get("/link/" + used); resp.StatusCode != http.StatusFound {
		t.Fatalf("first open: %d %.300s", resp.StatusCode, body)
	}
	expired := issue()
	s.db.Exec("UPDATE link_tokens SET expires_at = ? WHERE hash = ?", time.Now().UTC().Add(-time.Second), models.HashToken(expired))

	for _, tc := range []struct {
		name, token, errorType string
		status                 int
	}{
		{"used", used, "token_consumed", http.StatusGone},
		{"expired", expired, "token_expired", http.StatusGone},
		{"never issued", models.NewToken(models.PrefixLinkToken), "token_invalid", http.StatusNotFound},
		{"malformed", "kf_link_nonsense", "token_invalid", http.StatusNotFound},
	} {
		resp, body := s.browser().get("/link/" + tc.token)
		page := html.UnescapeString(body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s token: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if !strings.Contains(page, `id="link-result"`) || !strings.Contains(page, `"source":"keyfob-link"`) ||
			!strings.Contains(page, `"event":"error"`) || !strings.Contains(page, `"type":"`+tc.errorType+`"`) {
			t.Errorf("%s token: the result page reports error %s to the opener; got %.600s", tc.name, tc.errorType, page)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s token: the page is not cached and sends no referrer: %v", tc.name, resp.Header)
		}
	}
}

// security.md #35: a link token opened by ten browsers at once opens Connect once; the others get
// the used-token answer (410), never a second session.
func TestLinkTokenOpensOnceUnderConcurrency(t *testing.T) {
	s := newTestServer(t)
	_, key, userID := s.linkSetup(t)
	token := s.apiJSON("POST", "/link/token", key, map[string]any{"user_id": userID}, 201)["link_token"].(string)
	statuses := make(chan int, 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			resp, _ := s.browser().get("/link/" + token)
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for st := range statuses {
		counts[st]++
	}
	if counts[http.StatusFound] != 1 || counts[http.StatusGone] != 9 {
		t.Errorf("ten opens at once: %v; want one 302 into Connect and nine 410", counts)
	}
	if n := countRows(t, s, "connect_sessions", "owner = ?", userID); n != 1 {
		t.Errorf("%d Connect sessions for one link token, want 1", n)
	}
}
