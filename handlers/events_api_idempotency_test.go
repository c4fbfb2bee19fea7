package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEventsIdempotency(t *testing.T) {
	s := newTestServer(t)
	app := newEventsApp(s, s.signup("idem@example.com", "Idem Org"), "Idempotent app", "test")
	day0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	whole := truthFilter{from: day0.AddDate(0, 0, -1), to: day0.AddDate(0, 0, 3)}
	sessions := generateSessions(7, "idem", 16, day0, 2)
	events := allEvents(sessions)
	first, rest := events[:len(events)/2], events[len(events)/2:]
	if len(rest) < 12 {
		t.Fatalf("only %d events in the second half; generate more sessions", len(rest))
	}

	wantAnswer(t, "first send", app.send(t, "", wires(first)), len(first), 0)
	before := app.funnel(t, whole)
	wantAnswer(t, "the same batch again", app.send(t, "", wires(first)), 0, len(first))
	if after := app.funnel(t, whole); !reflect.DeepEqual(after, before) {
		t.Errorf("a resent batch changed the funnel:\n%s", jsonDiff(after, before))
	}
	wantStoredEvents(t, s, app.id, first)

	twice := append(wires(rest[:3]), rest[0].wire())
	wantAnswer(t, "an event id twice in one batch", app.send(t, "", twice), 3, 1)
	wantStoredEvents(t, s, app.id, events[:len(first)+3])
	rest = rest[3:]

	// An Idempotency-Key answers a retry with the first answer, refusals included.
	keyed := append(wires(rest[:4]), wireEvent{ID: "idem-bad", SessionID: "idem-x", Step: "teleported", OccurredAt: rest[0].wire().OccurredAt})
	resp, firstRaw := s.postEvents(app.key, "retry-1", keyed)
	wantStatus(t, resp, firstRaw, 202)
	var firstAnswer ingestJSON
	mustUnmarshal(t, firstRaw, &firstAnswer)
	if firstAnswer.Accepted != 4 || firstAnswer.Duplicates != 0 || len(firstAnswer.Refused) != 1 || firstAnswer.Refused[0].Index != 4 {
		t.Fatalf("keyed batch: %s, want 4 accepted and event 4 refused", firstRaw)
	}
	resp, raw := s.postEvents(app.key, "retry-1", keyed)
	wantStatus(t, resp, raw, 202)
	if raw != firstRaw {
		t.Errorf("a retry with the same Idempotency-Key and body answered\n %s\nnot the first answer\n %s", raw, firstRaw)
	}
	wantStoredEvents(t, s, app.id, events[:len(first)+3+4])

	// The same key with other events is refused whole, and stores nothing.
	resp, raw = s.postEvents(app.key, "retry-1", wires(rest[4:]))
	checkErrorBody(t, resp, raw, 422, "idempotency_key_reused", "Idempotency-Key")
	wantStoredEvents(t, s, app.id, events[:len(first)+3+4])
	resp, raw = s.postEvents(app.key, strings.Repeat("k", 256), wires(rest[4:]))
	checkErrorBody(t, resp, raw, 422, "invalid", "Idempotency-Key")
	wantStoredEvents(t, s, app.id, events[:len(first)+3+4])

	wantAnswer(t, "the rest, without a key", app.send(t, "", wires(rest[4:])), len(rest[4:]), 0)
	wantStoredEvents(t, s, app.id, events)
	truth := summarise(sessions)
	app.wantFunnel(t, truth, whole)
	app.wantOwners(t, truth, whole, 500)
}

// TestEventsIdempotencyKeyConcurrentRetries: a client that times out and retries while its first request
// is still running must not get two different answers, and the key must keep the answer that stored the events.
func TestEventsIdempotencyKeyConcurrentRetries(t *testing.T) {
	s := newTestServer(t)
	app := newEventsApp(s, s.signup("retries@example.com", "Retries Org"), "Retries app", "test")
	day0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	events := allEvents(generateSessions(5, "race", 60, day0, 1))
	body, _ := json.Marshal(map[string]any{"events": wires(events)})
	post := func() (int, string, error) {
		req := httptest.NewRequest("POST", "/api/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+app.key)
		req.Header.Set("Idempotency-Key", "retry-race")
		resp, err := s.app.Test(req, -1)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw), nil
	}
	const n = 8
	var wg sync.WaitGroup
	statuses, answers, errs := make([]int, n), make([]string, n), make([]error, n)
	for i := range n {
		wg.Go(func() { statuses[i], answers[i], errs[i] = post() })
	}
	wg.Wait()
	stored := fmt.Sprintf(`{"accepted":%d,"duplicates":0,"refused":[]}`, len(events))
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Fatalf("request %d: %v", i, errs[i])
		case statuses[i] == 202 && answers[i] != stored:
			t.Errorf("concurrent retry %d with the same Idempotency-Key and body answered 202 %s; want the answer of the request that stored the events, %s", i, answers[i], stored)
		case statuses[i] != 202 && statuses[i] != 409:
			t.Errorf("concurrent retry %d: status %d %s, want 202 (the first answer) or 409 (still in progress)", i, statuses[i], answers[i])
		}
	}
	if status, raw, err := post(); err != nil || status != 202 || raw != stored {
		t.Errorf("a later retry answered %d %s (%v); want the first answer %s", status, raw, err, stored)
	}
	wantStoredEvents(t, s, app.id, events)
}
