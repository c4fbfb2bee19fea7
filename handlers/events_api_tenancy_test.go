package handlers

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestEventsTenancy(t *testing.T) {
	s := newTestServer(t)
	appA := newEventsApp(s, s.signup("tenant-a@example.com", "Org A"), "App A", "test")
	appB := newEventsApp(s, s.signup("tenant-b@example.com", "Org B"), "App B", "test")
	day0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	whole := truthFilter{from: day0.AddDate(0, 0, -1), to: day0.AddDate(0, 0, 4)}
	sessions := generateSessions(11, "tn", 25, day0, 3)
	events := allEvents(sessions)
	truth := summarise(sessions)

	wantAnswer(t, "app A", appA.send(t, "shared-key", wires(events)), len(events), 0)
	appA.wantFunnel(t, truth, whole)
	funnelA, ownersA := appA.funnel(t, whole), appA.ownersPaged(t, whole, 500)

	// App B reports the same event and session ids: they are B's own, not duplicates of A's.
	wantAnswer(t, "app B, A's ids", appB.send(t, "", wires(events)), len(events), 0)
	appB.wantFunnel(t, truth, whole)
	// B goes on to complete every one of those sessions, under the Idempotency-Key A used.
	completedB, completions := completeAll(sessions)
	wantAnswer(t, "app B, completions", appB.send(t, "shared-key", wires(completions)), len(completions), 0)
	truthB := summarise(completedB)
	appB.wantFunnel(t, truthB, whole)
	appB.wantOwners(t, truthB, whole, 5)

	if got := appA.funnel(t, whole); !reflect.DeepEqual(got, funnelA) {
		t.Errorf("app B's events changed app A's funnel:\n%s", jsonDiff(got, funnelA))
	}
	if got := appA.ownersPaged(t, whole, 500); !reflect.DeepEqual(got, ownersA) {
		t.Errorf("app B's events changed app A's owners:\n%s", rowsDiff(got, ownersA))
	}
	wantStoredEvents(t, s, appA.id, events)
	wantStoredEvents(t, s, appB.id, allEvents(completedB))
	var rows int64
	s.db.Table("session_events").Where("id = ?", events[0].id).Count(&rows)
	if rows != 2 {
		t.Errorf("event id %s: %d rows, want one per app", events[0].id, rows)
	}

	// Org B's people cannot read app A's analytics.
	owner := busiestOwner(truth)
	for _, route := range []string{"funnel", "funnel.csv", "owners", "owners.csv", "owners/" + owner, "owners/" + owner + ".csv"} {
		resp, raw := s.api("GET", appA.analytics(route, whole), appB.a.Token, nil)
		checkErrorBody(t, resp, raw, 404, "not_found", "")
	}
}

// completeAll is sessions each with one more event, completed a minute after its last, and those events.
func completeAll(sessions []genSession) ([]genSession, []genEvent) {
	out := make([]genSession, len(sessions))
	var extra []genEvent
	for i, s := range sessions {
		last := s.events[len(s.events)-1]
		done := genEvent{id: s.id + "-done", session: s.id, owner: last.owner, step: "completed", make: last.make,
			mode: last.mode, at: last.at.Add(time.Minute)}
		out[i] = genSession{id: s.id, events: append(slices.Clone(s.events), done)}
		extra = append(extra, done)
	}
	return out, extra
}
