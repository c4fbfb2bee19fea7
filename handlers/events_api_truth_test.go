package handlers

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// This file generates Connect sessions for the events API tests and works out, from the generated
// sessions alone, what the analytics routes must answer. It does not call models: it restates the
// definitions of api.md §Analytics in the plainest code it can, so the two can be compared.

// genFunnel is the funnel after launch, in order.
var genFunnel = []string{"brand_selected", "signed_in", "vehicles_selected", "permissions_approved", "completed"}

var (
	// genMakeSpellings are makes as front ends send them: any case, stored as the upper-case id.
	genMakeSpellings = []string{"TESLA", "tesla", "BMW", "bmw", "Ford", "AUDI", "kia", "VOLVO"}
	genErrorCodes    = []string{"vehicle_incompatible", "access_denied", "no_vehicles", "invalid_subscription", "server_error"}
)

// genEvent is one generated event; mode "" leaves the key's default (test) to the server.
type genEvent struct {
	id, session, owner, step, make, code, mode string
	at                                         time.Time
}

// wireEvent is an event of POST /api/v1/events as a client sends it.
type wireEvent struct {
	ID         string `json:"id,omitempty"`
	SessionID  string `json:"session_id,omitempty"`
	Owner      string `json:"owner,omitempty"`
	Step       string `json:"step,omitempty"`
	OccurredAt string `json:"occurred_at,omitempty"`
	Make       string `json:"make,omitempty"`
	Error      string `json:"error,omitempty"`
	Mode       string `json:"mode,omitempty"`
}

func (e genEvent) wire() wireEvent {
	return wireEvent{ID: e.id, SessionID: e.session, Owner: e.owner, Step: e.step,
		OccurredAt: e.at.Format(time.RFC3339), Make: e.make, Error: e.code, Mode: e.mode}
}

// storedMake and storedMode are the make and mode the server keeps for e.
func (e genEvent) storedMake() string { return strings.ToUpper(e.make) }

func (e genEvent) storedMode() string { return cmp.Or(e.mode, "test") }

type genSession struct {
	id     string
	events []genEvent // in time order, each a few seconds after the previous
}

// generateSessions makes n sessions starting over days days from day0, reproducibly from seed.
func generateSessions(seed uint64, prefix string, n int, day0 time.Time, days int) []genSession {
	r := rand.New(rand.NewPCG(seed, 2025))
	out := make([]genSession, n)
	for i := range out {
		out[i] = generateSession(r, fmt.Sprintf("%s-%03d", prefix, i), day0, days)
	}
	return out
}

// generateSession makes one session with the awkward parts of real traffic: repeated steps, a make
// sent in lower case, chosen late or changed, no make at all, an owner unknown at launch or changed,
// a missing launch, two errors, an error retried to completion, and starts just before midnight.
func generateSession(r *rand.Rand, id string, day0 time.Time, days int) genSession {
	owner := fmt.Sprintf("owner-%02d", r.IntN(20))
	if r.IntN(30) == 0 {
		owner = ""
	}
	mode := []string{"test", "simulated"}[r.IntN(2)]
	at := day0.Add(time.Duration(r.IntN(days*86400-3600)) * time.Second)
	if r.IntN(7) == 0 {
		at = day0.AddDate(0, 0, r.IntN(days)).Add(24*time.Hour - time.Duration(1+r.IntN(90))*time.Second)
	}
	mk := ""
	if r.IntN(5) != 0 {
		mk = genMakeSpellings[r.IntN(len(genMakeSpellings))]
	}
	s := genSession{id: id}
	add := func(step, make, code string) {
		e := genEvent{id: fmt.Sprintf("%s-%02d", id, len(s.events)), session: id, owner: owner,
			step: step, make: make, code: code, mode: mode, at: at}
		if mode == "test" && r.IntN(2) == 0 {
			e.mode = ""
		}
		s.events = append(s.events, e)
		at = at.Add(time.Duration(3+r.IntN(90)) * time.Second)
	}
	if r.IntN(12) != 0 {
		launchMake := ""
		if r.IntN(3) == 0 {
			launchMake = mk // a make given on the Connect URL
		}
		add("launched", launchMake, "")
		if r.IntN(8) == 0 {
			add("launched", launchMake, "") // the Connect page loaded again
		}
	}
	depth := r.IntN(len(genFunnel) + 1)
	addSteps(r, genFunnel[:depth], &mk, add)
	if depth < len(genFunnel) {
		addEnding(r, genFunnel[depth:], &mk, add)
	}
	if len(s.events) == 0 {
		add("exited", "", "") // neither launched nor went anywhere: left at once
	}
	varyOwner(r, &s)
	return s
}

