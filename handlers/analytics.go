package handlers

import (
	"maps"
	"net/url"
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
		"PrevFrom": prev.Range.From.Format(time.DateOnly), "PrevTo": prev.Range.To.Format(time.DateOnly),
		"RangeError": models.FieldErrors(rangeErr), "Funnel": now, "Headlines": headlines(now, before, prev.Range),
		"Steps": funnelRows(now), "Errors": errorRows(now), "ErrorsByMake": errorsByMake(now), "ByMake": makeRows(now),
		"Daily": dailyColumns(now), "Spread": spreadOf(now.TimeToComplete),
		"Links": analyticsLinks(d.ID, f), "NoMakeHint": models.NoMakeHint, "MinComparable": models.MinComparableSessions,
		"Makes": models.Makes}))
}

// analyticsLinks are the tab's links under its filters: the owners list and a CSV per table.
func analyticsLinks(appID string, f models.AnalyticsFilter) map[string]string {
	v := url.Values{"from": {f.Range.From.Format(time.DateOnly)}, "to": {f.Range.To.Format(time.DateOnly)}}
	for k, x := range map[string]string{"make": f.Make, "mode": f.Mode} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.IncludeSandbox {
		v.Set("include_sandbox", "true")
	}
	owners := maps.Clone(v)
	if f.Owner != "" {
		v.Set("owner", f.Owner)
		owners.Set("q", f.Owner)
	}
	base := "/apps/" + url.PathEscape(appID) + "/analytics"
	q := "?" + v.Encode()
	links := map[string]string{"Owners": base + "/owners?" + owners.Encode(), "Funnel": base + "/funnel.csv" + q}
	owners.Set("sort", models.OwnerSortSessions)
	links["OwnersBySessions"] = base + "/owners?" + owners.Encode()
	for name := range funnelTables {
		links[name] = base + "/funnel/" + name + ".csv" + q
	}
	return links
}

// analyticsFunnelCSV is the Analytics tab's downloads: its figures (funnel.csv) or one of its tables
// (funnel/{table}.csv) under the page's filters.
func (h *Handler) analyticsFunnelCSV(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	f, err := analyticsFilter(c)
	if err != nil {
		return err
	}
	return h.sendFunnelCSV(c, cc.Org.ID, d.ID, f)
}

// appFigures is one app's row on the organisation overview.
type appFigures struct {
	models.AppFigures
	Percent float64  // conversion as a bar
	Shown   shownApp // the figures as the page shows them
}

type shownApp struct{ Started, Completed, Conversion, Median string }

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
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendCSV(c, csvName("overview", cc.Org.ID, f), overviewCSVTable(figures))
}

// orgFigures is each of the organisation's apps with its headline figures under f.
func (h *Handler) orgFigures(orgID string, f models.AnalyticsFilter) ([]appFigures, error) {
	figures, err := models.OrgOverview(h.DB, orgID, f)
	rows := make([]appFigures, len(figures))
	for i, fig := range figures {
		rows[i] = appFigures{AppFigures: fig, Percent: fig.ConversionRate * 100, Shown: shownApp{thousands(fig.Started),
			thousands(fig.Completed), percentText(fig.ConversionRate), durationText(fig.TimeToComplete.Median, fig.Completed)}}
	}
	return rows, err
}
