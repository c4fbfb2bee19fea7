package handlers

import (
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
)

// ownersDay0 is the first day of the owners fixture; ownersRange covers all of it.
var ownersDay0 = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)

const (
	ownersRange  = "from=2025-04-01&to=2025-04-03"
	scriptOwner  = `<script>x</script>`
	slashOwner   = "fleet/7 Driver"
	dottedOwner  = "report.csv"
	emailOwner   = "alice@example.com"
	exitedReason = "user_manually_returned_to_application"
)

// ownerSession is one Connect session of the fixture: steps are "step", "step/MAKE" or "step/MAKE/code", a second apart.
type ownerSession struct {
	id, owner string
	start     time.Time
	steps     []string
}

var connectedSteps = []string{"launched", "brand_selected/BMW", "signed_in/BMW", "vehicles_selected/BMW", "permissions_approved/BMW", "completed/BMW"}

// ownersFixture: alice connects twice and fails once (an error), bob exits, the script owner only
// launches, the slash owner completes, and the dotted owner only launches; all within three days of day0.
func ownersFixture(day0 time.Time) []ownerSession {
	return []ownerSession{
		{"a1", emailOwner, day0.Add(9 * time.Hour), connectedSteps},
		{"a2", emailOwner, day0.Add(11 * time.Hour), []string{"launched", "brand_selected/BMW", "error/BMW/vehicle_incompatible"}},
		{"a3", emailOwner, day0.Add(32 * time.Hour), connectedSteps},
		{"b1", "bob", day0.Add(34 * time.Hour), []string{"launched", "brand_selected/FORD", "exited/FORD/" + exitedReason}},
		{"x1", scriptOwner, day0.Add(12 * time.Hour), []string{"launched"}},
		{"f1", slashOwner, day0.Add(55 * time.Hour), []string{"launched", "brand_selected/KIA", "completed/KIA"}},
		{"r1", dottedOwner, day0.Add(8 * time.Hour), []string{"launched"}},
	}
}

// loadOwnerSessions records sessions, last event first, as a late front end might send them.
func loadOwnerSessions(t *testing.T, db *gorm.DB, appID string, sessions []ownerSession) {
	t.Helper()
	for _, s := range sessions {
		for i := len(s.steps) - 1; i >= 0; i-- {
			parts := strings.SplitN(s.steps[i]+"//", "/", 3)
			e := models.SessionEvent{ID: fmt.Sprintf("%s-%d", s.id, i), SessionID: s.id, AppID: appID, Owner: s.owner,
				Step: parts[0], Make: parts[1], Mode: "live", ErrorCode: strings.TrimRight(parts[2], "/"),
				OccurredAt: s.start.Add(time.Duration(i) * time.Second)}
			if err := db.Transaction(func(tx *gorm.DB) error { _, err := models.RecordEvent(tx, e, false); return err }); err != nil {
				t.Fatalf("RecordEvent %s: %v", e.ID, err)
			}
		}
	}
}

// ownersPageServer has an org with the fixture loaded, and an analyst of the org signed in to it.
func ownersPageServer(t *testing.T) (*testServer, *browser, string) {
	t.Helper()
	s := newTestServer(t)
	a := s.signup("owners-manager@example.com", "Owners Org")
	appID := s.createApp(a, "Fleet app")["id"].(string)
	loadOwnerSessions(t, s.db, appID, ownersFixture(ownersDay0))
	b := s.signedIn(s.member(a, "owners-analyst@example.com", models.RoleAnalyst))
	b.post("/orgs/switch", url.Values{"org_id": {a.OrgID}})
	return s, b, appID
}

// shownOwner is one row of the owners table as a person reads it.
type shownOwner struct {
	Owner, URL string
	Cells      []string // sessions, completed, conversion, last seen, last outcome
}

var (
	ownerRowRe = regexp.MustCompile(`(?s)<tr>\s*<th scope="row" class="owner-id"><a href="([^"]*)">(.*?)</a></th>(.*?)</tr>`)
	cellRe     = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	tagRe      = regexp.MustCompile(`<[^>]+>`)
	nextRe     = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)
	stepRe     = regexp.MustCompile(`<span class="step">(.*?)</span>`)
)

