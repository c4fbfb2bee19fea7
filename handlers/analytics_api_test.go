package handlers

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
)

// analyticsDay0 is the first day of the analytics fixture; the range d0..d3 holds every session but one.
var analyticsDay0 = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

const (
	formulaOwner = `=HYPERLINK("x")`
	fixtureRange = "from=2025-03-10&to=2025-03-13"
)

type fixtureSession struct {
	id, owner, mode string
	start           time.Time
	sandbox         bool
	steps           []string // "step", "step/MAKE" or "step/MAKE/code", one second apart
}

func analyticsFixture() []fixtureSession {
	full := []string{"launched", "brand_selected/BMW", "signed_in/BMW", "vehicles_selected/BMW", "permissions_approved/BMW", "completed/BMW"}
	return []fixtureSession{
		{"s1", "alice", "live", analyticsDay0.Add(10 * time.Hour), false, full},
		{"s2", "alice", "live", analyticsDay0.Add(12 * time.Hour), false, append(full[:5:5], "permissions_approved/BMW", "completed/BMW")},
		{"s3", "bob", "live", analyticsDay0.Add(34 * time.Hour), false, []string{"launched", "brand_selected/TESLA", "signed_in/TESLA", "error/TESLA/vehicle_incompatible"}},
		{"s4", formulaOwner, "live", analyticsDay0.Add(38 * time.Hour), false, []string{"launched", "brand_selected/FORD", "exited/FORD/user_manually_returned_to_application"}},
		{"s5", "carol", "test", analyticsDay0.Add(11 * time.Hour), true, []string{"launched/BMW", "completed/BMW"}},
		{"s6", "alice", "test", analyticsDay0.Add(57 * time.Hour), false, []string{"launched"}},
		{"s7", "dave", "live", time.Now().UTC().Add(-time.Hour), false, []string{"launched"}},
	}
}

// loadAnalytics feeds the fixture to RecordEvent, last event first, as a late front end might.
func loadAnalytics(t *testing.T, db *gorm.DB, appID string) {
	t.Helper()
	for _, s := range analyticsFixture() {
		for i := len(s.steps) - 1; i >= 0; i-- {
			parts := strings.SplitN(s.steps[i]+"//", "/", 3)
			e := models.SessionEvent{ID: fmt.Sprintf("%s-%d", s.id, i), SessionID: s.id, AppID: appID, Owner: s.owner,
				Step: parts[0], Make: parts[1], Mode: s.mode, ErrorCode: strings.TrimRight(parts[2], "/"),
				OccurredAt: s.start.Add(time.Duration(i) * time.Second)}
			if err := db.Transaction(func(tx *gorm.DB) error { _, err := models.RecordEvent(tx, e, s.sandbox); return err }); err != nil {
				t.Fatalf("RecordEvent %s: %v", e.ID, err)
			}
		}
	}
}

func newAnalyticsServer(t *testing.T) (*testServer, account, string) {
	t.Helper()
	s := newTestServer(t)
	a := s.signup("manager@example.com", "Alpha Org")
	appID := s.createApp(a, "Analytics app")["id"].(string)
	loadAnalytics(t, s.db, appID)
	return s, a, appID
}

// getJSON decodes a 200 answer into out.
func (s *testServer) getJSON(path, token string, out any) {
	s.t.Helper()
	resp, raw := s.api("GET", path, token, nil)
	wantStatus(s.t, resp, raw, 200)
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		s.t.Fatalf("GET %s: %v: %s", path, err, raw)
	}
}

