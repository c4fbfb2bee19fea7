package handlers

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// JSON shapes of api.md §Analytics.

type funnelStepJSON struct {
	Step        string  `json:"step"`
	Sessions    int     `json:"sessions"`
	DropOffRate float64 `json:"drop_off_rate"`
}

type errorCountJSON struct {
	Code  string  `json:"code"`
	Count int     `json:"count"`
	Share float64 `json:"share"` // of the sessions started
}

type errorMakeJSON struct {
	Code  string `json:"code"`
	Make  string `json:"make"`
	Count int    `json:"count"`
}

type distributionJSON struct {
	Sessions int     `json:"sessions"`
	P25      float64 `json:"p25"`
	Median   float64 `json:"median"`
	P75      float64 `json:"p75"`
	P90      float64 `json:"p90"`
}

type ownerFunnelJSON struct {
	Started          int     `json:"started"`
	Connected        int     `json:"connected"`
	ConversionRate   float64 `json:"conversion_rate"`
	Sessions         int     `json:"sessions"`
	SessionsPerOwner float64 `json:"sessions_per_owner"`
}

type makeCountJSON struct {
	Make      string `json:"make"`
	Started   int    `json:"started"`
	Completed int    `json:"completed"`
}

type dayCountJSON struct {
	Day       string `json:"day"`
	Started   int    `json:"started"`
	Completed int    `json:"completed"`
}

type funnelJSON struct {
	SessionsStarted         int              `json:"sessions_started"`
	SessionsCompleted       int              `json:"sessions_completed"`
	ConversionRate          float64          `json:"conversion_rate"`
	MedianSecondsToComplete float64          `json:"median_seconds_to_complete"`
	SecondsToComplete       distributionJSON `json:"seconds_to_complete"`
	Owners                  *ownerFunnelJSON `json:"owners,omitempty"` // absent for a one-owner filter
	Steps                   []funnelStepJSON `json:"steps"`
	Errors                  []errorCountJSON `json:"errors"`
	ErrorsByMake            []errorMakeJSON  `json:"errors_by_make"`
	ByMake                  []makeCountJSON  `json:"by_make"`
	Daily                   []dayCountJSON   `json:"daily"`
}

type ownerJSON struct {
	Owner          string  `json:"owner"`
	Sessions       int     `json:"sessions"`
	Completed      int     `json:"completed"`
	ConversionRate float64 `json:"conversion_rate"`
	LastSeenAt     string  `json:"last_seen_at"`
	LastOutcome    string  `json:"last_outcome"`
}

type timelineEventJSON struct {
	Step  string `json:"step"`
	At    string `json:"at"`
	Make  string `json:"make"`
	Error string `json:"error"`
}

type timelineSessionJSON struct {
	SessionID string              `json:"session_id"`
	StartedAt string              `json:"started_at"`
	Outcome   string              `json:"outcome"`
	Events    []timelineEventJSON `json:"events"`
}

type ownerTimelineJSON struct {
	Owner          string                `json:"owner"`
	Sessions       int                   `json:"sessions"`
	Completed      int                   `json:"completed"`
	ConversionRate float64               `json:"conversion_rate"`
	Timeline       []timelineSessionJSON `json:"timeline"`
}

func toFunnelJSON(f models.Funnel) funnelJSON {
	d := f.TimeToComplete
	out := funnelJSON{SessionsStarted: f.Started, SessionsCompleted: f.Completed, ConversionRate: f.ConversionRate,
		MedianSecondsToComplete: f.MedianSecondsToComplete, SecondsToComplete: distributionJSON{d.Sessions, d.P25, d.Median, d.P75, d.P90},
		Steps: []funnelStepJSON{}, Errors: []errorCountJSON{}, ErrorsByMake: []errorMakeJSON{}, ByMake: []makeCountJSON{}, Daily: []dayCountJSON{}}
	if o := f.Owners; o != nil {
		out.Owners = &ownerFunnelJSON{o.Started, o.Connected, o.ConversionRate, o.Sessions, o.SessionsPerOwner}
	}
	for _, e := range f.ErrorsByMake {
		out.ErrorsByMake = append(out.ErrorsByMake, errorMakeJSON{e.Code, e.Make, e.Count})
	}
	for _, s := range f.Steps {
		out.Steps = append(out.Steps, funnelStepJSON{s.Step, s.Sessions, s.DropOffRate})
	}
	for _, e := range f.Errors {
		out.Errors = append(out.Errors, errorCountJSON{e.Code, e.Count, e.Share})
	}
	for _, m := range f.ByMake {
		out.ByMake = append(out.ByMake, makeCountJSON{m.Make, m.Started, m.Completed})
	}
	for _, d := range f.Daily {
		out.Daily = append(out.Daily, dayCountJSON{d.Day, d.Started, d.Completed})
	}
	return out
}

