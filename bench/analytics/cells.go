package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"keyfob/models"
)

// timing is one read's latencies at one size (or, for ingestion, its rate).
type timing struct {
	cell     string
	p50, p95 float64 // milliseconds
	rate     float64 // events per second, for the ingestion row
	skipped  string
}

// Goals of issue 12: every read under 50 ms at p95 at the largest size, and at most twice its p95 at
// the smallest; ingestion at least 20,000 events a second.
const (
	goalP95Ms      = 50.0
	goalGrowth     = 2.0
	goalEventsRate = 20_000.0
)

// timeCells times each of the dashboard's reads of sh, in each of its ranges.
func (b *bench) timeCells(sh shape, reps int) []timing {
	var out []timing
	app := "/api/v1/apps/" + b.apps[0] + "/analytics"
	for _, r := range sh.ranges {
		q := "?" + r.params
		owner := b.busiestOwner(app, q)
		cells := []struct {
			name, path string
			console    bool
		}{
			{"funnel", app + "/funnel" + q, false},
			{"owners, first page", app + "/owners" + q, false},
			{"owners, last page", b.lastPagePath(app, r.params), false},
			{"owners by sessions", app + "/owners" + q + "&sort=sessions", false},
			{"owners by conversion", app + "/owners" + q + "&sort=conversion", false},
			{"owner search", app + "/owners" + q + "&owner=" + url.QueryEscape(sh.searchOf), false},
			{"busiest owner's timeline", app + "/owners/" + url.PathEscape(owner) + q, false},
			{"organisation overview", "/analytics" + q, true},
			{"CSV of 10,000 owners", app + "/owners.csv" + q + "&limit=10000", false},
		}
		for _, c := range cells {
			name := c.name + " (" + r.label + ")"
			if c.path == "" || (strings.Contains(c.path, "/owners/") && owner == "") {
				out = append(out, timing{cell: name, skipped: "no such owner or page"})
				continue
			}
			p50, p95 := b.time(c.path, c.console, reps)
			out = append(out, timing{cell: name, p50: p50, p95: p95})
		}
	}
	return out
}

// busiestOwner is the owner with the most sessions in the range, "" when there is none.
func (b *bench) busiestOwner(app, q string) string {
	var top struct {
		Owners []struct{ Owner string } `json:"owners"`
	}
	check(json.Unmarshal(b.get(app+"/owners"+q+"&sort=sessions&limit=1", false), &top))
	if len(top.Owners) == 0 {
		return ""
	}
	return top.Owners[0].Owner
}

// lastPagePath is the owners list's last page of 50 (default order), reached with the cursor a
// client following next_cursor would hold; the mark is read from the rollup (PostgreSQL only).
func (b *bench) lastPagePath(app, params string) string {
	var page struct {
		Total int `json:"total"`
	}
	check(json.Unmarshal(b.get(app+"/owners?"+params+"&limit=1", false), &page))
	if page.Total <= 50 {
		return app + "/owners?" + params // the first page is the last
	}
	if !models.IsPostgres(b.db) {
		return ""
	}
	v, err := url.ParseQuery(params)
	check(err)
	var mark struct {
		Owner string
		At    time.Time
	}
	check(b.db.Raw(`SELECT owner, MAX(last_event_at) AS at FROM owner_daily WHERE app_id = ? AND day BETWEEN ? AND ?
		AND sessions > 0 AND sandbox = false GROUP BY owner ORDER BY at DESC, owner LIMIT 1 OFFSET ?`,
		b.apps[0], v.Get("from"), v.Get("to"), page.Total-51).Scan(&mark).Error)
	return app + "/owners?" + params + "&cursor=" + url.QueryEscape(models.LastSeenCursor(mark.At, mark.Owner))
}

// time reads path reps times after one warm-up and gives the p50 and p95 in milliseconds.
func (b *bench) time(path string, console bool, reps int) (float64, float64) {
	b.get(path, console)
	took := make([]time.Duration, 0, reps)
	for range reps {
		began := time.Now()
		b.get(path, console)
		took = append(took, time.Since(began))
	}
	slices.Sort(took)
	pct := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1)+0.5)].Microseconds()) / 1000 }
	return pct(0.5), pct(0.95)
}

// printShape prints a Markdown table: a row per read, p50 / p95 at each size, and the verdict.
func printShape(sh shape, results map[int][]timing, sizes []int) {
	fmt.Printf("\n### %s: %s\n\n| read |", sh.name, sh.about)
	for _, n := range sizes {
		fmt.Printf(" %s p50 / p95 ms |", human(n))
	}
	fmt.Printf(" goal |\n|---|")
	for range sizes {
		fmt.Printf("---|")
	}
	fmt.Println("---|")
	for i, first := range results[sizes[0]] {
		fmt.Printf("| %s |", first.cell)
		for _, n := range sizes {
			t := results[n][i]
			switch {
			case t.skipped != "":
				fmt.Printf(" – |")
			case t.cell == "ingestion":
				fmt.Printf(" %.0f events/s |", t.rate)
			default:
				fmt.Printf(" %.1f / %.1f |", t.p50, t.p95)
			}
		}
		fmt.Printf(" %s |\n", verdict(results[sizes[0]][i], results[sizes[len(sizes)-1]][i]))
	}
}

// verdict compares a read at the largest size with its goals.
func verdict(small, large timing) string {
	switch {
	case large.skipped != "":
		return "not measured: " + large.skipped
	case large.cell == "ingestion":
		if large.rate >= goalEventsRate {
			return "met"
		}
		return fmt.Sprintf("**missed** (%.0f < %.0f events/s)", large.rate, goalEventsRate)
	}
	var misses []string
	if large.p95 >= goalP95Ms {
		misses = append(misses, fmt.Sprintf("p95 %.0f ms ≥ %.0f", large.p95, goalP95Ms))
	}
	if small.p95 > 0 && large.p95 > goalGrowth*small.p95 {
		misses = append(misses, fmt.Sprintf("%.1f× the smallest", large.p95/small.p95))
	}
	if len(misses) == 0 {
		return "met"
	}
	return "**missed**: " + strings.Join(misses, ", ")
}

func human(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
