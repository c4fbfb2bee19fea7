package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The expected figures these tests compare with come from events_api_truth_test.go, computed from the
// generated sessions without models.

// ingestJSON is the answer of POST /api/v1/events.
type ingestJSON struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Refused    []refusalJSON `json:"refused"`
}

type refusalJSON struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// eventsApp is an app, the account that manages it and an API key that reports its events.
type eventsApp struct {
	s       *testServer
	a       account
	id, key string
}

func newEventsApp(s *testServer, a account, name, environment string) eventsApp {
	s.t.Helper()
	id := s.createApp(a, name)["id"].(string)
	return eventsApp{s: s, a: a, id: id, key: s.newAPIKey(a, id, environment)["key"].(string)}
}

// newAPIKey creates an API key of appID and returns its JSON (with the one-time key).
func (s *testServer) newAPIKey(a account, appID, environment string) map[string]any {
	s.t.Helper()
	return s.apiJSON("POST", "/api/v1/apps/"+appID+"/api_keys", a.Token,
		map[string]any{"name": "events " + environment, "environment": environment}, 201)
}

// postEvents sends {"events": events} with token as the bearer and, when set, an Idempotency-Key.
func (s *testServer) postEvents(token, idemKey string, events any) (*http.Response, string) {
	s.t.Helper()
	raw, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		s.t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/events", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	return s.request(req)
}

// send posts events with the app's key and returns the 202 answer.
func (e eventsApp) send(t *testing.T, idemKey string, events any) ingestJSON {
	t.Helper()
	resp, raw := e.s.postEvents(e.key, idemKey, events)
	wantStatus(t, resp, raw, 202)
	var out ingestJSON
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out.Refused == nil {
		t.Fatalf("202 answer %s: want {accepted, duplicates, refused:[...]} (%v)", raw, err)
	}
	return out
}

// wantAnswer checks a batch's counts, and that nothing was refused.
func wantAnswer(t *testing.T, what string, got ingestJSON, accepted, duplicates int) {
	t.Helper()
	if got.Accepted != accepted || got.Duplicates != duplicates || len(got.Refused) != 0 {
		t.Fatalf("%s: answer %+v, want accepted %d, duplicates %d, none refused", what, got, accepted, duplicates)
	}
}

func wires(events []genEvent) []wireEvent {
	out := make([]wireEvent, len(events))
	for i, e := range events {
		out[i] = e.wire()
	}
	return out
}

func (e eventsApp) analytics(route string, f truthFilter) string {
	return "/api/v1/apps/" + e.id + "/analytics/" + route + "?" + f.query()
}

func (e eventsApp) funnel(t *testing.T, f truthFilter) funnelJSON {
	t.Helper()
	var got funnelJSON
	e.s.getJSON(e.analytics("funnel", f), e.a.Token, &got)
	return got
}

func (e eventsApp) wantFunnel(t *testing.T, truth []truthSession, f truthFilter) {
	t.Helper()
	if got, want := e.funnel(t, f), expectedFunnel(truth, f); !reflect.DeepEqual(got, want) {
		t.Errorf("funnel?%s differs from the generated sessions:\n%s", f.query(), jsonDiff(got, want))
	}
}

func (e eventsApp) wantFunnelCSV(t *testing.T, truth []truthSession, f truthFilter) {
	t.Helper()
	got := e.s.getCSV(e.analytics("funnel.csv", f), e.a.Token)
	if want := funnelCSVRows(expectedFunnel(truth, f)); !reflect.DeepEqual(got, want) {
		t.Errorf("funnel.csv?%s:\n%s", f.query(), rowsDiff(got, want))
	}
}

// ownersPaged walks every page of the owners list, limit owners a page, following next_cursor.
func (e eventsApp) ownersPaged(t *testing.T, f truthFilter, limit int) []ownerJSON {
	t.Helper()
	var all []ownerJSON
	cursor := ""
	for pages := 1; ; pages++ {
		var page struct {
			Owners     []ownerJSON `json:"owners"`
			NextCursor *string     `json:"next_cursor"`
		}
		e.s.getJSON(fmt.Sprintf("%s&limit=%d&cursor=%s", e.analytics("owners", f), limit, url.QueryEscape(cursor)), e.a.Token, &page)
		if len(page.Owners) > limit || page.NextCursor != nil && len(page.Owners) != limit {
			t.Fatalf("owners?%s page %d: %d owners with next_cursor %v, limit %d", f.query(), pages, len(page.Owners), page.NextCursor, limit)
		}
		all = append(all, page.Owners...)
		if page.NextCursor == nil {
			return all
		}
		if pages > 200 {
			t.Fatalf("owners?%s: paging does not end", f.query())
		}
		cursor = *page.NextCursor
	}
}

