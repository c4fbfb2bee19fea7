package models_test

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"keyfob/models"
)

// Compacting finished days must change no figure, leave one row per cell, and keep counting the late
// events that arrive for those days afterwards.
func TestCompactRollupsKeepsEveryFigure(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2026))
	var specs []sessionSpec
	for i := range 120 {
		specs = append(specs, randomSession(r, i))
	}
	env := newAnalyticsEnv(t)
	late := specs[len(specs)-10:]
	env.load(t, specs[:len(specs)-10])
	filters := analyticsFilters()
	before := make([]models.Funnel, len(filters))
	for i, f := range filters {
		before[i] = env.funnel(t, f)
	}

	removed, err := models.CompactRollups(env.db, time.Now())
	if err != nil || removed == 0 {
		t.Fatalf("compaction removed %d rows: %v", removed, err)
	}
	for i, f := range filters {
		if got := env.funnel(t, f); !reflect.DeepEqual(got, before[i]) {
			t.Errorf("filter %+v changed by compaction:\n got %+v\nwant %+v", f, got, before[i])
		}
	}
	for _, table := range []string{"funnel_daily", "error_daily"} {
		var sharded int64
		env.db.Table(table).Where("shard <> 0").Count(&sharded)
		if sharded != 0 {
			t.Errorf("%s keeps %d sharded rows of finished days", table, sharded)
		}
	}
	if again, err := models.CompactRollups(env.db, time.Now()); err != nil || again != 0 {
		t.Errorf("a second compaction has nothing to do: removed %d, %v", again, err)
	}

	env.load(t, late) // late events for compacted days
	if _, err := models.CompactRollups(env.db, time.Now()); err != nil {
		t.Fatal(err)
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
