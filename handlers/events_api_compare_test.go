package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// This file compares what the server answers and stores with the truth: the analytics routes as JSON
// and CSV, the rows of session_events, and the refusals of a batch.

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

// funnelCSVRows is the funnel as funnel.csv lays it out.
func funnelCSVRows(f funnelJSON) [][]string {
	rows := [][]string{{"section", "name", "value", "drop_off_rate"},
		{"headline", "sessions_started", itoa(f.SessionsStarted), ""},
		{"headline", "sessions_completed", itoa(f.SessionsCompleted), ""},
		{"headline", "conversion_rate", ftoa(f.ConversionRate), ""},
		{"headline", "median_seconds_to_complete", ftoa(f.MedianSecondsToComplete), ""}}
	for _, s := range f.Steps {
		rows = append(rows, []string{"step", s.Step, itoa(s.Sessions), ftoa(s.DropOffRate)})
	}
	for _, e := range f.Errors {
		rows = append(rows, []string{"error", e.Code, itoa(e.Count), ""})
	}
	for _, m := range f.ByMake {
		rows = append(rows, []string{"make_started", m.Make, itoa(m.Started), ""}, []string{"make_completed", m.Make, itoa(m.Completed), ""})
	}
	for _, d := range f.Daily {
		rows = append(rows, []string{"day_started", d.Day, itoa(d.Started), ""}, []string{"day_completed", d.Day, itoa(d.Completed), ""})
	}
	return rows
}

// ownersCSVRows is the owners list as owners.csv lays it out.
func ownersCSVRows(owners []ownerJSON) [][]string {
	rows := [][]string{{"owner", "sessions", "completed", "conversion_rate", "last_seen_at", "last_outcome"}}
	for _, o := range owners {
		rows = append(rows, []string{o.Owner, itoa(o.Sessions), itoa(o.Completed), ftoa(o.ConversionRate), o.LastSeenAt, o.LastOutcome})
	}
	return rows
}

// timelineCSVRows is an owner's timeline as owners/{owner}.csv lays it out: one row per event.
func timelineCSVRows(tl ownerTimelineJSON) [][]string {
	rows := [][]string{{"owner", "session_id", "started_at", "outcome", "step", "at", "make", "error"}}
	for _, s := range tl.Timeline {
		for _, e := range s.Events {
			rows = append(rows, []string{tl.Owner, s.SessionID, s.StartedAt, s.Outcome, e.Step, e.At, e.Make, e.Error})
		}
	}
	return rows
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
