package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"keyfob/models"
)

// credApp is a signed-up owner with one app and its first secret.
type credApp struct {
	s             *testServer
	a             account
	id, secret    string
	firstSecretID string
}

func newCredApp(t *testing.T) credApp {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	created := s.createApp(a, "Creds")
	first := created["secrets"].([]any)[0].(map[string]any)["id"].(string)
	return credApp{s: s, a: a, id: created["id"].(string), secret: created["client_secret"].(string), firstSecretID: first}
}

func (c credApp) path(suffix string) string { return "/api/v1/apps/" + c.id + suffix }

// secretSummaries returns the app's secrets as GET /apps/{id} shows them, by id.
func (c credApp) secretSummaries() map[string]map[string]any {
	c.s.t.Helper()
	out := map[string]map[string]any{}
	for _, v := range c.s.apiJSON("GET", c.path(""), c.a.Token, nil, 200)["secrets"].([]any) {
		m := v.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

func (c credApp) rotate(body any) map[string]any {
	c.s.t.Helper()
	return c.s.apiJSON("POST", c.path("/secrets"), c.a.Token, body, 201)
}

func (c credApp) authenticates(secret string) bool {
	_, err := models.AuthenticateClient(c.s.db, c.id, secret)
	return err == nil
}

func (c credApp) secretRows() int64 {
	var n int64
	c.s.db.Model(&models.ClientSecret{}).Where("app_id = ?", c.id).Count(&n)
	return n
}

func wantExpiresAround(t *testing.T, summary map[string]any, ahead time.Duration) {
	t.Helper()
	s, _ := summary["expires_at"].(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("expires_at %v is not RFC 3339", summary["expires_at"])
	}
	if d := time.Until(at) - ahead; d < -time.Minute || d > time.Minute {
		t.Fatalf("expires_at %s, want about %s from now", s, ahead)
	}
}

func TestRotateSecretWithOverlap(t *testing.T) {
	c := newCredApp(t)
	resp, raw := c.s.api("POST", c.path("/secrets"), c.a.Token, map[string]int{"expire_previous_in": 3600})
	wantStatus(t, resp, raw, 201)
	var out map[string]any
	mustUnmarshal(t, raw, &out)
	wantKeys(t, "rotate", out, "id", "secret", "prefix", "created_at")
	secret := out["secret"].(string)
	if !models.TokenWellFormed(secret, models.PrefixClientSecret) || out["prefix"] != secret[:len(models.PrefixClientSecret)+4] || secret == c.secret {
		t.Fatalf("rotate answer: %v", out)
	}
	if _, err := time.Parse(time.RFC3339, out["created_at"].(string)); err != nil {
		t.Fatalf("created_at: %v", out["created_at"])
	}
	if !c.authenticates(c.secret) || !c.authenticates(secret) {
		t.Fatal("during the overlap both the old and the new secret must work")
	}
	summaries := c.secretSummaries()
	wantExpiresAround(t, summaries[c.firstSecretID], time.Hour)
	if n := summaries[out["id"].(string)]; n == nil || n["expires_at"] != nil {
		t.Fatalf("the new secret must be listed without an expiry: %v", summaries)
	}
	// Without a choice, the previous secrets keep working for the default 24 hours.
	c.rotate(nil)
	summaries = c.secretSummaries()
	wantExpiresAround(t, summaries[out["id"].(string)], models.DefaultRotationOverlap)
	wantExpiresAround(t, summaries[c.firstSecretID], time.Hour) // a shorter expiry is never lengthened
}

func TestRotateSecretExpiringPreviousNow(t *testing.T) {
	c := newCredApp(t)
	out := c.rotate(map[string]int{"expire_previous_in": 0})
	if c.authenticates(c.secret) {
		t.Fatal("expire_previous_in 0 must stop the old secret at once")
	}
	if !c.authenticates(out["secret"].(string)) {
		t.Fatal("the new secret must work")
	}
	if old := c.secretSummaries()[c.firstSecretID]; old["status"] != "expired" && old["status"] != "revoked" {
		t.Fatalf("the old secret should show as stopped: %v", old)
	}
}

func TestRotateSecretOverlapOutOfRange(t *testing.T) {
	c := newCredApp(t)
	for _, body := range []string{`{"expire_previous_in":604801}`, `{"expire_previous_in":-1}`, `{"expire_previous_in":99999999999999}`} {
		resp, raw := c.s.api("POST", c.path("/secrets"), c.a.Token, body)
		checkErrorBody(t, resp, raw, 422, "", "expire_previous_in")
	}
	for _, body := range []string{`{"expire_previous_in":"3600"}`, `{"expire_previous_in":1.5}`, `{"overlap":3600}`} {
		resp, raw := c.s.api("POST", c.path("/secrets"), c.a.Token, body)
		checkErrorBody(t, resp, raw, 400, "bad_request", "")
	}
	if n := c.secretRows(); n != 1 || !c.authenticates(c.secret) {
		t.Fatalf("refused rotations must change nothing: %d secrets", n)
	}
	c.rotate(map[string]int{"expire_previous_in": 604800}) // the maximum is allowed
}

func TestRevokeSecret(t *testing.T) {
	c := newCredApp(t)
	newer := c.rotate(map[string]int{"expire_previous_in": 3600})
	resp, raw := c.s.api("DELETE", c.path("/secrets/"+c.firstSecretID), c.a.Token, nil)
	wantStatus(t, resp, raw, 204)
	if c.authenticates(c.secret) {
		t.Fatal("a revoked secret must stop working at once")
	}
	if old := c.secretSummaries()[c.firstSecretID]; old["revoked_at"] == nil || old["status"] != "revoked" {
		t.Fatalf("the revoked secret should show revoked_at: %v", old)
	}
	resp, raw = c.s.api("DELETE", c.path("/secrets/"+newer["id"].(string)), c.a.Token, nil)
	msg := checkErrorBody(t, resp, raw, 409, "last_active_secret", "")
	if !strings.Contains(strings.ToLower(msg), "rotate") {
		t.Fatalf("the 409 should explain how to proceed: %q", msg)
	}
	if !c.authenticates(newer["secret"].(string)) {
		t.Fatal("the last active secret must still work")
	}
	resp, raw = c.s.api("DELETE", c.path("/secrets/00000000-0000-4000-8000-000000000000"), c.a.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")
	entries, _, _ := models.ListAudit(c.s.db, c.a.OrgID, models.AuditFilter{Action: "secret.revoke"})
	if len(entries) != 1 || entries[0].AppID != c.id {
		t.Fatalf("want one secret.revoke entry, got %v", entries)
	}
}

func TestRedirectURIs(t *testing.T) {
	c := newCredApp(t)
	for _, tc := range []struct{ uri, stored, kind string }{
		{"https://app.example.com/callback", "https://app.example.com/callback", "web"},
		{"http://LOCALHOST:3000/cb", "http://localhost:3000/cb", "loopback"},
		{"com.example.fleet://oauth/callback", "com.example.fleet://oauth/callback", "custom_scheme"},
	} {
		out := c.s.apiJSON("POST", c.path("/redirect_uris"), c.a.Token, map[string]string{"uri": tc.uri}, 201)
		wantKeys(t, "redirect uri", out, "id", "uri", "kind")
		if out["uri"] != tc.stored || out["kind"] != tc.kind || !models.IsUUID(out["id"].(string)) {
			t.Fatalf("POST %s: %v", tc.uri, out)
		}
	}
	for _, uri := range []string{"http://example.com/cb", "http://example.com", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
		"data:text/html,<script>alert(1)</script>", "https://x.com/cb#f", "https://*.x.com/cb", "https://user@x.com/cb", "", "/relative"} {
		resp, raw := c.s.api("POST", c.path("/redirect_uris"), c.a.Token, map[string]string{"uri": uri})
		checkErrorBody(t, resp, raw, 422, "invalid_redirect_uri", "uri")
	}
	for _, dup := range []string{"https://app.example.com/callback", "HTTPS://APP.EXAMPLE.COM/callback"} {
		resp, raw := c.s.api("POST", c.path("/redirect_uris"), c.a.Token, map[string]string{"uri": dup})
		checkErrorBody(t, resp, raw, 409, "duplicate_redirect_uri", "uri")
	}
	list := c.s.apiJSON("GET", c.path("/redirect_uris"), c.a.Token, nil, 200)["redirect_uris"].([]any)
	app := c.s.apiJSON("GET", c.path(""), c.a.Token, nil, 200)["redirect_uris"].([]any)
	if len(list) != 3 || fmt.Sprint(list) != fmt.Sprint(app) {
		t.Fatalf("want the 3 valid URIs, in the list and on the app:\n%v\n%v", list, app)
	}
	if list[0].(map[string]any)["uri"] != "https://app.example.com/callback" {
		t.Fatalf("the first registered URI is the default and comes first: %v", list)
	}
	id := list[0].(map[string]any)["id"].(string)
	resp, raw := c.s.api("DELETE", c.path("/redirect_uris/"+id), c.a.Token, nil)
	wantStatus(t, resp, raw, 204)
	resp, raw = c.s.api("DELETE", c.path("/redirect_uris/"+id), c.a.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")
	if left := c.s.apiJSON("GET", c.path(""), c.a.Token, nil, 200)["redirect_uris"].([]any); len(left) != 2 || strings.Contains(fmt.Sprint(left), id) {
		t.Fatalf("the URI is still listed: %v", left)
	}
}

func TestAPIKeys(t *testing.T) {
	c := newCredApp(t)
	keys := map[string]string{}
	ids := map[string]string{}
	for _, env := range []string{"test", "live"} {
		resp, raw := c.s.api("POST", c.path("/api_keys"), c.a.Token, map[string]string{"name": env + " server", "environment": env})
		wantStatus(t, resp, raw, 201)
		if !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("a response carrying a key must not be cached: %q", resp.Header.Get("Cache-Control"))
		}
		key, prefix := mustField(t, raw, "key"), "kf_"+env+"_"
		if !models.TokenWellFormed(key, prefix) {
			t.Fatalf("%s key %q lacks its prefix %s or checksum", env, key, prefix)
		}
		if _, app, err := models.AuthenticateAPIKey(c.s.db, key); err != nil || app.ID != c.id {
			t.Fatalf("the new %s key must authenticate as the app: %v", env, err)
		}
		keys[env], ids[env] = key, mustField(t, raw, "id")
	}
	resp, raw := c.s.api("GET", c.path("/api_keys"), c.a.Token, nil)
	wantStatus(t, resp, raw, 200)
	for env, key := range keys {
		wantSecretNowhere(t, "the key list", raw, key, "kf_"+env+"_")
	}
	var list struct {
		APIKeys []map[string]any `json:"api_keys"`
	}
	mustUnmarshal(t, raw, &list)
	if len(list.APIKeys) != 2 {
		t.Fatalf("want 2 keys: %s", raw)
	}
	for _, k := range list.APIKeys {
		wantKeys(t, "api key", k, "id", "name", "environment", "prefix", "last4", "created_at", "last_used_at", "revoked_at")
		key := keys[k["environment"].(string)]
		if k["prefix"] != key[:len("kf_")+len(k["environment"].(string))+1+4] || k["last4"] != key[len(key)-4:] || k["revoked_at"] != nil {
			t.Fatalf("key summary %v does not identify %s…", k, key[:12])
		}
	}
	resp, raw = c.s.api("DELETE", c.path("/api_keys/"+ids["live"]), c.a.Token, nil)
	wantStatus(t, resp, raw, 204)
	if _, _, err := models.AuthenticateAPIKey(c.s.db, keys["live"]); err == nil {
		t.Fatal("a revoked key still authenticates")
	}
	if _, _, err := models.AuthenticateAPIKey(c.s.db, keys["test"]); err != nil {
		t.Fatal("revoking one key must leave the other working")
	}
	revoked := map[string]any{}
	for _, k := range c.s.apiJSON("GET", c.path("/api_keys"), c.a.Token, nil, 200)["api_keys"].([]any) {
		revoked[k.(map[string]any)["id"].(string)] = k.(map[string]any)["revoked_at"]
	}
	if revoked[ids["live"]] == nil || revoked[ids["test"]] != nil {
		t.Fatalf("revoked_at: %v", revoked)
	}
	resp, raw = c.s.api("DELETE", c.path("/api_keys/"+c.id), c.a.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")

	for _, body := range []map[string]string{{"name": "x", "environment": "prod"}, {"name": "x", "environment": ""}, {"name": "x", "environment": "LIVE"}} {
		resp, raw := c.s.api("POST", c.path("/api_keys"), c.a.Token, body)
		checkErrorBody(t, resp, raw, 422, "invalid_environment", "environment")
	}
	resp, raw = c.s.api("POST", c.path("/api_keys"), c.a.Token, map[string]string{"name": " ", "environment": "test"})
	checkErrorBody(t, resp, raw, 422, "", "name")
	var n int64
	c.s.db.Model(&models.APIKey{}).Count(&n)
	if n != 2 {
		t.Fatalf("refused key creations stored keys: %d rows", n)
	}
}
