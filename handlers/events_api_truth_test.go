package handlers

import (
	"cmp"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

// This file works out, from the generated sessions alone, what the analytics routes must answer. It
// does not call models: it restates the definitions of api.md §Analytics in the plainest code it can,
// so the two can be compared.

// truthSession is a session as the analytics definitions see it.
type truthSession struct {
	id, owner, make, mode, day, errorCode, outcome string
	steps                                          map[string]bool
	startedAt, completedAt                         *time.Time // earliest launched / completed
	firstAt, lastAt                                time.Time
	events                                         []genEvent // in time order
}

func summarise(sessions []genSession) []truthSession {
	out := make([]truthSession, len(sessions))
	for i, s := range sessions {
		out[i] = summariseSession(s)
	}
	return out
}

func summariseSession(s genSession) truthSession {
	events := slices.Clone(s.events)
	slices.SortFunc(events, func(a, b genEvent) int { return a.at.Compare(b.at) })
	t := truthSession{id: s.id, steps: map[string]bool{}, events: events,
		firstAt: events[0].at, lastAt: events[len(events)-1].at}
	for _, e := range events { // later events overwrite: the latest carrying a value wins
		t.steps[e.step] = true
		t.owner = cmp.Or(e.owner, t.owner)
		t.make = cmp.Or(e.storedMake(), t.make)
		t.mode = e.storedMode()
		if e.step == "error" && t.errorCode == "" {
			t.errorCode = e.code
		}
		if e.step == "launched" && t.startedAt == nil {
			t.startedAt = &e.at
		}
		if e.step == "completed" && t.completedAt == nil {
			t.completedAt = &e.at
		}
	}
	t.day = dayString(t.firstAt)
	if t.startedAt != nil {
		t.day = dayString(*t.startedAt)
	}
	t.outcome = "in_progress"
	for _, o := range []string{"exited", "error", "completed"} { // each outranks the ones before it
		if t.steps[o] {
			t.outcome = o
		}
	}
	return t
}

func dayString(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// timelineStart is when the owner timeline says a session started: its launch, else its first event.
func (t truthSession) timelineStart() time.Time {
	if t.startedAt != nil {
		return *t.startedAt
	}
	return t.firstAt
}

// busiestOwner is the owner with most sessions (the first by name among equals).
func busiestOwner(truth []truthSession) string {
	n := map[string]int{}
	best := ""
	for _, s := range truth {
		if s.owner == "" {
			continue
		}
		n[s.owner]++
		if n[s.owner] > n[best] || n[s.owner] == n[best] && s.owner < best {
			best = s.owner
		}
	}
	return best
}

// truthFilter is the query of an analytics request: whole UTC days, both included, and optional make and mode.
type truthFilter struct {
	from, to   time.Time
	make, mode string
}

func (f truthFilter) query() string {
	q := url.Values{"from": {dayString(f.from)}, "to": {dayString(f.to)}}
	if f.make != "" {
		q.Set("make", f.make)
	}
	if f.mode != "" {
		q.Set("mode", f.mode)
	}
	return q.Encode()
}

func (f truthFilter) keeps(s truthSession) bool {
	return s.day >= dayString(f.from) && s.day <= dayString(f.to) &&
		(f.make == "" || s.make == f.make) && (f.mode == "" || s.mode == f.mode)
}

func (f truthFilter) sessions(all []truthSession) []truthSession {
	var out []truthSession
	for _, s := range all {
		if f.keeps(s) {
			out = append(out, s)
		}
	}
	return out
}

func rate(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// expectedFunnel is GET .../analytics/funnel for f.
func expectedFunnel(all []truthSession, f truthFilter) funnelJSON {
	kept := f.sessions(all)
	reached := map[string]int{}
	errs := map[string]int{}
	for _, s := range kept {
		for step := range s.steps {
			reached[step]++
		}
		if s.errorCode != "" {
			errs[s.errorCode]++
		}
	}
	out := funnelJSON{SessionsStarted: reached["launched"], SessionsCompleted: reached["completed"],
		Errors: []errorCountJSON{}, ErrorsByMake: expectedErrorsByMake(kept), ByMake: expectedByMake(kept), Daily: expectedDaily(kept, f),
		MedianSecondsToComplete: expectedMedian(kept), SecondsToComplete: expectedDistribution(kept), Owners: expectedOwnerFunnel(kept)}
	out.ConversionRate = rate(out.SessionsCompleted, out.SessionsStarted)
	prev := 0
	for i, step := range append([]string{"launched"}, genFunnel...) {
		st := funnelStepJSON{Step: step, Sessions: reached[step]}
		if i > 0 && prev > 0 {
			st.DropOffRate = 1 - float64(st.Sessions)/float64(prev)
		}
		out.Steps, prev = append(out.Steps, st), st.Sessions
	}
	for code, n := range errs {
		out.Errors = append(out.Errors, errorCountJSON{Code: code, Count: n, Share: rate(n, out.SessionsStarted)})
	}
	slices.SortFunc(out.Errors, func(a, b errorCountJSON) int { return cmp.Or(b.Count-a.Count, strings.Compare(a.Code, b.Code)) })
	return out
}

// expectedDistribution is the nearest-rank quartiles and 90th percentile of the whole seconds from
// earliest launch to earliest completion (the median as expectedMedian has it).
func expectedDistribution(kept []truthSession) distributionJSON {
	var secs []int
	for _, s := range kept {
		if s.startedAt != nil && s.completedAt != nil {
			secs = append(secs, int(s.completedAt.Sub(*s.startedAt)/time.Second))
		}
	}
	slices.Sort(secs)
	n := len(secs)
	if n == 0 {
		return distributionJSON{}
	}
	rank := func(q float64) float64 { return float64(secs[int(math.Ceil(q*float64(n)))-1]) }
	return distributionJSON{Sessions: n, P25: rank(0.25), Median: expectedMedian(kept), P75: rank(0.75), P90: rank(0.9)}
}

// expectedOwnerFunnel counts owners: those with a session, those with a completed one.
func expectedOwnerFunnel(kept []truthSession) *ownerFunnelJSON {
	started, connected := map[string]bool{}, map[string]bool{}
	out := &ownerFunnelJSON{}
	for _, s := range kept {
		if s.owner == "" {
			continue
		}
		out.Sessions++
		started[s.owner] = true
		if s.outcome == "completed" {
			connected[s.owner] = true
		}
	}
	out.Started, out.Connected = len(started), len(connected)
	out.ConversionRate, out.SessionsPerOwner = rate(out.Connected, out.Started), rate(out.Sessions, out.Started)
	return out
}

// expectedErrorsByMake counts the sessions that ended in each error, per make, most first.
func expectedErrorsByMake(kept []truthSession) []errorMakeJSON {
	counts := map[[2]string]int{}
	for _, s := range kept {
		if s.errorCode != "" {
			counts[[2]string{s.errorCode, s.make}]++
		}
	}
	out := []errorMakeJSON{}
	for k, n := range counts {
		out = append(out, errorMakeJSON{Code: k[0], Make: k[1], Count: n})
	}
	slices.SortFunc(out, func(a, b errorMakeJSON) int {
		return cmp.Or(b.Count-a.Count, strings.Compare(a.Code, b.Code), strings.Compare(a.Make, b.Make))
	})
	return out
}

func expectedByMake(kept []truthSession) []makeCountJSON {
	byMake := map[string]*makeCountJSON{}
	for _, s := range kept {
		if !s.steps["launched"] && !s.steps["completed"] {
			continue
		}
		if byMake[s.make] == nil {
			byMake[s.make] = &makeCountJSON{Make: s.make}
		}
		if s.steps["launched"] {
			byMake[s.make].Started++
		}
		if s.steps["completed"] {
			byMake[s.make].Completed++
		}
	}
	out := []makeCountJSON{}
	for _, m := range byMake {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b makeCountJSON) int {
		return cmp.Or(b.Started-a.Started, b.Completed-a.Completed, strings.Compare(a.Make, b.Make))
	})
	return out
}

// expectedDaily lists every day of f: the sessions of that day that launched, and that completed.
func expectedDaily(kept []truthSession, f truthFilter) []dayCountJSON {
	out := []dayCountJSON{}
	for d := f.from; !d.After(f.to); d = d.AddDate(0, 0, 1) {
		day := dayCountJSON{Day: dayString(d)}
		for _, s := range kept {
			if s.day == day.Day && s.steps["launched"] {
				day.Started++
			}
			if s.day == day.Day && s.steps["completed"] {
				day.Completed++
			}
		}
		out = append(out, day)
	}
	return out
}

// expectedMedian is the median of the seconds from earliest launch to earliest completion.
func expectedMedian(kept []truthSession) float64 {
	var secs []float64
	for _, s := range kept {
		if s.startedAt != nil && s.completedAt != nil {
			secs = append(secs, s.completedAt.Sub(*s.startedAt).Seconds())
		}
	}
	slices.Sort(secs)
	switch n := len(secs); {
	case n == 0:
		return 0
	case n%2 == 1:
		return secs[n/2]
	default:
		return (secs[n/2-1] + secs[n/2]) / 2
	}
}

// expectedOwners is the whole owners list for f in the default order: last seen first, then by owner.
func expectedOwners(all []truthSession, f truthFilter) []ownerJSON {
	type acc struct {
		row    ownerJSON
		latest truthSession
	}
	byOwner := map[string]*acc{}
	for _, s := range f.sessions(all) {
		if s.owner == "" {
			continue // a session without an owner is nobody's
		}
		a := byOwner[s.owner]
		if a == nil {
			a = &acc{row: ownerJSON{Owner: s.owner}, latest: s}
			byOwner[s.owner] = a
		}
		a.row.Sessions++
		if s.outcome == "completed" {
			a.row.Completed++
		}
		if s.lastAt.After(a.latest.lastAt) || s.lastAt.Equal(a.latest.lastAt) && s.id > a.latest.id {
			a.latest = s
		}
	}
	out := []ownerJSON{}
	for _, a := range byOwner {
		a.row.ConversionRate = rate(a.row.Completed, a.row.Sessions)
		a.row.LastSeenAt = a.latest.lastAt.UTC().Format(time.RFC3339)
		a.row.LastOutcome = a.latest.outcome
		out = append(out, a.row)
	}
	slices.SortFunc(out, func(a, b ownerJSON) int {
		return cmp.Or(strings.Compare(b.LastSeenAt, a.LastSeenAt), strings.Compare(a.Owner, b.Owner))
	})
	return out
}

// expectedTimeline is GET .../analytics/owners/{owner} for f: sessions newest start first, events in order.
func expectedTimeline(all []truthSession, f truthFilter, owner string) ownerTimelineJSON {
	out := ownerTimelineJSON{Owner: owner, Timeline: []timelineSessionJSON{}}
	var mine []truthSession
	for _, s := range f.sessions(all) {
		if s.owner == owner {
			mine = append(mine, s)
		}
	}
	slices.SortFunc(mine, func(a, b truthSession) int {
		return cmp.Or(b.timelineStart().Compare(a.timelineStart()), strings.Compare(b.id, a.id))
	})
	for _, s := range mine {
		out.Sessions++
		if s.outcome == "completed" {
			out.Completed++
		}
		ts := timelineSessionJSON{SessionID: s.id, StartedAt: s.timelineStart().Format(time.RFC3339), Outcome: s.outcome}
		for _, e := range s.events {
			ts.Events = append(ts.Events, timelineEventJSON{Step: e.step, At: e.at.Format(time.RFC3339), Make: e.storedMake(), Error: e.code})
		}
		out.Timeline = append(out.Timeline, ts)
	}
	out.ConversionRate = rate(out.Completed, out.Sessions)
	return out
}