func shownOwners(body string) []shownOwner {
	var out []shownOwner
	for _, m := range ownerRowRe.FindAllStringSubmatch(body, -1) {
		row := shownOwner{Owner: html.UnescapeString(m[2]), URL: html.UnescapeString(m[1])}
		for _, c := range cellRe.FindAllStringSubmatch(m[3], -1) {
			row.Cells = append(row.Cells, html.UnescapeString(strings.TrimSpace(tagRe.ReplaceAllString(c[1], ""))))
		}
		out = append(out, row)
	}
	return out
}

func ownerNames(rows []shownOwner) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Owner)
	}
	return out
}

func TestOwnersPageShowsExactFigures(t *testing.T) {
	_, b, appID := ownersPageServer(t)
	base := "/apps/" + appID + "/analytics/owners?" + ownersRange
	resp, body := b.get(base)
	wantStatus(t, resp, body, http.StatusOK)
	rows := shownOwners(body)
	want := []shownOwner{
		{slashOwner, "", []string{"1", "1", "100.0 %", "2025-04-03 07:00 UTC", "Completed"}},
		{"bob", "", []string{"1", "0", "0.0 %", "2025-04-02 10:00 UTC", "Exited"}},
		{emailOwner, "", []string{"3", "2", "66.7 %", "2025-04-02 08:00 UTC", "Completed"}},
		{scriptOwner, "", []string{"1", "0", "0.0 %", "2025-04-01 12:00 UTC", "In progress"}},
		{dottedOwner, "", []string{"1", "0", "0.0 %", "2025-04-01 08:00 UTC", "In progress"}},
	}
	for i := range rows {
		rows[i].URL = ""
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("owners table:\n got %q\nwant %q", rows, want)
	}
	for _, fragment := range []string{
		`<time datetime="2025-04-02T08:00:05Z">2025-04-02 08:00 UTC</time>`, // alice's last event, machine-readable
		`aria-sort="descending"><a href="/apps/` + appID + `/analytics/owners?from=2025-04-01&amp;sort=last_seen&amp;to=2025-04-03">Last seen (UTC)`,
		`href="/apps/` + appID + `/analytics/owners.csv?from=2025-04-01&amp;to=2025-04-03"`,
		"<strong>1–5 of 5 owners</strong>, up to 50 per page",
		`&lt;script&gt;x&lt;/script&gt;`,
	} {
		if !strings.Contains(body, fragment) {
			t.Errorf("owners page lacks %s", fragment)
		}
	}
	if strings.Contains(body, scriptOwner) {
		t.Fatal("an owner id is rendered escaped, never as markup")
	}
	if strings.Contains(body, `rel="next"`) || strings.Contains(body, "First page") {
		t.Fatal("one page of owners has no pager links")
	}
	resp, body = b.get("/apps/" + appID + "/analytics?" + ownersRange + "&make=BMW")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `href="/apps/`+appID+`/analytics/owners?from=2025-04-01&amp;make=BMW&amp;to=2025-04-03"`) {
		t.Fatalf("the analytics tab links to the owners under its filters: %s", body)
	}
}