// addSteps adds steps in order, some twice, and sometimes a second brand choice with another make.
func addSteps(r *rand.Rand, steps []string, mk *string, add func(step, make, code string)) {
	for _, step := range steps {
		add(step, *mk, "")
		if step == "brand_selected" && *mk != "" && r.IntN(6) == 0 {
			*mk = genMakeSpellings[r.IntN(len(genMakeSpellings))]
			add(step, *mk, "")
		}
		if r.IntN(5) == 0 {
			add(step, *mk, "")
		}
	}
}

// addEnding ends a session that stopped before rest: an error (maybe two, then maybe retried to
// completion or left), an exit (with or without a code), or nothing (still in progress).
func addEnding(r *rand.Rand, rest []string, mk *string, add func(step, make, code string)) {
	switch n := r.IntN(10); {
	case n < 4:
		add("error", *mk, genErrorCodes[r.IntN(len(genErrorCodes))])
		if r.IntN(4) == 0 {
			add("error", *mk, genErrorCodes[r.IntN(len(genErrorCodes))])
		}
		switch r.IntN(5) {
		case 0:
			addSteps(r, rest, mk, add) // retried, and this time completed
		case 1:
			add("exited", *mk, "") // left from the error page
		}
	case n < 7:
		add("exited", *mk, []string{"", "user_manually_returned_to_application"}[r.IntN(2)])
	}
}

// varyOwner sometimes leaves the owner off the launch (not known yet) or moves the session's last
// event to another owner.
func varyOwner(r *rand.Rand, s *genSession) {
	if len(s.events) == 0 {
		return
	}
	if r.IntN(4) == 0 {
		s.events[0].owner = ""
	}
	if last := &s.events[len(s.events)-1]; len(s.events) > 1 && last.owner != "" && r.IntN(25) == 0 {
		last.owner = fmt.Sprintf("owner-%02d", r.IntN(20))
	}
}

// shuffledBatches deals events, shuffled, into batches of varying sizes.
func shuffledBatches(r *rand.Rand, events []genEvent) [][]genEvent {
	events = slices.Clone(events)
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	sizes := []int{1, 3, 17, 40, 64, 100, 150, 333}
	var out [][]genEvent
	for len(events) > 0 {
		n := min(sizes[r.IntN(len(sizes))], len(events))
		out, events = append(out, events[:n]), events[n:]
	}
	return out
}

func allEvents(sessions []genSession) []genEvent {
	var out []genEvent
	for _, s := range sessions {
		out = append(out, s.events...)
	}
	return out
}

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

