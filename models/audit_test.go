package models_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

func renameApp(t *testing.T, db *gorm.DB, a account, appID, name string) {
	t.Helper()
	if _, err := models.UpdateApp(db, a.Actor, a.Org.ID, appID, models.AppInput{Name: &name}); err != nil {
		t.Fatalf("UpdateApp: %v", err)
	}
}

func ids(entries []models.AuditEntry) []int64 {
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

func TestListAuditNewestFirstAndFiltered(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	x, _ := newApp(t, db, a, "X")
	y, _ := newApp(t, db, a, "Y")
	renameApp(t, db, a, x.ID, "X1")
	renameApp(t, db, a, y.ID, "Y1")
	renameApp(t, db, a, x.ID, "X2")
	if _, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, x.ID, "https://x.example.com/cb"); err != nil {
		t.Fatal(err)
	}

	all, next, err := models.ListAudit(db, a.Org.ID, models.AuditFilter{})
	if err != nil || next != 0 {
		t.Fatalf("ListAudit = %v, next %d", err, next)
	}
	wantActions := []string{"redirect_uri.add", "app.update", "app.update", "app.update", "app.create", "app.create"}
	var gotActions []string
	for i, e := range all {
		gotActions = append(gotActions, e.Action)
		if i > 0 && e.ID >= all[i-1].ID {
			t.Errorf("entries not newest first: id %d after %d", e.ID, all[i-1].ID)
		}
		if e.OrgID != a.Org.ID || e.ActorID != a.User.ID || e.ActorEmail != a.User.Email || e.At.IsZero() {
			t.Errorf("entry %+v lacks who/when", e)
		}
	}
	if !reflect.DeepEqual(gotActions, wantActions) {
		t.Fatalf("actions = %v, want %v", gotActions, wantActions)
	}
	if all[1].Target != "X2" || !strings.Contains(all[1].Detail, `"before"`) || !strings.Contains(all[1].Detail, "X1") {
		t.Errorf("latest app.update = %+v; want target X2 with before/after", all[1])
	}

	cases := []struct {
		name   string
		filter models.AuditFilter
		want   []string // targets, newest first
	}{
		{"app X", models.AuditFilter{AppID: x.ID}, []string{"https://x.example.com/cb", "X2", "X1", "X"}},
		{"app Y", models.AuditFilter{AppID: y.ID}, []string{"Y1", "Y"}},
		{"action", models.AuditFilter{Action: "app.update"}, []string{"X2", "Y1", "X1"}},
		{"app and action", models.AuditFilter{AppID: x.ID, Action: "app.update"}, []string{"X2", "X1"}},
		{"unknown action", models.AuditFilter{Action: "nothing.happened"}, nil},
		{"unknown app", models.AuditFilter{AppID: "00000000-0000-4000-8000-000000000000"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			entries, next, err := models.ListAudit(db, a.Org.ID, tc.filter)
			if err != nil || next != 0 {
				t.Fatalf("ListAudit = %v, next %d", err, next)
			}
			var targets []string
			for _, e := range entries {
				targets = append(targets, e.Target)
				if tc.filter.AppID != "" && e.AppID != tc.filter.AppID {
					t.Errorf("entry of app %q in a list filtered by %q", e.AppID, tc.filter.AppID)
				}
				if tc.filter.Action != "" && e.Action != tc.filter.Action {
					t.Errorf("entry %q in a list filtered by %q", e.Action, tc.filter.Action)
				}
			}
			if !reflect.DeepEqual(targets, tc.want) {
				t.Errorf("targets = %v, want %v", targets, tc.want)
			}
		})
	}

	actions, err := models.AuditActions(db, a.Org.ID)
	if err != nil || !reflect.DeepEqual(actions, []string{"app.create", "app.update", "redirect_uri.add"}) {
		t.Errorf("AuditActions = %v, %v", actions, err)
	}
}

