package handlers

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"keyfob/models"
)

// tenant is an owner with an app that has a secret, a redirect URI and an API key.
type tenant struct {
	acct                                     account
	app, secretID, secret, uriID, keyID, key string
}

func (s *testServer) tenant(email, org string) tenant {
	s.t.Helper()
	a := s.signup(email, org)
	created := s.createApp(a, org+" app")
	tn := tenant{acct: a, app: created["id"].(string), secret: created["client_secret"].(string),
		secretID: created["secrets"].([]any)[0].(map[string]any)["id"].(string)}
	prefix := "/api/v1/apps/" + tn.app
	tn.uriID = s.apiJSON("POST", prefix+"/redirect_uris", a.Token, map[string]string{"uri": "https://" + strings.ToLower(strings.Fields(org)[0]) + ".example.com/cb"}, 201)["id"].(string)
	key := s.apiJSON("POST", prefix+"/api_keys", a.Token, map[string]string{"name": "server", "environment": "live"}, 201)
	tn.keyID, tn.key = key["id"].(string), key["key"].(string)
	return tn
}

// ids fills a route template's placeholders.
type ids struct{ org, app, secret, uri, key, user string }

func (v ids) fill(template string) string {
	return strings.NewReplacer("{org}", v.org, "{app}", v.app, "{secret}", v.secret, "{uri}", v.uri, "{key}", v.key, "{user}", v.user, "{owner}", "owner-1").Replace(template)
}

func (tn tenant) ids() ids {
	return ids{tn.acct.OrgID, tn.app, tn.secretID, tn.uriID, tn.keyID, tn.acct.UserID}
}

// idRoutes is every /api/v1 route that names an organisation, app or credential, with a body that
// would succeed for a caller allowed to use it.
var idRoutes = []struct{ method, path, body string }{
	{"GET", "/api/v1/orgs/{org}/members", ""},
	{"POST", "/api/v1/orgs/{org}/members", `{"email":"intruder@example.com","role":"owner"}`},
	{"PATCH", "/api/v1/orgs/{org}/members/{user}", `{"role":"analyst"}`},
	{"DELETE", "/api/v1/orgs/{org}/members/{user}", ""},
	{"GET", "/api/v1/orgs/{org}/audit", ""},
	{"POST", "/api/v1/apps", `{"name":"Planted","organization_id":"{org}"}`},
	{"GET", "/api/v1/apps/{app}", ""},
	{"PATCH", "/api/v1/apps/{app}", `{"name":"Hijacked","description":"owned"}`},
	{"DELETE", "/api/v1/apps/{app}", ""},
	{"POST", "/api/v1/apps/{app}/secrets", `{"expire_previous_in":0}`},
	{"DELETE", "/api/v1/apps/{app}/secrets/{secret}", ""},
	{"GET", "/api/v1/apps/{app}/redirect_uris", ""},
	{"POST", "/api/v1/apps/{app}/redirect_uris", `{"uri":"https://evil.example.com/cb"}`},
	{"DELETE", "/api/v1/apps/{app}/redirect_uris/{uri}", ""},
	{"GET", "/api/v1/apps/{app}/api_keys", ""},
	{"POST", "/api/v1/apps/{app}/api_keys", `{"name":"stolen","environment":"live"}`},
	{"DELETE", "/api/v1/apps/{app}/api_keys/{key}", ""},
	{"GET", "/api/v1/apps/{app}/branding", ""},
	{"PUT", "/api/v1/apps/{app}/branding/draft", `{"button_color":"#ff0000"}`},
	{"POST", "/api/v1/apps/{app}/branding/logo", ""},
	{"DELETE", "/api/v1/apps/{app}/branding/logo", ""},
	{"POST", "/api/v1/apps/{app}/branding/publish", ""},
	{"GET", "/api/v1/apps/{app}/branding/versions", ""},
	{"POST", "/api/v1/apps/{app}/branding/versions/1/restore", ""},
	{"GET", "/api/v1/apps/{app}/analytics/funnel", ""},
	{"GET", "/api/v1/apps/{app}/analytics/funnel.csv", ""},
	{"GET", "/api/v1/apps/{app}/analytics/funnel/steps.csv", ""},
	{"GET", "/api/v1/apps/{app}/analytics/owners", ""},
	{"GET", "/api/v1/apps/{app}/analytics/owners.csv", ""},
	{"GET", "/api/v1/apps/{app}/analytics/owners/{owner}", ""},
	{"GET", "/api/v1/apps/{app}/analytics/owners/{owner}.csv", ""},
}

