package models

// FigureChange is one headline figure's change against the previous period, with the counts it was
// judged on: each figure needs a fair baseline of what it is made of, so a period with 300 sessions
// but one completion does not turn "completed" into a four-digit growth.
type FigureChange struct {
	Comparison
	Before, Now int    // the counts behind the figure in each period
	Of          string // what those counts are, for the "no comparison" hint
}

// FunnelChanges are the Analytics tab's headline changes.
type FunnelChanges struct {
	Started, Completed, Conversion                  FigureChange
	OwnersStarted, OwnersConnected, OwnerConversion FigureChange
	SessionsPerOwner, MedianSeconds                 FigureChange
}

// CompareFunnels compares the headline figures of now with those of before (the previous period):
// counts relatively, each on its own counts; conversions in points, and sessions per owner relatively,
// on what they divide by; the median time on the completed sessions it is read from. Without owner figures (a one-owner filter) the
// owner changes are not OK.
func CompareFunnels(before, now Funnel) FunnelChanges {
	count := func(b, n int, of string) FigureChange {
		return FigureChange{CountChange(float64(b), float64(n), b, n), b, n, of}
	}
	out := FunnelChanges{
		Started:   count(before.Started, now.Started, "sessions started"),
		Completed: count(before.Completed, now.Completed, "completed sessions"),
		Conversion: FigureChange{RateChange(before.ConversionRate, now.ConversionRate, before.Started, now.Started),
			before.Started, now.Started, "sessions started"},
		MedianSeconds: FigureChange{CountChange(before.MedianSecondsToComplete, now.MedianSecondsToComplete, before.Completed, now.Completed),
			before.Completed, now.Completed, "completed sessions"},
	}
	if before.Owners == nil || now.Owners == nil {
		none := FigureChange{Of: "owners"}
		out.OwnersStarted, out.OwnersConnected, out.OwnerConversion, out.SessionsPerOwner = none, none, none, none
		return out
	}
	b, n := *before.Owners, *now.Owners
	out.OwnersStarted = count(b.Started, n.Started, "owners who started")
	out.OwnersConnected = count(b.Connected, n.Connected, "owners who connected")
	out.OwnerConversion = FigureChange{RateChange(b.ConversionRate, n.ConversionRate, b.Started, n.Started),
		b.Started, n.Started, "owners who started"}
	out.SessionsPerOwner = FigureChange{CountChange(b.SessionsPerOwner, n.SessionsPerOwner, b.Started, n.Started),
		b.Started, n.Started, "owners who started"}
	return out
}
