package models_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"keyfob/models"
)

// ownerSessions is the hand-built dataset plus a session still in progress and an owner whose name
// holds LIKE wildcards.
func ownerSessions() []sessionSpec {
	return append(handSessions(),
		sessionSpec{id: "s7", owner: "dave", mode: "live", start: day0.Add(60 * time.Hour), events: []ev{{step: "launched"}}},
		sessionSpec{id: "s8", owner: "50%_off", mode: "live", start: day0.Add(2 * time.Hour), events: []ev{{step: "launched"},
			{step: "brand_selected", at: time.Second, make: "FORD"}}})
}

func ownerNames(rows []models.OwnerRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Owner)
	}
	return out
}

func TestOwnersForTotals(t *testing.T) {
	env := newAnalyticsEnv(t)
	env.load(t, ownerSessions())
	rows, next, err := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, models.AnalyticsFilter{Range: days(0, 4)}, "", 0, "")
	if err != nil || next != "" {
		t.Fatalf("OwnersFor: %v, next %q", err, next)
	}
	want := []models.OwnerRow{
		{Owner: "dave", Sessions: 1, LastSeenAt: day0.Add(60 * time.Hour), LastOutcome: "in_progress"},
		{Owner: "alice", Sessions: 3, Completed: 3, ConversionRate: 1, LastSeenAt: day0.Add(50*time.Hour + 300*time.Second), LastOutcome: "completed"},
		{Owner: "bob", Sessions: 2, LastSeenAt: day0.Add(34*time.Hour + 7*time.Second), LastOutcome: "exited"},
		{Owner: "50%_off", Sessions: 1, LastSeenAt: day0.Add(2*time.Hour + time.Second), LastOutcome: "in_progress"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("owners:\n got %+v\nwant %+v", rows, want)
	}
}

func TestOwnersForSortsFiltersAndPages(t *testing.T) {
	env := newAnalyticsEnv(t)
	env.load(t, ownerSessions())
	all := days(0, 4)
	cases := []struct {
		name string
		f    models.AnalyticsFilter
		sort string
		want []string
	}{
		{"sessions", models.AnalyticsFilter{Range: all}, "sessions", []string{"alice", "bob", "50%_off", "dave"}},
		{"conversion", models.AnalyticsFilter{Range: all, IncludeSandbox: true}, "conversion", []string{"alice", "carol", "bob", "50%_off", "dave"}},
		{"owner", models.AnalyticsFilter{Range: all, IncludeSandbox: true}, "owner", []string{"50%_off", "alice", "bob", "carol", "dave"}},
		{"search is a case-insensitive substring", models.AnalyticsFilter{Range: all, Owner: "LI"}, "", []string{"alice"}},
		{"percent is literal", models.AnalyticsFilter{Range: all, Owner: "%"}, "", []string{"50%_off"}},
		{"underscore is literal", models.AnalyticsFilter{Range: all, Owner: "0_"}, "", []string{}},
		{"make", models.AnalyticsFilter{Range: all, Make: "TESLA"}, "", []string{"bob"}},
		{"mode", models.AnalyticsFilter{Range: all, Mode: "test"}, "", []string{"alice"}},
		{"sandbox hidden", models.AnalyticsFilter{Range: all, Owner: "carol"}, "", []string{}},
		{"day range", models.AnalyticsFilter{Range: days(1, 1)}, "", []string{"bob"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, _, err := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, c.f, c.sort, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := ownerNames(rows); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("owners %v, want %v", got, c.want)
			}
		})
	}
	t.Run("mode filter counts only that mode", func(t *testing.T) {
		rows, _, _ := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, models.AnalyticsFilter{Range: all, Mode: "test"}, "", 0, "")
		if rows[0].Sessions != 1 || rows[0].Completed != 1 {
			t.Fatalf("alice in test mode: %+v", rows[0])
		}
	})

	var pages []string
	cursor := ""
	for i := 0; i < 10; i++ {
		rows, next, err := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, models.AnalyticsFilter{Range: all, IncludeSandbox: true}, "owner", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, ownerNames(rows)...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if want := []string{"50%_off", "alice", "bob", "carol", "dave"}; !reflect.DeepEqual(pages, want) {
		t.Fatalf("pages %v, want %v", pages, want)
	}

	bad := []struct {
		sort, cursor, field string
		f                   models.AnalyticsFilter
	}{
		{"popularity", "", "sort", models.AnalyticsFilter{Range: all}},
		{"", "not a cursor!", "cursor", models.AnalyticsFilter{Range: all}},
		{"", "", "to", models.AnalyticsFilter{Range: models.DateRange{From: day0, To: day0.AddDate(0, 0, -1)}}},
	}
	for _, b := range bad {
		_, _, err := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, b.f, b.sort, 0, b.cursor)
		var v *models.ValidationError
		if !errors.As(err, &v) || v.Field != b.field {
			t.Errorf("sort %q cursor %q: %v, want a validation error on %s", b.sort, b.cursor, err, b.field)
		}
	}
}