// rawBody turns a JSON template into a body for s.api ("" means none).
func rawBody(body string) any {
	if body == "" {
		return nil
	}
	return body
}

func (s *testServer) call(method, path, token, body string) (int, string) {
	s.t.Helper()
	resp, raw := s.api(method, path, token, rawBody(body))
	return resp.StatusCode, raw
}

// volatile tables change on every authenticated request (last_seen_at) or limiter hit.
var volatile = []string{"auth_sessions", "kv_store"}

func TestTenancyMatrixCoversEveryRoute(t *testing.T) {
	s := newTestServer(t)
	covered := map[string]bool{}
	params := strings.NewReplacer("/1/", "/:version/", "/funnel/steps.csv", "/funnel/:table.csv", "{org}", ":org", "{app}", ":app", "{secret}", ":secret", "{uri}", ":uri", "{key}", ":key", "{user}", ":user", "{owner}", ":owner")
	for _, r := range idRoutes {
		covered[r.method+" "+params.Replace(r.path)] = true
	}
	routed := map[string]bool{}
	for _, r := range s.app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || !strings.Contains(r.Path, ":") || r.Method == "HEAD" {
			continue
		}
		routed[r.Method+" "+r.Path] = true
		if !covered[r.Method+" "+r.Path] {
			t.Errorf("%s %s takes an id but is missing from the tenancy matrix (idRoutes)", r.Method, r.Path)
		}
	}
	for route := range covered {
		if strings.Contains(route, ":") && !routed[route] {
			t.Errorf("the matrix lists %s, which the router does not have", route)
		}
	}
}

func TestCrossTenantIDsAreNotFound(t *testing.T) {
	s := newTestServer(t)
	a := s.tenant("alice@example.com", "Alpha Org")
	b := s.tenant("bob@example.com", "Beta Org")
	s.signup("intruder@example.com", "Intruders")
	appBefore := s.apiJSON("GET", "/api/v1/apps/"+a.app, a.acct.Token, nil, 200)
	missing := ids{"00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c",
		"00000000-0000-4000-8000-00000000000d", "00000000-0000-4000-8000-00000000000e", "00000000-0000-4000-8000-00000000000f"}
	garbage := ids{"x", "x", "x", "x", "x", "x"}
	// b's own organisation and app, but a's secret, URI, key and user.
	mixed := ids{b.acct.OrgID, b.app, a.secretID, a.uriID, a.keyID, a.acct.UserID}

	for _, r := range idRoutes {
		variants := map[string]ids{"a's ids": a.ids(), "garbage ids": garbage}
		if strings.ContainsAny(strings.NewReplacer("{org}", "", "{app}", "").Replace(r.path), "{") {
			variants["b's parent with a's child"] = mixed
		}
		wantCode, wantBody := s.call(r.method, missing.fill(r.path), b.acct.Token, missing.fill(r.body))
		if wantCode != 404 {
			t.Fatalf("%s %s with missing ids: %d, want 404: %s", r.method, r.path, wantCode, wantBody)
		}
		for name, v := range variants {
			before := dumpTables(t, s.db, volatile...)
			code, body := s.call(r.method, v.fill(r.path), b.acct.Token, v.fill(r.body))
			if code != 404 || body != wantBody {
				t.Fatalf("%s %s with %s: %d %s, want 404 %s", r.method, v.fill(r.path), name, code, body, wantBody)
			}
			if after := dumpTables(t, s.db, volatile...); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("%s %s with %s changed the database:\nbefore %v\nafter  %v", r.method, r.path, name, before, after)
			}
		}
	}
	if after := s.apiJSON("GET", "/api/v1/apps/"+a.app, a.acct.Token, nil, 200); fmt.Sprint(after) != fmt.Sprint(appBefore) {
		t.Fatalf("a's app changed:\n%v\n%v", appBefore, after)
	}
	if _, err := models.AuthenticateClient(s.db, a.app, a.secret); err != nil {
		t.Fatal("a's secret must still work")
	}
	if _, _, err := models.AuthenticateAPIKey(s.db, a.key); err != nil {
		t.Fatal("a's API key must still work")
	}
}

// roleCase is one call of the role matrix; allowed lists the roles for which it succeeds.
type roleCase struct {
	method, path, body string
	success            int
	action             string // the audit action a successful write records; "" for reads
	allowed            []models.Role
}

