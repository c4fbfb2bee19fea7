package handlers

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// analyticsFilter reads the page's filters from the URL, so a view can be shared by its link.
func analyticsFilter(c *fiber.Ctx) (models.AnalyticsFilter, error) {
	r, err := models.ParseDateRange(c.Query("from"), c.Query("to"), time.Now().UTC())
	f := models.AnalyticsFilter{Range: r, Owner: c.Query("owner"), Make: c.Query("make"), Mode: c.Query("mode"),
		IncludeSandbox: c.Query("include_sandbox") == "true"}
	return f, err
}

// headline is one figure with its change against the previous period.
type headline struct {
	Label, Value, Change string
	Trend                string // up, down, or none (no previous data): a CSS class
}

// bar is one horizontal bar of a ranked chart (percent of the largest).
type bar struct {
	Label   string
	Value   int
	Percent float64
	Note    string
}

// column is one day of the daily chart, in SVG units (viewBox 0 0 1000 200).
type column struct {
	Day                                    string
	Started, Completed                     int
	X, W, StartedY, StartedH, DoneY, DoneH float64
}

func (h *Handler) analyticsPage(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	f, rangeErr := analyticsFilter(c)
	if rangeErr != nil {
		f.Range = models.LastDays(30, time.Now().UTC())
	}
	now, err := models.FunnelFor(h.DB, cc.Org.ID, d.ID, f)
	if err != nil {
		return err
	}
	prev := f
	prev.Range = models.PreviousPeriod(f.Range)
	before, err := models.FunnelFor(h.DB, cc.Org.ID, d.ID, prev)
	if err != nil {
		return err
	}
	return h.render(c, "console/app_analytics", h.appData(d, "analytics", fiber.Map{
		"Filter": f, "From": f.Range.From.Format(time.DateOnly), "To": f.Range.To.Format(time.DateOnly),
		"RangeError": models.FieldErrors(rangeErr), "Funnel": now, "Headlines": headlines(now, before),
		"Steps": funnelBars(now), "Errors": errorBars(now), "ByMake": makeBars(now), "Daily": dailyColumns(now),
		"Makes": models.Makes}))
}

// analyticsFunnelCSV is the Analytics tab's download: the funnel under the page's filters.
func (h *Handler) analyticsFunnelCSV(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	f, err := analyticsFilter(c)
	if err != nil {
		return err
	}
	funnel, err := models.FunnelFor(h.DB, cc.Org.ID, d.ID, f)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendCSV(c, csvName("funnel", d.ID, f), funnelCSVTable(funnel))
}

func headlines(now, before models.Funnel) []headline {
	out := []headline{
		{Label: "Sessions started", Value: fmt.Sprint(now.Started)},
		{Label: "Completed", Value: fmt.Sprint(now.Completed)},
		{Label: "Conversion", Value: fmt.Sprintf("%.1f %%", now.ConversionRate*100)},
		{Label: "Median time to connect", Value: fmt.Sprintf("%.0f s", now.MedianSecondsToComplete)},
	}
	b, n := before.Started, now.Started
	changes := []models.Comparison{
		models.CountChange(float64(before.Started), float64(now.Started), b, n),
		models.CountChange(float64(before.Completed), float64(now.Completed), b, n),
		models.RateChange(before.ConversionRate, now.ConversionRate, b, n),
		models.CountChange(before.MedianSecondsToComplete, now.MedianSecondsToComplete, before.Completed, now.Completed),
	}
	for i, ch := range changes {
		out[i].Change, out[i].Trend = changeText(ch)
	}
	return out
}

// changeText words a comparison with the previous period: percent for counts and times, points for
// rates, and "no comparison" when the previous period is no fair baseline.
func changeText(ch models.Comparison) (text, trend string) {
	if !ch.OK {
		return fmt.Sprintf("no comparison (previous period under %d sessions or under a tenth of this one)", models.MinComparableSessions), "muted"
	}
	trend = "up"
	if ch.Value < 0 {
		trend = "down"
	}
	if ch.InPoints {
		return fmt.Sprintf("%+.1f pp vs previous period", ch.Value*100), trend
	}
	return fmt.Sprintf("%+.0f %% vs previous period", ch.Value*100), trend
}

func percentOf(v, max int) float64 {
	if max == 0 {
		return 0
	}
	return float64(v) * 100 / float64(max)
}

func funnelBars(f models.Funnel) []bar {
	var out []bar
	for i, s := range f.Steps {
		b := bar{Label: s.Step, Value: s.Sessions, Percent: percentOf(s.Sessions, f.Started)}
		if i > 0 {
			b.Note = fmt.Sprintf("%.0f %% drop-off", s.DropOffRate*100)
		}
		out = append(out, b)
	}
	return out
}

func errorBars(f models.Funnel) []bar {
	var out []bar
	for _, e := range f.Errors {
		out = append(out, bar{Label: e.Code, Value: e.Count, Percent: percentOf(e.Count, f.Errors[0].Count)})
	}
	return out
}

func makeBars(f models.Funnel) []bar {
	var out []bar
	for _, m := range f.ByMake {
		label := m.Make
		if label == "" {
			label = "(before brand select)"
		}
		out = append(out, bar{Label: label, Value: m.Started, Percent: percentOf(m.Started, f.ByMake[0].Started),
			Note: fmt.Sprintf("%d completed", m.Completed)})
	}
	return out
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

// appFigures is one app's row on the organisation overview.
type appFigures struct {
	models.AppFigures
	Percent float64 // conversion as a bar
}

// orgAnalyticsPage is the organisation overview: each app's headline figures side by side.
func (h *Handler) orgAnalyticsPage(c *fiber.Ctx) error {
	cc, err := h.consoleOrg(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	f, rangeErr := analyticsFilter(c)
	if rangeErr != nil {
		f.Range = models.LastDays(30, time.Now().UTC())
	}
	rows, err := h.orgFigures(cc.Org.ID, f)
	if err != nil {
		return err
	}
	return h.render(c, "console/org_analytics", fiber.Map{"Title": "Analytics", "Active": "analytics", "Rows": rows,
		"Filter": f, "From": f.Range.From.Format(time.DateOnly), "To": f.Range.To.Format(time.DateOnly), "RangeError": models.FieldErrors(rangeErr)})
}

// orgAnalyticsCSV is the overview's download: one row per app.
func (h *Handler) orgAnalyticsCSV(c *fiber.Ctx) error {
	cc, err := h.consoleOrg(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	f, err := analyticsFilter(c)
	if err != nil {
		return err
	}
	figures, err := h.orgFigures(cc.Org.ID, f)
	if err != nil {
		return err
	}
	rows := [][]string{{"app_id", "app", "sessions_started", "sessions_completed", "conversion_rate", "median_seconds_to_complete"}}
	for _, r := range figures {
		rows = append(rows, []string{r.App.ID, r.App.Name, itoa(r.Started), itoa(r.Completed),
			ftoa(r.ConversionRate), ftoa(r.TimeToComplete.Median)})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendCSV(c, csvName("overview", cc.Org.ID, f), rows)
}

// orgFigures is each of the organisation's apps with its headline figures under f.
func (h *Handler) orgFigures(orgID string, f models.AnalyticsFilter) ([]appFigures, error) {
	figures, err := models.OrgOverview(h.DB, orgID, f)
	rows := make([]appFigures, len(figures))
	for i, fig := range figures {
		rows[i] = appFigures{AppFigures: fig, Percent: fig.ConversionRate * 100}
	}
	return rows, err
}
