package handlers

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

var appKeys = []string{"id", "client_id", "organization_id", "name", "description", "created_at", "redirect_uris", "secrets"}

// tableNames lists every table of the test database.
func tableNames(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	query := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	if modelstest.IsPostgres() {
		query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
	}
	var names []string
	if err := db.Raw(query).Scan(&names).Error; err != nil || len(names) == 0 {
		t.Fatalf("list tables: %v (%d found)", err, len(names))
	}
	return names
}

// dumpTables reads every column of every row of every table (except skip) as text: table -> sorted rows.
func dumpTables(t *testing.T, db *gorm.DB, skip ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range tableNames(t, db) {
		if slices.Contains(skip, table) {
			continue
		}
		rows, err := db.Raw(`SELECT * FROM "` + table + `"`).Rows()
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		out[table] = []string{}
		for rows.Next() {
			values := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range values {
				ptrs[i] = &values[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			var b strings.Builder
			for i, v := range values {
				if raw, ok := v.([]byte); ok {
					v = string(raw)
				}
				fmt.Fprintf(&b, "%s=%v|", cols[i], v)
			}
			out[table] = append(out[table], b.String())
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out[table])
	}
	return out
}

// wantSecretNowhere fails if the secret (or its random part without the type prefix) occurs in text.
func wantSecretNowhere(t *testing.T, where, text, secret, prefix string) {
	t.Helper()
	if secret == "" || len(secret) <= len(prefix) {
		t.Fatalf("%s: empty secret to look for", where)
	}
	if strings.Contains(text, secret) || strings.Contains(text, secret[len(prefix):]) {
		t.Fatalf("%s contains the secret %s…", where, secret[:len(prefix)+4])
	}
}

func apiCreateAppIn(s *testServer, token, orgID, name string) map[string]any {
	s.t.Helper()
	return s.apiJSON("POST", "/api/v1/apps", token, map[string]string{"name": name, "organization_id": orgID}, 201)
}

func appIDs(list map[string]any) []string {
	var ids []string
	for _, a := range list["apps"].([]any) {
		ids = append(ids, a.(map[string]any)["id"].(string))
	}
	slices.Sort(ids)
	return ids
}

func auditCount(t *testing.T, db *gorm.DB, orgID string) int {
	t.Helper()
	entries, _, err := models.ListAudit(db, orgID, models.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestAPICreateApp(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	resp, raw := s.api("POST", "/api/v1/apps", a.Token, map[string]string{"name": "  Fleet  ", "description": "Tracks vans"})
	wantStatus(t, resp, raw, 201)
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("a response carrying a secret must not be cached, Cache-Control %q", cc)
	}
	app := s.apiJSON("GET", "/api/v1/apps", a.Token, nil, 200)["apps"].([]any)[0].(map[string]any)
	created := map[string]any{}
	mustUnmarshal(t, raw, &created)
	wantKeys(t, "created app", created, append(slices.Clone(appKeys), "client_secret")...)
	secret, _ := created["client_secret"].(string)
	if !strings.HasPrefix(secret, models.PrefixClientSecret) || !models.TokenWellFormed(secret, models.PrefixClientSecret) {
		t.Fatalf("client_secret %q lacks the kf_cs_ prefix or checksum", secret)
	}
	id := created["id"].(string)
	if created["client_id"] != id || created["organization_id"] != a.OrgID || created["name"] != "Fleet" || created["description"] != "Tracks vans" {
		t.Fatalf("created app: %v", created)
	}
	secrets := created["secrets"].([]any)
	if len(secrets) != 1 || len(created["redirect_uris"].([]any)) != 0 {
		t.Fatalf("a new app has one secret and no redirect URIs: %v", created)
	}
	first := secrets[0].(map[string]any)
	if first["prefix"] != secret[:len(models.PrefixClientSecret)+4] || first["expires_at"] != nil || first["last4"] != secret[len(secret)-4:] {
		t.Fatalf("secret summary: %v", first)
	}
	delete(created, "client_secret")
	if fmt.Sprint(app) != fmt.Sprint(created) {
		t.Fatalf("GET list shows the app differently:\n%v\n%v", app, created)
	}
	one := s.apiJSON("GET", "/api/v1/apps/"+id, a.Token, nil, 200)
	if fmt.Sprint(one) != fmt.Sprint(created) {
		t.Fatalf("GET app differs from the created app:\n%v\n%v", one, created)
	}
	if got, err := models.AuthenticateClient(s.db, id, secret); err != nil || got.ID != id {
		t.Fatalf("the new secret must authenticate the app: %v", err)
	}
}

func TestAPICreateAppValidation(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	for _, body := range []map[string]any{{"name": ""}, {"name": "   "}, {}, {"name": strings.Repeat("n", 101)}} {
		resp, raw := s.api("POST", "/api/v1/apps", a.Token, body)
		checkErrorBody(t, resp, raw, 422, "", "name")
	}
	resp, raw := s.api("POST", "/api/v1/apps", a.Token, map[string]any{"name": "X", "description": strings.Repeat("d", 501)})
	checkErrorBody(t, resp, raw, 422, "", "description")
	resp, raw = s.api("POST", "/api/v1/apps", a.Token, map[string]any{"name": "X", "org_id": a.OrgID})
	checkErrorBody(t, resp, raw, 400, "bad_request", "")

	// Belonging to two organisations, the caller must say which one.
	b := s.signup("bob@example.com", "Babbage")
	s.apiJSON("POST", "/api/v1/orgs/"+b.OrgID+"/members", b.Token, map[string]string{"email": a.Email, "role": "developer"}, 201)
	resp, raw = s.api("POST", "/api/v1/apps", a.Token, map[string]any{"name": "Ambiguous"})
	checkErrorBody(t, resp, raw, 422, "organization_required", "organization_id")
	if n := countRows(t, s, "apps", ""); n != 0 {
		t.Fatalf("refused creations made %d apps", n)
	}
	inB := apiCreateAppIn(s, a.Token, b.OrgID, "In Babbage")
	if inB["organization_id"] != b.OrgID {
		t.Fatalf("app created in the wrong organisation: %v", inB)
	}
}

func TestAPIListAppsAcrossOrganisations(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	b := s.signup("bob@example.com", "Babbage")
	c := s.signup("cy@example.com", "Other")
	s.apiJSON("POST", "/api/v1/orgs/"+b.OrgID+"/members", b.Token, map[string]string{"email": a.Email, "role": "analyst"}, 201)
	own := s.createApp(a, "Own")["id"].(string)
	theirs := s.createApp(b, "Babbage app")["id"].(string)
	s.createApp(c, "Not visible")
	want := []string{own, theirs}
	slices.Sort(want)
	if got := appIDs(s.apiJSON("GET", "/api/v1/apps", a.Token, nil, 200)); !slices.Equal(got, want) {
		t.Fatalf("a sees %v, want %v", got, want)
	}
	if got := appIDs(s.apiJSON("GET", "/api/v1/apps", b.Token, nil, 200)); !slices.Equal(got, []string{theirs}) {
		t.Fatalf("b sees %v, want only %s", got, theirs)
	}
	s.apiJSON("GET", "/api/v1/apps/"+theirs, a.Token, nil, 200)
}

func TestAPIUpdateApp(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	id := s.createApp(a, "Old name")["id"].(string)
	out := s.apiJSON("PATCH", "/api/v1/apps/"+id, a.Token, map[string]string{"name": "New name", "description": "Now described"}, 200)
	wantKeys(t, "patched app", out, appKeys...)
	if out["name"] != "New name" || out["description"] != "Now described" || out["id"] != id {
		t.Fatalf("patched app: %v", out)
	}
	if got := s.apiJSON("GET", "/api/v1/apps/"+id, a.Token, nil, 200); got["name"] != "New name" {
		t.Fatalf("the change was not stored: %v", got)
	}
	audit := s.apiJSON("GET", "/api/v1/orgs/"+a.OrgID+"/audit?action=app.update", a.Token, nil, 200)["entries"].([]any)
	if len(audit) != 1 {
		t.Fatalf("want one app.update entry, got %v", audit)
	}
	e := audit[0].(map[string]any)
	detail := fmt.Sprint(e["detail"])
	if e["app_id"] != id || e["actor"].(map[string]any)["id"] != a.UserID ||
		detail != fmt.Sprint(map[string]any{"before": map[string]any{"name": "Old name", "description": ""},
			"after": map[string]any{"name": "New name", "description": "Now described"}}) {
		t.Fatalf("app.update entry: %v", e)
	}
	resp, raw := s.api("PATCH", "/api/v1/apps/"+id, a.Token, map[string]string{"name": " "})
	checkErrorBody(t, resp, raw, 422, "", "name")
}

func TestAPIUpdateAppRejectsMassAssignment(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	b := s.signup("bob@example.com", "Babbage")
	id := s.createApp(a, "Mine")["id"].(string)
	before := dumpTables(t, s.db, volatile...)
	for _, body := range []string{
		`{"org_id":"` + b.OrgID + `","client_secret_hash":"x"}`,
		`{"name":"Renamed","organization_id":"` + b.OrgID + `"}`,
		`{"name":"Renamed","role":"admin"}`,
		`{"name":"Renamed","id":"` + id + `"}`,
	} {
		resp, raw := s.api("PATCH", "/api/v1/apps/"+id, a.Token, body)
		checkErrorBody(t, resp, raw, 400, "bad_request", "")
	}
	if after := dumpTables(t, s.db, volatile...); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused PATCH changed the database:\nbefore %v\nafter  %v", before, after)
	}
	if got := s.apiJSON("GET", "/api/v1/apps/"+id, a.Token, nil, 200); got["organization_id"] != a.OrgID || got["name"] != "Mine" {
		t.Fatalf("app changed: %v", got)
	}
}

func TestAPIDeleteApp(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	created := s.createApp(a, "Doomed")
	id, secret := created["id"].(string), created["client_secret"].(string)
	s.apiJSON("POST", "/api/v1/apps/"+id+"/redirect_uris", a.Token, map[string]string{"uri": "https://doomed.example.com/cb"}, 201)
	key := s.apiJSON("POST", "/api/v1/apps/"+id+"/api_keys", a.Token, map[string]string{"name": "server", "environment": "live"}, 201)["key"].(string)
	resp, raw := s.api("DELETE", "/api/v1/apps/"+id, a.Token, nil)
	wantStatus(t, resp, raw, 204)
	resp, raw = s.api("GET", "/api/v1/apps/"+id, a.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")
	resp, raw = s.api("DELETE", "/api/v1/apps/"+id, a.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")
	if _, err := models.AuthenticateClient(s.db, id, secret); err == nil {
		t.Fatal("a deleted app's secret still authenticates")
	}
	if _, _, err := models.AuthenticateAPIKey(s.db, key); err == nil {
		t.Fatal("a deleted app's API key still authenticates")
	}
	for _, table := range []string{"client_secrets", "redirect_uris", "api_keys"} {
		if n := countRows(t, s, table, "app_id = ?", id); n != 0 {
			t.Fatalf("%s still has %d rows of the deleted app", table, n)
		}
	}
	entries, _, _ := models.ListAudit(s.db, a.OrgID, models.AuditFilter{Action: "app.delete"})
	if len(entries) != 1 || entries[0].AppID != id {
		t.Fatalf("want one app.delete audit entry, got %v", entries)
	}
}

func TestClientSecretIsNeverShownOrStoredAgain(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ada@example.com", "Analytical")
	created := s.createApp(a, "Secretive")
	id, secret := created["id"].(string), created["client_secret"].(string)
	s.apiJSON("POST", "/api/v1/apps/"+id+"/redirect_uris", a.Token, map[string]string{"uri": "https://secretive.example.com/cb"}, 201)
	key := s.apiJSON("POST", "/api/v1/apps/"+id+"/api_keys", a.Token, map[string]string{"name": "server", "environment": "test"}, 201)["key"].(string)
	_, rotated := s.api("POST", "/api/v1/apps/"+id+"/secrets", a.Token, map[string]int{"expire_previous_in": 3600})
	s.apiJSON("PATCH", "/api/v1/apps/"+id, a.Token, map[string]string{"description": "renamed"}, 200)
	newSecret := mustField(t, rotated, "secret")

	var seen strings.Builder
	for _, path := range []string{"/api/v1/apps/" + id, "/api/v1/apps", "/api/v1/orgs/" + a.OrgID + "/audit",
		"/api/v1/apps/" + id + "/api_keys", "/api/v1/apps/" + id + "/redirect_uris", "/api/v1/me", "/api/v1/orgs/" + a.OrgID + "/members"} {
		_, raw := s.api("GET", path, a.Token, nil)
		wantSecretNowhere(t, "GET "+path, raw, secret, models.PrefixClientSecret)
		wantSecretNowhere(t, "GET "+path, raw, newSecret, models.PrefixClientSecret)
		wantSecretNowhere(t, "GET "+path, raw, key, models.PrefixTestKey)
		seen.WriteString(raw)
	}
	wantSecretNowhere(t, "the rotate response", rotated, secret, models.PrefixClientSecret)
	if !strings.Contains(seen.String(), secret[:len(models.PrefixClientSecret)+4]) {
		t.Fatal("the secret's prefix should still identify it in GET responses")
	}

	dump := fmt.Sprint(dumpTables(t, s.db))
	for _, tc := range []struct{ value, prefix string }{{secret, models.PrefixClientSecret}, {newSecret, models.PrefixClientSecret},
		{key, models.PrefixTestKey}, {a.Token, models.PrefixAPIToken}} {
		wantSecretNowhere(t, "the database", dump, tc.value, tc.prefix)
		if !strings.Contains(dump, models.HashToken(tc.value)) {
			t.Fatalf("the dump should hold the hash of %s…: the search above proves nothing", tc.value[:len(tc.prefix)+4])
		}
	}
}

func mustUnmarshal(t *testing.T, raw string, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), into); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
}

// mustField returns a string field of a JSON object body.
func mustField(t *testing.T, raw, field string) string {
	t.Helper()
	var m map[string]any
	mustUnmarshal(t, raw, &m)
	v, ok := m[field].(string)
	if !ok || v == "" {
		t.Fatalf("no %q in %s", field, raw)
	}
	return v
}
