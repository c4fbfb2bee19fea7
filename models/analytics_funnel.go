package models

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// DateRange is a span of whole UTC days, both ends included.
type DateRange struct{ From, To time.Time }

// LastDays is the range of the n days ending with the UTC day of now.
func LastDays(n int, now time.Time) DateRange {
	to := now.UTC()
	return DateRange{From: to.AddDate(0, 0, 1-n), To: to}
}

// days lists every day of r as stored in the rollups.
func (r DateRange) days() []string {
	var out []string
	for d := r.From.UTC().Truncate(24 * time.Hour); !d.After(r.To.UTC()); d = d.AddDate(0, 0, 1) {
		out = append(out, dayOf(d))
	}
	return out
}

// maxAnalyticsDays bounds a range so that a daily series stays a page, not a scan.
const maxAnalyticsDays = 1000

// AnalyticsFilter narrows analytics to a range of days and, when set, one owner, make or mode.
// Sandbox sessions are left out unless IncludeSandbox.
type AnalyticsFilter struct {
	Range          DateRange
	Owner          string
	Make           string
	Mode           string
	IncludeSandbox bool
}

// Funnel is an app's Connect conversion over a filter.
type Funnel struct {
	Started                 int
	Completed               int
	ConversionRate          float64
	MedianSecondsToComplete float64
	TimeToComplete          Distribution // seconds from launch to completion, of the completed sessions
	Owners                  *OwnerFunnel // by owner rather than by session (nil for a one-owner filter)
	Steps                   []FunnelStep
	Errors                  []ErrorCount
	ErrorsByMake            []ErrorMakeCount
	ByMake                  []MakeCount
	Daily                   []DayCount
}

// FunnelStep is how many sessions reached a step, and the share of the previous step's that did not.
type FunnelStep struct {
	Step        string
	Sessions    int
	DropOffRate float64
}

// ErrorCount is how many sessions ended with an error code, and their share of the sessions started.
type ErrorCount struct {
	Code  string
	Count int
	Share float64
}

// MakeCount is the sessions started and completed with one make ("" when none was chosen).
type MakeCount struct {
	Make      string
	Started   int
	Completed int
}

// DayCount is the sessions started (and, of those, completed) on one UTC day.
type DayCount struct {
	Day       string
	Started   int
	Completed int
}

// funnelCell is a count of sessions that reached step, by day and make.
type funnelCell struct {
	Day      string
	Step     string
	Make     string
	Sessions int
}

// FunnelFor computes the funnel of one of the organisation's apps. Without an owner it reads only the
// daily rollups, so its cost does not grow with history; with one it reads that owner's session summaries.
func FunnelFor(db *gorm.DB, orgID, appID string, f AnalyticsFilter) (Funnel, error) {
	if _, err := FindApp(db, orgID, appID); err != nil {
		return Funnel{}, err
	}
	if f.Range.From.IsZero() || f.Range.To.IsZero() || f.Range.To.Before(f.Range.From) {
		return Funnel{}, Invalid("to", "invalid_range", "Choose a range whose end is not before its start.")
	}
	if len(f.Range.days()) > maxAnalyticsDays {
		return Funnel{}, Invalid("from", "range_too_long", "Choose a range of at most 1000 days.")
	}
	var (
		cells                           []funnelCell
		errs                            []ErrorCount
		byMake                          []ErrorMakeCount
		durations                       []durationCount
		owners                          *OwnerFunnel
		cellsErr, errsErr, mErr, ownErr error
	)
	// Each read plans its statements for this app, range and filter (withCustomPlans).
	read := func(fn func(db *gorm.DB) error) error { return withCustomPlans(db, fn) }
	reads := []func(){func() {
		mErr = read(func(db *gorm.DB) (err error) { durations, err = completionHistogram(db, appID, f); return err })
	}}
	if f.Owner == "" {
		reads = append(reads,
			func() {
				cellsErr = read(func(db *gorm.DB) (err error) { cells, err = rollupCells(db, appID, f); return err })
			},
			func() {
				errsErr = read(func(db *gorm.DB) (err error) { errs, byMake, err = rollupErrors(db, appID, f); return err })
			},
			func() {
				ownErr = read(func(db *gorm.DB) (err error) { owners, err = ownerFunnel(db, appID, f); return err })
			})
	} else {
		reads = append(reads, func() {
			cellsErr = read(func(db *gorm.DB) (err error) { cells, errs, byMake, err = ownerCells(db, appID, f); return err })
		})
	}
	// The reads are independent: on PostgreSQL they run side by side on their own connections, so a
	// dashboard waits for the slowest, not for all of them (SQLite has one connection).
	_, inTransaction := db.Statement.ConnPool.(gorm.TxCommitter) // one connection: no parallel reads
	concurrently(IsPostgres(db) && !inTransaction, reads...)
	if err := cmp.Or(cellsErr, errsErr, mErr, ownErr); err != nil {
		return Funnel{}, err
	}
	out := buildFunnel(cells, errs, f.Range)
	out.TimeToComplete = distributionOf(durations)
	out.MedianSecondsToComplete = out.TimeToComplete.Median
	out.Owners = owners
	out.ErrorsByMake = byMake
	return out, nil
}

