package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// badEvent is one event of the refusals batch and the refusal it must get (code "" = stored).
type badEvent struct {
	event       any
	id          string
	field, code string
}

func refusalCases(now time.Time) []badEvent {
	at := now.Add(-time.Hour).Format(time.RFC3339)
	ev := func(id string, change func(*wireEvent)) wireEvent {
		e := wireEvent{ID: id, SessionID: "sess-ok", Owner: "alice", Step: "signed_in", OccurredAt: at}
		change(&e)
		return e
	}
	long := strings.Repeat("x", 201)
	inParis := now.Add(-2 * time.Hour).In(time.FixedZone("CEST", 2*3600)).Format(time.RFC3339Nano)
	return []badEvent{
		{ev("ok-launch", func(e *wireEvent) { e.Step = "launched" }), "ok-launch", "", ""},
		{ev("", func(e *wireEvent) {}), "", "id", "missing"},
		{ev("bad\x01id", func(e *wireEvent) {}), "bad\x01id", "id", "invalid"},
		{ev(long, func(e *wireEvent) {}), long, "id", "invalid"},
		{ev(strings.Repeat("é", 200), func(e *wireEvent) {}), strings.Repeat("é", 200), "", ""},
		{ev("no-session", func(e *wireEvent) { e.SessionID = "" }), "no-session", "session_id", "missing"},
		{ev("long-session", func(e *wireEvent) { e.SessionID = long }), "long-session", "session_id", "invalid"},
		{ev("bad-owner", func(e *wireEvent) { e.Owner = "al\nice" }), "bad-owner", "owner", "invalid"},
		{ev("bad-step", func(e *wireEvent) { e.Step = "teleported" }), "bad-step", "step", "unknown_step"},
		{ev("no-time", func(e *wireEvent) { e.OccurredAt = "" }), "no-time", "occurred_at", "invalid_time"},
		{ev("bad-time", func(e *wireEvent) { e.OccurredAt = "yesterday" }), "bad-time", "occurred_at", "invalid_time"},
		{ev("no-zone", func(e *wireEvent) { e.OccurredAt = now.Add(-time.Hour).Format("2006-01-02T15:04:05") }), "no-zone", "occurred_at", "invalid_time"},
		{ev("future", func(e *wireEvent) { e.OccurredAt = now.Add(25 * time.Hour).Format(time.RFC3339) }), "future", "occurred_at", "time_in_future"},
		{ev("old", func(e *wireEvent) { e.OccurredAt = now.AddDate(0, 0, -366).Format(time.RFC3339) }), "old", "occurred_at", "time_too_old"},
		{ev("error-no-code", func(e *wireEvent) { e.Step = "error" }), "error-no-code", "error", "missing"},
		{ev("code-on-step", func(e *wireEvent) { e.Error = "access_denied" }), "code-on-step", "error", "unexpected"},
		{ev("bad-code", func(e *wireEvent) { e.Step, e.Error = "error", "Bad-Code" }), "bad-code", "error", "invalid_error_code"},
		{ev("bad-make", func(e *wireEvent) { e.Make = "DELOREAN" }), "bad-make", "make", "unknown_make"},
		{ev("live-mode", func(e *wireEvent) { e.Mode = "live" }), "live-mode", "mode", "invalid_mode"},
		{ev("odd-mode", func(e *wireEvent) { e.Mode = "production" }), "odd-mode", "mode", "invalid_mode"},
		{map[string]any{"id": 5}, "", "events", "malformed_event"},
		{map[string]any{"id": "colour", "session_id": "sess-ok", "step": "launched", "occurred_at": at, "colour": "red"}, "", "events", "malformed_event"},
		{"hello", "", "events", "malformed_event"},
		{[]string{"id"}, "", "events", "malformed_event"},
		{ev("ok-exit", func(e *wireEvent) {
			e.Step, e.Error, e.Make, e.Mode = "exited", "user_manually_returned_to_application", "tesla", "simulated"
		}), "ok-exit", "", ""},
		{ev("ok-offset", func(e *wireEvent) { e.OccurredAt = inParis }), "ok-offset", "", ""},
		{ev("ok-soon", func(e *wireEvent) { e.OccurredAt = now.Add(23 * time.Hour).Format(time.RFC3339) }), "ok-soon", "", ""},
		{ev("ok-old", func(e *wireEvent) { e.OccurredAt = now.AddDate(0, 0, -364).Format(time.RFC3339) }), "ok-old", "", ""},
	}
}

