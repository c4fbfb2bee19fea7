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

// summaryRow is a session summary as the walk sees it.
type summaryRow struct {
	Owner       string
	SessionID   string
	LastEventAt time.Time
}

// recentOwners is a page of owners sorted by last seen (newest first, then by owner). Rather than
// grouping every session in the range, it walks the summaries newest first through the
// (app_id, last_event_at) index and stops once it has met limit+1 owners, so its cost follows the page
// size, not the history. After a mark, an owner met in the walk belongs to this page only if none of
// their sessions sorts before the mark (else an earlier page showed them).
func recentOwners(db *gorm.DB, appID string, f AnalyticsFilter, limit int, after *ownerMark) ([]string, error) {
	scope := func() *gorm.DB { return ownersSearchScope(db, appID, f) }
	var owners []string
	seen := map[string]bool{}
	var pos *summaryRow
	chunk := max(4*(limit+1), 200)
	for len(owners) <= limit {
		q := scope().Select("owner, session_id, last_event_at").Order("last_event_at DESC, owner, session_id").Limit(chunk)
		switch {
		case pos != nil:
			q = q.Where("last_event_at < ? OR (last_event_at = ? AND (owner > ? OR (owner = ? AND session_id > ?)))",
				pos.LastEventAt, pos.LastEventAt, pos.Owner, pos.Owner, pos.SessionID)
		case after != nil:
			q = q.Where("last_event_at < ? OR (last_event_at = ? AND owner > ?)", after.At, after.At, after.Owner)
		}
		var rows []summaryRow
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
		pos = &rows[len(rows)-1]
	}
	return owners[:min(len(owners), limit+1)], nil
}

// ownersNotBefore returns, in walk order, the owners of rows not met yet whose sessions all sort after
// the mark, and marks every owner of rows as met.
func ownersNotBefore(scope func() *gorm.DB, rows []summaryRow, seen map[string]bool, after *ownerMark) ([]string, error) {
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
	var shown []string
	err := scope().Distinct("owner").Where("owner IN ?", candidates).
		Where("last_event_at > ? OR (last_event_at = ? AND owner <= ?)", after.At, after.At, after.Owner).Scan(&shown).Error
	return slices.DeleteFunc(candidates, func(o string) bool { return slices.Contains(shown, o) }), err
}