// concurrently runs fns, at the same time when parallel is set, and returns when all are done.
func concurrently(parallel bool, fns ...func()) {
	if !parallel {
		for _, fn := range fns {
			fn()
		}
		return
	}
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(fn)
	}
	wg.Wait()
}

// summaryScope selects an app's session summaries under f, through the (app_id, day) or
// (app_id, owner, last_event_at) index.
func summaryScope(db *gorm.DB, appID string, f AnalyticsFilter) *gorm.DB {
	q := db.Model(&sessionSummary{}).Where("app_id = ? AND day BETWEEN ? AND ?", appID, dayOf(f.Range.From), dayOf(f.Range.To))
	if f.Owner != "" {
		q = q.Where("owner = ?", f.Owner)
	}
	return dimensionScope(q, f)
}

// dimensionScope applies the make, mode and sandbox parts of f, named alike in every analytics table.
func dimensionScope(q *gorm.DB, f AnalyticsFilter) *gorm.DB {
	if f.Make != "" {
		q = q.Where("make = ?", f.Make)
	}
	if f.Mode != "" {
		q = q.Where("mode = ?", f.Mode)
	}
	if !f.IncludeSandbox {
		q = q.Where("sandbox = ?", false)
	}
	return q
}

// rollupCells reads funnel_daily for f (which has no owner), summing over the rows' shards (and the
// modes and sandbox flags f leaves open).
func rollupCells(db *gorm.DB, appID string, f AnalyticsFilter) ([]funnelCell, error) {
	var cells []funnelCell
	err := dimensionScope(db.Table("funnel_daily").Where("app_id = ? AND day BETWEEN ? AND ?", appID, dayOf(f.Range.From), dayOf(f.Range.To)), f).
		Select("day, step, make, SUM(sessions) AS sessions").Group("day, step, make").Scan(&cells).Error
	return cells, err
}

// rollupErrors reads error_daily for f (which has no owner) likewise: the counts by code and by
// code and make, from one read.
func rollupErrors(db *gorm.DB, appID string, f AnalyticsFilter) ([]ErrorCount, []ErrorMakeCount, error) {
	var cells []ErrorMakeCount
	err := dimensionScope(db.Table("error_daily").Where("app_id = ? AND day BETWEEN ? AND ?", appID, dayOf(f.Range.From), dayOf(f.Range.To)), f).
		Select("error_code AS code, make, SUM(sessions) AS count").Group("error_code, make").Scan(&cells).Error
	errs, byMake := errorTables(cells)
	return errs, byMake, err
}

// errorTables sums error counts by (code, make) into counts by code and a sorted error × make table
// without empty cells.
func errorTables(cells []ErrorMakeCount) ([]ErrorCount, []ErrorMakeCount) {
	byCode := map[string]int{}
	byCell := map[[2]string]int{}
	for _, c := range cells {
		byCode[c.Code] += c.Count
		byCell[[2]string{c.Code, c.Make}] += c.Count
	}
	errs := make([]ErrorCount, 0, len(byCode))
	for code, n := range byCode {
		errs = append(errs, ErrorCount{Code: code, Count: n})
	}
	table := []ErrorMakeCount{}
	for k, n := range byCell {
		if n != 0 {
			table = append(table, ErrorMakeCount{Code: k[0], Make: k[1], Count: n})
		}
	}
	slices.SortFunc(table, func(a, b ErrorMakeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Make, b.Make))
	})
	return errs, table
}

// ownerCells counts f's owner's sessions from their summaries, in the shape of the rollups.
func ownerCells(db *gorm.DB, appID string, f AnalyticsFilter) ([]funnelCell, []ErrorCount, []ErrorMakeCount, error) {
	var rows []sessionSummary
	if err := summaryScope(db, appID, f).Find(&rows).Error; err != nil {
		return nil, nil, nil, err
	}
	var cells []funnelCell
	var errorCells []ErrorMakeCount
	for _, s := range rows {
		for i, step := range AnalyticsSteps {
			if s.StepsMask&(1<<i) != 0 {
				cells = append(cells, funnelCell{Day: s.Day, Step: step, Make: s.Make, Sessions: 1})
			}
		}
		if s.ErrorCode != "" {
			errorCells = append(errorCells, ErrorMakeCount{Code: s.ErrorCode, Make: s.Make, Count: 1})
		}
	}
	errs, byMake := errorTables(errorCells)
	return cells, errs, byMake, nil
}

