package handlers

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"keyfob/models"
)

// TestVehicleBatch: each item is what the single GET answers (same permission check, capability check,
// units and headers), refusals and unknown paths are items with their own code, and only a malformed
// request fails the batch.
func TestVehicleBatch(t *testing.T) {
	s := newTestServer(t)
	v := s.sandboxClient(t, "TESLA", []string{"read_odometer", "read_location", "read_fuel", "read_security", "read_tires"})
	id := v.firstVehicle(t)
	p := "/v2.0/vehicles/" + id
	paths := []string{"/odometer", "/location", "/battery", "/fuel", "/nothing-here", "/", "/odometer/", "/security", "/tires/pressure", "/permissions"}
	wantCodes := []int{200, 200, 403, 501, 404, 403, 200, 200, 200, 200}
	var reqs []map[string]string
	for _, path := range paths {
		reqs = append(reqs, map[string]string{"path": path})
	}
	raw, _ := json.Marshal(map[string]any{"requests": reqs})
	for _, system := range []string{"metric", "imperial"} {
		resp, out := v.ok(t, "POST", p+"/batch", string(raw), map[string]string{"sc-unit-system": system})
		items, _ := out["responses"].([]any)
		if len(items) != len(paths) || len(out) != 1 {
			t.Fatalf("%s: %d items for %d paths: %v", system, len(items), len(paths), out)
		}
		for i, x := range items {
			item := x.(map[string]any)
			headers, _ := item["headers"].(map[string]any)
			body, _ := item["body"].(map[string]any)
			if item["path"] != paths[i] || item["code"] != float64(wantCodes[i]) || headers == nil || body == nil {
				t.Fatalf("%s item %d: %v, want path %s code %d", system, i, item, paths[i], wantCodes[i])
			}
			single, singleBody := v.call("GET", p+strings.TrimSuffix(paths[i], "/"), "", map[string]string{"sc-unit-system": system})
			if wantCodes[i] != 200 {
				if single.StatusCode != wantCodes[i] || body["type"] != singleBody["type"] || body["statusCode"] != float64(wantCodes[i]) ||
					body["requestId"] != resp.Header.Get("SC-Request-Id") || body["description"] != singleBody["description"] {
					t.Fatalf("%s %s: item %v, single GET %d %v", system, paths[i], body, single.StatusCode, singleBody)
				}
				continue
			}
			if fmt.Sprint(body) != fmt.Sprint(singleBody) {
				t.Fatalf("%s %s: item body %v, single GET %v", system, paths[i], body, singleBody)
			}
			for _, h := range []string{"sc-data-age", "sc-fetched-at", "sc-unit-system"} {
				if (headers[h] == nil) != (single.Header.Get(h) == "") || (headers[h] != nil && h == "sc-unit-system" && headers[h] != system) {
					t.Fatalf("%s %s: item header %s %v, single GET %q", system, paths[i], h, headers[h], single.Header.Get(h))
				}
			}
		}
	}
	calls, _ := models.ListVehicleCalls(s.db, v.app.id, id, 100)
	batches := 0
	for _, c := range calls {
		if c.Method == "POST" && c.Path == "/batch" && c.Status == 200 {
			batches++
		}
	}
	if batches != 2 {
		t.Fatalf("the call log records each batch once: %+v", calls)
	}

	many := `{"requests":[` + strings.Repeat(`{"path":"/odometer"},`, 20) + `{"path":"/odometer"}]}`
	for name, body := range map[string]string{
		"not JSON": `requests`, "empty object": `{}`, "no requests": `{"requests":[]}`, "21 requests": many,
		"path not a string": `{"requests":[{"path":5}]}`, "no path": `{"requests":[{}]}`, "relative path": `{"requests":[{"path":"odometer"}]}`,
		"unknown field": `{"requests":[{"path":"/odometer"}],"extra":1}`, "requests not a list": `{"requests":{"path":"/odometer"}}`,
	} {
		resp, out := v.call("POST", p+"/batch", body, nil)
		wantSmartcarError(t, resp, out, 400, "VALIDATION")
		if name == "21 requests" && !strings.Contains(out["description"].(string), "20") {
			t.Fatalf("the limit is named: %v", out)
		}
	}
	twenty := `{"requests":[` + strings.TrimSuffix(strings.Repeat(`{"path":"/odometer"},`, 20), ",") + `]}`
	if _, out := v.ok(t, "POST", p+"/batch", twenty, nil); len(out["responses"].([]any)) != 20 {
		t.Fatalf("20 requests are allowed: %v", out)
	}

	other, _ := grantFor(t, v, "someone-else", "TESLA", allScopes)
	resp, out := v.call("POST", "/v2.0/vehicles/"+other.firstVehicle(t)+"/batch", string(raw), nil)
	wantSmartcarError(t, resp, out, 403, "PERMISSION")
	resp, out = v.call("POST", p+"/batch", string(raw), map[string]string{"Authorization": "Bearer nope"})
	wantSmartcarError(t, resp, out, 401, "AUTHENTICATION")
}