func toOwnerJSON(r models.OwnerRow) ownerJSON {
	return ownerJSON{Owner: r.Owner, Sessions: r.Sessions, Completed: r.Completed, ConversionRate: r.ConversionRate,
		LastSeenAt: rfc3339(r.LastSeenAt), LastOutcome: r.LastOutcome}
}

func toTimelineJSON(r models.OwnerRow, sessions []models.TimelineSession) ownerTimelineJSON {
	out := ownerTimelineJSON{Owner: r.Owner, Sessions: r.Sessions, Completed: r.Completed, ConversionRate: r.ConversionRate,
		Timeline: []timelineSessionJSON{}}
	for _, s := range sessions {
		ts := timelineSessionJSON{SessionID: s.SessionID, StartedAt: rfc3339(s.StartedAt), Outcome: s.Outcome, Events: []timelineEventJSON{}}
		for _, e := range s.Events {
			ts.Events = append(ts.Events, timelineEventJSON{Step: e.Step, At: rfc3339(e.At), Make: e.Make, Error: e.Error})
		}
		out.Timeline = append(out.Timeline, ts)
	}
	return out
}

// analyticsRequest is the app named in the path (checked for the caller's role) and the filter of the query.
func (h *Handler) analyticsRequest(c *fiber.Ctx) (models.App, models.AnalyticsFilter, error) {
	app, _, err := h.apiApp(c, models.ActionReadAnalytics)
	if err != nil {
		return app, models.AnalyticsFilter{}, err
	}
	// The console pages read the same parameters the same way (analytics.go).
	f, err := analyticsFilter(c)
	return app, f, err
}

func (h *Handler) apiAnalyticsFunnel(c *fiber.Ctx) error {
	app, f, err := h.analyticsRequest(c)
	if err != nil {
		return err
	}
	if wantsCSV(c) { // funnel.csv, or one of its tables at funnel/{table}.csv
		return h.sendFunnelCSV(c, app.OrgID, app.ID, f)
	}
	funnel, err := models.FunnelFor(h.DB, app.OrgID, app.ID, f)
	if err != nil {
		return err
	}
	return c.JSON(toFunnelJSON(funnel))
}

func (h *Handler) apiAnalyticsOwners(c *fiber.Ctx) error {
	app, f, err := h.analyticsRequest(c)
	if err != nil {
		return err
	}
	sort := c.Query("sort")
	if wantsCSV(c) {
		rows := maxOwnersCSV
		if raw := c.Query("limit"); raw != "" {
			if rows, err = strconv.Atoi(raw); err != nil || rows < 1 || rows > maxOwnersCSV {
				return models.Invalid("limit", "invalid_limit", "An export takes a limit from 1 to 100,000 owners.")
			}
		}
		return h.ownersCSV(c, app, f, sort, rows)
	}
	limit := 0
	if raw := c.Query("limit"); raw != "" {
		if limit, err = strconv.Atoi(raw); err != nil || limit < 1 {
			return models.Invalid("limit", "invalid_limit", "Use a limit from 1 to 500.")
		}
	}
	owners, next, err := models.OwnersFor(h.DB, app.OrgID, app.ID, f, sort, limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	total, err := models.OwnersCount(h.DB, app.OrgID, app.ID, f)
	if err != nil {
		return err
	}
	out := make([]ownerJSON, 0, len(owners))
	for _, o := range owners {
		out = append(out, toOwnerJSON(o))
	}
	var nextCursor *string
	if next != "" {
		nextCursor = &next
	}
	return c.JSON(fiber.Map{"owners": out, "next_cursor": nextCursor, "total": total})
}

func (h *Handler) apiAnalyticsOwner(c *fiber.Ctx) error {
	app, f, err := h.analyticsRequest(c)
	if err != nil {
		return err
	}
	owner, err := ownerParam(c)
	if err != nil {
		return err
	}
	row, sessions, err := models.OwnerTimeline(h.DB, app.OrgID, app.ID, owner, f)
	if err != nil {
		return err
	}
	if !wantsCSV(c) {
		return c.JSON(toTimelineJSON(row, sessions))
	}
	return sendCSV(c, csvName("owner-"+fileSafe(owner), app.ID, f), timelineCSVTable(row, sessions))
}

// ownerParam is the :owner path segment, percent-decoded (owner ids are any text); undecodable is a 404.
func ownerParam(c *fiber.Ctx) (string, error) {
	owner, err := url.PathUnescape(c.Params("owner"))
	if err != nil {
		return "", models.ErrNotFound
	}
	return owner, nil
}

// wantsCSV reports whether the path asked for CSV with a .csv suffix.
func wantsCSV(c *fiber.Ctx) bool { return strings.HasSuffix(c.Path(), ".csv") }
