package handlers

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// This file generates Connect sessions for the events API tests: reproducible from a seed, with the
// awkward parts of real traffic, and dealt into shuffled batches.

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