var (
	everyone  = []models.Role{models.RoleOwner, models.RoleDeveloper, models.RoleDesigner, models.RoleAnalyst}
	builders  = []models.Role{models.RoleOwner, models.RoleDeveloper}
	ownerOnly = []models.Role{models.RoleOwner}
)

// roleCases run in order on one fixture: deletions come after the calls that need what they delete.
var roleCases = []roleCase{
	{"GET", "/api/v1/apps/{app}", "", 200, "", everyone},
	{"GET", "/api/v1/apps", "", 200, "", everyone},
	{"GET", "/api/v1/orgs/{org}/members", "", 200, "", everyone},
	{"GET", "/api/v1/apps/{app}/redirect_uris", "", 200, "", everyone},
	{"GET", "/api/v1/orgs/{org}/audit", "", 200, "", builders},
	{"GET", "/api/v1/apps/{app}/api_keys", "", 200, "", builders},
	{"POST", "/api/v1/apps", `{"name":"Another","organization_id":"{org}"}`, 201, "app.create", builders},
	{"PATCH", "/api/v1/apps/{app}", `{"name":"Renamed"}`, 200, "app.update", builders},
	{"POST", "/api/v1/apps/{app}/secrets", `{"expire_previous_in":3600}`, 201, "secret.rotate", builders},
	{"DELETE", "/api/v1/apps/{app}/secrets/{secret}", "", 204, "secret.revoke", builders},
	{"POST", "/api/v1/apps/{app}/redirect_uris", `{"uri":"https://new.example.com/cb"}`, 201, "redirect_uri.add", builders},
	{"DELETE", "/api/v1/apps/{app}/redirect_uris/{uri}", "", 204, "redirect_uri.remove", builders},
	{"POST", "/api/v1/apps/{app}/api_keys", `{"name":"second","environment":"test"}`, 201, "api_key.create", builders},
	{"DELETE", "/api/v1/apps/{app}/api_keys/{key}", "", 204, "api_key.revoke", builders},
	{"POST", "/api/v1/orgs/{org}/members", `{"email":"spare@example.com","role":"analyst"}`, 201, "member.add", ownerOnly},
	{"PATCH", "/api/v1/orgs/{org}/members/{user}", `{"role":"designer"}`, 200, "member.role", ownerOnly},
	{"DELETE", "/api/v1/orgs/{org}/members/{user}", "", 204, "member.remove", ownerOnly},
	{"DELETE", "/api/v1/apps/{app}", "", 204, "app.delete", builders},
}

func TestRoleMatrix(t *testing.T) {
	for _, role := range everyone {
		t.Run(string(role), func(t *testing.T) {
			s := newTestServer(t)
			a := s.tenant("owner@example.com", "Alpha Org")
			s.signup("spare@example.com", "Spare")
			target := s.member(a.acct, "target@example.com", models.RoleAnalyst)
			caller := a.acct
			if role != models.RoleOwner {
				caller = s.member(a.acct, string(role)+"@example.com", role)
			}
			v := a.ids()
			v.user = target.UserID
			for _, c := range roleCases {
				path, body := v.fill(c.path), v.fill(c.body)
				before := dumpTables(t, s.db, volatile...)
				auditBefore := auditCount(t, s.db, a.acct.OrgID)
				resp, raw := s.api(c.method, path, caller.Token, rawBody(body))
				if !slices.Contains(c.allowed, role) {
					checkErrorBody(t, resp, raw, 403, "forbidden", "")
					if after := dumpTables(t, s.db, volatile...); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Fatalf("refused %s %s changed the database", c.method, c.path)
					}
					continue
				}
				if resp.StatusCode != c.success {
					t.Fatalf("%s %s as %s: %d, want %d: %s", c.method, c.path, role, resp.StatusCode, c.success, raw)
				}
				if c.action == "" {
					if after := dumpTables(t, s.db, volatile...); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Fatalf("read %s %s changed the database", c.method, c.path)
					}
					continue
				}
				entries, _, _ := models.ListAudit(s.db, a.acct.OrgID, models.AuditFilter{Limit: 1})
				if n := auditCount(t, s.db, a.acct.OrgID); n != auditBefore+1 || entries[0].Action != c.action || entries[0].ActorID != caller.UserID {
					t.Fatalf("%s %s as %s: want one new %q entry by the caller; %d -> %d entries, newest %+v",
						c.method, c.path, role, c.action, auditBefore, n, entries[0])
				}
			}
		})
	}
}
