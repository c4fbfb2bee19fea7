package models_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

var (
	testMakes      = []string{"BMW", "TESLA", "FORD"}
	testErrorCodes = []string{"vehicle_incompatible", "access_denied", "no_vehicles"}
	funnelAfter    = []string{"brand_selected", "signed_in", "vehicles_selected", "permissions_approved", "completed"}
)

// randomSession generates a session with the awkward parts of real traffic: a make chosen late or changed,
// repeated steps, a missing launch, two errors, a session running across midnight.
func randomSession(r *rand.Rand, i int) sessionSpec {
	s := sessionSpec{id: fmt.Sprintf("r%03d", i), owner: fmt.Sprintf("owner-%d", r.IntN(4)),
		mode: []string{"live", "test"}[r.IntN(2)], sandbox: r.IntN(8) == 0,
		start: day0.Add(time.Duration(r.IntN(4*86400)) * time.Second)}
	if r.IntN(6) == 0 {
		s.start = day0.AddDate(0, 0, r.IntN(4)).Add(24*time.Hour - 30*time.Second)
	}
	mk, at := testMakes[r.IntN(len(testMakes))], time.Duration(0)
	add := func(step, code string) {
		s.events = append(s.events, ev{step: step, at: at, make: mk, code: code})
		at += time.Duration(5+r.IntN(40)) * time.Second
	}
	if r.IntN(10) != 0 {
		chosen := mk
		if r.IntN(3) != 0 {
			mk = ""
		}
		add("launched", "")
		mk = chosen
	}
	depth := r.IntN(len(funnelAfter) + 1)
	for _, step := range funnelAfter[:depth] {
		add(step, "")
		if step == "brand_selected" && r.IntN(6) == 0 {
			mk = testMakes[r.IntN(len(testMakes))]
			add(step, "")
		}
		if r.IntN(4) == 0 {
			add(step, "")
		}
	}
	if depth < len(funnelAfter) {
		switch r.IntN(3) {
		case 0:
			add("error", testErrorCodes[r.IntN(len(testErrorCodes))])
			if r.IntN(4) == 0 {
				add("error", testErrorCodes[r.IntN(len(testErrorCodes))])
			}
		case 1:
			add("exited", "user_manually_returned_to_application")
		}
	}
	return s
}

// analyticsFilters are the views compared between in-order and shuffled ingestion.
func analyticsFilters() []models.AnalyticsFilter {
	all := days(0, 6)
	fs := []models.AnalyticsFilter{{Range: all}, {Range: all, IncludeSandbox: true}, {Range: days(1, 2)},
		{Range: days(4, 1), IncludeSandbox: true}, {Range: all, Mode: "test"}, {Range: all, Owner: "owner-1"},
		{Range: all, Owner: "owner-2", IncludeSandbox: true, Make: "TESLA"}}
	for _, m := range testMakes {
		fs = append(fs, models.AnalyticsFilter{Range: all, Make: m, Mode: "live"})
	}
	return fs
}

func TestAnalyticsOutOfOrderEqualsInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 2025))
	var specs []sessionSpec
	for i := range 80 {
		specs = append(specs, randomSession(r, i))
	}
	inOrder, shuffled := newAnalyticsEnv(t), newAnalyticsEnv(t)
	sandbox := map[string]bool{}
	var events []models.SessionEvent
	for _, s := range specs {
		sandbox[s.id] = s.sandbox
		events = append(events, sessionEvents(inOrder.app.ID, s)...)
	}
	slices.SortStableFunc(events, func(a, b models.SessionEvent) int { return a.OccurredAt.Compare(b.OccurredAt) })
	recordAll(t, inOrder.db, events, sandbox)

	mixed := slices.Clone(events)
	for i := range mixed {
		mixed[i].AppID = shuffled.app.ID
	}
	for _, e := range mixed[:len(mixed)/5] {
		mixed = append(mixed, e) // resends
	}
	r.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
	if n := recordAll(t, shuffled.db, mixed, sandbox); n != len(events) {
		t.Errorf("shuffled ingestion inserted %d events, want %d", n, len(events))
	}

	for _, f := range analyticsFilters() {
		want, got := inOrder.funnel(t, f), shuffled.funnel(t, f)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("filter %+v:\n shuffled %+v\n in order %+v", f, got, want)
		}
	}
	checkAgainstTruth(t, inOrder, specs)
	checkOwnerDailyMatchesSummaries(t, inOrder.db, inOrder.app.ID)
	checkOwnerDailyMatchesSummaries(t, shuffled.db, shuffled.app.ID)
}

// checkAgainstTruth compares the per-step counts over every day with a count straight from the specs.
func checkAgainstTruth(t *testing.T, env analyticsEnv, specs []sessionSpec) {
	t.Helper()
	checkAgainstTruthIn(t, env, specs, days(-1, 8))
}

