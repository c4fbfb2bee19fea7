package models_test

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"keyfob/models"
)

// Compacting finished days must change no figure, leave one row per cell, and keep counting the late
// events that arrive for those days afterwards. The sessions are moved to yesterday and the days after,
// the days live traffic writes sharded; compaction is then run as if a week had passed.
func TestCompactRollupsKeepsEveryFigure(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2026))
	shift := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1).Sub(day0)
	var specs []sessionSpec
	for i := range 120 {
		s := randomSession(r, i)
		s.start = s.start.Add(shift)
		specs = append(specs, s)
	}
	env := newAnalyticsEnv(t)
	late := specs[len(specs)-10:]
	env.load(t, specs[:len(specs)-10])
	filters := analyticsFilters()
	for i := range filters {
		filters[i].Range.From, filters[i].Range.To = filters[i].Range.From.Add(shift), filters[i].Range.To.Add(shift)
	}
	before := make([]models.Funnel, len(filters))
	for i, f := range filters {
		before[i] = env.funnel(t, f)
	}

	weekLater := time.Now().AddDate(0, 0, 7)
	removed, err := models.CompactRollups(env.db, weekLater)
	if err != nil || removed == 0 {
		t.Fatalf("compaction removed %d rows: %v", removed, err)
	}
	for i, f := range filters {
		if got := env.funnel(t, f); !reflect.DeepEqual(got, before[i]) {
			t.Errorf("filter %+v changed by compaction:\n got %+v\nwant %+v", f, got, before[i])
		}
	}
	for _, table := range []string{"funnel_daily", "error_daily"} {
		if sharded := countRows(t, env.db, table, "shard <> 0"); sharded != 0 {
			t.Errorf("%s keeps %d sharded rows of finished days", table, sharded)
		}
	}
	if again, err := models.CompactRollups(env.db, weekLater); err != nil || again != 0 {
		t.Errorf("a second compaction has nothing to do: removed %d, %v", again, err)
	}

	env.load(t, late) // late events for compacted days
	if _, err := models.CompactRollups(env.db, weekLater); err != nil {
		t.Fatal(err)
	}
	checkAgainstTruthIn(t, env, specs, models.DateRange{From: day0.Add(shift).AddDate(0, 0, -1), To: day0.Add(shift).AddDate(0, 0, 7)})
}

// Old days are counted unsharded: a month-old session writes one row per cell, and its figures match.
func TestOldDaysAreNotSharded(t *testing.T) {
	env := newAnalyticsEnv(t)
	r := rand.New(rand.NewPCG(12, 2026))
	var specs []sessionSpec
	for i := range 40 {
		specs = append(specs, randomSession(r, i)) // March 2025
	}
	env.load(t, specs)
	if sharded := countRows(t, env.db, "funnel_daily", "shard <> 0"); sharded != 0 {
		t.Errorf("%d sharded rows for days long past", sharded)
	}
	checkAgainstTruth(t, env, specs)
}

// The completion histogram's migration rebuilds it from the summaries: the same medians, any filter.
func TestBackfillCompletionsRebuildsTheHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	var specs []sessionSpec
	for i := range 120 {
		specs = append(specs, randomSession(r, i))
	}
	env := newAnalyticsEnv(t)
	env.load(t, specs)
	filters := analyticsFilters()
	before := make([]float64, len(filters))
	for i, f := range filters {
		before[i] = env.funnel(t, f).MedianSecondsToComplete
	}
	if err := env.db.Exec("DELETE FROM completion_daily").Error; err != nil {
		t.Fatal(err)
	}
	if err := models.BackfillCompletions(env.db); err != nil {
		t.Fatal(err)
	}
	for i, f := range filters {
		if got := env.funnel(t, f).MedianSecondsToComplete; got != before[i] || (i == 0 && got == 0) {
			t.Errorf("filter %+v: median %v after the backfill, %v before", f, got, before[i])
		}
	}
}
