package handlers

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// --- Issue 10, item 7: NUL bytes or invalid UTF-8 in analytics filters answered 500 on PostgreSQL
// (SQLSTATE 22021) and 200 on SQLite. Text is now refused at the boundary (text_guard.go): 400 naming
// the field, the same on both databases, in each surface's own error format.

var hostileText = []string{"%00", "%FF%FE", "a%00b", "caf%E9"}

// analyticsRoutes are the analytics reads of the API and the console, and their CSV twins.
func analyticsRoutes(appID string) (api, console []string) {
	base := "/api/v1/apps/" + appID + "/analytics/"
	app := "/apps/" + appID + "/analytics"
	api = []string{base + "funnel", base + "funnel.csv", base + "owners", base + "owners.csv", base + "owners/owner-1", base + "owners/owner-1.csv"}
	console = []string{app, app + "/funnel.csv", app + "/owners", app + "/owners.csv", app + "/owners/owner-1", app + "/owners/owner-1.csv",
		"/analytics", "/analytics.csv"}
	return api, console
}

func TestRegressionHostileTextInAnalyticsFiltersIs400(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("filters@example.com", "Filters Co")
	appID := s.createApp(a, "Filtered")["id"].(string)
	b := s.signedIn(a)
	apiRoutes, consoleRoutes := analyticsRoutes(appID)
	for _, param := range []string{"owner", "make", "mode", "q"} {
		for _, bad := range hostileText {
			for _, path := range apiRoutes {
				resp, raw := s.api("GET", path+"?"+param+"="+bad, a.Token, nil)
				wantAPITextError(t, resp, raw, param)
			}
			for _, path := range consoleRoutes {
				resp, body := b.get(path + "?from=2026-01-01&" + param + "=" + bad)
				wantPageTextError(t, resp, body, `&#34;`+param+`&#34;`)
			}
		}
	}
	// The owner in the path, percent-encoded as handlers decode it.
	for _, bad := range hostileText {
		for _, suffix := range []string{"", ".csv"} {
			resp, raw := s.api("GET", "/api/v1/apps/"+appID+"/analytics/owners/"+bad+suffix, a.Token, nil)
			wantAPITextError(t, resp, raw, "")
			resp, body := b.get("/apps/" + appID + "/analytics/owners/" + bad + suffix)
			wantPageTextError(t, resp, body, "The path")
		}
	}
	// A hostile parameter name is refused without being repeated.
	resp, raw := s.api("GET", "/api/v1/apps/"+appID+"/analytics/owners?ow%00ner=x", a.Token, nil)
	wantAPITextError(t, resp, raw, "")
	if !strings.Contains(raw, "A query parameter name") {
		t.Fatalf("a bad parameter name: %s", raw)
	}
}

func wantAPITextError(t *testing.T, resp *http.Response, raw, field string) {
	t.Helper()
	var out struct {
		Error apiError `json:"error"`
	}
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(raw), &out) != nil ||
		out.Error.Code != "invalid_text" || out.Error.Field != field || out.Error.Message == "" {
		t.Fatalf("%s: status %d, want 400 invalid_text on field %q: %.300s", resp.Request.URL, resp.StatusCode, field, raw)
	}
}

func wantPageTextError(t *testing.T, resp *http.Response, body, mentions string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "without NUL characters") || !strings.Contains(body, mentions) {
		t.Fatalf("%s: status %d, want the 400 error page mentioning %s: %.600s", resp.Request.URL, resp.StatusCode, mentions, body)
	}
}

