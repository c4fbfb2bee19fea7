package models_test

import (
	"testing"
	"time"

	"keyfob/models"
)

func TestDemoEventsLookLikeConnectTraffic(t *testing.T) {
	env := newAnalyticsEnv(t)
	now := time.Now().UTC()
	traffic := models.DemoTraffic{Owners: 60, Sessions: 400, Days: 10, Seed: 7}
	events, err := models.GenerateDemoEvents(traffic, now)
	if err != nil {
		t.Fatal(err)
	}
	sessions, owners := map[string]bool{}, map[string]bool{}
	for i, e := range events {
		at, err := time.Parse(time.RFC3339, e.OccurredAt)
		if err != nil || at.After(now) || at.Before(now.AddDate(0, 0, -10)) {
			t.Fatalf("event %d at %q is outside the %d days up to now", i, e.OccurredAt, traffic.Days)
		}
		if i > 0 && e.OccurredAt < events[i-1].OccurredAt {
			t.Fatalf("events are not in time order at %d", i)
		}
		sessions[e.SessionID], owners[e.Owner] = true, true
	}
	if len(sessions) != traffic.Sessions || len(owners) < 10 || len(owners) > traffic.Owners {
		t.Fatalf("%d sessions (want %d) over %d owners (want 10..%d)", len(sessions), traffic.Sessions, len(owners), traffic.Owners)
	}
	var progress []int
	if err := models.IngestDemoEvents(env.db, env.app.ID, events, func(done int) { progress = append(progress, done) }); err != nil {
		t.Fatal(err) // also fails when the events API would refuse any generated event
	}
	if len(progress) == 0 || progress[len(progress)-1] != len(events) {
		t.Fatalf("progress reported %v for %d events", progress, len(events))
	}
	f := env.funnel(t, models.AnalyticsFilter{Range: models.LastDays(11, now)})
	if f.Started != traffic.Sessions {
		t.Fatalf("every demo session launches: started %d, want %d", f.Started, traffic.Sessions)
	}
	for i := 1; i < len(f.Steps); i++ {
		if f.Steps[i].Sessions > f.Steps[i-1].Sessions {
			t.Fatalf("the funnel narrows step by step: %+v", f.Steps)
		}
	}
	if f.ConversionRate < 0.25 || f.ConversionRate > 0.75 || len(f.Errors) < 2 || len(f.ByMake) < 5 {
		t.Fatalf("realistic mix: conversion %.2f, %d error codes, %d makes", f.ConversionRate, len(f.Errors), len(f.ByMake))
	}
}

func TestDemoEventsRefuseNonsense(t *testing.T) {
	for _, traffic := range []models.DemoTraffic{{Owners: 0, Sessions: 1, Days: 1}, {Owners: 1, Sessions: 0, Days: 1},
		{Owners: 1, Sessions: 1, Days: 0}, {Owners: 1, Sessions: 1, Days: 366}} {
		if _, err := models.GenerateDemoEvents(traffic, time.Now()); err == nil {
			t.Errorf("%+v is accepted", traffic)
		}
	}
}

// demoRepeats are the steps a generated session may repeat, and how often at most: an owner who went
// back to the brand list and picked again (Connect records each pick). Every other step happens once.
var demoRepeats = map[string]int{models.StepBrandSelected: 2}

func TestDemoSessionsHaveEachStepOnce(t *testing.T) {
	events, err := models.GenerateDemoEvents(models.DemoTraffic{Owners: 50, Sessions: 2000, Days: 60, Seed: 3}, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string][]string{}
	for _, e := range events {
		steps[e.SessionID] = append(steps[e.SessionID], e.Step)
	}
	repeated := 0
	for session, seq := range steps {
		count := map[string]int{}
		for i, step := range seq {
			count[step]++
			if allowed := max(1, demoRepeats[step]); count[step] > allowed {
				t.Fatalf("session %s has %s %d times (at most %d): %v", session, step, count[step], allowed, seq)
			}
			ending := step == models.StepCompleted || step == models.StepError || step == models.StepExited
			if ending && i != len(seq)-1 {
				t.Fatalf("session %s goes on after it ended with %s: %v", session, step, seq)
			}
		}
		if count[models.StepBrandSelected] > 1 {
			repeated++
		}
	}
	if repeated == 0 {
		t.Fatal("no session repeats the brand choice: the intended repeat is never generated")
	}
}

// A growing demo puts more sessions in its second half than in its first, by the share the growth
// implies (a density rising linearly to 1.5 times its start: 11/9 as many), so "vs previous period"
// compares two full periods.
func TestDemoTrafficGrows(t *testing.T) {
	now := time.Now().UTC()
	events, err := models.GenerateDemoEvents(models.DemoTraffic{Owners: 500, Sessions: 6000, Days: 60, Growth: 1.5, Seed: 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	halves := [2]int{}
	for _, e := range events {
		if e.Step != models.StepLaunched {
			continue
		}
		at, _ := time.Parse(time.RFC3339, e.OccurredAt)
		if at.After(now.AddDate(0, 0, -30)) {
			halves[1]++
		} else {
			halves[0]++
		}
	}
	if ratio := float64(halves[1]) / float64(halves[0]); ratio < 1.15 || ratio > 1.30 || !models.Comparable(halves[0], halves[1]) {
		t.Fatalf("sessions per half %v: ratio %.2f, want about 1.22 and comparable", halves, ratio)
	}
	if _, err := models.GenerateDemoEvents(models.DemoTraffic{Owners: 1, Sessions: 1, Days: 1, Growth: -1}, now); err == nil {
		t.Fatal("a negative growth is accepted")
	}
}
