package handlers

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The events API tests send generated sessions (events_api_generate_test.go) through the real router and
// compare what the analytics routes answer (events_api_compare_test.go) with the figures worked out from
// the generated sessions without models (events_api_truth_test.go). This file holds the test over a
// whole generated set; idempotency, refusals, authentication and tenancy have files of their own.

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