func TestOwnersPageSearchSortAndFilters(t *testing.T) {
	_, b, appID := ownersPageServer(t)
	base := "/apps/" + appID + "/analytics/owners?" + ownersRange
	names := func(query string) []string {
		t.Helper()
		resp, body := b.get(base + query)
		wantStatus(t, resp, body, http.StatusOK)
		return ownerNames(shownOwners(body))
	}
	for query, want := range map[string][]string{
		"&q=ALICE":       {emailOwner},
		"&owner=script":  {scriptOwner}, // the analytics tab's owner filter works as the search
		"&q=%25":         {},
		"&make=FORD":     {"bob"},
		"&mode=test":     {},
		"&q=e&make=BMW":  {emailOwner},
		"&q=fleet%2F7+D": {slashOwner},
	} {
		if got := names(query); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", query, got, want)
		}
	}
	if got := names("&sort=sessions"); got[0] != emailOwner {
		t.Errorf("by sessions, alice (3) comes first: %q", got)
	}
	if got := names("&sort=conversion"); !reflect.DeepEqual(got[:2], []string{slashOwner, emailOwner}) {
		t.Errorf("by conversion, 100 %% then 66.7 %%: %q", got)
	}
	// Collations order punctuation differently, so compare the owners whose ids start with a letter.
	letters := slices.DeleteFunc(names("&sort=owner"), func(o string) bool { return o == scriptOwner })
	if !reflect.DeepEqual(letters, []string{emailOwner, "bob", slashOwner, dottedOwner}) {
		t.Errorf("by owner id: %q", letters)
	}
	resp, body := b.get(base + "&sort=owner&q=o")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `<th scope="col" aria-sort="ascending"><a href="/apps/`+appID+`/analytics/owners?from=2025-04-01&amp;q=o&amp;sort=owner&amp;to=2025-04-03">Owner id`) ||
		!strings.Contains(body, `<th scope="col" aria-sort="none" class="num"><a href="/apps/`+appID+`/analytics/owners?from=2025-04-01&amp;q=o&amp;sort=sessions&amp;to=2025-04-03">Sessions`) {
		t.Fatalf("sort headers mark the active order and keep the search and filters: %s", body)
	}
	if !strings.Contains(body, `<input type="hidden" name="sort" value="owner">`) || !strings.Contains(body, `name="q" value="o"`) {
		t.Fatal("the search form keeps the order and shows the search")
	}
	resp, body = b.get(base + "&q=nobody-like-this")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "No owner id contains “nobody-like-this”") {
		t.Fatalf("a search with no match says so: %s", body)
	}
	resp, body = b.get("/apps/" + appID + "/analytics/owners")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "No owners in this period") || !strings.Contains(body, "user=") {
		t.Fatalf("the last 30 days hold no owners, and the empty state says how owners appear: %s", body)
	}
}

func TestOwnersPagePagesWithoutOverlap(t *testing.T) {
	_, b, appID := ownersPageServer(t)
	next := "/apps/" + appID + "/analytics/owners?" + ownersRange + "&limit=2&make="
	var seen []string
	for page := 1; next != ""; page++ {
		if page > 5 {
			t.Fatalf("the pager never ends: %q", seen)
		}
		resp, body := b.get(next)
		wantStatus(t, resp, body, http.StatusOK)
		rows := shownOwners(body)
		if len(rows) == 0 || len(rows) > 2 || !strings.Contains(body, "up to 2 per page") {
			t.Fatalf("page %d shows %d owners: %s", page, len(rows), body)
		}
		position := fmt.Sprintf("<strong>%d–%d of 5 owners</strong>", len(seen)+1, len(seen)+len(rows))
		if len(rows) == 1 {
			position = fmt.Sprintf("<strong>%d of 5 owners</strong>", len(seen)+1)
		}
		if !strings.Contains(body, position) {
			t.Fatalf("page %d does not say %s: %s", page, position, body)
		}
		seen = append(seen, ownerNames(rows)...)
		if page > 1 && !strings.Contains(body, `<a href="/apps/`+appID+`/analytics/owners?from=2025-04-01&amp;limit=2&amp;to=2025-04-03">← First page</a>`) {
			t.Fatalf("page %d links back to the first page with the same filters: %s", page, body)
		}
		next = ""
		if m := nextRe.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
			if !strings.Contains(next, "from=2025-04-01") || !strings.Contains(next, "limit=2") {
				t.Fatalf("the next link keeps the filters: %s", next)
			}
		}
	}
	want := []string{slashOwner, "bob", emailOwner, scriptOwner, dottedOwner}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("paging by two: %q, want %q", seen, want)
	}
	// An edited or stale position is not believed: the page says what it shows instead.
	_, first := b.get("/apps/" + appID + "/analytics/owners?" + ownersRange + "&limit=2")
	second := html.UnescapeString(nextRe.FindStringSubmatch(first)[1])
	for _, edit := range []string{"start=3", "start=5", "start=x"} {
		_, body := b.get(strings.Replace(second, "start=3", edit, 1))
		if want := map[bool]string{true: "<strong>3–4 of 5 owners</strong>", false: "<strong>2 on this page, of 5 owners</strong>"}[edit == "start=3"]; !strings.Contains(body, want) {
			t.Errorf("page two with %s does not say %s", edit, want)
		}
	}
}

