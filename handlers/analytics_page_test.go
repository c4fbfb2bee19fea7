package handlers

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
)

func TestAnalyticsPageShowsFiguresChartsAndEmptyState(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("am@example.com", "Accounts")
	appID := s.createApp(a, "Measured")["id"].(string)
	analyst := s.member(a, "analyst@example.com", models.RoleAnalyst)
	b := s.signedIn(analyst)
	b.post("/orgs/switch", url.Values{"org_id": {a.OrgID}})
	resp, body := b.get("/apps/" + appID + "/analytics")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "No Connect sessions in this period") || !strings.Contains(body, "/apps/"+appID+"/connect") {
		t.Fatalf("the empty state explains how to get data: %s", body)
	}

	seedTwoSessions(t, s, appID)
	resp, body = b.get("/apps/" + appID + "/analytics")
	wantStatus(t, resp, body, http.StatusOK)
	for _, want := range []string{"Sessions started", "50.0 %", "Vehicle not compatible", `<svg class="daily"`, "Drop-off", "Tesla",
		"Brand selected", "Permissions approved", "Owner conversion", "Median time to connect", "Top errors and what to do",
		models.ExplainError("vehicle_incompatible").Action, "Errors by make", "Sessions per owner", "counts repeat attempts", "A quarter within", "90 % within"} {
		if !strings.Contains(body, want) {
			t.Fatalf("analytics page lacks %q: %s", want, body)
		}
	}
	// One owner's figures have no owner counts: the sessions row only.
	resp, body = b.get("/apps/" + appID + "/analytics?owner=owner-1")
	wantStatus(t, resp, body, http.StatusOK)
	if shown := shownHeadlines(body); len(shown) != 4 || shown["Session conversion"] == "" || strings.Contains(body, "Owners who started") {
		t.Fatalf("a one-owner filter shows the four session figures: %q", shown)
	}
	resp, body = b.get("/analytics")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Measured") || !strings.Contains(body, "50.0 %") {
		t.Fatalf("the organisation overview lists each app's figures: %s", body)
	}
	resp, body = b.get("/apps/" + appID + "/analytics?from=nonsense")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Showing the last 30 days instead") {
		t.Fatal("a bad date is explained")
	}
	other := s.signedIn(s.signup("x@example.com", "X"))
	resp, body = other.get("/apps/" + appID + "/analytics")
	wantStatus(t, resp, body, http.StatusNotFound)

}

