package models_test

import (
	"math"
	"testing"

	"keyfob/models"
)

func funnelOf(started, completed int, median float64, owners *models.OwnerFunnel) models.Funnel {
	f := models.Funnel{Started: started, Completed: completed, MedianSecondsToComplete: median, Owners: owners}
	if started > 0 {
		f.ConversionRate = float64(completed) / float64(started)
	}
	return f
}

func ownersOf(started, connected int) *models.OwnerFunnel {
	return &models.OwnerFunnel{Started: started, Connected: connected, ConversionRate: float64(connected) / float64(started),
		Sessions: 2 * started, SessionsPerOwner: 2}
}

func TestCompareFunnels(t *testing.T) {
	near := func(c models.FigureChange, ok bool, value float64) bool {
		return c.OK == ok && (!ok || math.Abs(c.Value-value) < 1e-9)
	}
	cases := []struct {
		name        string
		before, now models.Funnel
		check       func(models.FunnelChanges) bool
		words       string
	}{
		{"fair baseline", funnelOf(100, 50, 100, ownersOf(80, 40)), funnelOf(120, 66, 90, ownersOf(90, 54)),
			func(c models.FunnelChanges) bool {
				return near(c.Started, true, 0.2) && near(c.Completed, true, 0.32) && near(c.Conversion, true, 0.05) && c.Conversion.InPoints &&
					near(c.OwnersStarted, true, 0.125) && near(c.OwnersConnected, true, 0.35) && near(c.OwnerConversion, true, 0.1) && near(c.SessionsPerOwner, true, 0) &&
					near(c.MedianSeconds, true, -0.1) && !c.MedianSeconds.InPoints
			}, "counts relative, rates in points"},
		{"near-empty previous period", funnelOf(12, 6, 100, ownersOf(10, 5)), funnelOf(3000, 1500, 100, ownersOf(2000, 1000)),
			func(c models.FunnelChanges) bool {
				return !c.Started.OK && !c.Completed.OK && !c.Conversion.OK && !c.OwnersStarted.OK && !c.MedianSeconds.OK && c.Started.Before == 12
			}, "no comparison at all"},
		{"previous period under a tenth", funnelOf(40, 20, 100, ownersOf(35, 20)), funnelOf(401, 200, 100, ownersOf(351, 150)),
			func(c models.FunnelChanges) bool { return !c.Started.OK && !c.Conversion.OK && !c.OwnersStarted.OK }, "ten times is the most"},
		{"enough sessions, one completion", funnelOf(300, 1, 100, ownersOf(200, 1)), funnelOf(300, 150, 100, ownersOf(200, 120)),
			func(c models.FunnelChanges) bool {
				return near(c.Started, true, 0) && !c.Completed.OK && c.Completed.Of == "completed sessions" &&
					near(c.Conversion, true, 149.0/300) && !c.MedianSeconds.OK && !c.OwnersConnected.OK && c.OwnerConversion.OK
			}, "completed compared on completions, not on sessions"},
		{"one owner", funnelOf(100, 50, 100, nil), funnelOf(100, 50, 100, nil),
			func(c models.FunnelChanges) bool {
				return c.Started.OK && !c.OwnersStarted.OK && !c.SessionsPerOwner.OK && c.OwnersStarted.Of == "owners"
			}, "no owner figures"},
	}
	for _, tc := range cases {
		if got := models.CompareFunnels(tc.before, tc.now); !tc.check(got) {
			t.Errorf("%s (%s): %+v", tc.name, tc.words, got)
		}
	}
}

// Whatever the two periods hold, a count never changes by a four-digit percentage: the baseline is at
// least a tenth of the current period.
func TestComparedCountsStayUnderTenfold(t *testing.T) {
	for before := 0; before <= 200; before += 7 {
		for now := 0; now <= 5000; now += 13 {
			b, n := funnelOf(before, before/2, 60, ownersOf(max(before, 1), before/3)), funnelOf(now, now/2, 60, ownersOf(max(now, 1), now/3))
			c := models.CompareFunnels(b, n)
			for _, ch := range []models.FigureChange{c.Started, c.Completed, c.OwnersStarted, c.OwnersConnected} {
				if ch.OK && ch.Value > 9 {
					t.Fatalf("%d → %d sessions: a change of %+.0f %%", before, now, ch.Value*100)
				}
			}
		}
	}
}