func TestOwnersPageExplainsBadFilters(t *testing.T) {
	_, b, appID := ownersPageServer(t)
	base := "/apps/" + appID + "/analytics/owners?" + ownersRange
	for query, want := range map[string]string{
		"&sort=bogus":               "Sort by last_seen, sessions, conversion or owner. Sorted by last seen instead.",
		"&cursor=not-a-cursor":      "Use the next_cursor of the previous page, unchanged. Showing the first page instead.",
		"&limit=0":                  "Use a page size from 1 to 500. Showing 50 per page instead.",
		"&sort=bogus&cursor=%21%21": "Showing the first page instead.",
	} {
		resp, body := b.get(base + query)
		// A bad parameter is answered 200 with the message, with the defaults in its place (as bad dates are).
		wantStatus(t, resp, body, http.StatusOK)
		if !strings.Contains(body, `role="alert"`) || !strings.Contains(body, want) {
			t.Errorf("%s: no %q in %s", query, want, body)
		}
		if got := ownerNames(shownOwners(body)); len(got) != 5 || got[0] != slashOwner {
			t.Errorf("%s: the default list is shown instead: %q", query, got)
		}
	}
	resp, body := b.get("/apps/" + appID + "/analytics/owners?from=nonsense")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Use a date like 2026-11-01 for from. Showing the last 30 days instead.") {
		t.Fatalf("a bad date is explained: %s", body)
	}
}

func TestOwnerTimelinePage(t *testing.T) {
	_, b, appID := ownersPageServer(t)
	list := "/apps/" + appID + "/analytics/owners"
	resp, body := b.get(list + "?" + ownersRange + "&q=alice&sort=sessions")
	wantStatus(t, resp, body, http.StatusOK)
	rows := shownOwners(body)
	if len(rows) != 1 || rows[0].URL != list+"/alice@example%2Ecom?from=2025-04-01&q=alice&sort=sessions&to=2025-04-03" {
		t.Fatalf("each owner links to their timeline with the list's state: %+v", rows)
	}
	resp, body = b.get(rows[0].URL)
	wantStatus(t, resp, body, http.StatusOK)
	for _, fragment := range []string{
		"<dt>Sessions</dt><dd>3</dd>", "<dt>Completed</dt><dd>2</dd>", "<dt>Conversion</dt><dd>66.7 %</dd>",
		`<dt>Last seen</dt><dd><time datetime="2025-04-02T08:00:05Z">`, `<span class="badge badge-expired">Error</span>`,
		`<strong class="error-label">Vehicle not compatible</strong> <code>vehicle_incompatible</code>`,
		html.EscapeString(models.ExplainError("vehicle_incompatible").Description), `<span class="event-detail">BMW</span>`,
		`<time datetime="2025-04-01T11:00:02Z">11:00:02 UTC</time>`,
		`href="` + list + `?from=2025-04-01&amp;q=alice&amp;sort=sessions&amp;to=2025-04-03">Owners</a>`,
		`href="` + list + `/alice@example%2Ecom.csv?from=2025-04-01&amp;to=2025-04-03" download`,
	} {
		if !strings.Contains(body, fragment) {
			t.Errorf("timeline lacks %s", fragment)
		}
	}
	var steps []string
	for _, m := range stepRe.FindAllStringSubmatch(body, -1) {
		steps = append(steps, m[1])
	}
	full := []string{"Launched", "Brand selected", "Signed in", "Vehicles selected", "Permissions approved", "Completed"}
	wantSteps := slices.Concat(full, []string{"Launched", "Brand selected", "Error"}, full) // newest session first
	if !reflect.DeepEqual(steps, wantSteps) {
		t.Fatalf("timeline steps:\n got %q\nwant %q", steps, wantSteps)
	}
	if i, j := strings.Index(body, "2025-04-02 08:00:00 UTC"), strings.Index(body, "2025-04-01 09:00:00 UTC"); i < 0 || j < 0 || i > j {
		t.Fatal("sessions are shown newest first with their start times")
	}

	resp, raw := b.get(list + "/alice@example%2Ecom.csv?" + ownersRange)
	wantStatus(t, resp, raw, http.StatusOK)
	records, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil || len(records) != 1+15 || records[1][0] != emailOwner || records[1][4] != "Launched" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("the timeline CSV has a row per event: %v %q", err, records)
	}
	resp, raw = b.get(list + ".csv?" + ownersRange + "&q=bob")
	wantStatus(t, resp, raw, http.StatusOK)
	if records, _ := csv.NewReader(strings.NewReader(raw)).ReadAll(); !reflect.DeepEqual(records, [][]string{
		{"Owner id", "Sessions", "Completed", "Conversion", "Last seen (UTC)", "Last outcome"},
		{"bob", "1", "0", "0.0000", "2025-04-02T10:00:02Z", "Exited"}}) {
		t.Fatalf("the owners CSV follows the search: %q", records)
	}
}