func (e eventsApp) wantOwners(t *testing.T, truth []truthSession, f truthFilter, limit int) {
	t.Helper()
	got, want := e.ownersPaged(t, f, limit), expectedOwners(truth, f)
	if got == nil {
		got = []ownerJSON{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owners?%s, every page of %d:\n%s", f.query(), limit, rowsDiff(got, want))
	}
}

func (e eventsApp) wantOwnersCSV(t *testing.T, truth []truthSession, f truthFilter) {
	t.Helper()
	got := e.s.getCSV(e.analytics("owners.csv", f), e.a.Token)
	if want := ownersCSVRows(expectedOwners(truth, f)); !reflect.DeepEqual(got, want) {
		t.Errorf("owners.csv?%s:\n%s", f.query(), rowsDiff(got, want))
	}
}

func (e eventsApp) timeline(t *testing.T, f truthFilter, owner string) ownerTimelineJSON {
	t.Helper()
	var got ownerTimelineJSON
	e.s.getJSON(e.analytics("owners/"+url.PathEscape(owner), f), e.a.Token, &got)
	return got
}

func (e eventsApp) wantTimeline(t *testing.T, truth []truthSession, f truthFilter, owner string) {
	t.Helper()
	want := expectedTimeline(truth, f, owner)
	if got := e.timeline(t, f, owner); !reflect.DeepEqual(got, want) {
		t.Errorf("owners/%s?%s:\n%s", owner, f.query(), jsonDiff(got, want))
	}
	got := e.s.getCSV(e.analytics("owners/"+url.PathEscape(owner)+".csv", f), e.a.Token)
	if want := timelineCSVRows(want); !reflect.DeepEqual(got, want) {
		t.Errorf("owners/%s.csv?%s:\n%s", owner, f.query(), rowsDiff(got, want))
	}
}

// storedEvent is a row of session_events as the database holds it.
type storedEvent struct {
	ID, SessionID, Step, Make, Mode, ErrorCode string
}

func storedEvents(t *testing.T, s *testServer, appID string) map[string]storedEvent {
	t.Helper()
	var rows []storedEvent
	if err := s.db.Table("session_events").Select("id, session_id, step, make, mode, error_code").
		Where("app_id = ?", appID).Scan(&rows).Error; err != nil {
		t.Fatalf("read session_events: %v", err)
	}
	out := map[string]storedEvent{}
	for _, r := range rows {
		if _, twice := out[r.ID]; twice {
			t.Errorf("event %s of app %s is stored twice", r.ID, appID)
		}
		out[r.ID] = r
	}
	return out
}

// wantStoredEvents checks that session_events holds exactly events for appID, each as the server keeps it.
func wantStoredEvents(t *testing.T, s *testServer, appID string, events []genEvent) {
	t.Helper()
	got := storedEvents(t, s, appID)
	want := map[string]storedEvent{}
	for _, e := range events {
		want[e.id] = storedEvent{ID: e.id, SessionID: e.session, Step: e.step, Make: e.storedMake(), Mode: e.storedMode(), ErrorCode: e.code}
	}
	if len(got) != len(want) {
		t.Errorf("session_events holds %d events of app %s, want %d", len(got), appID, len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("stored event %s: %+v, want %+v", id, got[id], w)
		}
	}
}

// jsonDiff names the top-level JSON fields of got that differ from want, with both values.
func jsonDiff(got, want any) string {
	var g, w map[string]json.RawMessage
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	json.Unmarshal(gb, &g)
	json.Unmarshal(wb, &w)
	var b strings.Builder
	for k, wv := range w {
		if !bytes.Equal(g[k], wv) {
			fmt.Fprintf(&b, "  %s:\n    got  %s\n    want %s\n", k, g[k], wv)
		}
	}
	return b.String()
}

// rowsDiff lists the rows of two lists that differ, by position.
func rowsDiff[T any](got, want []T) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %d rows, want %d\n", len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w any = "(none)", "(none)"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&b, "  row %d: got %+v, want %+v\n", i, g, w)
		}
	}
	return b.String()
}