func TestEventsRefusals(t *testing.T) {
	s := newTestServer(t)
	app := newEventsApp(s, s.signup("refusals@example.com", "Refusals Org"), "Refusals app", "test")
	cases := refusalCases(time.Now().UTC())
	var batch []any
	var stored []string
	var want []refusalJSON
	for i, c := range cases {
		batch = append(batch, c.event)
		if c.code == "" {
			stored = append(stored, c.id)
		} else {
			want = append(want, refusalJSON{Index: i, ID: c.id, Field: c.field, Code: c.code})
		}
	}
	got := app.send(t, "", batch)
	if got.Accepted != len(stored) || got.Duplicates != 0 {
		t.Errorf("accepted %d, duplicates %d; want %d, 0", got.Accepted, got.Duplicates, len(stored))
	}
	wantRefusals(t, got.Refused, want)
	wantStoredIDs(t, s, app.id, stored)
	if e := storedEvents(t, s, app.id)["ok-exit"]; e.Make != "TESLA" || e.Mode != "simulated" || e.ErrorCode != "user_manually_returned_to_application" {
		t.Errorf("ok-exit stored as %+v, want make TESLA, mode simulated and its exit code", e)
	}
	if e := storedEvents(t, s, app.id)["ok-launch"]; e.Mode != "test" || e.Make != "" {
		t.Errorf("ok-launch stored as %+v, want a test key's default mode test and no make", e)
	}

	// A batch of nothing but bad events is a 422 with the same list, re-indexed, and stores nothing.
	var bad []any
	var wantBad []refusalJSON
	for _, c := range cases {
		if c.code != "" {
			wantBad = append(wantBad, refusalJSON{Index: len(bad), ID: c.id, Field: c.field, Code: c.code})
			bad = append(bad, c.event)
		}
	}
	resp, raw := s.postEvents(app.key, "", bad)
	wantStatus(t, resp, raw, 422)
	var body struct {
		Error   apiError      `json:"error"`
		Refused []refusalJSON `json:"refused"`
	}
	mustUnmarshal(t, raw, &body)
	if body.Error.Code != "invalid_events" || body.Error.Field != "events" || body.Error.Message == "" {
		t.Errorf("all refused: error %+v, want code invalid_events on field events", body.Error)
	}
	wantRefusals(t, body.Refused, wantBad)
	wantStoredIDs(t, s, app.id, stored)
}

// TestEventsNullEvent: null is not an object of the documented fields, so it is a malformed event.
func TestEventsNullEvent(t *testing.T) {
	s := newTestServer(t)
	app := newEventsApp(s, s.signup("null@example.com", "Null Org"), "Null app", "test")
	resp, raw := s.postEvents(app.key, "", []any{nil})
	wantStatus(t, resp, raw, 422)
	var body struct {
		Refused []refusalJSON `json:"refused"`
	}
	mustUnmarshal(t, raw, &body)
	if len(body.Refused) != 1 || body.Refused[0].Code != "malformed_event" || body.Refused[0].Field != "events" {
		t.Errorf(`{"events":[null]}: refused %+v, want index 0 refused as malformed_event on field events`, body.Refused)
	}
}

func TestEventsBatchSizes(t *testing.T) {
	s := newTestServer(t)
	app := newEventsApp(s, s.signup("sizes@example.com", "Sizes Org"), "Sizes app", "test")
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	many := func(prefix string, n int) []wireEvent {
		out := make([]wireEvent, n)
		for i := range out {
			out[i] = wireEvent{ID: fmt.Sprintf("%s-%04d", prefix, i), SessionID: fmt.Sprintf("%s-s%03d", prefix, i/10), Step: "launched", OccurredAt: at}
		}
		return out
	}
	resp, raw := s.postEvents(app.key, "", many("over", 1001))
	checkErrorBody(t, resp, raw, 422, "too_many_events", "events")
	resp, raw = s.postEvents(app.key, "", []wireEvent{})
	checkErrorBody(t, resp, raw, 422, "no_events", "events")
	resp, raw = s.api("POST", "/api/v1/events", app.key, map[string]any{})
	checkErrorBody(t, resp, raw, 422, "no_events", "events")
	wantStoredIDs(t, s, app.id, nil)

	full := many("full", 1000)
	wantAnswer(t, "a batch of 1000", app.send(t, "", full), 1000, 0)
	if n := len(storedEvents(t, s, app.id)); n != 1000 {
		t.Errorf("%d events stored, want 1000", n)
	}
	day := time.Now().UTC().Add(-time.Hour)
	var f funnelJSON
	s.getJSON("/api/v1/apps/"+app.id+"/analytics/funnel?"+truthFilter{from: day, to: day}.query(), app.a.Token, &f)
	if f.SessionsStarted != 100 {
		t.Errorf("1000 launches of 100 sessions: %d sessions started, want 100", f.SessionsStarted)
	}
}