func TestOwnerTimeline(t *testing.T) {
	env := newAnalyticsEnv(t)
	env.load(t, ownerSessions())
	all := models.AnalyticsFilter{Range: days(0, 4)}
	row, timeline, err := models.OwnerTimeline(env.db, env.acc.Org.ID, env.app.ID, "alice", all)
	if err != nil {
		t.Fatal(err)
	}
	if row.Owner != "alice" || row.Sessions != 3 || row.Completed != 3 || row.ConversionRate != 1 || row.LastOutcome != "completed" {
		t.Fatalf("row %+v", row)
	}
	var ids []string
	for _, s := range timeline {
		ids = append(ids, s.SessionID)
	}
	if !reflect.DeepEqual(ids, []string{"s5", "s2", "s1"}) {
		t.Fatalf("sessions %v, want newest first", ids)
	}
	s5 := timeline[0]
	if !s5.StartedAt.Equal(day0.Add(50*time.Hour)) || s5.Outcome != "completed" || len(s5.Events) != 7 {
		t.Fatalf("s5 %+v", s5)
	}
	var stepsOf []string
	for _, e := range s5.Events {
		stepsOf = append(stepsOf, e.Step)
	}
	if want := []string{"launched", "brand_selected", "signed_in", "signed_in", "vehicles_selected", "permissions_approved", "completed"}; !reflect.DeepEqual(stepsOf, want) {
		t.Fatalf("events %v", stepsOf)
	}
	if e := s5.Events[6]; e.Make != "BMW" || !e.At.Equal(day0.Add(50*time.Hour+300*time.Second)) {
		t.Fatalf("last event %+v", e)
	}

	_, bob, _ := models.OwnerTimeline(env.db, env.acc.Org.ID, env.app.ID, "bob", all)
	if len(bob) != 2 || bob[1].Outcome != "error" || bob[1].Events[3].Error != "vehicle_incompatible" {
		t.Fatalf("bob %+v", bob)
	}
	// carol's only session is a sandbox one: known, but nothing under the filter.
	row, carol, err := models.OwnerTimeline(env.db, env.acc.Org.ID, env.app.ID, "carol", all)
	if err != nil || row.Sessions != 0 || len(carol) != 0 {
		t.Fatalf("carol: %+v %+v %v", row, carol, err)
	}
	if _, _, err := models.OwnerTimeline(env.db, env.acc.Org.ID, env.app.ID, "nobody", all); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown owner: %v", err)
	}
}

func TestOwnersOfAnotherOrganisationAreNotFound(t *testing.T) {
	env := newAnalyticsEnv(t)
	env.load(t, ownerSessions())
	other := newAccount(t, env.db, "other@example.com")
	f := models.AnalyticsFilter{Range: days(0, 4)}
	if _, _, err := models.OwnersFor(env.db, other.Org.ID, env.app.ID, f, "", 0, ""); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("OwnersFor from another org: %v", err)
	}
	if _, _, err := models.OwnerTimeline(env.db, other.Org.ID, env.app.ID, "alice", f); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("OwnerTimeline from another org: %v", err)
	}
}
