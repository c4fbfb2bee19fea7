package main

import (
	"fmt"
	"hash/fnv"
	"time"

	"keyfob/models"
)

// shape is a kind of app the analytics must stay fast for.
type shape struct {
	name     string
	about    string
	owners   int           // distinct owners the generator draws from
	whale    float64       // share of sessions given to one owner
	days     int           // days the sessions spread over, ending at end
	endAgo   time.Duration // how long before now the traffic ends
	apps     int           // apps of the organisation the sessions are split between
	ranges   []rangeQuery  // the ranges the dashboard reads
	searchOf string        // an owner substring that matches a few owners
}

// rangeQuery is a date range the reads use, as query parameters.
type rangeQuery struct{ label, params string }

func lastDays(n int, label string) rangeQuery {
	now := time.Now().UTC()
	return rangeQuery{label, fmt.Sprintf("from=%s&to=%s", now.AddDate(0, 0, 1-n).Format(time.DateOnly), now.Format(time.DateOnly))}
}

func shapeNamed(name string) (shape, bool) {
	week := 35 * 24 * time.Hour
	weekEnd := time.Now().UTC().Add(-week)
	switch name {
	case "many":
		return shape{name: name, about: "100,000 owners, a few sessions each, 30 days", owners: 100_000, days: 30, apps: 1,
			ranges: []rangeQuery{lastDays(30, "30d")}, searchOf: "driver-0042"}, true
	case "few":
		return shape{name: name, about: "50 owners who come back many times, 30 days", owners: 50, days: 30, apps: 1,
			ranges: []rangeQuery{lastDays(30, "30d")}, searchOf: "driver-0004"}, true
	case "whale":
		return shape{name: name, about: "one owner with 20% of the sessions, 10,000 others, 30 days", owners: 10_000, whale: 0.2,
			days: 30, apps: 1, ranges: []rangeQuery{lastDays(30, "30d")}, searchOf: "fleet"}, true
	case "pastweek":
		return shape{name: name, about: "every event in one week five weeks ago, 5,000 owners", owners: 5_000, days: 7, endAgo: week,
			apps: 1, searchOf: "driver-0042", ranges: []rangeQuery{
				{"week", fmt.Sprintf("from=%s&to=%s", weekEnd.AddDate(0, 0, -7).Format(time.DateOnly), weekEnd.Format(time.DateOnly))},
				lastDays(30, "30d (empty)")}}, true
	case "apps":
		return shape{name: name, about: "50 apps in one organisation, 2,000 owners each, 30 days", owners: 2_000, days: 30, apps: 50,
			ranges: []rangeQuery{lastDays(30, "30d")}, searchOf: "driver-0042"}, true
	case "year":
		return shape{name: name, about: "100,000 owners over 364 days, read for the whole year", owners: 100_000, days: 364, apps: 1,
			ranges: []rangeQuery{lastDays(365, "365d")}, searchOf: "driver-0042"}, true
	}
	return shape{}, false
}

// generate produces about n events of sh's traffic, each with the index of the app it belongs to.
func (sh shape) generate(n int, seed uint64) ([]models.EventInput, []int) {
	events, err := models.GenerateDemoEvents(models.DemoTraffic{Owners: sh.owners, Sessions: max(1, n/5), Days: sh.days, Seed: seed},
		time.Now().UTC().Add(-sh.endAgo))
	check(err)
	events = events[:min(n, len(events))]
	apps := make([]int, len(events))
	for i := range events {
		h := hashOf(events[i].SessionID)
		if sh.whale > 0 && float64(h%1000) < sh.whale*1000 {
			events[i].Owner = "fleet-00001@example.com"
		}
		apps[i] = int(h>>10) % sh.apps
	}
	return events, apps
}

func hashOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
