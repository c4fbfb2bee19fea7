package handlers

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"keyfob/models"
)

// What the Analytics tab shows, as words and shapes: the models give numbers and codes, this file
// turns them into labels, formatted figures and chart positions, so the templates only lay them out.

// headline is one figure of the headline row with its change against the previous period.
type headline struct {
	Label, Value string
	Change       string // "+12 %", "−3.1" (points), "no change" or "no comparison"
	Points       bool   // the change is in percentage points: the page adds "pp"
	Arrow        string // ▲ or ▼, repeating the sign for those who cannot tell the colours apart
	Trend        string // good, bad, flat or none: a CSS class
	Why          string // what the change compares, or why there is none
}

// headlines are the Analytics tab's figures, sessions then owners (repeat attempts as sessions per
// owner); the owner figures are left out for a one-owner filter.
func headlines(now, before models.Funnel, prev models.DateRange) []headline {
	ch := models.CompareFunnels(before, now)
	period := prev.From.Format(time.DateOnly) + " – " + prev.To.Format(time.DateOnly)
	type figure struct {
		label       string
		value, then string
		change      models.FigureChange
		lowerBetter bool
	}
	figures := []figure{
		{"Sessions started", thousands(now.Started), thousands(before.Started), ch.Started, false},
		{"Completed", thousands(now.Completed), thousands(before.Completed), ch.Completed, false},
		{"Session conversion", percentText(now.ConversionRate), percentText(before.ConversionRate), ch.Conversion, false},
		{"Median time to connect", durationText(now.MedianSecondsToComplete, now.Completed),
			durationText(before.MedianSecondsToComplete, before.Completed), ch.MedianSeconds, true},
	}
	if o, b := now.Owners, before.Owners; o != nil && b != nil {
		figures = append(figures,
			figure{"Owners who started", thousands(o.Started), thousands(b.Started), ch.OwnersStarted, false},
			figure{"Owners who connected", thousands(o.Connected), thousands(b.Connected), ch.OwnersConnected, false},
			figure{"Owner conversion", percentText(o.ConversionRate), percentText(b.ConversionRate), ch.OwnerConversion, false},
			// More attempts per owner is friction, so a rise reads as bad; 1.0 means each owner came once.
			figure{"Sessions per owner", perOwnerText(o), perOwnerText(b), ch.SessionsPerOwner, true})
	}
	out := make([]headline, len(figures))
	for i, f := range figures {
		out[i] = changeOf(f.change, f.lowerBetter)
		out[i].Label, out[i].Value = f.label, f.value
		if f.change.OK {
			out[i].Why = f.then + " in the previous period, " + period + "."
		}
	}
	return out
}

// changeOf words a comparison: percent for counts and times, points for rates, and "no comparison"
// (with the reason) when the previous period is no fair baseline for this figure.
func changeOf(c models.FigureChange, lowerBetter bool) headline {
	if !c.OK {
		return headline{Change: "no comparison", Trend: "none",
			Why: fmt.Sprintf("No comparison: the previous period had %s %s; a change is shown when it had at least %d and at least a tenth of this period's %s.",
				thousands(c.Before), c.Of, models.MinComparableSessions, thousands(c.Now))}
	}
	text := fmt.Sprintf("%+.0f %%", c.Value*100)
	if c.InPoints {
		text = fmt.Sprintf("%+.1f", c.Value*100)
	}
	if strings.Trim(text, "+-0. %") == "" { // rounds to nothing
		return headline{Change: "no change", Trend: "flat"}
	}
	h := headline{Change: strings.Replace(text, "-", "−", 1), Points: c.InPoints, Trend: "good", Arrow: "▲"}
	if c.Value < 0 {
		h.Arrow = "▼"
	}
	if (c.Value < 0) != lowerBetter {
		h.Trend = "bad"
	}
	return h
}

// stepRow is one step of the funnel: its sessions, its bar (percent of started) and its drop-off.
type stepRow struct {
	Label, Sessions, Share, DropOff string
	Percent                         float64
}

func funnelRows(f models.Funnel) []stepRow {
	out := make([]stepRow, len(f.Steps))
	for i, s := range f.Steps {
		p := percentOf(s.Sessions, f.Started)
		out[i] = stepRow{Label: models.StepLabel(s.Step), Sessions: thousands(s.Sessions), Percent: p, Share: fmt.Sprintf("%.0f %%", p)}
		if i > 0 {
			out[i].DropOff = fmt.Sprintf("%.0f %%", s.DropOffRate*100)
		}
	}
	return out
}

// errorRow is one error code with its words, its count and its share of the sessions started.
type errorRow struct {
	models.ErrorExplanation
	Sessions, Share string
	Percent         float64 // bar, of the most frequent error
}

func errorRows(f models.Funnel) []errorRow {
	out := make([]errorRow, len(f.Errors))
	for i, e := range f.Errors {
		out[i] = errorRow{ErrorExplanation: models.ExplainError(e.Code), Sessions: thousands(e.Count),
			Share: fmt.Sprintf("%.1f %%", e.Share*100), Percent: percentOf(e.Count, f.Errors[0].Count)}
	}
	return out
}

// errorMatrix is the error × make table: a row per make, a column per error code (most frequent first).
type errorMatrix struct {
	Columns []models.ErrorExplanation
	Rows    []errorMatrixRow
}

type errorMatrixRow struct {
	Make   makeName
	Counts []int
	Total  int
}

