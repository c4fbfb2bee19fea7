package models_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// day0 is the first day of the hand-built analytics dataset.
var day0 = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

// ev is one event of a session spec, at an offset from the session's start.
type ev struct {
	step string
	at   time.Duration
	make string
	code string
}

// sessionSpec describes a session to feed through RecordEvent.
type sessionSpec struct {
	id, owner, mode string
	start           time.Time
	sandbox         bool
	events          []ev
}

// sessionEvents turns spec into the events Connect would have written, with stable ids so a resend is a duplicate.
func sessionEvents(appID string, s sessionSpec) []models.SessionEvent {
	out := make([]models.SessionEvent, len(s.events))
	for i, e := range s.events {
		out[i] = models.SessionEvent{ID: fmt.Sprintf("%s-%d", s.id, i), SessionID: s.id, AppID: appID, Owner: s.owner,
			Step: e.step, Make: e.make, Mode: s.mode, ErrorCode: e.code, OccurredAt: s.start.Add(e.at)}
	}
	return out
}

// recordAll records events, each in its own transaction, and returns how many were new.
func recordAll(t *testing.T, db *gorm.DB, events []models.SessionEvent, sandbox map[string]bool) int {
	t.Helper()
	n := 0
	for _, e := range events {
		err := db.Transaction(func(tx *gorm.DB) error {
			inserted, err := models.RecordEvent(tx, e, sandbox[e.SessionID])
			if inserted {
				n++
			}
			return err
		})
		if err != nil {
			t.Fatalf("RecordEvent(%s %s): %v", e.ID, e.Step, err)
		}
	}
	return n
}

// fullPath is a session that goes from launch to completion in done, choosing make m after launch.
func fullPath(m string, done time.Duration) []ev {
	return []ev{{step: "launched"}, {step: "brand_selected", at: 5 * time.Second, make: m},
		{step: "signed_in", at: 20 * time.Second, make: m}, {step: "vehicles_selected", at: 30 * time.Second, make: m},
		{step: "permissions_approved", at: 40 * time.Second, make: m}, {step: "completed", at: done, make: m}}
}

// handSessions is the hand-built dataset whose figures the tests below state exactly.
func handSessions() []sessionSpec {
	s5 := fullPath("BMW", 300*time.Second)
	s5[0].make = "BMW"
	s5 = append(s5[:3], append([]ev{{step: "signed_in", at: 25 * time.Second, make: "BMW"}}, s5[3:]...)...)
	return []sessionSpec{
		{id: "s1", owner: "alice", mode: "live", start: day0.Add(10 * time.Hour), events: fullPath("BMW", 60*time.Second)},
		{id: "s2", owner: "alice", mode: "live", start: day0.Add(12 * time.Hour), events: fullPath("BMW", 120*time.Second)},
		{id: "s3", owner: "bob", mode: "live", start: day0.Add(33 * time.Hour), events: []ev{{step: "launched"},
			{step: "brand_selected", at: time.Second, make: "TESLA"}, {step: "signed_in", at: 9 * time.Second, make: "TESLA"},
			{step: "error", at: 15 * time.Second, make: "TESLA", code: "vehicle_incompatible"}}},
		{id: "s4", owner: "bob", mode: "live", start: day0.Add(34 * time.Hour), events: []ev{{step: "launched"},
			{step: "brand_selected", at: time.Second, make: "TESLA"},
			{step: "exited", at: 7 * time.Second, make: "TESLA", code: "user_manually_returned_to_application"}}},
		{id: "s5", owner: "alice", mode: "test", start: day0.Add(50 * time.Hour), events: s5},
		{id: "s6", owner: "carol", mode: "test", start: day0.Add(11 * time.Hour), sandbox: true, events: []ev{
			{step: "launched", make: "BMW"}, {step: "completed", at: 30 * time.Second, make: "BMW"}}},
	}
}

type analyticsEnv struct {
	db  *gorm.DB
	acc account
	app models.App
}

func newAnalyticsEnv(t *testing.T) analyticsEnv {
	t.Helper()
	db := modelstest.Open(t)
	acc := newAccount(t, db, "analyst@example.com")
	app, _ := newApp(t, db, acc, "Analytics app")
	return analyticsEnv{db: db, acc: acc, app: app}
}

// load records specs (events in the order given) and returns their sandbox flags.
func (env analyticsEnv) load(t *testing.T, specs []sessionSpec) {
	t.Helper()
	sandbox := map[string]bool{}
	var events []models.SessionEvent
	for _, s := range specs {
		sandbox[s.id] = s.sandbox
		events = append(events, sessionEvents(env.app.ID, s)...)
	}
	recordAll(t, env.db, events, sandbox)
}

