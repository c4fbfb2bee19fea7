package models

import (
	"encoding/base64"
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

// recentOwners is a page of owners sorted by last seen (newest first, then by owner): limit+1 of
// them after the mark, to tell whether a next page exists. It reads, in the order of the
// (app_id, last_event_at DESC, owner) index, only each owner's latest owner_daily row under f (an
// anti-join on the (app_id, owner, day) index drops the others), so the database stops after limit+1
// owners however deep the page: its cost follows the owner-days it passes, not the sessions, and
// owners shown on earlier pages need no second look.
func recentOwners(db *gorm.DB, appID string, f AnalyticsFilter, limit int, after *ownerMark) ([]string, error) {
	newer, args := ownerDailyConds("n", appID, f)
	q := ownerDailySearchScope(db, appID, f).Select("owner").
		Where("NOT EXISTS (SELECT 1 FROM owner_daily n WHERE n.owner = owner_daily.owner AND "+newer+
			" AND (n.last_event_at, n.last_session) > (owner_daily.last_event_at, owner_daily.last_session))", args...).
		Order("last_event_at DESC, owner").Limit(limit + 1)
	if after != nil {
		// The first condition is the index's range; the second orders ties on the instant by owner.
		q = q.Where("last_event_at <= ?", after.At).Where("last_event_at < ? OR owner > ?", after.At, after.Owner)
	}
	var owners []string
	err := q.Scan(&owners).Error
	return owners, err
}

// LastSeenCursor is the next_cursor of a last_seen page that ended with owner, last seen at at: for
// tools that want to start deep in the list (the benchmark's last page).
func LastSeenCursor(at time.Time, owner string) string {
	return encodeRecentCursor(ownerMark{At: at.UTC(), Owner: owner})
}