func TestListAuditPaginates(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, _ := newApp(t, db, a, "v0")
	for i := 1; i <= 7; i++ { // 8 entries: app.create and 7 app.update
		renameApp(t, db, a, app.ID, fmt.Sprintf("v%d", i))
	}
	everything, _, err := models.ListAudit(db, a.Org.ID, models.AuditFilter{Limit: 200})
	if err != nil || len(everything) != 8 {
		t.Fatalf("ListAudit = %d entries, %v; want 8", len(everything), err)
	}

	cases := []struct {
		name   string
		filter models.AuditFilter
		pages  []int // page sizes
		total  []models.AuditEntry
	}{
		{"limit 3", models.AuditFilter{Limit: 3}, []int{3, 3, 2}, everything},
		{"limit 4 (exact pages)", models.AuditFilter{Limit: 4}, []int{4, 4}, everything},
		{"limit 1", models.AuditFilter{Limit: 1}, []int{1, 1, 1, 1, 1, 1, 1, 1}, everything},
		{"limit 8", models.AuditFilter{Limit: 8}, []int{8}, everything},
		{"limit 3 with action filter", models.AuditFilter{Limit: 3, Action: "app.update"}, []int{3, 3, 1}, everything[:7]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.filter
			var got []models.AuditEntry
			var sizes []int
			for page := 0; page < 20; page++ {
				entries, next, err := models.ListAudit(db, a.Org.ID, f)
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(entries))
				got = append(got, entries...)
				if next == 0 {
					break
				}
				if next != entries[len(entries)-1].ID {
					t.Errorf("next cursor %d, want the last entry's id %d", next, entries[len(entries)-1].ID)
				}
				f.Cursor = next
			}
			if !reflect.DeepEqual(sizes, tc.pages) {
				t.Errorf("page sizes %v, want %v", sizes, tc.pages)
			}
			if !reflect.DeepEqual(ids(got), ids(tc.total)) {
				t.Errorf("paged ids %v, want %v (no gap, no repeat)", ids(got), ids(tc.total))
			}
		})
	}

	// Out-of-range limits fall back to the default page size rather than failing or returning all.
	for _, limit := range []int{0, -1, 201} {
		entries, _, err := models.ListAudit(db, a.Org.ID, models.AuditFilter{Limit: limit})
		if err != nil || len(entries) != 8 {
			t.Errorf("ListAudit(limit %d) = %d entries, %v", limit, len(entries), err)
		}
	}
}

func TestListAuditNeverCrossesOrganisations(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	appA, _ := newApp(t, db, a, "A")
	appB, _ := newApp(t, db, b, "B")
	for i := 0; i < 3; i++ {
		renameApp(t, db, a, appA.ID, fmt.Sprintf("A%d", i))
		renameApp(t, db, b, appB.ID, fmt.Sprintf("B%d", i))
	}
	entriesA, _, err := models.ListAudit(db, a.Org.ID, models.AuditFilter{Limit: 200})
	if err != nil || len(entriesA) != 4 {
		t.Fatalf("A's log = %d entries, %v; want 4", len(entriesA), err)
	}
	for _, e := range entriesA {
		if e.OrgID != a.Org.ID || e.AppID != appA.ID {
			t.Errorf("A's log holds %+v", e)
		}
	}

	cases := []struct {
		name   string
		filter models.AuditFilter
	}{
		{"B's app through A", models.AuditFilter{AppID: appB.ID}},
		{"B's app and action through A", models.AuditFilter{AppID: appB.ID, Action: "app.update"}},
		{"cursor past B's entries", models.AuditFilter{AppID: appB.ID, Cursor: 1 << 40}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			entries, next, err := models.ListAudit(db, a.Org.ID, tc.filter)
			if err != nil || len(entries) != 0 || next != 0 {
				t.Errorf("ListAudit = %+v, next %d, %v; want nothing", entries, next, err)
			}
		})
	}
	// Paging through A with a cursor inside B's id range still returns only A's entries.
	page, _, err := models.ListAudit(db, a.Org.ID, models.AuditFilter{Cursor: entriesA[0].ID + 1, Limit: 200})
	if err != nil || !reflect.DeepEqual(ids(page), ids(entriesA)) {
		t.Errorf("A's log from a cursor = %v, %v; want %v", ids(page), err, ids(entriesA))
	}
	actions, err := models.AuditActions(db, b.Org.ID)
	if err != nil || !reflect.DeepEqual(actions, []string{"app.create", "app.update"}) {
		t.Errorf("AuditActions(B) = %v, %v", actions, err)
	}
}
