package handlers

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"keyfob/models"
)

func membersPath(orgID string) string { return "/api/v1/orgs/" + orgID + "/members" }

// memberRoles returns GET members as email -> role, checking each entry's shape.
func memberRoles(t *testing.T, s *testServer, token, orgID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range s.apiJSON("GET", membersPath(orgID), token, nil, 200)["members"].([]any) {
		wantKeys(t, "member", v, "user_id", "email", "name", "role")
		m := v.(map[string]any)
		out[m["email"].(string)] = m["role"].(string)
	}
	return out
}

func TestMembersAdd(t *testing.T) {
	s := newTestServer(t)
	o := s.signup("owner@example.com", "Org")
	d := s.signup("dev@example.com", "Dev's own")
	x := s.signup("x@example.com", "X's own")
	if got := memberRoles(t, s, o.Token, o.OrgID); fmt.Sprint(got) != "map[owner@example.com:owner]" {
		t.Fatalf("members: %v", got)
	}
	out := s.apiJSON("POST", membersPath(o.OrgID), o.Token, map[string]string{"email": "Dev@Example.com", "role": "developer"}, 201)
	wantKeys(t, "added member", out, "user_id", "email", "name", "role")
	if out["user_id"] != d.UserID || out["email"] != d.Email || out["role"] != "developer" {
		t.Fatalf("added member: %v", out)
	}
	resp, raw := s.api("POST", membersPath(o.OrgID), o.Token, map[string]string{"email": d.Email, "role": "analyst"})
	checkErrorBody(t, resp, raw, 409, "already_member", "email")
	resp, raw = s.api("POST", membersPath(o.OrgID), o.Token, map[string]string{"email": "ghost@example.com", "role": "analyst"})
	checkErrorBody(t, resp, raw, 404, "not_found", "")
	for _, role := range []string{"admin", "", "Owner"} {
		resp, raw = s.api("POST", membersPath(o.OrgID), o.Token, map[string]string{"email": x.Email, "role": role})
		checkErrorBody(t, resp, raw, 422, "invalid_role", "role")
	}
	// Only owners manage members.
	resp, raw = s.api("POST", membersPath(o.OrgID), d.Token, map[string]string{"email": x.Email, "role": "analyst"})
	checkErrorBody(t, resp, raw, 403, "forbidden", "")
	want := map[string]string{"owner@example.com": "owner", "dev@example.com": "developer"}
	if got := memberRoles(t, s, d.Token, o.OrgID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("members seen by the developer: %v, want %v", got, want)
	}
}

func TestMembersChangeRoleAndLastOwner(t *testing.T) {
	s := newTestServer(t)
	o := s.signup("owner@example.com", "Org")
	d := s.member(o, "dev@example.com", models.RoleDeveloper)
	out := s.apiJSON("PATCH", membersPath(o.OrgID)+"/"+d.UserID, o.Token, map[string]string{"role": "designer"}, 200)
	if out["role"] != "designer" || out["user_id"] != d.UserID {
		t.Fatalf("changed member: %v", out)
	}
	resp, raw := s.api("PATCH", membersPath(o.OrgID)+"/"+d.UserID, o.Token, map[string]string{"role": "root"})
	checkErrorBody(t, resp, raw, 422, "invalid_role", "role")
	resp, raw = s.api("PATCH", membersPath(o.OrgID)+"/"+d.UserID, d.Token, map[string]string{"role": "owner"})
	checkErrorBody(t, resp, raw, 403, "forbidden", "")
	resp, raw = s.api("PATCH", membersPath(o.OrgID)+"/00000000-0000-4000-8000-000000000000", o.Token, map[string]string{"role": "analyst"})
	checkErrorBody(t, resp, raw, 404, "not_found", "")

	// The last owner can be neither demoted nor removed.
	resp, raw = s.api("PATCH", membersPath(o.OrgID)+"/"+o.UserID, o.Token, map[string]string{"role": "developer"})
	checkErrorBody(t, resp, raw, 409, "last_owner", "role")
	resp, raw = s.api("DELETE", membersPath(o.OrgID)+"/"+o.UserID, o.Token, nil)
	checkErrorBody(t, resp, raw, 409, "last_owner", "role")
	want := map[string]string{"owner@example.com": "owner", "dev@example.com": "designer"}
	if got := memberRoles(t, s, o.Token, o.OrgID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("members after refused changes: %v, want %v", got, want)
	}
	// With a second owner, the first may step down.
	s.apiJSON("PATCH", membersPath(o.OrgID)+"/"+d.UserID, o.Token, map[string]string{"role": "owner"}, 200)
	s.apiJSON("PATCH", membersPath(o.OrgID)+"/"+o.UserID, o.Token, map[string]string{"role": "analyst"}, 200)
	resp, raw = s.api("PATCH", membersPath(o.OrgID)+"/"+d.UserID, d.Token, map[string]string{"role": "developer"})
	checkErrorBody(t, resp, raw, 409, "last_owner", "role")
}