func TestOwnerTimelineOddIdsAndRefusals(t *testing.T) {
	s, b, appID := ownersPageServer(t)
	list := "/apps/" + appID + "/analytics/owners/"
	for owner, wantStep := range map[string]string{scriptOwner: "Launched", slashOwner: "Completed", dottedOwner: "Launched"} {
		resp, body := b.get(list + ownerSegment(owner) + "?" + ownersRange)
		wantStatus(t, resp, body, http.StatusOK)
		if !strings.Contains(body, `<span class="owner-id">`+html.EscapeString(owner)+`</span>`) || !strings.Contains(body, wantStep) {
			t.Errorf("timeline of %q: %s", owner, body)
		}
	}
	if _, body := b.get(list + ownerSegment(scriptOwner) + "?" + ownersRange); strings.Contains(body, scriptOwner) {
		t.Fatal("the timeline escapes the owner id")
	}
	resp, body := b.get(list + "bob?" + ownersRange)
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `<span class="badge badge-expiring">Exited</span>`) || !strings.Contains(body, `<strong class="error-label">User cancelled</strong> <code>`+exitedReason+"</code>") {
		t.Fatalf("an exit shows as words and its reason: %s", body)
	}
	resp, body = b.get(list + "bob?from=2025-05-01&to=2025-05-02")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "No sessions for this owner in this period") {
		t.Fatalf("a known owner outside the range has an empty timeline: %s", body)
	}
	resp, body = b.get(list + "nobody?" + ownersRange)
	wantStatus(t, resp, body, http.StatusNotFound)
	if !strings.Contains(body, "<h1>404") {
		t.Fatalf("an unknown owner is the 404 page: %s", body)
	}
	resp, _ = b.get(list + "nobody.csv?" + ownersRange)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown owner's CSV: %d", resp.StatusCode)
	}

	outsider := s.signedIn(s.signup("outsider@example.com", "Other Org"))
	for _, path := range []string{list[:len(list)-1], list + "bob", list + "bob.csv", list[:len(list)-1] + ".csv"} {
		resp, body := outsider.get(path + "?" + ownersRange)
		wantStatus(t, resp, body, http.StatusNotFound)
		if strings.Contains(body, "bob") {
			t.Fatalf("%s leaks another organisation's owners: %s", path, body)
		}
	}
	anonymous := s.browser()
	if resp, _ := anonymous.get(list[:len(list)-1]); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed out, the owners page sends you to sign in: %d", resp.StatusCode)
	}
}
