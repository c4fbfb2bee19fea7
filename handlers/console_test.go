package handlers

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// signedIn returns a browser signed in as a.
func (s *testServer) signedIn(a account) *browser {
	b := s.browser()
	b.signIn(a.Email, a.Password)
	return b
}

func TestConsoleAppLifecycle(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("dev@example.com", "Dev Co")
	b := s.signedIn(a)

	resp, body := b.post("/apps", url.Values{"name": {""}, "description": {"kept text"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "kept text") || !strings.Contains(body, "Name the app") {
		t.Fatalf("failed form must keep input and explain: %s", body)
	}

	resp, body = b.post("/apps", url.Values{"name": {"<img src=x onerror=alert(1)>"}, "description": {"Fleet"}})
	wantStatus(t, resp, body, http.StatusCreated)
	if strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Fatal("the app name must be rendered escaped")
	}
	apps, _ := models.ListApps(s.db, a.OrgID)
	if len(apps) != 1 {
		t.Fatalf("want 1 app, got %d", len(apps))
	}
	appID := apps[0].ID
	secret := extractToken(body, models.PrefixClientSecret)
	if secret == "" || !strings.Contains(body, "shown only this once") {
		t.Fatalf("the new secret must be shown once with a warning: %s", body)
	}
	if _, err := models.AuthenticateClient(s.db, appID, secret); err != nil {
		t.Fatalf("shown secret must work: %v", err)
	}
	for _, page := range []string{"/apps", "/apps/" + appID, "/apps/" + appID + "/credentials", "/audit"} {
		resp, body := b.get(page)
		wantStatus(t, resp, body, http.StatusOK)
		if strings.Contains(body, secret) {
			t.Fatalf("%s shows the secret again", page)
		}
	}

	resp, body = b.post("/apps/"+appID, url.Values{"name": {"Fleet app"}, "description": {"Now described"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.get("/apps/" + appID)
	if !strings.Contains(body, "Fleet app") || !strings.Contains(body, "Saved.") {
		t.Fatalf("rename not shown with its flash: %s", body)
	}

	resp, body = b.post("/apps/"+appID+"/delete", url.Values{"confirm": {"wrong name"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	resp, body = b.post("/apps/"+appID+"/delete", url.Values{"confirm": {"Fleet app"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if _, err := models.FindApp(s.db, a.OrgID, appID); err != models.ErrNotFound {
		t.Fatalf("app should be gone, got %v", err)
	}
	if _, err := models.AuthenticateClient(s.db, appID, secret); err == nil {
		t.Fatal("a deleted app's secret must stop working")
	}
	entries, _, _ := models.ListAudit(s.db, a.OrgID, models.AuditFilter{AppID: appID})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "app.delete,app.update,app.create" {
		t.Fatalf("audit actions newest first: %v", actions)
	}
}

func extractToken(body, prefix string) string {
	i := strings.Index(body, prefix)
	if i < 0 {
		return ""
	}
	end := i
	for end < len(body) && strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", rune(body[end])) {
		end++
	}
	return body[i:end]
}

func TestConsoleRotateRevokeAndKeys(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("rot@example.com", "Rot")
	app := s.createApp(a, "Rotating")
	appID := app["id"].(string)
	first := app["client_secret"].(string)
	b := s.signedIn(a)

	resp, body := b.post("/apps/"+appID+"/secrets", url.Values{"expire_previous_in": {"3600"}})
	wantStatus(t, resp, body, http.StatusCreated)
	second := extractToken(body, models.PrefixClientSecret)
	if second == "" || second == first {
		t.Fatal("rotation must show a new secret")
	}
	for _, sec := range []string{first, second} {
		if _, err := models.AuthenticateClient(s.db, appID, sec); err != nil {
			t.Fatalf("both secrets work during the overlap: %v", err)
		}
	}
	secrets, _ := models.ListClientSecrets(s.db, a.OrgID, appID)
	newest, oldest := secrets[0], secrets[1]
	resp, body = b.post("/apps/"+appID+"/secrets/"+oldest.ID+"/revoke", nil)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if _, err := models.AuthenticateClient(s.db, appID, first); err == nil {
		t.Fatal("revoked secret must stop at once")
	}
	resp, body = b.post("/apps/"+appID+"/secrets/"+newest.ID+"/revoke", nil)
	wantStatus(t, resp, body, http.StatusConflict)
	if !strings.Contains(body, "only working secret") {
		t.Fatalf("409 must explain: %s", body)
	}

	resp, body = b.post("/apps/"+appID+"/api-keys", url.Values{"name": {""}, "environment": {"live"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	resp, body = b.post("/apps/"+appID+"/api-keys", url.Values{"name": {"billing server"}, "environment": {"live"}})
	wantStatus(t, resp, body, http.StatusCreated)
	key := extractToken(body, models.PrefixLiveKey)
	if !models.TokenWellFormed(key, models.PrefixLiveKey) {
		t.Fatalf("live key shown once, got %q", key)
	}
	_, body = b.get("/apps/" + appID + "/api-keys")
	if strings.Contains(body, key) || !strings.Contains(body, "billing server") {
		t.Fatal("key list shows the name but never the key again")
	}
	keys, _ := models.ListAPIKeys(s.db, a.OrgID, appID)
	resp, body = b.post("/apps/"+appID+"/api-keys/"+keys[0].ID+"/revoke", nil)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if _, _, err := models.AuthenticateAPIKey(s.db, key); err == nil {
		t.Fatal("revoked key must stop working")
	}
}

func TestConsoleRedirectURIFormKeepsInputAndExplains(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("uri@example.com", "URIs")
	appID := s.createApp(a, "Web")["id"].(string)
	b := s.signedIn(a)
	resp, body := b.post("/apps/"+appID+"/redirect-uris", url.Values{"uri": {"http://example.com/callback"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `value="http://example.com/callback"`) || !strings.Contains(body, "use https") {
		t.Fatalf("form must keep the URI and say the rule: %s", body)
	}
	resp, body = b.post("/apps/"+appID+"/redirect-uris", url.Values{"uri": {"HTTPS://App.Example.com/Callback"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.post("/apps/"+appID+"/redirect-uris", url.Values{"uri": {"https://app.example.com/Callback"}})
	wantStatus(t, resp, body, http.StatusConflict)
	_, body = b.get("/apps/" + appID + "/redirect-uris")
	if !strings.Contains(body, "https://app.example.com/Callback") || !strings.Contains(body, "default") {
		t.Fatalf("normalised URI listed as default: %s", body)
	}
	_, body = b.get("/apps/" + appID)
	if !strings.Contains(body, "/oauth/authorize?") || !strings.Contains(body, url.QueryEscape("https://app.example.com/Callback")) {
		t.Fatalf("overview shows the Connect URL with the default redirect URI: %s", body)
	}
}

func TestConsoleTenantIsolationAndRoles(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("a@example.com", "Org A")
	bOwner := s.signup("b@example.com", "Org B")
	appA := s.createApp(a, "A's app")["id"].(string)
	analyst := s.member(a, "analyst@example.com", models.RoleAnalyst)

	other := s.signedIn(bOwner)
	for _, path := range []string{"/apps/" + appA, "/apps/" + appA + "/credentials", "/apps/" + appA + "/redirect-uris", "/apps/" + appA + "/api-keys", "/apps/" + appA + "/delete", "/apps/not-a-uuid"} {
		resp, body := other.get(path)
		wantStatus(t, resp, body, http.StatusNotFound)
	}
	resp, body := other.post("/apps/"+appA+"/delete", url.Values{"confirm": {"A's app"}})
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = other.post("/orgs/switch", url.Values{"org_id": {a.OrgID}})
	wantStatus(t, resp, body, http.StatusNotFound)

	an := s.signedIn(analyst)
	resp, body = an.post("/orgs/switch", url.Values{"org_id": {a.OrgID}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = an.get("/apps/" + appA)
	wantStatus(t, resp, body, http.StatusOK)
	if strings.Contains(body, "Delete this application") {
		t.Fatal("analysts are not offered writes")
	}
	for path, form := range map[string]url.Values{
		"/apps":                            {"name": {"nope"}},
		"/apps/" + appA:                    {"name": {"renamed"}},
		"/apps/" + appA + "/secrets":       {"expire_previous_in": {"0"}},
		"/apps/" + appA + "/redirect-uris": {"uri": {"https://x.example.com/cb"}},
		"/members":                         {"email": {"b@example.com"}, "role": {"owner"}},
	} {
		resp, body := an.post(path, form)
		wantStatus(t, resp, body, http.StatusForbidden)
	}
	resp, body = an.get("/audit")
	wantStatus(t, resp, body, http.StatusForbidden)
	got, _ := models.FindApp(s.db, a.OrgID, appA)
	if got.Name != "A's app" {
		t.Fatal("refused writes must change nothing")
	}
}

func TestConsoleMembersAndOrganisations(t *testing.T) {
	s := newTestServer(t)
	owner := s.signup("owner@example.com", "Members Inc")
	s.signup("newbie@example.com", "Elsewhere")
	b := s.signedIn(owner)
	resp, body := b.post("/members", url.Values{"email": {"nobody@example.com"}, "role": {"developer"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "No Keyfob account uses this email") || !strings.Contains(body, `value="nobody@example.com"`) {
		t.Fatalf("unknown member email must be explained beside the field: %s", body)
	}
	resp, body = b.post("/members", url.Values{"email": {"newbie@example.com"}, "role": {"designer"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	members, _ := models.ListMembers(s.db, owner.OrgID)
	if len(members) != 2 {
		t.Fatalf("want 2 members, got %d", len(members))
	}
	resp, body = b.post("/members/"+owner.UserID+"/role", url.Values{"role": {"analyst"}})
	wantStatus(t, resp, body, http.StatusConflict)
	resp, body = b.post("/members/"+owner.UserID+"/remove", nil)
	wantStatus(t, resp, body, http.StatusConflict)

	resp, body = b.post("/orgs", url.Values{"name": {"Second org"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = b.get("/apps")
	if !strings.Contains(body, "No applications yet in Second org") {
		t.Fatalf("creating an organisation switches to it: %s", body)
	}
	resp, body = b.post("/orgs/switch", url.Values{"org_id": {owner.OrgID}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = b.get("/members")
	if !strings.Contains(body, "newbie@example.com") {
		t.Fatal("switching back shows the first organisation's members")
	}
	_, body = b.get("/audit?action=member.add")
	if !strings.Contains(body, "newbie@example.com") || !strings.Contains(body, "designer") {
		t.Fatalf("audit page lists the member change: %s", body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s := newTestServer(t)
	resp, body := s.api("GET", "/healthz", "", nil)
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = s.api("GET", "/readyz", "", nil)
	wantStatus(t, resp, body, http.StatusOK)
	s.h.Drain()
	resp, body = s.api("GET", "/readyz", "", nil)
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	a := s.signup("outage@example.com", "Outage")
	sqlDB, _ := s.db.DB()
	sqlDB.Close()
	// A lost database is "try again" (503), never a 500 or a false success.
	resp, body = s.api("GET", "/api/v1/me", a.Token, nil)
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	resp, body = s.request(httpForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"00000000-0000-4000-8000-000000000000"}, "client_secret": {models.NewToken(models.PrefixClientSecret)}, "code": {"x"}}))
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	resp, body = s.api("GET", "/healthz", "", nil)
	wantStatus(t, resp, body, http.StatusOK)
	s.h.draining.Store(false)
	resp, body = s.api("GET", "/readyz", "", nil)
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
}

func TestUnknownRoutesAndPanicsAnswerCleanly(t *testing.T) {
	s := newTestServer(t)
	resp, body := s.api("GET", "/api/v1/nope", "", nil)
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown API route: %d", resp.StatusCode)
	}
	resp, body = s.browser().get("/definitely-not-here")
	wantStatus(t, resp, body, http.StatusNotFound)
	if !strings.Contains(body, "404") {
		t.Fatalf("404 page: %s", body)
	}
	s.app = s.h.App(func(r fiber.Router) { r.Get("/test-panic", func(c *fiber.Ctx) error { panic("boom") }) })
	resp, body = s.browser().get("/test-panic")
	wantStatus(t, resp, body, http.StatusInternalServerError)
	if strings.Contains(body, "boom") {
		t.Fatal("panic details must not reach the user")
	}
}

func TestMemberCanLeaveAndLosesAccessAtOnce(t *testing.T) {
	s := newTestServer(t)
	owner := s.signup("o@example.com", "Leavers")
	appID := s.createApp(owner, "Kept")["id"].(string)
	dev := s.member(owner, "dev@example.com", models.RoleDeveloper)
	b := s.signedIn(dev)
	b.post("/orgs/switch", url.Values{"org_id": {owner.OrgID}})
	resp, body := b.get("/apps/" + appID)
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = b.post("/members/"+dev.UserID+"/remove", nil)
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.get("/apps/" + appID)
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = s.api("GET", "/api/v1/apps/"+appID, dev.Token, nil)
	wantStatus(t, resp, body, http.StatusNotFound)
}

func TestSignInFailuresPerIPAreLimited(t *testing.T) {
	s := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.app.Listener(ln)
	t.Cleanup(func() { s.app.Shutdown() })
	base := "http://" + ln.Addr().String()
	// Two real clients on different loopback addresses.
	clientFrom := func(ip string) *http.Client {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	}
	login := func(client *http.Client, email string) *http.Response {
		resp, err := client.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"email":"`+email+`","password":"wrong password"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	attacker := clientFrom("127.0.0.1")
	var last *http.Response
	for i := 0; i < 31; i++ {
		last = login(attacker, fmt.Sprintf("ghost%d@example.com", i))
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("want 429 with Retry-After after 30 failures, got %d %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if resp := login(clientFrom("127.0.0.2"), "ghost@example.com"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another address is not limited: %d", resp.StatusCode)
	}
}

func TestChangePasswordSignsOutOtherSessions(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("pw@example.com", "Passwords")
	laptop, phone := s.signedIn(a), s.signedIn(a)
	resp, body := laptop.post("/account/password", url.Values{"current_password": {"not it at all"}, "new_password": {"a brand new password"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "not your current password") {
		t.Fatalf("wrong current password explained beside the field: %s", body)
	}
	resp, body = laptop.post("/account/password", url.Values{"current_password": {a.Password}, "new_password": {"short"}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	resp, body = laptop.post("/account/password", url.Values{"current_password": {a.Password}, "new_password": {"a brand new password"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, _ = laptop.get("/apps")
	wantStatus(t, resp, "", http.StatusOK)
	resp, _ = phone.get("/apps")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other browser must be signed out, got %d", resp.StatusCode)
	}
	if _, err := models.Authenticate(s.db, a.Email, "a brand new password"); err != nil {
		t.Fatalf("new password signs in: %v", err)
	}
	resp, body = s.api("GET", "/api/v1/me", a.Token, nil)
	wantStatus(t, resp, body, http.StatusUnauthorized)
}