// getCSV checks a CSV download and parses it.
func (s *testServer) getCSV(path, token string) [][]string {
	s.t.Helper()
	resp, raw := s.api("GET", path, token, nil)
	wantStatus(s.t, resp, raw, 200)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		s.t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="keyfob-`) || !strings.HasSuffix(cd, `.csv"`) {
		s.t.Fatalf("GET %s: Content-Disposition %q", path, cd)
	}
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		s.t.Fatalf("GET %s: not CSV: %v\n%s", path, err, raw)
	}
	return rows
}

func dropOff(n, prev int) float64 { return 1 - float64(n)/float64(prev) }

func TestAnalyticsFunnelAPI(t *testing.T) {
	s, a, app := newAnalyticsServer(t)
	base := "/api/v1/apps/" + app + "/analytics/funnel"
	var got funnelJSON
	s.getJSON(base+"?"+fixtureRange, a.Token, &got)
	// Completions took 5 s (s1) and 6 s (s2); alice connected, bob and the formula owner did not.
	want := funnelJSON{SessionsStarted: 5, SessionsCompleted: 2, ConversionRate: 0.4, MedianSecondsToComplete: 5.5,
		SecondsToComplete: distributionJSON{Sessions: 2, P25: 5, Median: 5.5, P75: 6, P90: 6},
		Owners:            &ownerFunnelJSON{Started: 3, Connected: 1, ConversionRate: 1.0 / 3, Sessions: 5, SessionsPerOwner: 5.0 / 3},
		Steps: []funnelStepJSON{{"launched", 5, 0}, {"brand_selected", 4, dropOff(4, 5)}, {"signed_in", 3, dropOff(3, 4)},
			{"vehicles_selected", 2, dropOff(2, 3)}, {"permissions_approved", 2, 0}, {"completed", 2, 0}},
		Errors:       []errorCountJSON{{"vehicle_incompatible", 1, 0.2}},
		ErrorsByMake: []errorMakeJSON{{"vehicle_incompatible", "TESLA", 1}},
		ByMake:       []makeCountJSON{{"BMW", 2, 2}, {"", 1, 0}, {"FORD", 1, 0}, {"TESLA", 1, 0}},
		Daily:        []dayCountJSON{{"2025-03-10", 2, 2}, {"2025-03-11", 2, 0}, {"2025-03-12", 1, 0}, {"2025-03-13", 0, 0}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("funnel:\n got %+v\nwant %+v", got, want)
	}

	filtered := []struct {
		query              string
		started, completed int
	}{
		{fixtureRange + "&include_sandbox=true", 6, 3},
		{fixtureRange + "&make=TESLA", 1, 0},
		{fixtureRange + "&mode=test", 1, 0},
		{fixtureRange + "&owner=alice", 3, 2},
		{"from=2025-03-11&to=2025-03-11", 2, 0},
		{"", 1, 0}, // the last 30 days: only dave's session of an hour ago
	}
	for _, f := range filtered {
		var g funnelJSON
		s.getJSON(base+"?"+f.query, a.Token, &g)
		if g.SessionsStarted != f.started || g.SessionsCompleted != f.completed {
			t.Errorf("%s: started %d completed %d, want %d %d", f.query, g.SessionsStarted, g.SessionsCompleted, f.started, f.completed)
		}
	}

	// The CSV files are the same figures, one table per file, in words, rates to four places.
	csvFiles := map[string][][]string{
		".csv": {{"Sessions started", "Sessions completed", "Session conversion", "Owners who started", "Owners who connected",
			"Owner conversion", "Sessions per owner", "Seconds to connect, 25th percentile", "Seconds to connect, median",
			"Seconds to connect, 75th percentile", "Seconds to connect, 90th percentile"},
			{"5", "2", "0.4000", "3", "1", "0.3333", "1.67", "5.0", "5.5", "6.0", "6.0"}},
		"/steps.csv": {{"Step", "Sessions", "Share of sessions started", "Drop-off from previous step"},
			{"Launched", "5", "1.0000", ""}, {"Brand selected", "4", "0.8000", "0.2000"}, {"Signed in", "3", "0.6000", "0.2500"},
			{"Vehicles selected", "2", "0.4000", "0.3333"}, {"Permissions approved", "2", "0.4000", "0.0000"}, {"Completed", "2", "0.4000", "0.0000"}},
		"/errors.csv": {{"Error", "Error code", "Sessions", "Share of sessions started", "What happened", "What to do"},
			{"Vehicle not compatible", "vehicle_incompatible", "1", "0.2000", models.ExplainError("vehicle_incompatible").Description,
				models.ExplainError("vehicle_incompatible").Action}},
		"/errors-by-make.csv": {{"Make", "Error", "Error code", "Sessions"}, {"Tesla", "Vehicle not compatible", "vehicle_incompatible", "1"}},
		"/makes.csv": {{"Make", "Sessions started", "Sessions completed", "Conversion"},
			{"BMW", "2", "2", "1.0000"}, {"No brand chosen yet", "1", "0", "0.0000"}, {"Ford", "1", "0", "0.0000"}, {"Tesla", "1", "0", "0.0000"}},
		"/daily.csv": {{"Day", "Sessions started", "Sessions completed"},
			{"2025-03-10", "2", "2"}, {"2025-03-11", "2", "0"}, {"2025-03-12", "1", "0"}, {"2025-03-13", "0", "0"}},
	}
	for suffix, wantRows := range csvFiles {
		if rows := s.getCSV(base+suffix+"?"+fixtureRange, a.Token); !reflect.DeepEqual(rows, wantRows) {
			t.Errorf("funnel%s:\n got %q\nwant %q", suffix, rows, wantRows)
		}
	}
	resp, raw := s.api("GET", base+"/nonsense.csv?"+fixtureRange, a.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")
	// A one-owner filter has no owner figures: their cells are empty.
	if rows := s.getCSV(base+".csv?owner=alice&"+fixtureRange, a.Token); rows[1][3] != "" || rows[1][0] != "3" {
		t.Errorf("alice's figures: %q", rows)
	}
}

func TestAnalyticsOwnersAPI(t *testing.T) {
	s, a, app := newAnalyticsServer(t)
	base := "/api/v1/apps/" + app + "/analytics/owners"
	var got struct {
		Owners     []ownerJSON `json:"owners"`
		NextCursor *string     `json:"next_cursor"`
	}
	s.getJSON(base+"?"+fixtureRange, a.Token, &got)
	want := []ownerJSON{
		{"alice", 3, 2, 2.0 / 3, "2025-03-12T09:00:00Z", "in_progress"},
		{formulaOwner, 1, 0, 0, "2025-03-11T14:00:02Z", "exited"},
		{"bob", 1, 0, 0, "2025-03-11T10:00:03Z", "error"},
	}
	if !reflect.DeepEqual(got.Owners, want) || got.NextCursor != nil {
		t.Fatalf("owners:\n got %+v %v\nwant %+v", got.Owners, got.NextCursor, want)
	}

	names := func(query string) []string {
		var page struct {
			Owners []ownerJSON `json:"owners"`
		}
		s.getJSON(base+"?"+fixtureRange+query, a.Token, &page)
		out := []string{}
		for _, o := range page.Owners {
			out = append(out, o.Owner)
		}
		return out
	}
	for query, want := range map[string][]string{
		"&sort=sessions&limit=1":          {"alice"},
		"&sort=conversion&limit=1":        {"alice"},
		"&owner=hyper":                    {formulaOwner},
		"&owner=%25":                      {},
		"&make=TESLA":                     {"bob"},
		"&include_sandbox=true&owner=CAR": {"carol"},
	} {
		if got := names(query); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}

	// Paging by one through the last_seen order gives the whole list, each owner once.
	var paged []string
	cursor := ""
	for i := 0; i < 5; i++ {
		var page struct {
			Owners     []ownerJSON `json:"owners"`
			NextCursor *string     `json:"next_cursor"`
		}
		s.getJSON(base+"?"+fixtureRange+"&limit=1&cursor="+url.QueryEscape(cursor), a.Token, &page)
		for _, o := range page.Owners {
			paged = append(paged, o.Owner)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if !reflect.DeepEqual(paged, []string{"alice", formulaOwner, "bob"}) {
		t.Fatalf("paged owners %v", paged)
	}

	rows := s.getCSV(base+".csv?"+fixtureRange, a.Token)
	wantRows := [][]string{{"Owner id", "Sessions", "Completed", "Conversion", "Last seen (UTC)", "Last outcome"},
		{"alice", "3", "2", "0.6667", "2025-03-12T09:00:00Z", "In progress"},
		{"'" + formulaOwner, "1", "0", "0.0000", "2025-03-11T14:00:02Z", "Exited"},
		{"bob", "1", "0", "0.0000", "2025-03-11T10:00:03Z", "Error"}}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Fatalf("owners CSV:\n got %q\nwant %q", rows, wantRows)
	}
}

func TestAnalyticsOwnerTimelineAPI(t *testing.T) {
	s, a, app := newAnalyticsServer(t)
	base := "/api/v1/apps/" + app + "/analytics/owners/"
	var got ownerTimelineJSON
	s.getJSON(base+"alice?"+fixtureRange, a.Token, &got)
	if got.Owner != "alice" || got.Sessions != 3 || got.Completed != 2 || got.ConversionRate != 2.0/3 || len(got.Timeline) != 3 {
		t.Fatalf("timeline %+v", got)
	}
	first := got.Timeline[0]
	if first.SessionID != "s6" || first.StartedAt != "2025-03-12T09:00:00Z" || first.Outcome != "in_progress" ||
		!reflect.DeepEqual(first.Events, []timelineEventJSON{{"launched", "2025-03-12T09:00:00Z", "", ""}}) {
		t.Fatalf("newest session %+v", first)
	}
	if s2 := got.Timeline[1]; s2.SessionID != "s2" || s2.Outcome != "completed" || len(s2.Events) != 7 ||
		s2.Events[6] != (timelineEventJSON{"completed", "2025-03-10T12:00:06Z", "BMW", ""}) {
		t.Fatalf("second session %+v", s2)
	}

	escaped := base + url.PathEscape(formulaOwner)
	var formula ownerTimelineJSON
	s.getJSON(escaped+"?"+fixtureRange, a.Token, &formula)
	if formula.Owner != formulaOwner || len(formula.Timeline) != 1 || formula.Timeline[0].Events[2].Error != "user_manually_returned_to_application" {
		t.Fatalf("formula owner %+v", formula)
	}
	rows := s.getCSV(escaped+".csv?"+fixtureRange, a.Token)
	wantRows := [][]string{{"Owner id", "Session id", "Session started (UTC)", "Session outcome", "Step", "At (UTC)", "Make", "Error", "Error code"},
		{"'" + formulaOwner, "s4", "2025-03-11T14:00:00Z", "Exited", "Launched", "2025-03-11T14:00:00Z", "", "", ""},
		{"'" + formulaOwner, "s4", "2025-03-11T14:00:00Z", "Exited", "Brand selected", "2025-03-11T14:00:01Z", "Ford", "", ""},
		{"'" + formulaOwner, "s4", "2025-03-11T14:00:00Z", "Exited", "Exited", "2025-03-11T14:00:02Z", "Ford", "User cancelled", "user_manually_returned_to_application"}}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Fatalf("timeline CSV:\n got %q\nwant %q", rows, wantRows)
	}
	if rows := s.getCSV(base+"alice.csv?"+fixtureRange, a.Token); len(rows) != 1+1+7+6 {
		t.Fatalf("alice's CSV has %d rows, want one per event", len(rows))
	}
	resp, raw := s.api("GET", base+"nobody?"+fixtureRange, a.Token, nil)
	checkErrorBody(t, resp, raw, 404, "not_found", "")
}

func TestAnalyticsAPIRefusals(t *testing.T) {
	s, a, app := newAnalyticsServer(t)
	b := s.signup("other@example.com", "Beta Org")
	analyst := s.member(a, "analyst@example.com", models.RoleAnalyst)
	routes := []string{"funnel", "funnel.csv", "funnel/steps.csv", "funnel/errors-by-make.csv", "owners", "owners.csv", "owners/alice", "owners/alice.csv"}
	for _, r := range routes {
		path := "/api/v1/apps/" + app + "/analytics/" + r + "?" + fixtureRange
		resp, raw := s.api("GET", path, b.Token, nil)
		checkErrorBody(t, resp, raw, 404, "not_found", "")
		resp, raw = s.api("GET", path, analyst.Token, nil)
		wantStatus(t, resp, raw, 200)
		resp, raw = s.api("GET", path, "", nil)
		wantStatus(t, resp, raw, 401)
	}
	invalid := []struct{ route, query, field string }{
		{"funnel", "from=2025-13-01", "from"},
		{"funnel.csv", "to=yesterday", "to"},
		{"funnel/daily.csv", "to=yesterday", "to"},
		{"owners", "from=2025-03-12&to=2025-03-10", "from"},
		{"owners/alice", "from=10-03-2025", "from"},
		{"owners", fixtureRange + "&sort=popularity", "sort"},
		{"owners", fixtureRange + "&limit=many", "limit"},
		{"owners", fixtureRange + "&cursor=bogus!", "cursor"},
	}
	for _, c := range invalid {
		resp, raw := s.api("GET", "/api/v1/apps/"+app+"/analytics/"+c.route+"?"+c.query, a.Token, nil)
		wantStatus(t, resp, raw, 422)
		var body struct{ Error apiError }
		if err := json.Unmarshal([]byte(raw), &body); err != nil || body.Error.Field != c.field {
			t.Errorf("%s?%s: %s, want field %s", c.route, c.query, raw, c.field)
		}
	}
}