// sendBatches sends every batch once (the last together with a resend of the first), then resends
// three batches whole: resent events are duplicates, never stored or counted again.
func (e eventsApp) sendBatches(t *testing.T, r *rand.Rand, batches [][]genEvent) {
	t.Helper()
	if len(batches) < 4 {
		t.Fatalf("want at least 4 batches, got %d", len(batches))
	}
	last := len(batches) - 1
	for i, b := range batches[:last] {
		wantAnswer(t, fmt.Sprintf("batch %d of %d events", i, len(b)), e.send(t, "", wires(b)), len(b), 0)
	}
	mixed := append(wires(batches[last]), wires(batches[0])...)
	wantAnswer(t, "last batch with the first resent", e.send(t, "", mixed), len(batches[last]), len(batches[0]))
	for _, i := range r.Perm(len(batches))[:3] {
		wantAnswer(t, fmt.Sprintf("batch %d resent", i), e.send(t, "", wires(batches[i])), 0, len(batches[i]))
	}
}

func TestEventsGeneratedSetMatchesAnalytics(t *testing.T) {
	s := newTestServer(t)
	app := newEventsApp(s, s.signup("events@example.com", "Events Org"), "Events app", "test")
	day0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -8)
	sessions := generateSessions(42, "gs", 150, day0, 5)
	truth := summarise(sessions)
	wantGeneratorCoverage(t, truth)

	r := rand.New(rand.NewPCG(42, 7))
	batches := shuffledBatches(r, allEvents(sessions))
	app.sendBatches(t, r, batches)
	wantStoredEvents(t, s, app.id, allEvents(sessions))

	whole := truthFilter{from: day0.AddDate(0, 0, -1), to: day0.AddDate(0, 0, 6)}
	want := expectedFunnel(truth, whole)
	sizes := make([]int, len(batches))
	for i, b := range batches {
		sizes[i] = len(b)
	}
	t.Logf("%d sessions, %d events in batches of %v: %d started, %d completed, %d error codes, %d makes, %d owners",
		len(sessions), len(allEvents(sessions)), sizes, want.SessionsStarted, want.SessionsCompleted,
		len(want.Errors), len(want.ByMake), len(expectedOwners(truth, whole)))
	app.wantFunnel(t, truth, whole)
	app.wantFunnelCSV(t, truth, whole)
	app.wantOwners(t, truth, whole, 3)
	app.wantOwnersCSV(t, truth, whole)
	app.wantTimeline(t, truth, whole, busiestOwner(truth))
	for _, f := range []truthFilter{{mode: "test"}, {mode: "simulated"}, {make: "TESLA"}, {make: "BMW", mode: "simulated"}} {
		f.from, f.to = whole.from, whole.to
		app.wantFunnel(t, truth, f)
		app.wantFunnelCSV(t, truth, f)
		app.wantOwners(t, truth, f, 4)
	}
	wantDateEdges(t, app, truth, whole)
}

// wantDateEdges takes a session launched just before midnight and ending after it: a range starting or
// ending on its launch day counts it, and no range without that day does, whatever days its events have.
func wantDateEdges(t *testing.T, app eventsApp, truth []truthSession, whole truthFilter) {
	t.Helper()
	i := slices.IndexFunc(truth, func(s truthSession) bool {
		return s.startedAt != nil && s.owner != "" && dayString(s.firstAt) != dayString(s.lastAt)
	})
	if i < 0 {
		t.Fatal("no launched session with an owner runs across midnight")
	}
	c := truth[i]
	day, _ := time.Parse(time.DateOnly, c.day)
	before, after := day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)
	for _, r := range []struct {
		f        truthFilter
		includes bool
	}{
		{truthFilter{from: day, to: day}, true},
		{truthFilter{from: whole.from, to: day}, true},
		{truthFilter{from: day, to: whole.to}, true},
		{truthFilter{from: before, to: before}, false},
		{truthFilter{from: after, to: after}, false},
		{truthFilter{from: whole.from, to: before}, false},
		{truthFilter{from: after, to: whole.to}, false},
	} {
		if got := expectedFunnel(truth, r.f); r.includes && got.SessionsStarted == 0 {
			t.Fatalf("?%s: the expected funnel is empty", r.f.query())
		}
		app.wantFunnel(t, truth, r.f)
		app.wantOwners(t, truth, r.f, 500)
		app.wantTimeline(t, truth, r.f, c.owner)
		tl := app.timeline(t, r.f, c.owner)
		found := slices.ContainsFunc(tl.Timeline, func(s timelineSessionJSON) bool { return s.SessionID == c.id })
		if found != r.includes {
			t.Errorf("?%s: session %s (launched %s, last event %s) in %s's timeline: %v, want %v",
				r.f.query(), c.id, c.startedAt.Format(time.RFC3339), c.lastAt.Format(time.RFC3339), c.owner, found, r.includes)
		}
	}
}

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