// checkAgainstTruthIn is checkAgainstTruth over the days of r, which must hold every session.
func checkAgainstTruthIn(t *testing.T, env analyticsEnv, specs []sessionSpec, r models.DateRange) {
	t.Helper()
	truth := map[string]int{}
	errs := map[string]int{}
	for _, s := range specs {
		seen := map[string]bool{}
		var firstErr *ev
		for i, e := range s.events {
			seen[e.step] = true
			if e.step == "error" && (firstErr == nil || e.at < firstErr.at) {
				firstErr = &s.events[i]
			}
		}
		for step := range seen {
			truth[step]++
		}
		if firstErr != nil {
			errs[firstErr.code]++
		}
	}
	got := env.funnel(t, models.AnalyticsFilter{Range: r, IncludeSandbox: true})
	if len(got.Steps) != len(models.FunnelSteps) {
		t.Fatalf("the funnel has %d steps, want %d", len(got.Steps), len(models.FunnelSteps))
	}
	for _, st := range got.Steps {
		if st.Sessions != truth[st.Step] {
			t.Errorf("step %s: %d sessions, want %d", st.Step, st.Sessions, truth[st.Step])
		}
	}
	var wantErrs []models.ErrorCount
	for code, n := range errs {
		wantErrs = append(wantErrs, models.ErrorCount{Code: code, Count: n, Share: float64(n) / float64(truth["launched"])})
	}
	slices.SortFunc(wantErrs, func(a, b models.ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code))
	})
	if !reflect.DeepEqual(got.Errors, wantErrs) {
		t.Errorf("errors %+v, want %+v", got.Errors, wantErrs)
	}
}

