package models

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ownerMark is where a page of owners sorted by last seen ends: its last owner and that owner's latest
// session time. The next page starts right after it.
type ownerMark struct {
	At    time.Time
	Owner string
}

// The last_seen cursor is a mark, encoded so that clients treat it as opaque.
const recentCursorPrefix = "t1:"

func encodeRecentCursor(m ownerMark) string {
	return base64.RawURLEncoding.EncodeToString([]byte(recentCursorPrefix + strconv.FormatInt(m.At.UnixNano(), 10) + ":" + m.Owner))
}

func decodeRecentCursor(cursor string) (*ownerMark, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := Invalid("cursor", "invalid_cursor", "Use the next_cursor of the previous page, unchanged.")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(raw), recentCursorPrefix) {
		return nil, bad
	}
	nanos, owner, ok := strings.Cut(strings.TrimPrefix(string(raw), recentCursorPrefix), ":")
	ns, err := strconv.ParseInt(nanos, 10, 64)
	if !ok || err != nil || owner == "" {
		return nil, bad
	}
	return &ownerMark{At: time.Unix(0, ns).UTC(), Owner: owner}, nil
}

// ownerDayRow is an owner_daily row as the walk sees it.
type ownerDayRow struct {
	Owner       string
	LastEventAt time.Time
}

// Walk chunks start small (a page usually fills from the newest rows) and double, so a walk through
// a long range costs a handful of statements, not one per few hundred rows.
const (
	firstWalkChunk = 100
	maxWalkChunk   = 16_000
)

// recentOwners is a page of owners sorted by last seen (newest first, then by owner). It walks the
// owner_daily rows newest first through the (app_id, last_event_at DESC, owner) index and stops once
// it has met limit+1 owners, so its cost follows the page and the owner-days it passes, not the
// sessions: an owner with a thousand sessions on a day is one row of that day. After a mark, an owner
// met in the walk belongs to this page only if none of their rows sorts before the mark (else an
// earlier page showed them).
func recentOwners(db *gorm.DB, appID string, f AnalyticsFilter, limit int, after *ownerMark) ([]string, error) {
	scope := func() *gorm.DB { return ownerDailySearchScope(db, appID, f) }
	var owners []string
	seen := map[string]bool{}
	pos := after
	chunk := max(2*(limit+1), firstWalkChunk)
	for len(owners) <= limit {
		q := scope().Select("owner, last_event_at").Order("last_event_at DESC, owner").Limit(chunk)
		if pos != nil {
			// The first condition is the index's range; the second orders ties on the instant by owner.
			q = q.Where("last_event_at <= ?", pos.At).Where("last_event_at < ? OR owner > ?", pos.At, pos.Owner)
		}
		var rows []ownerDayRow
		if err := q.Scan(&rows).Error; err != nil {
			return nil, err
		}
		fresh, err := ownersNotBefore(scope, rows, seen, after)
		if err != nil {
			return nil, err
		}
		owners = append(owners, fresh...)
		if len(rows) < chunk {
			break
		}
		last := rows[len(rows)-1]
		pos = &ownerMark{At: last.LastEventAt, Owner: last.Owner}
		chunk = min(2*chunk, maxWalkChunk)
	}
	return owners[:min(len(owners), limit+1)], nil
}

// ownersNotBefore returns, in walk order, the owners of rows not met yet whose rows all sort after
// the mark, and marks every owner of rows as met.
func ownersNotBefore(scope func() *gorm.DB, rows []ownerDayRow, seen map[string]bool, after *ownerMark) ([]string, error) {
	var candidates []string
	for _, r := range rows {
		if !seen[r.Owner] {
			seen[r.Owner] = true
			candidates = append(candidates, r.Owner)
		}
	}
	if after == nil || len(candidates) == 0 {
		return candidates, nil
	}
	shown := map[string]bool{}
	for chunk := range slices.Chunk(candidates, 500) {
		var part []string
		err := scope().Distinct("owner").Where("owner IN ?", chunk).
			Where("last_event_at > ? OR (last_event_at = ? AND owner <= ?)", after.At, after.At, after.Owner).Scan(&part).Error
		if err != nil {
			return nil, err
		}
		for _, o := range part {
			shown[o] = true
		}
	}
	return slices.DeleteFunc(candidates, func(o string) bool { return shown[o] }), nil
}

// LastSeenCursor is the next_cursor of a last_seen page that ended with owner, last seen at at: for
// tools that want to start deep in the list (the benchmark's last page).
func LastSeenCursor(at time.Time, owner string) string {
	return encodeRecentCursor(ownerMark{At: at.UTC(), Owner: owner})
}