// wantRefusals compares refusals by index, id, field and code, and wants a message on each.
func wantRefusals(t *testing.T, got, want []refusalJSON) {
	t.Helper()
	stripped := make([]refusalJSON, len(got))
	for i, r := range got {
		if strings.TrimSpace(r.Message) == "" {
			t.Errorf("refusal %+v has no message", r)
		}
		r.Message = ""
		stripped[i] = r
	}
	if !reflect.DeepEqual(stripped, want) {
		t.Errorf("refused:\n%s", rowsDiff(stripped, want))
	}
}

// wantStoredIDs checks that the app's stored events are exactly ids.
func wantStoredIDs(t *testing.T, s *testServer, appID string, ids []string) {
	t.Helper()
	var got []string
	for id := range storedEvents(t, s, appID) {
		got = append(got, id)
	}
	slices.Sort(got)
	ids = slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, ids) {
		t.Errorf("stored events %q, want %q", got, ids)
	}
}

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

func TestEventsTenancy(t *testing.T) {
	s := newTestServer(t)
	appA := newEventsApp(s, s.signup("tenant-a@example.com", "Org A"), "App A", "test")
	appB := newEventsApp(s, s.signup("tenant-b@example.com", "Org B"), "App B", "test")
	day0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	whole := truthFilter{from: day0.AddDate(0, 0, -1), to: day0.AddDate(0, 0, 4)}
	sessions := generateSessions(11, "tn", 25, day0, 3)
	events := allEvents(sessions)
	truth := summarise(sessions)

	wantAnswer(t, "app A", appA.send(t, "shared-key", wires(events)), len(events), 0)
	appA.wantFunnel(t, truth, whole)
	funnelA, ownersA := appA.funnel(t, whole), appA.ownersPaged(t, whole, 500)

	// App B reports the same event and session ids: they are B's own, not duplicates of A's.
	wantAnswer(t, "app B, A's ids", appB.send(t, "", wires(events)), len(events), 0)
	appB.wantFunnel(t, truth, whole)
	// B goes on to complete every one of those sessions, under the Idempotency-Key A used.
	completedB, completions := completeAll(sessions)
	wantAnswer(t, "app B, completions", appB.send(t, "shared-key", wires(completions)), len(completions), 0)
	truthB := summarise(completedB)
	appB.wantFunnel(t, truthB, whole)
	appB.wantOwners(t, truthB, whole, 5)

	if got := appA.funnel(t, whole); !reflect.DeepEqual(got, funnelA) {
		t.Errorf("app B's events changed app A's funnel:\n%s", jsonDiff(got, funnelA))
	}
	if got := appA.ownersPaged(t, whole, 500); !reflect.DeepEqual(got, ownersA) {
		t.Errorf("app B's events changed app A's owners:\n%s", rowsDiff(got, ownersA))
	}
	wantStoredEvents(t, s, appA.id, events)
	wantStoredEvents(t, s, appB.id, allEvents(completedB))
	var rows int64
	s.db.Table("session_events").Where("id = ?", events[0].id).Count(&rows)
	if rows != 2 {
		t.Errorf("event id %s: %d rows, want one per app", events[0].id, rows)
	}

	// Org B's people cannot read app A's analytics.
	owner := busiestOwner(truth)
	for _, route := range []string{"funnel", "funnel.csv", "owners", "owners.csv", "owners/" + owner, "owners/" + owner + ".csv"} {
		resp, raw := s.api("GET", appA.analytics(route, whole), appB.a.Token, nil)
		checkErrorBody(t, resp, raw, 404, "not_found", "")
	}
}

// completeAll is sessions each with one more event, completed a minute after its last, and those events.
func completeAll(sessions []genSession) ([]genSession, []genEvent) {
	out := make([]genSession, len(sessions))
	var extra []genEvent
	for i, s := range sessions {
		last := s.events[len(s.events)-1]
		done := genEvent{id: s.id + "-done", session: s.id, owner: last.owner, step: "completed", make: last.make,
			mode: last.mode, at: last.at.Add(time.Minute)}
		out[i] = genSession{id: s.id, events: append(slices.Clone(s.events), done)}
		extra = append(extra, done)
	}
	return out, extra
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
