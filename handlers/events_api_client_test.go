package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// This file is the events API tests' client: an app with an API key that posts events, and the
// analytics reads of its manager.

// ingestJSON is the answer of POST /api/v1/events.
type ingestJSON struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Refused    []refusalJSON `json:"refused"`
}

type refusalJSON struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// eventsApp is an app, the account that manages it and an API key that reports its events.
type eventsApp struct {
	s       *testServer
	a       account
	id, key string
}

func newEventsApp(s *testServer, a account, name, environment string) eventsApp {
	s.t.Helper()
	id := s.createApp(a, name)["id"].(string)
	return eventsApp{s: s, a: a, id: id, key: s.newAPIKey(a, id, environment)["key"].(string)}
}

// newAPIKey creates an API key of appID and returns its JSON (with the one-time key).
func (s *testServer) newAPIKey(a account, appID, environment string) map[string]any {
	s.t.Helper()
	return s.apiJSON("POST", "/api/v1/apps/"+appID+"/api_keys", a.Token,
		map[string]any{"name": "events " + environment, "environment": environment}, 201)
}

// postEvents sends {"events": events} with token as the bearer and, when set, an Idempotency-Key.
func (s *testServer) postEvents(token, idemKey string, events any) (*http.Response, string) {
	s.t.Helper()
	raw, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		s.t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/events", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	return s.request(req)
}

// send posts events with the app's key and returns the 202 answer.
func (e eventsApp) send(t *testing.T, idemKey string, events any) ingestJSON {
	t.Helper()
	resp, raw := e.s.postEvents(e.key, idemKey, events)
	wantStatus(t, resp, raw, 202)
	var out ingestJSON
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out.Refused == nil {
		t.Fatalf("202 answer %s: want {accepted, duplicates, refused:[...]} (%v)", raw, err)
	}
	return out
}

// wantAnswer checks a batch's counts, and that nothing was refused.
func wantAnswer(t *testing.T, what string, got ingestJSON, accepted, duplicates int) {
	t.Helper()
	if got.Accepted != accepted || got.Duplicates != duplicates || len(got.Refused) != 0 {
		t.Fatalf("%s: answer %+v, want accepted %d, duplicates %d, none refused", what, got, accepted, duplicates)
	}
}

func wires(events []genEvent) []wireEvent {
	out := make([]wireEvent, len(events))
	for i, e := range events {
		out[i] = e.wire()
	}
	return out
}

func (e eventsApp) analytics(route string, f truthFilter) string {
	return "/api/v1/apps/" + e.id + "/analytics/" + route + "?" + f.query()
}

func (e eventsApp) funnel(t *testing.T, f truthFilter) funnelJSON {
	t.Helper()
	var got funnelJSON
	e.s.getJSON(e.analytics("funnel", f), e.a.Token, &got)
	return got
}

// ownersPaged walks every page of the owners list, limit owners a page, following next_cursor.
func (e eventsApp) ownersPaged(t *testing.T, f truthFilter, limit int) []ownerJSON {
	t.Helper()
	var all []ownerJSON
	cursor := ""
	total := -1
	for pages := 1; ; pages++ {
		var page struct {
			Owners     []ownerJSON `json:"owners"`
			NextCursor *string     `json:"next_cursor"`
			Total      int         `json:"total"`
		}
		e.s.getJSON(fmt.Sprintf("%s&limit=%d&cursor=%s", e.analytics("owners", f), limit, url.QueryEscape(cursor)), e.a.Token, &page)
		if len(page.Owners) > limit || page.NextCursor != nil && len(page.Owners) != limit {
			t.Fatalf("owners?%s page %d: %d owners with next_cursor %v, limit %d", f.query(), pages, len(page.Owners), page.NextCursor, limit)
		}
		all = append(all, page.Owners...)
		if total >= 0 && page.Total != total {
			t.Fatalf("owners?%s page %d: total %d, the first page said %d", f.query(), pages, page.Total, total)
		}
		total = page.Total
		if page.NextCursor == nil {
			if total != len(all) {
				t.Fatalf("owners?%s: total %d, but the pages list %d owners", f.query(), total, len(all))
			}
			return all
		}
		if pages > 200 {
			t.Fatalf("owners?%s: paging does not end", f.query())
		}
		cursor = *page.NextCursor
	}
}

func (e eventsApp) timeline(t *testing.T, f truthFilter, owner string) ownerTimelineJSON {
	t.Helper()
	var got ownerTimelineJSON
	e.s.getJSON(e.analytics("owners/"+url.PathEscape(owner), f), e.a.Token, &got)
	return got
}