// durationCount is how many sessions took Seconds to complete.
type durationCount struct{ Seconds, Sessions int }

// completionHistogram counts the completed sessions under f by whole seconds from launch to
// completion, in ascending order: from completion_daily (its size is bounded by the distinct
// durations, not by history), or, for one owner, from the owner's session summaries.
func completionHistogram(db *gorm.DB, appID string, f AnalyticsFilter) ([]durationCount, error) {
	var buckets []durationCount
	if f.Owner == "" {
		byMake := f
		byMake.Make = "" // the histogram's make column is matched here: "*" holds every make
		err := dimensionScope(db.Table("completion_daily").Where("app_id = ? AND make = ? AND day BETWEEN ? AND ?",
			appID, cmp.Or(f.Make, allMakes), dayOf(f.Range.From), dayOf(f.Range.To)), byMake).
			Select("seconds, SUM(sessions) AS sessions").Group("seconds").Order("seconds").Scan(&buckets).Error
		return buckets, err
	}
	var rows []sessionSummary
	err := summaryScope(db, appID, f).Select("started_at, completed_at").
		Where("started_at IS NOT NULL AND completed_at IS NOT NULL").Scan(&rows).Error
	counts := map[int]int{}
	for _, r := range rows {
		secs, _ := secondsToComplete(r)
		counts[secs]++
	}
	for secs, n := range counts {
		buckets = append(buckets, durationCount{secs, n})
	}
	slices.SortFunc(buckets, func(a, b durationCount) int { return a.Seconds - b.Seconds })
	return buckets, err
}

// ratio is num/den, 0 when den is 0.
func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// buildFunnel turns counts by day, step and make into the funnel's figures.
func buildFunnel(cells []funnelCell, errs []ErrorCount, r DateRange) Funnel {
	perStep := map[string]int{}
	for _, c := range cells {
		perStep[c.Step] += c.Sessions
	}
	out := Funnel{Started: perStep[StepLaunched], Completed: perStep[StepCompleted],
		ByMake: byMake(cells), Daily: daily(cells, r)}
	out.ConversionRate = ratio(out.Completed, out.Started)
	for i, step := range FunnelSteps {
		fs := FunnelStep{Step: step, Sessions: perStep[step]}
		if i > 0 && perStep[FunnelSteps[i-1]] > 0 {
			fs.DropOffRate = 1 - ratio(fs.Sessions, perStep[FunnelSteps[i-1]])
		}
		out.Steps = append(out.Steps, fs)
	}
	out.Errors = slices.DeleteFunc(append([]ErrorCount{}, errs...), func(e ErrorCount) bool { return e.Count == 0 })
	for i := range out.Errors {
		out.Errors[i].Share = ratio(out.Errors[i].Count, out.Started)
	}
	slices.SortFunc(out.Errors, func(a, b ErrorCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code)) })
	return out
}

// byMake counts sessions started and completed per make, most started first; makes with neither are left out.
func byMake(cells []funnelCell) []MakeCount {
	makes := map[string]*MakeCount{}
	for _, c := range cells {
		if c.Step != StepLaunched && c.Step != StepCompleted || c.Sessions == 0 {
			continue
		}
		m := makes[c.Make]
		if m == nil {
			m = &MakeCount{Make: c.Make}
			makes[c.Make] = m
		}
		if c.Step == StepLaunched {
			m.Started += c.Sessions
		} else {
			m.Completed += c.Sessions
		}
	}
	out := []MakeCount{}
	for _, m := range makes {
		if m.Started != 0 || m.Completed != 0 {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b MakeCount) int {
		return cmp.Or(cmp.Compare(b.Started, a.Started), cmp.Compare(b.Completed, a.Completed), cmp.Compare(a.Make, b.Make))
	})
	return out
}

// daily lists every day of r with the sessions started that day and how many of them completed.
func daily(cells []funnelCell, r DateRange) []DayCount {
	var out []DayCount
	at := map[string]int{}
	for _, d := range r.days() {
		at[d] = len(out)
		out = append(out, DayCount{Day: d})
	}
	for _, c := range cells {
		i, ok := at[c.Day]
		switch {
		case !ok:
		case c.Step == StepLaunched:
			out[i].Started += c.Sessions
		case c.Step == StepCompleted:
			out[i].Completed += c.Sessions
		}
	}
	return out
}
