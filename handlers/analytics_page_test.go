package handlers

import (
	"net/http"
	"net/url"
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
