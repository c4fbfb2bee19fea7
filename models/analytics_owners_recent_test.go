package models_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"keyfob/models"
)

// The default owners sort walks recent sessions page by page; whatever the page size, the pages must
// add up to the full ranking (latest session first, then owner), with no owner twice or missing, even
// when many sessions end at the same instant.
func TestOwnersLastSeenPagesWalkEveryOwnerOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	var specs []sessionSpec
	for i := range 250 {
		s := randomSession(r, i)
		s.owner = fmt.Sprintf("owner-%02d", r.IntN(45))
		specs = append(specs, s)
	}
	for i := range 150 { // launches on the hour: many owners share their last-seen instant
		specs = append(specs, sessionSpec{id: fmt.Sprintf("tie%03d", i), owner: fmt.Sprintf("owner-%02d", r.IntN(60)),
			mode: "live", start: day0.Add(time.Duration(r.IntN(96)) * time.Hour), events: []ev{{step: "launched"}}})
	}
	env := newAnalyticsEnv(t)
	env.load(t, specs)

	filters := []models.AnalyticsFilter{{Range: days(0, 4)}, {Range: days(1, 2), IncludeSandbox: true},
		{Range: days(0, 4), Make: "TESLA"}, {Range: days(0, 4), Mode: "test"}, {Range: days(0, 4), Owner: "ER-1"}}
	for _, f := range filters {
		want := expectedRecentOwners(t, env, f)
		for _, limit := range []int{1, 7, 50, 500} {
			var got []string
			cursor := ""
			for page := 0; ; page++ {
				rows, next, err := models.OwnersFor(env.db, env.acc.Org.ID, env.app.ID, f, "", limit, cursor)
				if err != nil || len(rows) > limit || page > len(want)+1 {
					t.Fatalf("filter %+v limit %d page %d: %d rows, %v", f, limit, page, len(rows), err)
				}
				got = append(got, ownerNames(rows)...)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("filter %+v limit %d:\n got %v\nwant %v", f, limit, got, want)
			}
		}
	}
}

// expectedRecentOwners ranks the owners under f straight from the session summaries.
func expectedRecentOwners(t *testing.T, env analyticsEnv, f models.AnalyticsFilter) []string {
	t.Helper()
	var rows []struct {
		Owner, Make, Mode, Day string
		Sandbox                bool
		LastEventAt            time.Time
	}
	if err := env.db.Table("session_summaries").Where("app_id = ?", env.app.ID).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	latest := map[string]time.Time{}
	from, to := f.Range.From.Format(time.DateOnly), f.Range.To.Format(time.DateOnly)
	for _, r := range rows {
		if r.Owner == "" || r.Day < from || r.Day > to || (f.Make != "" && r.Make != f.Make) ||
			(f.Mode != "" && r.Mode != f.Mode) || (r.Sandbox && !f.IncludeSandbox) ||
			!strings.Contains(strings.ToLower(r.Owner), strings.ToLower(f.Owner)) {
			continue
		}
		if r.LastEventAt.After(latest[r.Owner]) {
			latest[r.Owner] = r.LastEventAt
		}
	}
	var owners []string
	for o := range latest {
		owners = append(owners, o)
	}
	slices.SortFunc(owners, func(a, b string) int { return cmp.Or(latest[b].Compare(latest[a]), strings.Compare(a, b)) })
	if len(owners) < 3 {
		t.Fatalf("filter %+v leaves %d owners: too few to test paging", f, len(owners))
	}
	return owners
}
