package models

import (
	"cmp"
	"math"
	"slices"

	"gorm.io/gorm"
)

// Distribution is where the completed sessions' times to complete fall, in whole seconds: a quarter
// took at most P25, half at most Median, and so on (nearest-rank percentiles; the median is the mean
// of the middle two for an even count). All zero without completed sessions.
type Distribution struct {
	Sessions              int
	P25, Median, P75, P90 float64
}

// distributionOf reads the percentiles off a histogram in ascending order of seconds.
func distributionOf(buckets []durationCount) Distribution {
	total := 0
	for _, b := range buckets {
		total += b.Sessions
	}
	if total == 0 {
		return Distribution{}
	}
	at := func(pos int) float64 { // the value at 0-based position pos
		for _, b := range buckets {
			if pos < b.Sessions {
				return float64(b.Seconds)
			}
			pos -= b.Sessions
		}
		return 0
	}
	rank := func(p float64) float64 { return at(max(0, int(math.Ceil(p*float64(total)))-1)) }
	return Distribution{Sessions: total, P25: rank(0.25), Median: (at((total-1)/2) + at(total/2)) / 2,
		P75: rank(0.75), P90: rank(0.90)}
}

// OwnerFunnel counts vehicle owners rather than sessions: how many owners started a session in the
// range, how many of them connected (completed at least one, within the range), and how many sessions
// an owner needed on average. Sessions without an owner are left out.
type OwnerFunnel struct {
	Started          int
	Connected        int
	ConversionRate   float64 // Connected / Started
	Sessions         int     // sessions that name an owner
	SessionsPerOwner float64 // Sessions / Started: repeat attempts show as values above 1
}

// ownerFunnel reads the owner figures of f (which has no owner) from owner_daily.
func ownerFunnel(db *gorm.DB, appID string, f AnalyticsFilter) (*OwnerFunnel, error) {
	var row struct{ Started, Connected, Sessions int }
	err := ownerDailyScope(db, appID, f).Select(`COUNT(DISTINCT owner) AS started,
		COUNT(DISTINCT CASE WHEN completed > 0 THEN owner END) AS connected, COALESCE(SUM(sessions), 0) AS sessions`).Scan(&row).Error
	return &OwnerFunnel{Started: row.Started, Connected: row.Connected, ConversionRate: ratio(row.Connected, row.Started),
		Sessions: row.Sessions, SessionsPerOwner: ratio(row.Sessions, row.Started)}, err
}

// ErrorMakeCount is how many sessions with one make ended with one error code.
type ErrorMakeCount struct {
	Code  string
	Make  string
	Count int
}

// Comparisons with the previous period are shown only when that period is a fair baseline: at least
// MinComparableSessions sessions (below that, one session moves a rate by more than three points and a
// count by several percent: noise, not change), and at least a tenth of the current period's, so a
// period that barely had traffic (a launch month) cannot produce a four-digit "growth".
const MinComparableSessions = 30

// Comparable reports whether a period with before sessions started is a fair baseline for one with now.
func Comparable(before, now int) bool {
	return before >= MinComparableSessions && before*10 >= now
}

// Comparison is a figure's change against the previous period: relative for counts and durations
// (0.25 = +25 %), in points for rates (0.031 = +3.1 pp).
type Comparison struct {
	Value    float64
	InPoints bool
	OK       bool // false: no fair baseline, show "no comparison"
}

// CountChange compares counts (or durations) relatively; ok needs comparable sessions and a non-zero baseline.
func CountChange(before, now float64, beforeSessions, nowSessions int) Comparison {
	if !Comparable(beforeSessions, nowSessions) || before == 0 {
		return Comparison{}
	}
	return Comparison{Value: (now - before) / before, OK: true}
}

// RateChange compares rates in points.
func RateChange(before, now float64, beforeSessions, nowSessions int) Comparison {
	if !Comparable(beforeSessions, nowSessions) {
		return Comparison{}
	}
	return Comparison{Value: now - before, InPoints: true, OK: true}
}

// AppFigures is one app's headline figures in the organisation overview.
type AppFigures struct {
	App            App
	Started        int
	Completed      int
	ConversionRate float64
	TimeToComplete Distribution
}

// OrgOverview is the headline figures of every app of the organisation under f (its owner is
// ignored), in three statements whatever the number of apps: the apps, their launched and completed
// counts, their completion histograms.
func OrgOverview(db *gorm.DB, orgID string, f AnalyticsFilter) (figures []AppFigures, err error) {
	err = withCustomPlans(db, func(db *gorm.DB) error {
		figures, err = orgOverview(db, orgID, f)
		return err
	})
	return figures, err
}

func orgOverview(db *gorm.DB, orgID string, f AnalyticsFilter) ([]AppFigures, error) {
	apps, err := ListApps(db, orgID)
	if err != nil || len(apps) == 0 {
		return nil, err
	}
	if err := checkRange(f.Range); err != nil {
		return nil, err
	}
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.ID
	}
	from, to := dayOf(f.Range.From), dayOf(f.Range.To)
	var counts []struct {
		AppID, Step string
		Sessions    int
	}
	err = dimensionScope(db.Table("funnel_daily").Where("app_id IN ? AND day BETWEEN ? AND ? AND step IN ?",
		ids, from, to, []string{StepLaunched, StepCompleted}), f).
		Select("app_id, step, SUM(sessions) AS sessions").Group("app_id, step").Scan(&counts).Error
	if err != nil {
		return nil, err
	}
	byMake := f
	byMake.Make = ""
	var hist []struct {
		AppID             string
		Seconds, Sessions int
	}
	err = dimensionScope(db.Table("completion_daily").Where("app_id IN ? AND make = ? AND day BETWEEN ? AND ?",
		ids, cmp.Or(f.Make, allMakes), from, to), byMake).
		Select("app_id, seconds, SUM(sessions) AS sessions").Group("app_id, seconds").Order("app_id, seconds").Scan(&hist).Error
	if err != nil {
		return nil, err
	}
	out := make([]AppFigures, len(apps))
	at := map[string]int{}
	for i, a := range apps {
		out[i], at[a.ID] = AppFigures{App: a}, i
	}
	for _, c := range counts {
		if c.Step == StepLaunched {
			out[at[c.AppID]].Started += c.Sessions
		} else {
			out[at[c.AppID]].Completed += c.Sessions
		}
	}
	buckets := map[string][]durationCount{}
	for _, h := range hist {
		buckets[h.AppID] = append(buckets[h.AppID], durationCount{h.Seconds, h.Sessions})
	}
	for i := range out {
		out[i].ConversionRate = ratio(out[i].Completed, out[i].Started)
		out[i].TimeToComplete = distributionOf(buckets[out[i].App.ID])
	}
	slices.SortStableFunc(out, func(a, b AppFigures) int { return cmp.Compare(b.Started, a.Started) })
	return out, nil
}
