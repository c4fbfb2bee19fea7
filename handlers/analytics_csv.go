package handlers

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// The analytics CSV downloads: one table per file, a header row in words, labels rather than codes
// (an error keeps its code in a column of its own, since that is what people search for), rates to four
// places, seconds to one, dates and times in ISO 8601 (UTC). The console and the API's .csv routes
// send the same tables; JSON keeps the codes.

// funnelTables are the funnel's breakdowns, each a download of its own at funnel/{name}.csv; the
// headline figures are funnel.csv.
var funnelTables = map[string]func(models.Funnel) [][]string{
	"steps":          stepsTable,
	"errors":         errorsTable,
	"errors-by-make": errorsByMakeTable,
	"makes":          makesTable,
	"daily":          dailyTable,
}

// funnelTable is the table a funnel CSV route names: funnel.csv ("") is the figures.
func funnelTable(name string) (func(models.Funnel) [][]string, string, bool) {
	if name == "" {
		return summaryTable, "funnel", true
	}
	table, ok := funnelTables[name]
	return table, "funnel-" + name, ok
}

// sendFunnelCSV answers the funnel table named by the route's :table under f.
func (h *Handler) sendFunnelCSV(c *fiber.Ctx, orgID, appID string, f models.AnalyticsFilter) error {
	table, name, ok := funnelTable(c.Params("table"))
	if !ok {
		return models.ErrNotFound
	}
	funnel, err := models.FunnelFor(h.DB, orgID, appID, f)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendCSV(c, csvName(name, appID, f), table(funnel))
}

// summaryTable is the headline figures as one row; owner figures are empty for a one-owner filter.
func summaryTable(f models.Funnel) [][]string {
	row := append([]string{itoa(f.Started), itoa(f.Completed), rateCell(f.ConversionRate), "", "", "", ""},
		distributionCells(f.TimeToComplete)...)
	if o := f.Owners; o != nil {
		row[3], row[4], row[5], row[6] = itoa(o.Started), itoa(o.Connected), rateCell(o.ConversionRate), strconv.FormatFloat(o.SessionsPerOwner, 'f', 2, 64)
	}
	return [][]string{{"Sessions started", "Sessions completed", "Session conversion", "Owners who started", "Owners who connected",
		"Owner conversion", "Sessions per owner", "Seconds to connect, 25th percentile", "Seconds to connect, median",
		"Seconds to connect, 75th percentile", "Seconds to connect, 90th percentile"}, row}
}

func stepsTable(f models.Funnel) [][]string {
	rows := [][]string{{"Step", "Sessions", "Share of sessions started", "Drop-off from previous step"}}
	for i, s := range f.Steps {
		dropOff := ""
		if i > 0 {
			dropOff = rateCell(s.DropOffRate)
		}
		rows = append(rows, []string{models.StepLabel(s.Step), itoa(s.Sessions), shareCell(s.Sessions, f.Started), dropOff})
	}
	return rows
}

func errorsTable(f models.Funnel) [][]string {
	rows := [][]string{{"Error", "Error code", "Sessions", "Share of sessions started", "What happened", "What to do"}}
	for _, e := range f.Errors {
		x := models.ExplainError(e.Code)
		rows = append(rows, []string{x.Label, e.Code, itoa(e.Count), rateCell(e.Share), x.Description, x.Action})
	}
	return rows
}

func errorsByMakeTable(f models.Funnel) [][]string {
	rows := [][]string{{"Make", "Error", "Error code", "Sessions"}}
	for _, e := range f.ErrorsByMake {
		rows = append(rows, []string{models.MakeLabel(e.Make), models.ExplainError(e.Code).Label, e.Code, itoa(e.Count)})
	}
	return rows
}

func makesTable(f models.Funnel) [][]string {
	rows := [][]string{{"Make", "Sessions started", "Sessions completed", "Conversion"}}
	for _, m := range f.ByMake {
		rows = append(rows, []string{models.MakeLabel(m.Make), itoa(m.Started), itoa(m.Completed), shareCell(m.Completed, m.Started)})
	}
	return rows
}

func dailyTable(f models.Funnel) [][]string {
	rows := [][]string{{"Day", "Sessions started", "Sessions completed"}}
	for _, d := range f.Daily {
		rows = append(rows, []string{d.Day, itoa(d.Started), itoa(d.Completed)})
	}
	return rows
}

