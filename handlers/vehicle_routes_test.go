package handlers

import (
	"slices"
	"strconv"
	"testing"
)

// TestVehicleRoutesBeforeAuthentication: the v2.0 API routes first, then each route checks its own
// credentials, so an unknown path is a 404 whatever the credentials, and no 404 or success carries a challenge.
func TestVehicleRoutesBeforeAuthentication(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	id := v.firstVehicle(t)
	for _, auth := range []string{"", "Bearer " + v.token, "Bearer not-a-token", "Basic " + v.token} {
		for _, path := range []string{"/v2.0/nothing-here", "/v2.0/vehicles/" + id + "/nothing-here", "/v2.0/vehicles/" + id + "/batch"} {
			resp, body := v.call("GET", path, "", map[string]string{"Authorization": auth})
			wantSmartcarError(t, resp, body, 404, "RESOURCE_NOT_FOUND")
			if resp.Header.Get("WWW-Authenticate") != "" {
				t.Fatalf("a 404 carries no challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if resp, _ := v.ok(t, "GET", "/v2.0/vehicles/"+id+"/odometer", "", nil); resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatal("a 200 carries no challenge")
	}
}

// TestVehiclePermissionsPaging: /permissions pages like /vehicles (api.md), 25 a page by default.
func TestVehiclePermissionsPaging(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", allScopes)
	p := "/v2.0/vehicles/" + v.firstVehicle(t) + "/permissions"
	n := len(allScopes)
	for _, tc := range []struct {
		query  string
		want   []string
		offset int
	}{
		{"", allScopes, 0}, {"limit=2", allScopes[:2], 0}, {"limit=2&offset=3", allScopes[3:5], 3},
		{"offset=10", allScopes[10:], 10}, {"offset=" + strconv.Itoa(n), nil, n}, {"limit=50&offset=99", nil, 99},
	} {
		_, out := v.ok(t, "GET", p+"?"+tc.query, "", nil)
		paging := out["paging"].(map[string]any)
		if !slices.Equal(strs(out["permissions"]), append([]string{}, tc.want...)) || paging["count"] != float64(n) ||
			paging["offset"] != float64(tc.offset) {
			t.Fatalf("?%s: %v, want %v count %d offset %d", tc.query, out, tc.want, n, tc.offset)
		}
	}
	for _, q := range []string{"limit=0", "limit=51", "limit=x", "offset=-1"} {
		resp, body := v.call("GET", p+"?"+q, "", nil)
		wantSmartcarError(t, resp, body, 400, "VALIDATION")
	}
}
