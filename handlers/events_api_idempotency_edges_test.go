package handlers

import (
	"strings"
	"testing"
	"time"
)

// Edges of Idempotency-Key found in review: a request whose every event was refused still claims its
// key; the same key from a test and a live API key of one app are two requests; odd header values
// are refused, not a server error.
func TestEventsIdempotencyKeyEdges(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("edges@example.com", "Edges Org")
	app := newEventsApp(s, a, "Edges app", "test")
	now := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	bad := []wireEvent{{ID: "e1", SessionID: "s1", Step: "teleported", OccurredAt: now}}
	good := []wireEvent{{ID: "e2", SessionID: "s2", Owner: "o", Step: "launched", OccurredAt: now}}

	resp, first := s.postEvents(app.key, "all-refused", bad)
	if resp.StatusCode != 422 || !strings.Contains(first, `"code":"invalid_events"`) {
		t.Fatalf("all refused: %d %s", resp.StatusCode, first)
	}
	resp, again := s.postEvents(app.key, "all-refused", bad)
	if resp.StatusCode != 422 || again != first {
		t.Errorf("a retry of an all-refused request answers the same: %d %s\nfirst %s", resp.StatusCode, again, first)
	}
	resp, raw := s.postEvents(app.key, "all-refused", good)
	checkErrorBody(t, resp, raw, 422, "idempotency_key_reused", "Idempotency-Key")

	resp, raw = s.postEvents(app.key, "per-key", good)
	wantStatus(t, resp, raw, 202)
	liveKey := s.newAPIKey(a, app.id, "live")["key"].(string)
	live := []wireEvent{{ID: "e2", SessionID: "s2", Owner: "o", Step: "launched", OccurredAt: now, Mode: "live"}}
	resp, raw = s.postEvents(liveKey, "per-key", live)
	checkErrorBody(t, resp, raw, 422, "idempotency_key_reused", "Idempotency-Key")

	for _, k := range []string{"tab\there", "caf\u00e9", string(make([]byte, 256))} {
		resp, raw = s.postEvents(app.key, k, good)
		if resp.StatusCode != 422 {
			t.Errorf("Idempotency-Key %q: %d %s, want 422", k, resp.StatusCode, raw)
		}
	}
}