func errorsByMake(f models.Funnel) errorMatrix {
	var m errorMatrix
	column := map[string]int{}
	for _, e := range f.Errors {
		column[e.Code] = len(m.Columns)
		m.Columns = append(m.Columns, models.ExplainError(e.Code))
	}
	row := map[string]int{}
	for _, e := range f.ErrorsByMake {
		i, ok := row[e.Make]
		if !ok {
			i, row[e.Make] = len(m.Rows), len(m.Rows)
			m.Rows = append(m.Rows, errorMatrixRow{Make: makeNameOf(e.Make), Counts: make([]int, len(m.Columns))})
		}
		if j, ok := column[e.Code]; ok {
			m.Rows[i].Counts[j] += e.Count
			m.Rows[i].Total += e.Count
		}
	}
	slices.SortStableFunc(m.Rows, func(a, b errorMatrixRow) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Make.Label, b.Make.Label))
	})
	return m
}

// makeName is a make as people read it; NoMake marks sessions that ended before the brand choice.
type makeName struct {
	Label  string
	NoMake bool
}

func makeNameOf(id string) makeName { return makeName{Label: models.MakeLabel(id), NoMake: id == ""} }

// makeRow is one make's sessions, with its bar (percent of the busiest make's started sessions).
type makeRow struct {
	Make                           makeName
	Started, Completed, Conversion string
	Percent                        float64
}

func makeRows(f models.Funnel) []makeRow {
	out := make([]makeRow, len(f.ByMake))
	for i, m := range f.ByMake {
		out[i] = makeRow{Make: makeNameOf(m.Make), Started: thousands(m.Started), Completed: thousands(m.Completed),
			Percent: percentOf(m.Started, f.ByMake[0].Started), Conversion: "—"}
		if m.Started > 0 {
			out[i].Conversion = percentText(float64(m.Completed) / float64(m.Started))
		}
	}
	return out
}

// spread is the time to connect's distribution: its points as words and as positions (0–100) on an
// axis from zero to a little past the 90th percentile.
type spread struct {
	Sessions               string
	P25, Median, P75, P90  string
	X25, XMedian, X75, X90 float64
	BoxW, WhiskerW         float64 // widths of the middle half and of the whisker to the 90th percentile
	AxisEnd                string
	Empty                  bool
}

func spreadOf(d models.Distribution) spread {
	if d.Sessions == 0 {
		return spread{Empty: true}
	}
	end := niceCeiling(d.P90 * 1.1)
	at := func(x float64) float64 { return math.Min(100, x*100/end) }
	return spread{Sessions: thousands(d.Sessions), P25: durationText(d.P25, 1), Median: durationText(d.Median, 1),
		P75: durationText(d.P75, 1), P90: durationText(d.P90, 1), X25: at(d.P25), XMedian: at(d.Median), X75: at(d.P75),
		X90: at(d.P90), AxisEnd: durationText(end, 1), BoxW: at(d.P75) - at(d.P25), WhiskerW: at(d.P90) - at(d.P75)}
}

// niceCeiling rounds an axis end up to 1, 2 or 5 times a power of ten (at least 1 second).
func niceCeiling(x float64) float64 {
	if x <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// column is one day of the daily chart, in SVG units (viewBox 0 0 1000 200).
type column struct {
	Day                                    string
	Started, Completed                     int
	X, W, StartedY, StartedH, DoneY, DoneH float64
}

// dailyColumns lays the daily series out as SVG bars: started (light) behind completed (dark).
func dailyColumns(f models.Funnel) []column {
	peak := 1
	for _, d := range f.Daily {
		peak = max(peak, d.Started)
	}
	n := float64(max(len(f.Daily), 1))
	out := make([]column, 0, len(f.Daily))
	for i, d := range f.Daily {
		w := 1000 / n
		sh := float64(d.Started) * 190 / float64(peak)
		dh := float64(d.Completed) * 190 / float64(peak)
		out = append(out, column{Day: d.Day, Started: d.Started, Completed: d.Completed, X: float64(i)*w + w*0.1, W: w * 0.8,
			StartedY: 200 - sh, StartedH: sh, DoneY: 200 - dh, DoneH: dh})
	}
	return out
}

func percentOf(v, max int) float64 {
	if max == 0 {
		return 0
	}
	return float64(v) * 100 / float64(max)
}

// percentText is a rate as the console shows it: "54.0 %".
func percentText(rate float64) string { return fmt.Sprintf("%.1f %%", rate*100) }

// durationText is a time to connect in words ("1 min 48 s"); "—" without completed sessions.
func durationText(seconds float64, completed int) string {
	if completed == 0 {
		return "—"
	}
	// No-break spaces keep each number with its unit when a narrow column wraps.
	s := int(math.Round(seconds))
	if s < 60 {
		return fmt.Sprintf("%d\u00a0s", s)
	}
	if s < 3600 {
		return fmt.Sprintf("%d\u00a0min %d\u00a0s", s/60, s%60)
	}
	return fmt.Sprintf("%d\u00a0h %d\u00a0min", s/3600, s%3600/60)
}

// perOwnerText is the sessions an owner started on average: "1.8".
func perOwnerText(o *models.OwnerFunnel) string {
	if o.Started == 0 {
		return "—"
	}
	return strconv.FormatFloat(o.SessionsPerOwner, 'f', 1, 64)
}

// thousands writes n with thousands separators: 1,204.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