func TestRemovedMemberLosesAccessAtOnce(t *testing.T) {
	s := newTestServer(t)
	o := s.signup("owner@example.com", "Org")
	d := s.member(o, "dev@example.com", models.RoleDeveloper)
	appID := s.createApp(o, "Shared")["id"].(string)
	s.apiJSON("GET", "/api/v1/apps/"+appID, d.Token, nil, 200)
	resp, raw := s.api("DELETE", membersPath(o.OrgID)+"/"+d.UserID, o.Token, nil)
	wantStatus(t, resp, raw, 204)

	_, missing := s.api("GET", membersPath("00000000-0000-4000-8000-000000000000"), d.Token, nil)
	for _, req := range [][2]string{{"GET", membersPath(o.OrgID)}, {"GET", "/api/v1/apps/" + appID}, {"PATCH", "/api/v1/apps/" + appID},
		{"GET", "/api/v1/orgs/" + o.OrgID + "/audit"}, {"POST", "/api/v1/apps/" + appID + "/secrets"}} {
		resp, raw := s.api(req[0], req[1], d.Token, map[string]any{})
		checkErrorBody(t, resp, raw, 404, "not_found", "")
		if raw != missing {
			t.Fatalf("%s %s: a former member must get the body of a missing id: %s vs %s", req[0], req[1], raw, missing)
		}
	}
	if ids := appIDs(s.apiJSON("GET", "/api/v1/apps", d.Token, nil, 200)); len(ids) != 0 {
		t.Fatalf("a former member still lists %v", ids)
	}
	for _, org := range s.apiJSON("GET", "/api/v1/me", d.Token, nil, 200)["organizations"].([]any) {
		if org.(map[string]any)["id"] == o.OrgID {
			t.Fatal("/me still lists the organisation the member left")
		}
	}
	resp, raw = s.api("DELETE", membersPath(o.OrgID)+"/"+d.UserID, o.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")
}

// auditPage fetches one page of the audit log and checks each entry's shape.
func auditPage(t *testing.T, s *testServer, token, orgID, query string) ([]map[string]any, any) {
	t.Helper()
	out := s.apiJSON("GET", "/api/v1/orgs/"+orgID+"/audit"+query, token, nil, 200)
	wantKeys(t, "audit", out, "entries", "next_cursor")
	var entries []map[string]any
	for _, v := range out["entries"].([]any) {
		wantKeys(t, "audit entry", v, "id", "at", "actor", "action", "app_id", "target", "detail")
		e := v.(map[string]any)
		wantKeys(t, "audit actor", e["actor"], "id", "email")
		if _, err := time.Parse(time.RFC3339, e["at"].(string)); err != nil {
			t.Fatalf("at: %v", e["at"])
		}
		if _, ok := e["detail"].(map[string]any); !ok {
			t.Fatalf("detail should be a JSON object: %v", e)
		}
		entries = append(entries, e)
	}
	return entries, out["next_cursor"]
}

func entryID(t *testing.T, e map[string]any) int64 {
	n, err := strconv.ParseInt(e["id"].(string), 10, 64)
	if err != nil {
		t.Fatalf("audit id %v is not a number string", e["id"])
	}
	return n
}

func TestAuditLog(t *testing.T) {
	s := newTestServer(t)
	o := s.signup("owner@example.com", "Org")
	other := s.signup("other@example.com", "Other")
	s.createApp(other, "Elsewhere") // another tenant's activity never shows
	first := s.createApp(o, "First")["id"].(string)
	second := s.createApp(o, "Second")["id"].(string)
	s.apiJSON("PATCH", "/api/v1/apps/"+first, o.Token, map[string]string{"name": "First!"}, 200)
	s.apiJSON("POST", "/api/v1/apps/"+second+"/redirect_uris", o.Token, map[string]string{"uri": "https://second.example.com/cb"}, 201)
	s.apiJSON("PATCH", "/api/v1/apps/"+second, o.Token, map[string]string{"description": "two"}, 200)
	s.apiJSON("POST", "/api/v1/apps/"+first+"/api_keys", o.Token, map[string]string{"name": "k", "environment": "test"}, 201)
	s.apiJSON("POST", membersPath(o.OrgID), o.Token, map[string]string{"email": other.Email, "role": "analyst"}, 201)

	all, next := auditPage(t, s, o.Token, o.OrgID, "")
	var actions []string
	for i, e := range all {
		actions = append(actions, e["action"].(string))
		if i > 0 && entryID(t, e) >= entryID(t, all[i-1]) || e["at"].(string) > all[max(i-1, 0)]["at"].(string) {
			t.Fatalf("entries must be newest first: %v", all)
		}
		if actor := e["actor"].(map[string]any); actor["id"] != o.UserID || actor["email"] != o.Email {
			t.Fatalf("actor: %v", e)
		}
	}
	want := []string{"member.add", "api_key.create", "app.update", "redirect_uri.add", "app.update", "app.create", "app.create"}
	if next != nil || !slices.Equal(actions, want) {
		t.Fatalf("actions %v (next %v), want %v", actions, next, want)
	}
	if all[1]["app_id"] != first || all[6]["app_id"] != first || all[5]["target"] != "Second" {
		t.Fatalf("entries should name their app and target: %v", all)
	}

	// Pages of 2 walk the same list with no gap or repeat.
	var walked []map[string]any
	cursor := ""
	for pages := 0; ; pages++ {
		page, next := auditPage(t, s, o.Token, o.OrgID, "?limit=2"+cursor)
		if len(page) > 2 || pages > len(all) {
			t.Fatalf("page of %d entries with limit 2, or endless paging", len(page))
		}
		walked = append(walked, page...)
		if next == nil {
			break
		}
		if len(page) != 2 {
			t.Fatalf("a page before the last must be full: %v", page)
		}
		cursor = "&cursor=" + next.(string)
	}
	if fmt.Sprint(walked) != fmt.Sprint(all) {
		t.Fatalf("paging gave\n%v\nwant\n%v", walked, all)
	}

	byApp, _ := auditPage(t, s, o.Token, o.OrgID, "?app_id="+second)
	if got := entryActions(byApp); !slices.Equal(got, []string{"app.update", "redirect_uri.add", "app.create"}) {
		t.Fatalf("app_id filter: %v", got)
	}
	byAction, _ := auditPage(t, s, o.Token, o.OrgID, "?action=app.update")
	if len(byAction) != 2 || byAction[0]["app_id"] != second || byAction[1]["app_id"] != first {
		t.Fatalf("action filter: %v", byAction)
	}
	both, _ := auditPage(t, s, o.Token, o.OrgID, "?action=app.update&app_id="+first)
	if len(both) != 1 || both[0]["detail"].(map[string]any)["after"].(map[string]any)["name"] != "First!" {
		t.Fatalf("combined filter: %v", both)
	}
}

func entryActions(entries []map[string]any) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e["action"].(string))
	}
	return out
}
