package handlers

import (
	"testing"
	"time"
)

func TestEventsAuthentication(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("auth@example.com", "Auth Org")
	app := newEventsApp(s, a, "Auth app", "test")
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	one := []wireEvent{{ID: "e1", SessionID: "s1", Owner: "alice", Step: "launched", OccurredAt: at}}

	revoked := s.newAPIKey(a, app.id, "test")
	resp, raw := s.api("DELETE", "/api/v1/apps/"+app.id+"/api_keys/"+revoked["id"].(string), a.Token, nil)
	wantStatus(t, resp, raw, 204)
	for what, token := range map[string]string{"no key": "", "a revoked key": revoked["key"].(string),
		"a console token": a.Token, "a made-up key": "kf_test_0000000000000000000000000000"} {
		resp, raw := s.postEvents(token, "", one)
		if resp.StatusCode != 401 {
			t.Errorf("%s: status %d, want 401; %s", what, resp.StatusCode, raw)
		}
	}
	wantStoredIDs(t, s, app.id, nil)

	// A live key reports live sessions only, and live is its default.
	live := eventsApp{s: s, a: a, id: app.id, key: s.newAPIKey(a, app.id, "live")["key"].(string)}
	batch := []wireEvent{
		{ID: "l1", SessionID: "ls1", Step: "launched", OccurredAt: at},
		{ID: "l2", SessionID: "ls1", Step: "brand_selected", OccurredAt: at, Mode: "live"},
		{ID: "l3", SessionID: "ls2", Step: "launched", OccurredAt: at, Mode: "test"},
		{ID: "l4", SessionID: "ls3", Step: "launched", OccurredAt: at, Mode: "simulated"},
	}
	got := live.send(t, "", batch)
	if got.Accepted != 2 {
		t.Errorf("live key: accepted %d, want 2", got.Accepted)
	}
	wantRefusals(t, got.Refused, []refusalJSON{{Index: 2, ID: "l3", Field: "mode", Code: "invalid_mode"},
		{Index: 3, ID: "l4", Field: "mode", Code: "invalid_mode"}})
	resp, raw = s.postEvents(live.key, "", batch[2:3])
	wantStatus(t, resp, raw, 422)
	stored := storedEvents(t, s, app.id)
	if stored["l1"].Mode != "live" || stored["l2"].Mode != "live" || len(stored) != 2 {
		t.Errorf("live key stored %+v, want l1 and l2 in mode live", stored)
	}
}
