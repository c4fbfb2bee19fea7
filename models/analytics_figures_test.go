package models_test

import (
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

func TestDistributionOfCompletionTimes(t *testing.T) {
	env := newAnalyticsEnv(t)
	var specs []sessionSpec
	for i, secs := range []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100} {
		specs = append(specs, sessionSpec{id: fmt.Sprintf("d%02d", i), owner: "o", mode: "live", start: day0.Add(time.Hour),
			events: []ev{{step: "launched"}, {step: "completed", at: time.Duration(secs) * time.Second, make: "BMW"}}})
	}
	env.load(t, specs)
	got := env.funnel(t, models.AnalyticsFilter{Range: days(0, 1)}).TimeToComplete
	// Nearest rank over ten values: p25 is the 3rd, p75 the 8th, p90 the 9th; the median averages the 5th and 6th.
	want := models.Distribution{Sessions: 10, P25: 30, Median: 55, P75: 80, P90: 90}
	if got != want {
		t.Errorf("distribution %+v, want %+v", got, want)
	}
	if none := env.funnel(t, models.AnalyticsFilter{Range: days(5, 1)}).TimeToComplete; none != (models.Distribution{}) {
		t.Errorf("no completions: %+v", none)
	}
}

func TestComparisonsNeedAFairBaseline(t *testing.T) {
	cases := []struct {
		name          string
		before, now   float64
		beforeN, nowN int
		rate, ok      bool
		want          float64
	}{
		{"a near-empty previous period", 49, 2582, 49, 2582, false, false, 0},
		{"under the minimum", 29, 40, 29, 40, false, false, 0},
		{"ten times smaller is still a baseline", 100, 1000, 100, 1000, false, true, 9},
		{"more than ten times smaller is not", 99, 1000, 99, 1000, false, false, 0},
		{"a count that fell", 200, 150, 200, 150, false, true, -0.25},
		{"a rate in points", 0.40, 0.43, 300, 320, true, true, 0.03},
		{"a rate without baseline", 0.40, 0.43, 10, 320, true, false, 0},
		{"a count from zero", 0, 10, 40, 40, false, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got models.Comparison
			if tc.rate {
				got = models.RateChange(tc.before, tc.now, tc.beforeN, tc.nowN)
			} else {
				got = models.CountChange(tc.before, tc.now, tc.beforeN, tc.nowN)
			}
			if got.OK != tc.ok || (tc.ok && (got.InPoints != tc.rate || abs(got.Value-tc.want) > 1e-9)) {
				t.Errorf("got %+v, want ok=%v value %v in points=%v", got, tc.ok, tc.want, tc.rate)
			}
			if got.OK && !got.InPoints && abs(got.Value) >= 10 {
				t.Errorf("a relative change of %+.0f %%: a four-digit change slipped through", got.Value*100)
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// ingestSessions stores n one-step-or-two sessions spread over owners and days through the batch path.
func ingestSessions(t *testing.T, db *gorm.DB, appID string, n, owners, daySpan int) {
	t.Helper()
	var events []models.SessionEvent
	for i := range n {
		at := day0.Add(time.Duration(i%daySpan)*24*time.Hour + time.Duration(i)*time.Second)
		s := fmt.Sprintf("s%05d", i)
		owner := fmt.Sprintf("owner-%d", i%owners)
		events = append(events, models.SessionEvent{ID: s + "-0", SessionID: s, AppID: appID, Owner: owner, Step: "launched", Mode: "live", OccurredAt: at})
		if i%3 == 0 {
			events = append(events, models.SessionEvent{ID: s + "-1", SessionID: s, AppID: appID, Owner: owner, Step: "completed",
				Make: testMakes[i%len(testMakes)], Mode: "live", OccurredAt: at.Add(time.Minute)})
		}
	}
	for start := 0; start < len(events); start += 1000 {
		batch := events[start:min(start+1000, len(events))]
		if err := db.Transaction(func(tx *gorm.DB) error { _, err := models.IngestBatch(tx, appID, batch, false); return err }); err != nil {
			t.Fatal(err)
		}
	}
}

// The quadratic class of issue 12: an owners page of an app with few owners and many sessions must
// cost a handful of statements, not one per chunk of sessions. Bounded, not timed.
func TestOwnersPageStatementsStayBounded(t *testing.T) {
	env := newAnalyticsEnv(t)
	ingestSessions(t, env.db, env.app.ID, 6000, 5, 3)
	recorded, log := modelstest.Recording(env.db)
	for _, tc := range []struct {
		sort string
		f    models.AnalyticsFilter
	}{
		{"", models.AnalyticsFilter{Range: days(0, 3)}},
		{"", models.AnalyticsFilter{Range: days(0, 3), Make: "BMW"}},
		{"", models.AnalyticsFilter{Range: days(0, 3), Owner: "owner-1"}},
		{models.OwnerSortSessions, models.AnalyticsFilter{Range: days(0, 3)}},
		{models.OwnerSortConversion, models.AnalyticsFilter{Range: days(0, 3)}},
	} {
		log.Reset()
		rows, _, err := models.OwnersFor(recorded, env.acc.Org.ID, env.app.ID, tc.f, tc.sort, 50, "")
		if err != nil || len(rows) == 0 {
			t.Fatalf("%q %+v: %d rows, %v", tc.sort, tc.f, len(rows), err)
		}
		if n := len(log.Work()); n > 4 {
			t.Errorf("sort %q, filter %+v: %d statements for one page of %d owners:\n%v", tc.sort, tc.f, n, len(rows), log.Work())
		}
	}
	log.Reset()
	if _, _, err := models.OwnerTimeline(recorded, env.acc.Org.ID, env.app.ID, "owner-1", models.AnalyticsFilter{Range: days(0, 3)}); err != nil {
		t.Fatal(err)
	}
	if n := len(log.Work()); n > 4 {
		t.Errorf("a timeline of an owner with 1,200 sessions: %d statements", n)
	}
}

// The organisation overview is a bounded number of statements however many apps it shows.
func TestOrgOverviewStatementsDoNotGrowWithApps(t *testing.T) {
	env := newAnalyticsEnv(t)
	for i := range 12 {
		app, _ := newApp(t, env.db, env.acc, fmt.Sprintf("App %d", i))
		ingestSessions(t, env.db, app.ID, 30+i, 4, 2)
	}
	recorded, log := modelstest.Recording(env.db)
	figures, err := models.OrgOverview(recorded, env.acc.Org.ID, models.AnalyticsFilter{Range: days(0, 2)})
	if err != nil || len(figures) != 13 {
		t.Fatalf("%d apps, %v", len(figures), err)
	}
	if n := len(log.Work()); n > 3 {
		t.Errorf("the overview of 13 apps took %d statements", n)
	}
	for _, f := range figures {
		if f.App.Name == "Analytics app" {
			continue
		}
		// ingestSessions: every session launched, every third completed.
		var n int
		fmt.Sscanf(f.App.Name, "App %d", &n)
		if want := 30 + n; f.Started != want || f.Completed != (want+2)/3 {
			t.Errorf("%s: started %d completed %d, want %d and %d", f.App.Name, f.Started, f.Completed, want, (want+2)/3)
		}
	}
}

// The analytics reads plan each statement for its own parameters on PostgreSQL, even on a database
// whose default is generic plans (what a reused prepared statement may get): a generic plan turned an
// owners page of 17 ms into 15 s. The figures must not change, and the setting must hold inside.
func TestAnalyticsReadsPlanForTheirParameters(t *testing.T) {
	if !modelstest.IsPostgres() {
		t.Skip("plan caching is PostgreSQL's")
	}
	env := newAnalyticsEnv(t)
	ingestSessions(t, env.db, env.app.ID, 300, 40, 3)
	f := models.AnalyticsFilter{Range: days(0, 3)}
	before, _, err := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, f, "", 7, "")
	if err != nil {
		t.Fatal(err)
	}
	var name string
	env.db.Raw("SELECT current_database()").Scan(&name)
	if err := env.db.Exec("ALTER DATABASE " + name + " SET plan_cache_mode = force_generic_plan").Error; err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := env.db.DB()
	sqlDB.SetMaxIdleConns(0) // new connections take the database's new default
	sqlDB.SetMaxIdleConns(10)
	var outside string
	env.db.Raw("SHOW plan_cache_mode").Scan(&outside)
	for range 8 { // past the five runs after which a prepared statement may go generic
		after, _, err := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, f, "", 7, "")
		if err != nil || len(after) != len(before) || after[0] != before[0] {
			t.Fatalf("owners under generic plans: %v, %v; before %v", after, err, before)
		}
	}
	var inside string
	err = models.WithCustomPlans(env.db, func(tx *gorm.DB) error { return tx.Raw("SHOW plan_cache_mode").Scan(&inside).Error })
	if err != nil || inside != "force_custom_plan" || outside != "force_generic_plan" {
		t.Errorf("plan_cache_mode inside the analytics reads %q (%v), outside %q", inside, err, outside)
	}
}
