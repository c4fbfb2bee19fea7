package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// The console's owners list: who went through Connect, searchable, sortable and paged, each owner
// with a timeline of their sessions. The filters are read from the URL and kept in every link, so
// a view can be shared by its address.

// ownersPageSize is the console's page of owners when the URL names none; the API's limit rules apply.
const ownersPageSize = 50

// ownersPageSizes are the page sizes offered in the filter form.
var ownersPageSizes = []string{"10", "25", "50", "100"}

// ownersList is the owners page's state as read from the URL, with what could not be used explained.
type ownersList struct {
	Filter   models.AnalyticsFilter
	Sort     string // "" is the default order (last seen)
	Limit    int
	Cursor   string
	Problems []string
	kept     url.Values // the analytics filters, search and page size, carried by every link
}

func readOwnersList(c *fiber.Ctx) ownersList {
	f, rangeErr := analyticsFilter(c)
	if q := strings.TrimSpace(c.Query("q")); q != "" {
		f.Owner = q // the search box; owner= (from the analytics tab's filters) works too
	}
	st := ownersList{Filter: f, Sort: c.Query("sort"), Cursor: c.Query("cursor"), Limit: ownersPageSize, kept: url.Values{}}
	if rangeErr != nil {
		st.Filter.Range = models.LastDays(30, time.Now().UTC())
		st.explain(rangeErr, "Showing the last 30 days instead.")
	} else {
		st.keep(c, "from", "to")
	}
	st.keep(c, "make", "mode")
	if f.IncludeSandbox {
		st.kept.Set("include_sandbox", "true")
	}
	if st.Filter.Owner != "" {
		st.kept.Set("q", st.Filter.Owner)
	}
	if raw := c.Query("limit"); raw != "" {
		if n, err := strconv.Atoi(raw); err == nil && n >= 1 && n <= 500 {
			st.Limit = n
			st.kept.Set("limit", raw)
		} else {
			st.explain(models.Invalid("limit", "invalid_limit", "Use a page size from 1 to 500."),
				fmt.Sprintf("Showing %d per page instead.", ownersPageSize))
		}
	}
	return st
}

func (st *ownersList) keep(c *fiber.Ctx, keys ...string) {
	for _, k := range keys {
		if v := c.Query(k); v != "" {
			st.kept.Set(k, v)
		}
	}
}

func (st *ownersList) explain(err error, fallback string) {
	for _, msg := range models.FieldErrors(err) {
		st.Problems = append(st.Problems, msg+" "+fallback)
	}
}

