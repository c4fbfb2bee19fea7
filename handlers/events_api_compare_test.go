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

	"keyfob/models"
)

// This file compares what the server answers and stores with the truth: the analytics routes as JSON
// and CSV, the rows of session_events, and the refusals of a batch.

func (e eventsApp) wantFunnel(t *testing.T, truth []truthSession, f truthFilter) {
	t.Helper()
	if got, want := e.funnel(t, f), expectedFunnel(truth, f); !reflect.DeepEqual(got, want) {
		t.Errorf("funnel?%s differs from the generated sessions:\n%s", f.query(), jsonDiff(got, want))
	}
}

// wantFunnelCSV reads the funnel's figures and each of its tables as CSV and compares them with the truth.
func (e eventsApp) wantFunnelCSV(t *testing.T, truth []truthSession, f truthFilter) {
	t.Helper()
	for name, want := range funnelCSVFiles(expectedFunnel(truth, f)) {
		if got := e.s.getCSV(e.analytics(name, f), e.a.Token); !reflect.DeepEqual(got, want) {
			t.Errorf("%s?%s:\n%s", name, f.query(), rowsDiff(got, want))
		}
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

// Numbers as the CSV files write them: rates to four places, seconds to one, empty for nothing.
func rate4(x float64) string { return fmt.Sprintf("%.4f", x) }

func share4(n, d int) string {
	if d == 0 {
		return ""
	}
	return rate4(float64(n) / float64(d))
}

// funnelCSVFiles are the funnel's CSV files by route, laid out from the funnel's JSON: the figures
// (funnel.csv) and one table per file (funnel/{table}.csv), each with its header row.
func funnelCSVFiles(f funnelJSON) map[string][][]string {
	d, o := f.SecondsToComplete, f.Owners
	figures := []string{itoa(f.SessionsStarted), itoa(f.SessionsCompleted), rate4(f.ConversionRate), "", "", "", "", "", "", "", ""}
	if o != nil {
		figures[3], figures[4], figures[5], figures[6] = itoa(o.Started), itoa(o.Connected), rate4(o.ConversionRate), fmt.Sprintf("%.2f", o.SessionsPerOwner)
	}
	if d.Sessions > 0 {
		for i, x := range []float64{d.P25, d.Median, d.P75, d.P90} {
			figures[7+i] = fmt.Sprintf("%.1f", x)
		}
	}
	files := map[string][][]string{"funnel.csv": {{"Sessions started", "Sessions completed", "Session conversion", "Owners who started",
		"Owners who connected", "Owner conversion", "Sessions per owner", "Seconds to connect, 25th percentile", "Seconds to connect, median",
		"Seconds to connect, 75th percentile", "Seconds to connect, 90th percentile"}, figures}}
	steps := [][]string{{"Step", "Sessions", "Share of sessions started", "Drop-off from previous step"}}
	for i, s := range f.Steps {
		dropOff := rate4(s.DropOffRate)
		if i == 0 {
			dropOff = ""
		}
		steps = append(steps, []string{models.StepLabel(s.Step), itoa(s.Sessions), share4(s.Sessions, f.SessionsStarted), dropOff})
	}
	errs := [][]string{{"Error", "Error code", "Sessions", "Share of sessions started", "What happened", "What to do"}}
	for _, e := range f.Errors {
		x := models.ExplainError(e.Code)
		errs = append(errs, []string{x.Label, e.Code, itoa(e.Count), rate4(e.Share), x.Description, x.Action})
	}
	byMake := [][]string{{"Make", "Error", "Error code", "Sessions"}}
	for _, e := range f.ErrorsByMake {
		byMake = append(byMake, []string{models.MakeLabel(e.Make), models.ExplainError(e.Code).Label, e.Code, itoa(e.Count)})
	}
	makes := [][]string{{"Make", "Sessions started", "Sessions completed", "Conversion"}}
	for _, m := range f.ByMake {
		makes = append(makes, []string{models.MakeLabel(m.Make), itoa(m.Started), itoa(m.Completed), share4(m.Completed, m.Started)})
	}
	daily := [][]string{{"Day", "Sessions started", "Sessions completed"}}
	for _, d := range f.Daily {
		daily = append(daily, []string{d.Day, itoa(d.Started), itoa(d.Completed)})
	}
	files["funnel/steps.csv"], files["funnel/errors.csv"], files["funnel/errors-by-make.csv"] = steps, errs, byMake
	files["funnel/makes.csv"], files["funnel/daily.csv"] = makes, daily
	return files
}

// ownersCSVRows is the owners list as owners.csv lays it out.
func ownersCSVRows(owners []ownerJSON) [][]string {
	rows := [][]string{{"Owner id", "Sessions", "Completed", "Conversion", "Last seen (UTC)", "Last outcome"}}
	for _, o := range owners {
		rows = append(rows, []string{o.Owner, itoa(o.Sessions), itoa(o.Completed), rate4(o.ConversionRate), o.LastSeenAt, models.OutcomeLabel(o.LastOutcome)})
	}
	return rows
}

// timelineCSVRows is an owner's timeline as owners/{owner}.csv lays it out: one row per event.
func timelineCSVRows(tl ownerTimelineJSON) [][]string {
	rows := [][]string{{"Owner id", "Session id", "Session started (UTC)", "Session outcome", "Step", "At (UTC)", "Make", "Error", "Error code"}}
	for _, s := range tl.Timeline {
		for _, e := range s.Events {
			brand, problem := "", ""
			if e.Make != "" {
				brand = models.MakeLabel(e.Make)
			}
			if e.Error != "" {
				problem = models.ExplainError(e.Error).Label
			}
			rows = append(rows, []string{tl.Owner, s.SessionID, s.StartedAt, models.OutcomeLabel(s.Outcome), models.StepLabel(e.Step), e.At, brand, problem, e.Error})
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
