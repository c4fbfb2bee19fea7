package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
)

// This file checks a run against its generated truth: the batches straight after the restart, then
// the stored events, the session summaries and the funnel API once the client has resent.

// restartCheckBatchesWhole checks, straight after the restart, that every acknowledged batch is whole
// and every other is all or nothing; it returns how many events of each batch are stored.
func restartCheckBatchesWhole(t *testing.T, db *gorm.DB, appID string, batches [][]restartEvent, acked []bool, rep *restartReport) []int {
	t.Helper()
	stored := restartStoredIDs(t, db, appID)
	present := make([]int, len(batches))
	var problems []string
	for i, b := range batches {
		var missing []string
		for _, e := range b {
			if stored[e.ID] > 0 {
				present[i]++
			} else {
				missing = append(missing, e.ID)
			}
		}
		switch {
		case acked[i] && present[i] != len(b):
			problems = append(problems, fmt.Sprintf("LOST ACKNOWLEDGED EVENTS: batch %d was acknowledged (202) before the kill but only %d of its %d events survived the restart; missing e.g. %v",
				i, present[i], len(b), missing[:min(5, len(missing))]))
		case !acked[i] && present[i] != 0 && present[i] != len(b):
			problems = append(problems, fmt.Sprintf("PARTIAL BATCH: batch %d (not acknowledged) has %d of its %d events after the restart: its transaction was not atomic; missing e.g. %v",
				i, present[i], len(b), missing[:min(5, len(missing))]))
		case !acked[i] && present[i] == len(b):
			rep.committedUnacked++
		}
	}
	if len(problems) > 0 {
		t.Errorf("after kill -9 and restart:\n%s", strings.Join(problems, "\n"))
	}
	return present
}