func TestRegressionHostileTextInBodiesIs400(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("bodies@example.com", "Bodies Co")
	appID := s.createApp(a, "Bodies")["id"].(string)
	key := s.newAPIKey(a, appID, "test")["key"].(string)
	b := s.signedIn(a)
	orgs, apps := countRows(t, s, "organizations", ""), countRows(t, s, "apps", "")

	// Console forms: urlencoded and multipart (the text fields; the file part is bytes).
	resp, body := b.post("/orgs", url.Values{"name": {"Acme\x00"}})
	wantPageTextError(t, resp, body, `&#34;name&#34;`)
	resp, body = b.post("/apps", url.Values{"name": {"caf\xe9"}})
	wantPageTextError(t, resp, body, `&#34;name&#34;`)
	resp, body = b.do(multipartRequest(t, "/apps/"+appID+"/branding/logo", map[string]string{"_csrf": b.cookies["keyfob_csrf"], "note": "x\x00"}))
	wantPageTextError(t, resp, body, `&#34;note&#34;`)

	// JSON bodies, named down to the event.
	resp, raw := s.api("POST", "/api/v1/apps", a.Token, `{"name":"x\u0000","organization_id":"`+a.OrgID+`"}`)
	wantAPITextError(t, resp, raw, "name")
	resp, raw = s.api("PATCH", "/api/v1/apps/"+appID, a.Token, "{\"name\":\"\xff\xfe\"}")
	wantAPITextError(t, resp, raw, "name")
	// However the Content-Type is spelled, a body read as JSON is checked as JSON.
	for _, ct := range []string{"application/json; charset", "Application/JSON;charset=utf-8", "application/merge-patch+json"} {
		req := httptest.NewRequest("PATCH", "/api/v1/apps/"+appID, strings.NewReader(`{"name":"\u0000"}`))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+a.Token)
		resp, raw = s.request(req)
		wantAPITextError(t, resp, raw, "name")
	}
	events := `{"events":[{"id":"e1","session_id":"s1","owner":"o","step":"started","occurred_at":"2026-01-01T00:00:00Z"},` +
		`{"id":"e2","session_id":"s1","owner":"o\u0000","step":"started","occurred_at":"2026-01-01T00:00:00Z"}]}`
	resp, raw = s.api("POST", "/api/v1/events", key, events)
	wantAPITextError(t, resp, raw, "events[1].owner")
	if n := countRows(t, s, "session_events", ""); n != 0 {
		t.Fatalf("a refused batch stored %d events", n)
	}

	// The token endpoint answers RFC 6749, the vehicle API Smartcar's v2 body.
	resp, raw = s.request(httpForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"\x00"}, "code": {"x"}}))
	var oauth map[string]string
	if resp.StatusCode != 400 || json.Unmarshal([]byte(raw), &oauth) != nil || oauth["error"] != "invalid_request" ||
		!strings.Contains(oauth["error_description"], `"client_id"`) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("/oauth/token with a NUL client_id: %d %s", resp.StatusCode, raw)
	}
	resp, raw = s.api("GET", "/v2.0/vehicles?limit=%FF", "", nil)
	var sc map[string]any
	if resp.StatusCode != 400 || json.Unmarshal([]byte(raw), &sc) != nil || sc["type"] != "VALIDATION" || sc["statusCode"] != float64(400) {
		t.Fatalf("/v2.0 with invalid UTF-8: %d %s", resp.StatusCode, raw)
	}
	// Connect pages get the HTML error page.
	resp, body = s.browser().get("/oauth/authorize?client_id=" + appID + "&state=%00")
	wantPageTextError(t, resp, body, `&#34;state&#34;`)

	if countRows(t, s, "organizations", "") != orgs || countRows(t, s, "apps", "") != apps {
		t.Fatal("a refused request changed the database")
	}
	// Text that merely looks odd still passes: an escaped backslash before u0000 is not NUL.
	resp, raw = s.api("PATCH", "/api/v1/apps/"+appID, a.Token, `{"description":"C:\\u0000 ＝ Zoë"}`)
	wantStatus(t, resp, raw, http.StatusOK)
}

func multipartRequest(t *testing.T, path string, fields map[string]string) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	part, _ := w.CreateFormFile("logo", "logo.png")
	part.Write([]byte("\x89PNG\x00\xff binary bytes are not text"))
	w.Close()
	req := httptest.NewRequest("POST", path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return req
}