func (env analyticsEnv) funnel(t *testing.T, f models.AnalyticsFilter) models.Funnel {
	t.Helper()
	got, err := models.FunnelFor(env.db, env.acc.Org.ID, env.app.ID, f)
	if err != nil {
		t.Fatalf("FunnelFor(%+v): %v", f, err)
	}
	return got
}

// days builds a range of n days from day0 plus offset days.
func days(offset, n int) models.DateRange {
	from := day0.AddDate(0, 0, offset)
	return models.DateRange{From: from, To: from.AddDate(0, 0, n-1)}
}

func steps(counts ...int) []models.FunnelStep {
	names := []string{"launched", "brand_selected", "signed_in", "vehicles_selected", "permissions_approved", "completed"}
	out := make([]models.FunnelStep, len(names))
	for i, n := range counts {
		out[i] = models.FunnelStep{Step: names[i], Sessions: n}
		if i > 0 && counts[i-1] > 0 {
			out[i].DropOffRate = 1 - float64(n)/float64(counts[i-1])
		}
	}
	return out
}

func TestAnalyticsHandBuiltFunnel(t *testing.T) {
	env := newAnalyticsEnv(t)
	env.load(t, handSessions())
	got := env.funnel(t, models.AnalyticsFilter{Range: days(0, 4)})
	// Completions took 60, 120 and 300 s; alice (s1, s2, s5) connected, bob (s3, s4) did not.
	want := models.Funnel{Started: 5, Completed: 3, ConversionRate: 0.6, MedianSecondsToComplete: 120,
		TimeToComplete: models.Distribution{Sessions: 3, P25: 60, Median: 120, P75: 300, P90: 300},
		Owners:         &models.OwnerFunnel{Started: 2, Connected: 1, ConversionRate: 0.5, Sessions: 5, SessionsPerOwner: 2.5},
		Steps:          steps(5, 5, 4, 3, 3, 3),
		Errors:         []models.ErrorCount{{Code: "vehicle_incompatible", Count: 1, Share: 0.2}},
		ErrorsByMake:   []models.ErrorMakeCount{{Code: "vehicle_incompatible", Make: "TESLA", Count: 1}},
		ByMake:         []models.MakeCount{{Make: "BMW", Started: 3, Completed: 3}, {Make: "TESLA", Started: 2}},
		Daily: []models.DayCount{{Day: "2025-03-10", Started: 2, Completed: 2}, {Day: "2025-03-11", Started: 2},
			{Day: "2025-03-12", Started: 1, Completed: 1}, {Day: "2025-03-13"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("funnel:\n got %+v\nwant %+v", got, want)
	}
	// The drop-offs stated by hand, not by the helper: 4 of 5 signed in, 3 of 4 chose vehicles.
	if math.Abs(got.Steps[2].DropOffRate-0.2) > 1e-12 || got.Steps[3].DropOffRate != 0.25 || got.Steps[1].DropOffRate != 0 {
		t.Errorf("drop-offs = %+v", got.Steps)
	}
}

func TestAnalyticsFilters(t *testing.T) {
	env := newAnalyticsEnv(t)
	env.load(t, handSessions())
	all := days(0, 4)
	cases := []struct {
		name                    string
		f                       models.AnalyticsFilter
		started, completed      int
		conversion, median      float64
		steps                   []models.FunnelStep
		daily                   int
		errorsCount, makesCount int
	}{
		{"sandbox included", models.AnalyticsFilter{Range: all, IncludeSandbox: true}, 6, 4, 4.0 / 6, 90, steps(6, 5, 4, 3, 3, 4), 4, 1, 2},
		{"make", models.AnalyticsFilter{Range: all, Make: "TESLA"}, 2, 0, 0, 0, steps(2, 2, 1, 0, 0, 0), 4, 1, 1},
		{"mode", models.AnalyticsFilter{Range: all, Mode: "test"}, 1, 1, 1, 300, steps(1, 1, 1, 1, 1, 1), 4, 0, 1},
		{"mode with sandbox", models.AnalyticsFilter{Range: all, Mode: "test", IncludeSandbox: true}, 2, 2, 1, 165, steps(2, 1, 1, 1, 1, 2), 4, 0, 1},
		{"owner", models.AnalyticsFilter{Range: all, Owner: "alice"}, 3, 3, 1, 120, steps(3, 3, 3, 3, 3, 3), 4, 0, 1},
		{"owner and make", models.AnalyticsFilter{Range: all, Owner: "bob", Make: "TESLA"}, 2, 0, 0, 0, steps(2, 2, 1, 0, 0, 0), 4, 1, 1},
		{"sandbox owner hidden", models.AnalyticsFilter{Range: all, Owner: "carol"}, 0, 0, 0, 0, steps(0, 0, 0, 0, 0, 0), 4, 0, 0},
		{"one day", models.AnalyticsFilter{Range: days(1, 1)}, 2, 0, 0, 0, steps(2, 2, 1, 0, 0, 0), 1, 1, 1},
		{"empty days", models.AnalyticsFilter{Range: days(3, 5)}, 0, 0, 0, 0, steps(0, 0, 0, 0, 0, 0), 5, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := env.funnel(t, c.f)
			if got.Started != c.started || got.Completed != c.completed || got.ConversionRate != c.conversion ||
				got.MedianSecondsToComplete != c.median || !reflect.DeepEqual(got.Steps, c.steps) ||
				len(got.Daily) != c.daily || len(got.Errors) != c.errorsCount || len(got.ByMake) != c.makesCount {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestAnalyticsOwnerPathMatchesRollups(t *testing.T) {
	env := newAnalyticsEnv(t)
	specs := handSessions()
	for i := range specs {
		specs[i].owner = "only-owner"
	}
	env.load(t, specs)
	for _, sandbox := range []bool{false, true} {
		f := models.AnalyticsFilter{Range: days(0, 4), IncludeSandbox: sandbox}
		rollup := env.funnel(t, f)
		if rollup.Owners == nil || rollup.Owners.Started != 1 {
			t.Errorf("sandbox=%v: owner figures %+v, want one owner", sandbox, rollup.Owners)
		}
		rollup.Owners = nil // a one-owner funnel has no owner figures
		f.Owner = "only-owner"
		if summaries := env.funnel(t, f); !reflect.DeepEqual(rollup, summaries) {
			t.Errorf("sandbox=%v: rollups %+v\nsummaries %+v", sandbox, rollup, summaries)
		}
	}
}

func TestAnalyticsIdempotent(t *testing.T) {
	env := newAnalyticsEnv(t)
	specs := handSessions()
	env.load(t, specs)
	before := env.funnel(t, models.AnalyticsFilter{Range: days(0, 4), IncludeSandbox: true})
	events := sessionEvents(env.app.ID, specs[0])
	if n := recordAll(t, env.db, events, nil); n != 0 {
		t.Errorf("resend inserted %d events, want 0", n)
	}
	if n := countRows(t, env.db, "session_events", "session_id = ?", "s1"); n != int64(len(events)) {
		t.Errorf("session s1 has %d events, want %d", n, len(events))
	}
	if after := env.funnel(t, models.AnalyticsFilter{Range: days(0, 4), IncludeSandbox: true}); !reflect.DeepEqual(before, after) {
		t.Errorf("resend changed the funnel:\n%+v\n%+v", before, after)
	}
	// A session repeating a step with new event ids still counts once for it.
	repeat := events[2]
	repeat.ID, repeat.OccurredAt = "s1-again", repeat.OccurredAt.Add(time.Second)
	if n := recordAll(t, env.db, []models.SessionEvent{repeat}, nil); n != 1 {
		t.Fatalf("repeat inserted %d, want 1", n)
	}
	if after := env.funnel(t, models.AnalyticsFilter{Range: days(0, 4), IncludeSandbox: true}); !reflect.DeepEqual(before, after) {
		t.Errorf("a repeated step changed the funnel:\n%+v\n%+v", before, after)
	}
}

func TestAnalyticsTenantIsolation(t *testing.T) {
	env := newAnalyticsEnv(t)
	other := newAccount(t, env.db, "other@example.com")
	f := models.AnalyticsFilter{Range: days(0, 1)}
	if _, err := models.FunnelFor(env.db, other.Org.ID, env.app.ID, f); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("another org's app: err = %v, want ErrNotFound", err)
	}
	if _, err := models.FunnelFor(env.db, env.acc.Org.ID, "00000000-0000-4000-8000-000000000000", f); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("missing app: err = %v, want ErrNotFound", err)
	}
	var verr *models.ValidationError
	if _, err := models.FunnelFor(env.db, env.acc.Org.ID, env.app.ID, models.AnalyticsFilter{Range: models.DateRange{From: day0, To: day0.AddDate(0, 0, -1)}}); !errors.As(err, &verr) {
		t.Errorf("reversed range: err = %v, want a ValidationError", err)
	}
}

func TestAnalyticsRollupShardsSumExactly(t *testing.T) {
	env := newAnalyticsEnv(t)
	// Today's cells are the sharded ones (older days take one row per cell).
	today := time.Now().UTC().Truncate(24 * time.Hour)
	start, todayOnly := today.Add(time.Hour), models.DateRange{From: today, To: today}
	var specs []sessionSpec
	wantShard := map[int]int{} // launched sessions per shard, computed here from the rule
	completed, errored, tesla := 0, 0, 0
	for i := range 120 {
		s := sessionSpec{id: fmt.Sprintf("shard-%03d", i), owner: fmt.Sprintf("o%d", i%7), mode: "test",
			start: start.Add(time.Duration(i) * time.Minute)}
		mk := testMakes[i%len(testMakes)]
		switch i % 4 {
		case 0, 1:
			// The make arrives after the launch: the session's counts move from make '' to mk.
			s.events = fullPath(mk, 90*time.Second)
			completed++
		case 2:
			s.events = []ev{{step: "launched", make: mk}, {step: "brand_selected", at: time.Second, make: mk},
				{step: "error", at: 9 * time.Second, make: mk, code: "no_vehicles"}}
			errored++
		case 3:
			s.events = []ev{{step: "launched"}, {step: "exited", at: 3 * time.Second, code: "user_manually_returned_to_application"}}
			mk = ""
		}
		if mk == "TESLA" {
			tesla++
		}
		specs = append(specs, s)
		sum := sha256.Sum256([]byte(s.id))
		wantShard[int(sum[0])%16]++
	}
	// Deliver each session's events latest first, so every moved session also decrements rows.
	var events []models.SessionEvent
	for _, s := range specs {
		evs := sessionEvents(env.app.ID, s)
		slices.Reverse(evs)
		events = append(events, evs...)
	}
	recordAll(t, env.db, events, nil)

	var perShard []struct{ Shard, Sessions int }
	if err := env.db.Table("funnel_daily").Select("shard, SUM(sessions) AS sessions").
		Where("app_id = ? AND step = ?", env.app.ID, "launched").Group("shard").Having("SUM(sessions) > 0").
		Scan(&perShard).Error; err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	for _, r := range perShard {
		got[r.Shard] = r.Sessions
	}
	if !reflect.DeepEqual(got, wantShard) {
		t.Errorf("launched sessions per shard = %v, want %v", got, wantShard)
	}
	if len(got) < 8 {
		t.Errorf("120 sessions used only %d shards", len(got))
	}
	for _, table := range []string{"funnel_daily", "error_daily"} {
		if n := countRows(t, env.db, table, "sessions < 0"); n != 0 {
			t.Errorf("%s has %d negative rows", table, n)
		}
	}

	f := env.funnel(t, models.AnalyticsFilter{Range: todayOnly})
	if f.Started != 120 || f.Completed != completed || f.ConversionRate != float64(completed)/120 ||
		!reflect.DeepEqual(f.Steps, steps(120, completed+errored, completed, completed, completed, completed)) {
		t.Errorf("funnel %+v", f)
	}
	if want := []models.ErrorCount{{Code: "no_vehicles", Count: errored, Share: float64(errored) / 120}}; !reflect.DeepEqual(f.Errors, want) {
		t.Errorf("errors %+v, want %+v", f.Errors, want)
	}
	if len(f.Daily) != 1 || f.Daily[0].Started != 120 || f.Daily[0].Completed != completed {
		t.Errorf("daily %+v", f.Daily)
	}
	if m := env.funnel(t, models.AnalyticsFilter{Range: todayOnly, Make: "TESLA"}); m.Started != tesla {
		t.Errorf("TESLA started %d, want %d", m.Started, tesla)
	}
	// The per-owner path reads summaries, not rollups: it must agree with the rollups for an owner's share.
	specsOf := func(owner string) (n int) {
		for _, s := range specs {
			if s.owner == owner {
				n++
			}
		}
		return n
	}
	if o := env.funnel(t, models.AnalyticsFilter{Range: todayOnly, Owner: "o3"}); o.Started != specsOf("o3") {
		t.Errorf("owner o3 started %d, want %d", o.Started, specsOf("o3"))
	}
}

// FunnelFor reads in parallel on PostgreSQL, but never on a transaction's single connection.
func TestFunnelInsideATransaction(t *testing.T) {
	env := newAnalyticsEnv(t)
	env.load(t, handSessions())
	want := env.funnel(t, models.AnalyticsFilter{Range: days(0, 4)})
	err := env.db.Transaction(func(tx *gorm.DB) error {
		got, err := models.FunnelFor(tx, env.acc.Org.ID, env.app.ID, models.AnalyticsFilter{Range: days(0, 4)})
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("in a transaction: %+v, want %+v", got, want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