func TestAnalyticsConcurrentIngestionOnPostgres(t *testing.T) {
	if !modelstest.IsPostgres() {
		t.Skip("SQLite serialises writers; the row locks under test are PostgreSQL's")
	}
	r := rand.New(rand.NewPCG(7, 2025))
	var specs []sessionSpec
	for i := range 30 {
		specs = append(specs, randomSession(r, i))
	}
	serial, parallel := newAnalyticsEnv(t), newAnalyticsEnv(t)
	serial.load(t, specs)
	sandbox := map[string]bool{}
	var events []models.SessionEvent
	for _, s := range specs {
		sandbox[s.id] = s.sandbox
		events = append(events, sessionEvents(parallel.app.ID, s)...)
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	var workers []func() error
	for w := range 8 {
		workers = append(workers, func() error {
			for i := w; i < len(events); i += 8 {
				e := events[i]
				if err := parallel.db.Transaction(func(tx *gorm.DB) error {
					_, err := models.RecordEvent(tx, e, sandbox[e.SessionID])
					return err
				}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, err := range concurrently(workers...) {
		if err != nil {
			t.Fatalf("concurrent RecordEvent: %v", err)
		}
	}
	for _, f := range analyticsFilters() {
		if want, got := serial.funnel(t, f), parallel.funnel(t, f); !reflect.DeepEqual(got, want) {
			t.Errorf("filter %+v:\n parallel %+v\n   serial %+v", f, got, want)
		}
	}
}

// checkOwnerDailyMatchesSummaries recomputes owner_daily from the session summaries and wants every
// row equal: sessions, completed and latest event per (day, owner, make, mode, sandbox), and no row
// left behind with sessions by a session that moved.
func checkOwnerDailyMatchesSummaries(t *testing.T, db *gorm.DB, appID string) {
	t.Helper()
	type row struct {
		Day, Owner, Make, Mode   string
		Sandbox                  bool
		Sessions, Completed      int
		LastEventAt              time.Time
		LastSession, LastOutcome string
	}
	key := func(r row) string { return fmt.Sprintf("%s|%s|%s|%s|%v", r.Day, r.Owner, r.Make, r.Mode, r.Sandbox) }
	var summaries []struct {
		SessionID, Day, Owner, Make, Mode, Outcome string
		Sandbox                                    bool
		LastEventAt                                time.Time
	}
	if err := db.Table("session_summaries").Where("app_id = ? AND owner <> ''", appID).Scan(&summaries).Error; err != nil {
		t.Fatal(err)
	}
	want := map[string]row{}
	for _, s := range summaries {
		// Each session counts under its make and mode, and under "*" for both.
		for _, r := range []row{{Day: s.Day, Owner: s.Owner, Make: s.Make, Mode: s.Mode, Sandbox: s.Sandbox},
			{Day: s.Day, Owner: s.Owner, Make: "*", Mode: "*", Sandbox: s.Sandbox}} {
			w := want[key(r)]
			w.Day, w.Owner, w.Make, w.Mode, w.Sandbox = r.Day, r.Owner, r.Make, r.Mode, r.Sandbox
			w.Sessions++
			if s.Outcome == "completed" {
				w.Completed++
			}
			if s.LastEventAt.After(w.LastEventAt) || s.LastEventAt.Equal(w.LastEventAt) && s.SessionID > w.LastSession {
				w.LastEventAt, w.LastSession, w.LastOutcome = s.LastEventAt, s.SessionID, s.Outcome
			}
			want[key(r)] = w
		}
	}
	var stored []row
	if err := db.Table("owner_daily").Where("app_id = ? AND (sessions <> 0 OR owner = '')", appID).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(want) {
		t.Errorf("owner_daily has %d rows with sessions, the summaries make %d", len(stored), len(want))
	}
	for _, got := range stored {
		w, ok := want[key(got)]
		if !ok || got.Sessions != w.Sessions || got.Completed != w.Completed || !got.LastEventAt.Equal(w.LastEventAt) ||
			got.LastSession != w.LastSession || got.LastOutcome != w.LastOutcome {
			t.Errorf("owner_daily %s = %d sessions, %d completed, last %s %s %q; summaries say %d, %d, %s %s %q",
				key(got), got.Sessions, got.Completed, got.LastEventAt, got.LastSession, got.LastOutcome,
				w.Sessions, w.Completed, w.LastEventAt, w.LastSession, w.LastOutcome)
		}
	}
	if len(summaries) == 0 {
		t.Fatal("no summaries with an owner: nothing was compared")
	}
}

// owner_daily follows sessions that change rows: a launch arriving after later events moves the
// session's day, a later event names another owner or make, batches arrive in any order and twice.
func TestOwnerDailyFollowsSessionsThatMove(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 2026))
	env := newAnalyticsEnv(t)
	var events []models.SessionEvent
	sandbox := map[string]bool{}
	for i := range 120 {
		s := randomSession(r, i)
		sandbox[s.id] = s.sandbox
		evs := sessionEvents(env.app.ID, s)
		if len(evs) > 2 && r.IntN(3) == 0 { // the owner is corrected by a later event
			evs[len(evs)-1].Owner = fmt.Sprintf("owner-%d", 4+r.IntN(3))
		}
		if len(evs) > 1 && r.IntN(4) == 0 { // so is the mode
			evs[r.IntN(len(evs))].Mode = "simulated"
		}
		if r.IntN(5) == 0 { // the first events name no owner; a later one does
			for i := range evs[:len(evs)/2] {
				evs[i].Owner = ""
			}
		}
		events = append(events, evs...)
	}
	for _, e := range events[:len(events)/4] {
		events = append(events, e)
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	for len(events) > 0 { // batches of up to 40 through the batch path, some committed twice
		n := min(len(events), 1+r.IntN(40))
		batch := events[:n]
		err := env.db.Transaction(func(tx *gorm.DB) error { // sandbox per batch as the events API does: per key
			_, err := models.IngestBatch(tx, env.app.ID, batch, sandbox[batch[0].SessionID])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		events = events[n:]
	}
	checkOwnerDailyMatchesSummaries(t, env.db, env.app.ID)
}

// Migration 17 fills owner_daily from the summaries an existing install already has.
func TestBackfillOwnerDailyMatchesTheSummaries(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 17))
	var specs []sessionSpec
	for i := range 150 {
		specs = append(specs, randomSession(r, i))
	}
	env := newAnalyticsEnv(t)
	env.load(t, specs)
	if err := env.db.Exec("DELETE FROM owner_daily").Error; err != nil {
		t.Fatal(err)
	}
	if err := models.BackfillOwnerDaily(env.db); err != nil {
		t.Fatal(err)
	}
	checkOwnerDailyMatchesSummaries(t, env.db, env.app.ID)
}

// Sessions that change rows while they have no owner, one batch per event: an owner-less session is
// in nobody's row, before and after it moves, whether it is named later or never.
func TestOwnerlessSessionsAreInNobodysRow(t *testing.T) {
	env := newAnalyticsEnv(t)
	for i, step := range []string{"launched", "brand_selected", "completed"} {
		e := models.SessionEvent{ID: fmt.Sprintf("anon-%d", i), SessionID: "anon", AppID: env.app.ID, Step: step,
			Mode: "live", OccurredAt: day0.Add(time.Duration(i) * time.Minute)}
		if step != "launched" {
			e.Make = "BMW"
		}
		if step == "completed" {
			e.Owner = "named-late"
		}
		never := e
		never.ID, never.SessionID, never.Owner = "never-"+e.ID, "never", ""
		recordAll(t, env.db, []models.SessionEvent{e, never}, nil)
	}
	checkOwnerDailyMatchesSummaries(t, env.db, env.app.ID)
}