// wantGeneratorCoverage makes sure the seed still produces the cases the comparisons are about.
func wantGeneratorCoverage(t *testing.T, truth []truthSession) {
	t.Helper()
	has := map[string]bool{}
	codes := map[string]bool{}
	for _, s := range truth {
		has["no launch"] = has["no launch"] || s.startedAt == nil
		has["across midnight"] = has["across midnight"] || dayString(s.firstAt) != dayString(s.lastAt)
		has["no make"] = has["no make"] || s.make == ""
		has["no owner"] = has["no owner"] || s.owner == ""
		has["mode test"] = has["mode test"] || s.mode == "test"
		has["mode simulated"] = has["mode simulated"] || s.mode == "simulated"
		has["error then completed"] = has["error then completed"] || s.errorCode != "" && s.outcome == "completed"
		has["error then exited"] = has["error then exited"] || s.steps["exited"] && s.outcome == "error"
		has["exited"] = has["exited"] || s.outcome == "exited"
		has["in progress"] = has["in progress"] || s.outcome == "in_progress"
		codes[s.errorCode] = true
		for i, e := range s.events {
			has["repeated step"] = has["repeated step"] || i > 0 && s.events[i-1].step == e.step
			has["lower-case make"] = has["lower-case make"] || e.make != e.storedMake()
		}
	}
	for _, what := range []string{"no launch", "across midnight", "no make", "no owner", "mode test", "mode simulated",
		"error then completed", "error then exited", "exited", "in progress", "repeated step", "lower-case make"} {
		if !has[what] {
			t.Errorf("the generated sessions have no case of %q: change the seed or the generator", what)
		}
	}
	if len(codes) < 4 {
		t.Errorf("the generated sessions have %d error codes, want at least 3", len(codes)-1)
	}
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
		Errors: []errorCountJSON{}, ByMake: expectedByMake(kept), Daily: expectedDaily(kept, f),
		MedianSecondsToComplete: expectedMedian(kept)}
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
		out.Errors = append(out.Errors, errorCountJSON{Code: code, Count: n})
	}
	slices.SortFunc(out.Errors, func(a, b errorCountJSON) int { return cmp.Or(b.Count-a.Count, strings.Compare(a.Code, b.Code)) })
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

// funnelCSVRows is the funnel as funnel.csv lays it out.
func funnelCSVRows(f funnelJSON) [][]string {
	rows := [][]string{{"section", "name", "value", "drop_off_rate"},
		{"headline", "sessions_started", itoa(f.SessionsStarted), ""},
		{"headline", "sessions_completed", itoa(f.SessionsCompleted), ""},
		{"headline", "conversion_rate", ftoa(f.ConversionRate), ""},
		{"headline", "median_seconds_to_complete", ftoa(f.MedianSecondsToComplete), ""}}
	for _, s := range f.Steps {
		rows = append(rows, []string{"step", s.Step, itoa(s.Sessions), ftoa(s.DropOffRate)})
	}
	for _, e := range f.Errors {
		rows = append(rows, []string{"error", e.Code, itoa(e.Count), ""})
	}
	for _, m := range f.ByMake {
		rows = append(rows, []string{"make_started", m.Make, itoa(m.Started), ""}, []string{"make_completed", m.Make, itoa(m.Completed), ""})
	}
	for _, d := range f.Daily {
		rows = append(rows, []string{"day_started", d.Day, itoa(d.Started), ""}, []string{"day_completed", d.Day, itoa(d.Completed), ""})
	}
	return rows
}

// ownersCSVRows is the owners list as owners.csv lays it out.
func ownersCSVRows(owners []ownerJSON) [][]string {
	rows := [][]string{{"owner", "sessions", "completed", "conversion_rate", "last_seen_at", "last_outcome"}}
	for _, o := range owners {
		rows = append(rows, []string{o.Owner, itoa(o.Sessions), itoa(o.Completed), ftoa(o.ConversionRate), o.LastSeenAt, o.LastOutcome})
	}
	return rows
}

// timelineCSVRows is an owner's timeline as owners/{owner}.csv lays it out: one row per event.
func timelineCSVRows(tl ownerTimelineJSON) [][]string {
	rows := [][]string{{"owner", "session_id", "started_at", "outcome", "step", "at", "make", "error"}}
	for _, s := range tl.Timeline {
		for _, e := range s.Events {
			rows = append(rows, []string{tl.Owner, s.SessionID, s.StartedAt, s.Outcome, e.Step, e.At, e.Make, e.Error})
		}
	}
	return rows
}