// query is "?" and the kept parameters with pairs (name, value) set on top; empty values are left out.
func (st ownersList) query(pairs ...string) string {
	v := maps.Clone(st.kept)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// fetch reads the page of owners; a sort or cursor the models refuse is explained and replaced by its
// default, as a bad date is, so a stale or edited link still shows something useful.
func (st *ownersList) fetch(h *Handler, orgID, appID string) ([]models.OwnerRow, string, error) {
	for {
		owners, next, err := models.OwnersFor(h.DB, orgID, appID, st.Filter, st.Sort, st.Limit, st.Cursor)
		var invalid *models.ValidationError
		switch {
		case !errors.As(err, &invalid):
			return owners, next, err
		case invalid.Field == "sort" && st.Sort != "":
			st.Sort = ""
			st.explain(err, "Sorted by last seen instead.")
		case invalid.Field == "cursor" && st.Cursor != "":
			st.Cursor = ""
			st.explain(err, "Showing the first page instead.")
		default:
			return nil, "", err
		}
	}
}

// ownerSegment escapes an owner id as one path segment. Dots are escaped too, so that an owner
// named "x.csv" is not taken for the CSV of owner "x".
func ownerSegment(owner string) string {
	return strings.ReplaceAll(url.PathEscape(owner), ".", "%2E")
}

// ownerView is one row of the owners table.
type ownerView struct {
	Owner, Conversion, URL string
	Sessions, Completed    int
	LastSeen               time.Time
	Outcome                outcomeView
}

// outcomeView is a session's outcome as words, with a badge class that only repeats them in colour.
type outcomeView struct{ Label, Class string }

var outcomeBadges = map[string]string{
	models.StepCompleted:     "badge badge-active",
	models.StepError:         "badge badge-expired",
	models.StepExited:        "badge badge-expiring",
	models.OutcomeInProgress: "badge badge-test",
}

func outcomeOf(outcome string) outcomeView {
	return outcomeView{models.OutcomeLabel(outcome), cmp.Or(outcomeBadges[outcome], "badge")}
}

func conversionText(rate float64) string { return percentText(rate) }

// sortHeader is a column of the owners table; sortable columns link to the list in their order.
type sortHeader struct {
	Label, URL, AriaSort string
	Num                  bool
}

// ownerColumns are the table's columns with their sort (if any) and its direction.
var ownerColumns = []struct {
	Label, Sort, Direction string
	Num                    bool
}{
	{"Owner id", models.OwnerSortOwner, "ascending", false},
	{"Sessions", models.OwnerSortSessions, "descending", true},
	{"Completed", "", "", true},
	{"Conversion", models.OwnerSortConversion, "descending", true},
	{"Last seen (UTC)", models.OwnerSortLastSeen, "descending", false},
	{"Last outcome", "", "", false},
}

func (st ownersList) headers(path string) []sortHeader {
	active := orDefault(st.Sort, models.OwnerSortLastSeen)
	out := make([]sortHeader, 0, len(ownerColumns))
	for _, col := range ownerColumns {
		header := sortHeader{Label: col.Label, Num: col.Num}
		if col.Sort != "" {
			header.URL = path + st.query("sort", col.Sort)
			header.AriaSort = "none"
			if col.Sort == active {
				header.AriaSort = col.Direction
			}
		}
		out = append(out, header)
	}
	return out
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func (h *Handler) analyticsOwnersPage(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	st := readOwnersList(c)
	owners, next, err := st.fetch(h, cc.Org.ID, d.ID)
	if err != nil {
		return err
	}
	total, err := models.OwnersCount(h.DB, cc.Org.ID, d.ID, st.Filter)
	if err != nil {
		return err
	}
	first := pageStart(c.Query("start"), st.Cursor, len(owners), total)
	path := "/apps/" + url.PathEscape(d.ID) + "/analytics/owners"
	back := st.query("sort", st.Sort, "cursor", st.Cursor, "start", positionParam(first, st.Cursor))
	rows := make([]ownerView, len(owners))
	for i, o := range owners {
		rows[i] = ownerView{Owner: o.Owner, Sessions: o.Sessions, Completed: o.Completed, Conversion: conversionText(o.ConversionRate),
			LastSeen: o.LastSeenAt, Outcome: outcomeOf(o.LastOutcome), URL: path + "/" + ownerSegment(o.Owner) + back}
	}
	sizes := ownersPageSizes
	if limit := strconv.Itoa(st.Limit); !slices.Contains(sizes, limit) {
		sizes = append(slices.Clone(sizes), limit)
	}
	links := fiber.Map{"CSV": path + ".csv" + st.query("sort", st.Sort), "Analytics": "/apps/" + url.PathEscape(d.ID) + "/analytics" + analyticsQuery(st),
		"First": "", "Next": ""}
	if st.Cursor != "" {
		links["First"] = path + st.query("sort", st.Sort)
	}
	if next != "" {
		start := ""
		if first > 0 {
			start = positionParam(first+len(owners), next)
		}
		links["Next"] = path + st.query("sort", st.Sort, "cursor", next, "start", start)
	}
	return h.render(c, "console/app_analytics_owners", h.appData(d, "analytics", fiber.Map{
		"Title": "Owners · " + d.Name, "Filter": st.Filter, "Sort": st.Sort, "Limit": strconv.Itoa(st.Limit), "PageSizes": sizes,
		"From": st.Filter.Range.From.Format(time.DateOnly), "To": st.Filter.Range.To.Format(time.DateOnly),
		"Problems": st.Problems, "Headers": st.headers(path), "Owners": rows, "Links": links, "Makes": models.Makes,
		"Position": pagePosition(first, len(owners), total)}))
}

// pageStart is the position (from 1) of a page's first owner: 1 on the first page, else the start= its
// Next link carried, when it fits the total; 0 when unknown (an edited or stale link), so the page
// then says how many it shows rather than a wrong position.
func pageStart(raw, cursor string, n, total int) int {
	if cursor == "" {
		return 1
	}
	start, err := strconv.Atoi(raw)
	if err != nil || start < 2 || start+n-1 > total {
		return 0
	}
	return start
}

// positionParam is the start= a link to a page carries: none for the first page or an unknown start.
func positionParam(first int, cursor string) string {
	if cursor == "" || first < 2 {
		return ""
	}
	return strconv.Itoa(first)
}

// pagePosition says where the page is in the list: "1–50 of 1,204 owners".
func pagePosition(first, n, total int) string {
	noun := "owners"
	if total == 1 {
		noun = "owner"
	}
	switch {
	case n == 0:
		return fmt.Sprintf("None of %s %s on this page", thousands(total), noun)
	case first == 0:
		return fmt.Sprintf("%s on this page, of %s %s", thousands(n), thousands(total), noun)
	case n == 1:
		return fmt.Sprintf("%s of %s %s", thousands(first), thousands(total), noun)
	}
	return fmt.Sprintf("%s–%s of %s %s", thousands(first), thousands(first+n-1), thousands(total), noun)
}

// filterMakeLabel is the make filter's name, empty without one.
func filterMakeLabel(id string) string {
	if id == "" {
		return ""
	}
	return models.MakeLabel(id)
}

// analyticsQuery is the list's filters as the analytics tab reads them (it has no search or pages).
func analyticsQuery(st ownersList) string {
	v := url.Values{}
	for _, k := range []string{"from", "to", "make", "mode", "include_sandbox"} {
		if x := st.kept.Get(k); x != "" {
			v.Set(k, x)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// timelineView is one session of an owner's timeline.
type timelineView struct {
	SessionID string
	StartedAt time.Time
	Outcome   outcomeView
	Events    []eventView
}

// eventView is one step of a session in words: the step, the make's name, the error explained.
type eventView struct {
	Step, Make string
	At         time.Time
	Error      *models.ErrorExplanation
}

func eventViews(events []models.TimelineEvent) []eventView {
	out := make([]eventView, len(events))
	for i, e := range events {
		out[i] = eventView{Step: models.StepLabel(e.Step), At: e.At}
		if e.Make != "" {
			out[i].Make = models.MakeLabel(e.Make)
		}
		if e.Error != "" {
			x := models.ExplainError(e.Error)
			out[i].Error = &x
		}
	}
	return out
}

func (h *Handler) analyticsOwnerPage(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	owner, err := ownerParam(c)
	if err != nil {
		return err
	}
	st := readOwnersList(c)
	row, sessions, err := models.OwnerTimeline(h.DB, cc.Org.ID, d.ID, owner, st.Filter)
	if err != nil {
		return err
	}
	timeline := make([]timelineView, len(sessions))
	for i, s := range sessions {
		timeline[i] = timelineView{SessionID: s.SessionID, StartedAt: s.StartedAt, Outcome: outcomeOf(s.Outcome), Events: eventViews(s.Events)}
	}
	list := "/apps/" + url.PathEscape(d.ID) + "/analytics/owners"
	totals := ownerView{Owner: row.Owner, Sessions: row.Sessions, Completed: row.Completed, Conversion: conversionText(row.ConversionRate),
		LastSeen: row.LastSeenAt, Outcome: outcomeOf(row.LastOutcome)}
	return h.render(c, "console/app_analytics_owner", h.appData(d, "analytics", fiber.Map{
		"Title": row.Owner + " · Owners · " + d.Name, "Owner": totals, "FilterMake": filterMakeLabel(st.Filter.Make), "Timeline": timeline, "Problems": st.Problems,
		"From": st.Filter.Range.From.Format(time.DateOnly), "To": st.Filter.Range.To.Format(time.DateOnly), "Filter": st.Filter,
		"BackURL": list + st.query("sort", c.Query("sort"), "cursor", c.Query("cursor"), "start", c.Query("start")),
		"CSV":     list + "/" + ownerSegment(owner) + ".csv" + analyticsQuery(st)}))
}

// analyticsOwnersCSV downloads the owners list as the API does (the API takes bearer tokens only).
func (h *Handler) analyticsOwnersCSV(c *fiber.Ctx) error {
	_, d, err := h.consoleApp(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	f, err := analyticsFilter(c)
	if err != nil {
		return err
	}
	if q := strings.TrimSpace(c.Query("q")); q != "" {
		f.Owner = q
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.ownersCSV(c, d.App, f, c.Query("sort"), maxOwnersCSV)
}

// analyticsOwnerCSV downloads one owner's timeline, one row per event, in the API's columns.
func (h *Handler) analyticsOwnerCSV(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionReadAnalytics)
	if err != nil {
		return err
	}
	owner, err := ownerParam(c)
	if err != nil {
		return err
	}
	f, err := analyticsFilter(c)
	if err != nil {
		return err
	}
	row, sessions, err := models.OwnerTimeline(h.DB, cc.Org.ID, d.ID, owner, f)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendCSV(c, csvName("owner-"+fileSafe(owner), d.ID, f), timelineCSVTable(row, sessions))
}