// seedTwoSessions records one completed TESLA session and one that ended in vehicle_incompatible.
func seedTwoSessions(t *testing.T, s *testServer, appID string) {
	t.Helper()
	at := time.Now().UTC().Add(-time.Hour)
	sessions := map[string][]string{
		"00000000-0000-4000-8000-00000000000a": {"launched", "brand_selected", "signed_in", "vehicles_selected", "permissions_approved", "completed"},
		"00000000-0000-4000-8000-00000000000b": {"launched", "brand_selected", "error"},
	}
	for session, steps := range sessions {
		for j, step := range steps {
			e := models.SessionEvent{ID: models.OwnerUserID(session, step), SessionID: session, AppID: appID, Owner: "owner-1",
				Step: step, Make: "TESLA", Mode: "test", OccurredAt: at.Add(time.Duration(j) * time.Second)}
			if step == "error" {
				e.ErrorCode = "vehicle_incompatible"
			}
			if err := s.db.Transaction(func(tx *gorm.DB) error { _, err := models.RecordEvent(tx, e, false); return err }); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestAnalyticsCSVDownloads(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("csv@example.com", "Accounts")
	appID := s.createApp(a, "Measured")["id"].(string)
	b := s.signedIn(a)
	seedTwoSessions(t, s, appID)
	other := s.signedIn(s.signup("x@example.com", "X"))
	resp, body := other.get("/apps/" + appID + "/analytics/funnel.csv")
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = other.get("/analytics.csv")
	wantStatus(t, resp, body, http.StatusOK)
	if strings.Contains(body, appID) || strings.Contains(body, "Measured") {
		t.Fatalf("another organisation's overview CSV lists this app: %s", body)
	}

	resp, body = b.get("/apps/" + appID + "/analytics")
	wantStatus(t, resp, body, http.StatusOK)
	// A CSV beside each table, under the page's filters.
	for _, table := range []string{"funnel", "funnel/steps", "funnel/daily", "funnel/errors", "funnel/errors-by-make", "funnel/makes"} {
		if !strings.Contains(body, `href="/apps/`+appID+`/analytics/`+table+`.csv?from=`) {
			t.Fatalf("the Analytics tab offers %s as CSV", table)
		}
	}
	for path, want := range map[string]string{
		"funnel.csv?make=TESLA":        "Sessions started,Sessions completed,Session conversion,",
		"funnel/errors.csv?make=TESLA": "\nVehicle not compatible,vehicle_incompatible,1,0.5000,",
		"funnel/makes.csv":             "\nTesla,2,1,0.5000\n",
		"funnel/steps.csv":             "\nBrand selected,2,1.0000,0.0000\n",
	} {
		resp, body = b.get("/apps/" + appID + "/analytics/" + path)
		wantStatus(t, resp, body, http.StatusOK)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(body, want) {
			t.Fatalf("%s (%s) lacks %q:\n%s", path, ct, want, body)
		}
	}
	resp, body = b.get("/apps/" + appID + "/analytics/funnel/everything.csv")
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = b.get("/analytics.csv")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "\n"+appID+",Measured,2,1,0.5000,5.0,5.0,5.0,5.0\n") {
		t.Fatalf("overview CSV:\n%s", body)
	}
}

// comparisonSessions are n sessions of owners prefix-0.. (each owner perOwner of them) on day, of which
// completed complete a minute after launch: each owner's first session, from the first owner on.
func comparisonSessions(prefix string, day time.Time, n, perOwner, completed int) []models.EventInput {
	var out []models.EventInput
	for i := range n {
		at := day.Add(time.Duration(i) * time.Minute)
		session := fmt.Sprintf("%s-%04d", prefix, i)
		owner := fmt.Sprintf("%s-owner-%04d", prefix, i/perOwner)
		out = append(out, models.EventInput{ID: session + "-l", SessionID: session, Owner: owner, Step: "launched", OccurredAt: at.Format(time.RFC3339)})
		if i%perOwner == 0 && i/perOwner < completed {
			out = append(out, models.EventInput{ID: session + "-c", SessionID: session, Owner: owner, Step: "completed", Make: "TESLA",
				OccurredAt: at.Add(time.Minute).Format(time.RFC3339)})
		}
	}
	return out
}

var (
	headlineRe = regexp.MustCompile(`(?s)<li class="card headline">\s*<p class="muted">(.*?)</p>\s*<p class="figure">(.*?)</p>\s*<p class="change (\w+)"[^>]*>(.*?)</p>`)
	hiddenRe   = regexp.MustCompile(`(?s)<span class="visually-hidden">.*?</span>`)
	anyTagRe   = regexp.MustCompile(`<[^>]+>`)
	// fourDigitChange is a change of 1,000 % or more, as a near-empty baseline would give.
	fourDigitChange = regexp.MustCompile(`[0-9],?[0-9]{3}`)
)

// shownHeadlines reads the headline row: each figure's label → "value | change".
func shownHeadlines(body string) map[string]string {
	out := map[string]string{}
	for _, m := range headlineRe.FindAllStringSubmatch(body, -1) {
		change := html.UnescapeString(strings.TrimSpace(anyTagRe.ReplaceAllString(hiddenRe.ReplaceAllString(m[4], ""), "")))
		out[m[1]] = html.UnescapeString(m[2]) + " | " + strings.Join(strings.Fields(change), " ")
	}
	return out
}

// Through the page: a near-empty previous period gives "no comparison" on every figure, never a
// four-digit change; once it is a fair baseline the changes appear, counts in % and conversions in pp.
func TestAnalyticsPageComparesOnlyWithAFairPeriod(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("compare@example.com", "Compare")
	appID := s.createApp(a, "Growing")["id"].(string)
	b := s.signedIn(a)
	// Two 30-day periods within the last year (the events API refuses older events).
	period := models.LastDays(30, time.Now().UTC().AddDate(0, 0, -3))
	before := models.PreviousPeriod(period)
	june := period.From.Truncate(24*time.Hour).AddDate(0, 0, 5).Add(8 * time.Hour)
	may := before.From.Truncate(24*time.Hour).AddDate(0, 0, 5).Add(8 * time.Hour)
	ingest := func(events []models.EventInput) {
		t.Helper()
		if err := models.IngestDemoEvents(s.db, appID, events, nil); err != nil {
			t.Fatal(err)
		}
	}
	// This period: 300 sessions of 150 owners (two each), half completed; the one before: five sessions, all completed.
	ingest(comparisonSessions("june", june, 300, 2, 150))
	ingest(comparisonSessions("may", may, 5, 1, 5))
	page := "/apps/" + appID + "/analytics?from=" + period.From.Format(time.DateOnly) + "&to=" + period.To.Format(time.DateOnly)
	resp, body := b.get(page)
	wantStatus(t, resp, body, http.StatusOK)
	shown := shownHeadlines(body)
	if len(shown) != 8 {
		t.Fatalf("8 headline figures expected: %q", shown)
	}
	for label, figure := range shown {
		if !strings.HasSuffix(figure, "| no comparison") || fourDigitChange.MatchString(strings.SplitN(figure, "|", 2)[1]) {
			t.Errorf("%s against five sessions: %q, want no comparison", label, figure)
		}
	}
	if !strings.Contains(body, "No comparison: the previous period had 5 sessions started; a change is shown when it had at least 30") {
		t.Error("the reason for no comparison is given")
	}

	// The period before grows to 45 sessions (30 completed), each its own owner: a fair baseline for every figure.
	ingest(comparisonSessions("may2", may.Add(12*time.Hour), 40, 1, 25))
	resp, body = b.get(page)
	wantStatus(t, resp, body, http.StatusOK)
	want := map[string]string{
		"Sessions started":       "300 | ▲ +567 %",
		"Completed":              "150 | ▲ +400 %",
		"Session conversion":     "50.0 % | ▼ −16.7 pp",
		"Median time to connect": "1\u00a0min 0\u00a0s | no change",
		"Owners who started":     "150 | ▲ +233 %",
		"Owners who connected":   "150 | ▲ +400 %",
		"Owner conversion":       "100.0 % | ▲ +33.3 pp",
		"Sessions per owner":     "2.0 | ▲ +100 %",
	}
	if got := shownHeadlines(body); !reflect.DeepEqual(got, want) {
		t.Fatalf("headlines against a fair baseline:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(body, `<p class="change bad"`) || !strings.Contains(body, `<abbr title="percentage points">pp</abbr>`) {
		t.Fatal("a fall in conversion and a rise in attempts read as bad, and points are spelled out")
	}
}
