package handlers

import (
	"net/http"
	"net/url"
	"testing"
)

// --- Issue 10, item 8: POST /orgs/switch without org_id (with a valid CSRF token) answered 500: the
// missing field reached the models' unscoped-query guard. The route fuzz test (route_fuzz_test.go)
// sends every console form with its fields missing; this is the instance the audit found.

func TestRegressionSwitchOrgWithoutOrgIDIs4xx(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("switch@example.com", "Switch Co")
	b := s.signedIn(a)
	for _, tc := range []struct {
		form url.Values
		want int
	}{
		{url.Values{}, http.StatusUnprocessableEntity},
		{url.Values{"org_id": {""}}, http.StatusUnprocessableEntity},
		{url.Values{"org_id": {"not-an-org"}}, http.StatusNotFound},
	} {
		resp, body := b.post("/orgs/switch", tc.form)
		wantStatus(t, resp, body, tc.want)
	}
	resp, body := b.post("/orgs/switch", url.Values{"org_id": {a.OrgID}})
	wantStatus(t, resp, body, http.StatusSeeOther)
}