// ownersHeader and ownerCSVRow are the owners list as a table.
var ownersHeader = []string{"Owner id", "Sessions", "Completed", "Conversion", "Last seen (UTC)", "Last outcome"}

func ownerCSVRow(o models.OwnerRow) []string {
	return []string{o.Owner, itoa(o.Sessions), itoa(o.Completed), rateCell(o.ConversionRate), rfc3339(o.LastSeenAt), models.OutcomeLabel(o.LastOutcome)}
}

// maxOwnersCSV bounds an owners export, which pages through the whole list in one response.
const maxOwnersCSV = 100_000

// ownersCSV exports the first max owners under f in the requested order (the cursor is for pages,
// not exports).
func (h *Handler) ownersCSV(c *fiber.Ctx, app models.App, f models.AnalyticsFilter, sort string, max int) error {
	rows := [][]string{ownersHeader}
	cursor := ""
	for len(rows) <= max {
		owners, next, err := models.OwnersFor(h.DB, app.OrgID, app.ID, f, sort, min(500, max+1-len(rows)), cursor)
		if err != nil {
			return err
		}
		for _, o := range owners {
			rows = append(rows, ownerCSVRow(o))
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	return sendCSV(c, csvName("owners", app.ID, f), rows)
}

// timelineCSVTable is an owner's timeline, one row per event.
func timelineCSVTable(row models.OwnerRow, sessions []models.TimelineSession) [][]string {
	rows := [][]string{{"Owner id", "Session id", "Session started (UTC)", "Session outcome", "Step", "At (UTC)", "Make", "Error", "Error code"}}
	for _, s := range sessions {
		for _, e := range s.Events {
			brand, problem := "", ""
			if e.Make != "" {
				brand = models.MakeLabel(e.Make)
			}
			if e.Error != "" {
				problem = models.ExplainError(e.Error).Label
			}
			rows = append(rows, []string{row.Owner, s.SessionID, rfc3339(s.StartedAt), models.OutcomeLabel(s.Outcome),
				models.StepLabel(e.Step), rfc3339(e.At), brand, problem, e.Error})
		}
	}
	return rows
}

// overviewCSVTable is the organisation overview, one row per app.
func overviewCSVTable(figures []appFigures) [][]string {
	rows := [][]string{{"App id", "Application", "Sessions started", "Sessions completed", "Conversion",
		"Seconds to connect, 25th percentile", "Seconds to connect, median", "Seconds to connect, 75th percentile", "Seconds to connect, 90th percentile"}}
	for _, r := range figures {
		rows = append(rows, append([]string{r.App.ID, r.App.Name, itoa(r.Started), itoa(r.Completed), rateCell(r.ConversionRate)},
			distributionCells(r.TimeToComplete)...))
	}
	return rows
}

func itoa(n int) string { return strconv.Itoa(n) }

// rateCell is a rate between 0 and 1 to four places (0.5400), as spreadsheets read it.
func rateCell(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }

// shareCell is num/den as a rate, empty when there is nothing to divide by.
func shareCell(num, den int) string {
	if den == 0 {
		return ""
	}
	return rateCell(float64(num) / float64(den))
}

// secondsCell is a duration in seconds to one place (medians of an even count end in .5).
func secondsCell(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// distributionCells are the quartiles and 90th percentile of a time to connect, empty without completions.
func distributionCells(d models.Distribution) []string {
	if d.Sessions == 0 {
		return []string{"", "", "", ""}
	}
	return []string{secondsCell(d.P25), secondsCell(d.Median), secondsCell(d.P75), secondsCell(d.P90)}
}

// csvName is the download's file name: what, which app, which days.
func csvName(what, appID string, f models.AnalyticsFilter) string {
	return fmt.Sprintf("keyfob-%s-%s-%s-%s.csv", what, appID, f.Range.From.UTC().Format(time.DateOnly), f.Range.To.UTC().Format(time.DateOnly))
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// fileSafe keeps a client-chosen name out of the Content-Disposition header's syntax.
func fileSafe(s string) string {
	s = unsafeFileChars.ReplaceAllString(s, "_")
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}