// restartCheckStoredEvents checks the stored events: exactly the 20,000 generated ids, each once.
func restartCheckStoredEvents(t *testing.T, db *gorm.DB, appID string, batches [][]restartEvent, acked []bool) {
	t.Helper()
	restartCheckEventCounts(t, db, appID)
	stored := restartStoredIDs(t, db, appID)
	generated := map[string]bool{}
	var missingAcked, missingOther []string
	for i, b := range batches {
		for _, e := range b {
			generated[e.ID] = true
			if stored[e.ID] == 0 {
				if acked[i] {
					missingAcked = append(missingAcked, fmt.Sprintf("%s (batch %d)", e.ID, i))
				} else {
					missingOther = append(missingOther, fmt.Sprintf("%s (batch %d)", e.ID, i))
				}
			}
		}
	}
	if len(missingAcked) > 0 {
		t.Errorf("%d ACKNOWLEDGED event ids are missing, e.g. %v", len(missingAcked), missingAcked[:min(10, len(missingAcked))])
	}
	if len(missingOther) > 0 {
		t.Errorf("%d resent event ids are missing, e.g. %v", len(missingOther), missingOther[:min(10, len(missingOther))])
	}
	var unexpected []string
	for id := range stored {
		if !generated[id] {
			unexpected = append(unexpected, id)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("%d unexpected event ids stored for the app, e.g. %v", len(unexpected), unexpected[:min(10, len(unexpected))])
	}
}

// restartCheckEventCounts wants restartTotalEvents events of the app, none of them stored twice.
func restartCheckEventCounts(t *testing.T, db *gorm.DB, appID string) {
	t.Helper()
	var total, distinct int64
	if err := db.Raw("SELECT COUNT(*), COUNT(DISTINCT id) FROM session_events WHERE app_id = ?", appID).Row().Scan(&total, &distinct); err != nil {
		t.Fatal(err)
	}
	if total != restartTotalEvents || distinct != restartTotalEvents {
		t.Errorf("session_events of the app: count(*)=%d count(distinct id)=%d, want %d and %d", total, distinct, restartTotalEvents, restartTotalEvents)
	}
	var dups []struct {
		ID string
		N  int
	}
	db.Raw("SELECT id, COUNT(*) AS n FROM session_events WHERE app_id = ? GROUP BY id HAVING COUNT(*) > 1 ORDER BY id LIMIT 10", appID).Scan(&dups)
	if len(dups) > 0 {
		t.Errorf("DUPLICATE EVENTS stored: %+v", dups)
	}
}

// restartCheckSummaries checks the session summaries: one per session, with the steps it reached.
func restartCheckSummaries(t *testing.T, db *gorm.DB, appID string, sessions []*restartSession) {
	t.Helper()
	var summaries []struct {
		SessionID string
		StepsMask int64
		Day       string
		Make      string
		ErrorCode string
	}
	if err := db.Raw("SELECT session_id, steps_mask, day, make, error_code FROM session_summaries WHERE app_id = ?", appID).Scan(&summaries).Error; err != nil {
		t.Fatal(err)
	}
	bySession := map[string]*restartSession{}
	for _, s := range sessions {
		bySession[s.id] = s
	}
	var wrong []string
	for _, row := range summaries {
		s := bySession[row.SessionID]
		switch {
		case s == nil:
			wrong = append(wrong, fmt.Sprintf("unknown session %s", row.SessionID))
		case row.StepsMask != s.mask || row.Day != s.day || row.Make != s.make || row.ErrorCode != s.errCode:
			wrong = append(wrong, fmt.Sprintf("session %s: stored mask=%b day=%s make=%q error=%q, want mask=%b day=%s make=%q error=%q",
				s.id, row.StepsMask, row.Day, row.Make, row.ErrorCode, s.mask, s.day, s.make, s.errCode))
		}
	}
	if len(summaries) != len(sessions) || len(wrong) > 0 {
		t.Errorf("session_summaries: %d rows for %d sessions; %d wrong, e.g.:\n%s", len(summaries), len(sessions), len(wrong),
			strings.Join(wrong[:min(10, len(wrong))], "\n"))
	}
}

// restartStoredIDs counts the app's stored events by id.
func restartStoredIDs(t *testing.T, db *gorm.DB, appID string) map[string]int {
	t.Helper()
	var ids []string
	if err := db.Raw("SELECT id FROM session_events WHERE app_id = ?", appID).Scan(&ids).Error; err != nil {
		t.Fatalf("read the stored events: %v", err)
	}
	out := make(map[string]int, len(ids))
	for _, id := range ids {
		out[id]++
	}
	return out
}

// funnelResult is the part of GET .../analytics/funnel the restart test compares.
type funnelResult struct {
	SessionsStarted   int `json:"sessions_started"`
	SessionsCompleted int `json:"sessions_completed"`
	Steps             []struct {
		Step     string `json:"step"`
		Sessions int    `json:"sessions"`
	} `json:"steps"`
	Errors []struct {
		Code  string `json:"code"`
		Count int    `json:"count"`
	} `json:"errors"`
	ByMake []struct {
		Make      string `json:"make"`
		Started   int    `json:"started"`
		Completed int    `json:"completed"`
	} `json:"by_make"`
	Daily []struct {
		Day       string `json:"day"`
		Started   int    `json:"started"`
		Completed int    `json:"completed"`
	} `json:"daily"`
}

// restartPair counts the sessions that started and those that completed.
type restartPair struct{ started, completed int }

// restartFunnelTruth is what the funnel over every generated session must count.
type restartFunnelTruth struct {
	from          string         // the earliest day of a session, or today
	steps, errs   map[string]int // sessions by step reached, and by error code
	byMake, daily map[string]restartPair
}

// restartCheckFunnel checks that the funnel API over the whole span of the data equals the truth.
func restartCheckFunnel(t *testing.T, client *restartClient, appID string, sessions []*restartSession, now time.Time) {
	t.Helper()
	truth := restartExpectedFunnel(sessions, now)
	to := time.Now().UTC().Format(time.DateOnly)
	client.login()
	var f funnelResult
	client.call("GET", "/api/v1/apps/"+appID+"/analytics/funnel?from="+truth.from+"&to="+to, nil, 200, &f)
	if diffs := restartFunnelDiffs(f, truth); len(diffs) > 0 {
		t.Errorf("WRONG ANALYTICS TOTALS from GET funnel?from=%s&to=%s:\n%s", truth.from, to, strings.Join(diffs, "\n"))
	}
}

// restartExpectedFunnel counts the generated sessions as the funnel must.
func restartExpectedFunnel(sessions []*restartSession, now time.Time) restartFunnelTruth {
	truth := restartFunnelTruth{from: now.Format(time.DateOnly), steps: map[string]int{}, errs: map[string]int{},
		byMake: map[string]restartPair{}, daily: map[string]restartPair{}}
	for _, s := range sessions {
		truth.from = min(truth.from, s.day)
		for step := range s.steps {
			truth.steps[step]++
		}
		if s.errCode != "" {
			truth.errs[s.errCode]++
		}
		p, d := truth.byMake[s.make], truth.daily[s.day]
		if s.steps[models.StepLaunched] {
			p.started++
			d.started++
		}
		if s.steps[models.StepCompleted] {
			p.completed++
			d.completed++
		}
		truth.byMake[s.make], truth.daily[s.day] = p, d
	}
	return truth
}

// restartFunnelDiffs lists each figure of the funnel f that differs from truth.
func restartFunnelDiffs(f funnelResult, truth restartFunnelTruth) []string {
	var diffs []string
	check := func(what string, got, want int) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s: got %d, want %d", what, got, want))
		}
	}
	check("sessions_started", f.SessionsStarted, truth.steps[models.StepLaunched])
	check("sessions_completed", f.SessionsCompleted, truth.steps[models.StepCompleted])
	if len(f.Steps) != len(models.FunnelSteps) {
		diffs = append(diffs, fmt.Sprintf("steps: got %d entries, want %d", len(f.Steps), len(models.FunnelSteps)))
	}
	for i, st := range f.Steps {
		if i < len(models.FunnelSteps) && st.Step != models.FunnelSteps[i] {
			diffs = append(diffs, fmt.Sprintf("steps[%d] is %s, want %s", i, st.Step, models.FunnelSteps[i]))
		}
		check("steps "+st.Step, st.Sessions, truth.steps[st.Step])
	}
	gotErrs := map[string]int{}
	for _, e := range f.Errors {
		gotErrs[e.Code] = e.Count
	}
	for _, code := range restartKeys(gotErrs, truth.errs) {
		check("errors "+code, gotErrs[code], truth.errs[code])
	}
	gotMakes := map[string]restartPair{}
	for _, m := range f.ByMake {
		gotMakes[m.Make] = restartPair{m.Started, m.Completed}
	}
	for _, m := range restartKeys(gotMakes, truth.byMake) {
		check(fmt.Sprintf("by_make %q started", m), gotMakes[m].started, truth.byMake[m].started)
		check(fmt.Sprintf("by_make %q completed", m), gotMakes[m].completed, truth.byMake[m].completed)
	}
	gotDaily := map[string]restartPair{}
	for _, d := range f.Daily {
		gotDaily[d.Day] = restartPair{d.Started, d.Completed}
	}
	for _, d := range restartKeys(gotDaily, truth.daily) {
		check("daily "+d+" started", gotDaily[d].started, truth.daily[d].started)
		check("daily "+d+" completed", gotDaily[d].completed, truth.daily[d].completed)
	}
	return diffs
}

// restartKeys is the sorted union of the keys of a and b.
func restartKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
