package main

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"keyfob/models"
)

// This file generates the restart test's data: sessions with a known truth, as shuffled batches of events.

// restartEvent is one event as POST /api/v1/events takes it.
type restartEvent struct {
	ID         string `json:"id"`
	SessionID  string `json:"session_id"`
	Owner      string `json:"owner"`
	Step       string `json:"step"`
	OccurredAt string `json:"occurred_at"`
	Make       string `json:"make,omitempty"`
	Error      string `json:"error,omitempty"`
}

// restartSession is one generated session and what analytics must make of it.
type restartSession struct {
	id, make, errCode string // make: "" when no event carries one; errCode: of its error event, if any
	steps             map[string]bool
	mask              int64
	day               string // UTC day it is counted under: its launch, else its earliest event
}

// restartGenerator draws one run's sessions, and keeps their events in the order they were made.
type restartGenerator struct {
	rng             *rand.Rand
	tag             string
	now             time.Time
	makes, errCodes []string
	events          []restartEvent
}

// restartGenerate makes sessions with exactly total events between them, shuffled into batches of
// restartBatchSize (so most sessions span several batches and arrive out of order).
func restartGenerate(t *testing.T, rng *rand.Rand, tag string, now time.Time, total int) ([]*restartSession, [][]restartEvent) {
	g := &restartGenerator{rng: rng, tag: tag, now: now,
		makes:    []string{"TESLA", "FORD", "BMW", "AUDI", "KIA", "HYUNDAI", "TOYOTA", "NISSAN", "RIVIAN", "CHEVROLET"},
		errCodes: []string{"access_denied", "vehicle_incompatible", "invalid_subscription", "server_error"}}
	for _, m := range g.makes {
		if _, ok := models.FindMake(m); !ok {
			t.Fatalf("test data uses unknown make %s", m)
		}
	}
	var sessions []*restartSession
	for n := 0; len(g.events) < total; n++ {
		sessions = append(sessions, g.session(n, g.steps(total-len(g.events))))
	}
	events := g.events
	rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	var batches [][]restartEvent
	for chunk := range slices.Chunk(events, restartBatchSize) {
		batches = append(batches, chunk)
	}
	return sessions, batches
}

// steps draws the steps of a session, in order and at most left of them: the whole funnel, or part of
// it ending in an error, an exit or nothing, sometimes without its launch.
func (g *restartGenerator) steps(left int) []string {
	var steps []string
	if g.rng.Float64() < 0.45 {
		steps = slices.Clone(models.FunnelSteps) // completed
	} else {
		steps = slices.Clone(models.FunnelSteps[:1+g.rng.Intn(5)])
		switch r := g.rng.Float64(); {
		case r < 0.35:
			steps = append(steps, models.StepError)
		case r < 0.75:
			steps = append(steps, models.StepExited)
		}
	}
	if len(steps) > 1 && g.rng.Float64() < 0.04 {
		steps = steps[1:] // the launch event was lost by the front end
	}
	if len(steps) > left {
		steps = steps[:left]
	}
	return steps
}

// session makes session n of one owner and make from its steps, each a few seconds after the one
// before, within the last three days, and adds its events to g.events.
func (g *restartGenerator) session(n int, steps []string) *restartSession {
	rng := g.rng
	s := &restartSession{id: fmt.Sprintf("sess_%s_%05d", g.tag, n), steps: map[string]bool{}}
	owner := fmt.Sprintf("owner_%04d", rng.Intn(700))
	mk := g.makes[rng.Intn(len(g.makes))]
	at := g.now.Add(-10*time.Minute - time.Duration(rng.Int63n(int64(72*time.Hour)))).Truncate(time.Millisecond)
	s.day = at.UTC().Format(time.DateOnly) // the first event is the launch, or the earliest event
	for _, step := range steps {
		e := restartEvent{ID: fmt.Sprintf("evt_%s_%06d_%04x", g.tag, len(g.events), rng.Intn(1<<16)), SessionID: s.id,
			Owner: owner, Step: step, OccurredAt: at.Format(time.RFC3339Nano)}
		if step != models.StepLaunched {
			e.Make = mk // chosen on the brand step, carried by every later event
			s.make = mk
		}
		switch {
		case step == models.StepError:
			e.Error = g.errCodes[rng.Intn(len(g.errCodes))]
			s.errCode = e.Error
		case step == models.StepExited && rng.Float64() < 0.3:
			e.Error = "user_cancelled" // an exit's code is not an error
		}
		s.steps[step] = true
		s.mask |= 1 << slices.Index(models.AnalyticsSteps, step)
		g.events = append(g.events, e)
		at = at.Add(time.Duration(2+rng.Intn(40)) * time.Second)
	}
	return s
}
