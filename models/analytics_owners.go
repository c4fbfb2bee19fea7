package models

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// OwnerRow is one owner's sessions under an analytics filter.
type OwnerRow struct {
	Owner          string
	Sessions       int
	Completed      int
	ConversionRate float64
	LastSeenAt     time.Time
	LastOutcome    string
}

// TimelineSession is one of an owner's sessions with its events in the order they happened.
type TimelineSession struct {
	SessionID string
	StartedAt time.Time
	Outcome   string
	Events    []TimelineEvent
}

// TimelineEvent is one step of a session in an owner's timeline.
type TimelineEvent struct {
	Step  string
	At    time.Time
	Make  string
	Error string
}

// OutcomeInProgress is the outcome shown for a session that has not completed, failed or exited.
const OutcomeInProgress = "in_progress"

// Owner sorts: the owners list is ordered by one of these, newest activity first by default.
const (
	OwnerSortLastSeen   = "last_seen"
	OwnerSortSessions   = "sessions"
	OwnerSortConversion = "conversion"
	OwnerSortOwner      = "owner"
)

// ownerOrders are the ORDER BY clauses of the sorts; the owner breaks ties so that pages never overlap.
var ownerOrders = map[string]string{
	OwnerSortLastSeen:   "last_event_at DESC, owner",
	OwnerSortSessions:   "sessions DESC, owner",
	OwnerSortConversion: "completed * 1.0 / sessions DESC, sessions DESC, owner",
	OwnerSortOwner:      "owner",
}

const (
	defaultOwnersLimit = 50
	maxOwnersLimit     = 500
	// maxTimelineSessions bounds a timeline to a page: an owner's most recent sessions.
	maxTimelineSessions = 500
)

// ownerAggregate is the row the owners query returns: the owner's latest session with the owner's totals.
type ownerAggregate struct {
	Owner       string
	Sessions    int
	Completed   int
	LastEventAt time.Time
	Outcome     string
}

func (a ownerAggregate) row() OwnerRow {
	return OwnerRow{Owner: a.Owner, Sessions: a.Sessions, Completed: a.Completed,
		ConversionRate: ratio(a.Completed, a.Sessions), LastSeenAt: a.LastEventAt.UTC(), LastOutcome: outcomeName(a.Outcome)}
}

// outcomeName is how an outcome is shown: a session with none yet is in progress.
func outcomeName(outcome string) string {
	if outcome == "" {
		return OutcomeInProgress
	}
	return outcome
}

// OwnersFor lists the owners of one of the organisation's apps with their sessions under f, from the
// per-owner daily rollup (owner_daily). f.Owner is a case-insensitive substring search. sort is one of the
// OwnerSort names ("" means last_seen); limit defaults to 50 and is at most 500; cursor is the
// opaque next cursor of the previous page ("" for the first), and the returned cursor is "" on the last page.
func OwnersFor(db *gorm.DB, orgID, appID string, f AnalyticsFilter, sort string, limit int, cursor string) (rows []OwnerRow, next string, err error) {
	err = withCustomPlans(db, func(db *gorm.DB) error {
		rows, next, err = ownersFor(db, orgID, appID, f, sort, limit, cursor)
		return err
	})
	return rows, next, err
}

func ownersFor(db *gorm.DB, orgID, appID string, f AnalyticsFilter, sort string, limit int, cursor string) ([]OwnerRow, string, error) {
	if _, err := FindApp(db, orgID, appID); err != nil {
		return nil, "", err
	}
	if err := checkRange(f.Range); err != nil {
		return nil, "", err
	}
	if sort == "" {
		sort = OwnerSortLastSeen
	}
	order, ok := ownerOrders[sort]
	if !ok {
		return nil, "", Invalid("sort", "invalid_sort", "Sort by last_seen, sessions, conversion or owner.")
	}
	if limit <= 0 {
		limit = defaultOwnersLimit
	}
	limit = min(limit, maxOwnersLimit)
	var (
		rows []ownerAggregate
		next string
		err  error
	)
	if sort == OwnerSortLastSeen {
		rows, next, err = recentOwnersPage(db, appID, f, limit, cursor)
	} else {
		rows, next, err = rankedOwnersPage(db, appID, f, order, limit, cursor)
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]OwnerRow, len(rows))
	for i, r := range rows {
		out[i] = r.row()
	}
	return out, next, nil
}

// recentOwnersPage is a page of the default sort, found by walking the most recent sessions.
func recentOwnersPage(db *gorm.DB, appID string, f AnalyticsFilter, limit int, cursor string) ([]ownerAggregate, string, error) {
	mark, err := decodeRecentCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	owners, err := recentOwners(db, appID, f, limit, mark)
	if err != nil || len(owners) == 0 {
		return nil, "", err
	}
	page := owners[:min(len(owners), limit)]
	rows, err := ownerTotals(db, appID, f, page, ownerOrders[OwnerSortLastSeen])
	if err != nil || len(owners) <= limit || len(rows) == 0 {
		return rows, "", err
	}
	last := rows[len(rows)-1]
	return rows, encodeRecentCursor(ownerMark{At: last.LastEventAt.UTC(), Owner: last.Owner}), nil
}

// rankedOwnersPage is a page of the other sorts: every owner in the range is ranked (its cost grows
// with the owner-days in the range), and the cursor is an offset into that ranking. The ranking is a
// plain GROUP BY over owner_daily (a hash aggregate); each owner's latest activity and last outcome
// are read only for the owners of the page.
func rankedOwnersPage(db *gorm.DB, appID string, f AnalyticsFilter, order string, limit int, cursor string) ([]ownerAggregate, string, error) {
	offset, err := decodeOwnersCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	ranking := ownerDailySearchScope(db, appID, f).Group("owner").
		Select("owner, SUM(sessions) AS sessions, SUM(completed) AS completed")
	var page []string
	err = db.Table("(?) AS ranking", ranking).Order(order).Limit(limit+1).Offset(offset).Pluck("owner", &page).Error
	if err != nil || len(page) == 0 {
		return nil, "", err
	}
	next := ""
	if len(page) > limit {
		page, next = page[:limit], encodeOwnersCursor(offset+limit)
	}
	rows, err := ownerTotals(db, appID, f, page, order)
	return rows, next, err
}

// OwnersCount is how many owners have sessions under f (f.Owner as the list's substring search).
func OwnersCount(db *gorm.DB, orgID, appID string, f AnalyticsFilter) (int, error) {
	if _, err := FindApp(db, orgID, appID); err != nil {
		return 0, err
	}
	if err := checkRange(f.Range); err != nil {
		return 0, err
	}
	var n int
	err := withCustomPlans(db, func(db *gorm.DB) error {
		return ownerDailySearchScope(db, appID, f).Select("COUNT(DISTINCT owner)").Scan(&n).Error
	})
	return n, err
}

// ownerDailyScope selects an app's owner_daily rows with sessions under f's range, make, mode and
// sandbox parts (not its owner, which each caller applies its own way). Without a make or mode it
// reads the rows that count every make and mode together (one per owner, day and sandbox flag);
// with one, the rows of that make or mode (the other dimension's values summed by the caller).
func ownerDailyScope(db *gorm.DB, appID string, f AnalyticsFilter) *gorm.DB {
	conds, args := ownerDailyConds("owner_daily", appID, f)
	return db.Table("owner_daily").Where(conds, args...)
}

// ownerDailyConds is ownerDailyScope's condition on the owner_daily rows named alias.
func ownerDailyConds(alias, appID string, f AnalyticsFilter) (string, []any) {
	a := alias + "."
	conds := []string{a + "app_id = ?", a + "day BETWEEN ? AND ?", a + "sessions > 0"}
	args := []any{appID, dayOf(f.Range.From), dayOf(f.Range.To)}
	if f.Make == "" && f.Mode == "" {
		conds, args = append(conds, a+"make = ?", a+"mode = ?"), append(args, allMakes, allModes)
	} else {
		conds, args = append(conds, a+"make <> ?", a+"mode <> ?"), append(args, allMakes, allModes)
	}
	if f.Make != "" {
		conds, args = append(conds, a+"make = ?"), append(args, f.Make)
	}
	if f.Mode != "" {
		conds, args = append(conds, a+"mode = ?"), append(args, f.Mode)
	}
	if !f.IncludeSandbox {
		conds, args = append(conds, a+"sandbox = ?"), append(args, false)
	}
	return strings.Join(conds, " AND "), args
}

// ownerDailySearchScope is ownerDailyScope narrowed by f.Owner as a case-insensitive substring.
func ownerDailySearchScope(db *gorm.DB, appID string, f AnalyticsFilter) *gorm.DB {
	q := ownerDailyScope(db, appID, f)
	if f.Owner != "" {
		// The app's owners that match come from app_owners (a trigram index on PostgreSQL); the
		// planner then reads their rows through the owner index, or, when most owners match, checks
		// each row of the walk against the matching set.
		q = q.Where(`owner IN (SELECT o.owner FROM app_owners o WHERE o.app_id = ? AND LOWER(o.owner) LIKE ? ESCAPE '\')`,
			appID, "%"+escapeLike(strings.ToLower(f.Owner))+"%")
	}
	return q
}

// ownerTotals sums the owner_daily rows of each owner of page under f, in order. Window functions keep
// each owner's latest row, and with it their latest session's outcome, beside the totals, so the
// times stay plain columns (SQLite returns an aggregate of a timestamp as text).
func ownerTotals(db *gorm.DB, appID string, f AnalyticsFilter, page []string, order string) ([]ownerAggregate, error) {
	if len(page) == 0 {
		return nil, nil
	}
	inner := ownerDailyScope(db, appID, f).Where("owner IN ?", page).Select(`owner, last_event_at, last_outcome AS outcome,
		ROW_NUMBER() OVER (PARTITION BY owner ORDER BY last_event_at DESC, last_session DESC) AS latest,
		SUM(sessions) OVER (PARTITION BY owner) AS sessions,
		SUM(completed) OVER (PARTITION BY owner) AS completed`)
	var rows []ownerAggregate
	err := db.Table("(?) AS totals", inner).Select("owner, sessions, completed, last_event_at, outcome").
		Where("latest = 1").Order(order).Scan(&rows).Error
	return rows, err
}

// ownerSummaryScope selects an app's session summaries under f's range, make, mode and sandbox parts
// (not its owner, which each caller applies its own way). Sessions without an owner are nobody's.
func ownerSummaryScope(db *gorm.DB, appID string, f AnalyticsFilter) *gorm.DB {
	q := db.Table("session_summaries").Where("app_id = ? AND day BETWEEN ? AND ? AND owner <> ''",
		appID, dayOf(f.Range.From), dayOf(f.Range.To))
	return dimensionScope(q, f)
}

// checkRange refuses a range that ends before it starts or is longer than the analytics allow,
// with the same fields and codes as FunnelFor.
func checkRange(r DateRange) error {
	if r.From.IsZero() || r.To.IsZero() || r.To.Before(r.From) {
		return Invalid("to", "invalid_range", "Choose a range whose end is not before its start.")
	}
	if len(r.days()) > maxAnalyticsDays {
		return Invalid("from", "range_too_long", "Choose a range of at most 1000 days.")
	}
	return nil
}

// The owners cursor is an offset into the sorted list, encoded so that clients treat it as opaque.
const ownersCursorPrefix = "o1:"

func encodeOwnersCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(ownersCursorPrefix + strconv.Itoa(offset)))
}

func decodeOwnersCursor(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	bad := Invalid("cursor", "invalid_cursor", "Use the next_cursor of the previous page, unchanged.")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(raw), ownersCursorPrefix) {
		return 0, bad
	}
	offset, err := strconv.Atoi(strings.TrimPrefix(string(raw), ownersCursorPrefix))
	if err != nil || offset < 0 {
		return 0, bad
	}
	return offset, nil
}

// timelineSummary is the part of a session summary a timeline shows.
type timelineSummary struct {
	SessionID   string
	Outcome     string
	StartedAt   *time.Time
	LastEventAt time.Time
}

// OwnerTimeline is one owner's totals under f and their sessions (at most the 500 most recent),
// newest first, each with its events in order. f.Owner is ignored: owner is matched exactly. An owner
// the app has never seen is ErrNotFound; a known owner with no sessions under f has an empty timeline.
func OwnerTimeline(db *gorm.DB, orgID, appID, owner string, f AnalyticsFilter) (row OwnerRow, sessions []TimelineSession, err error) {
	err = withCustomPlans(db, func(db *gorm.DB) error {
		row, sessions, err = ownerTimeline(db, orgID, appID, owner, f)
		return err
	})
	return row, sessions, err
}

func ownerTimeline(db *gorm.DB, orgID, appID, owner string, f AnalyticsFilter) (OwnerRow, []TimelineSession, error) {
	if _, err := FindApp(db, orgID, appID); err != nil {
		return OwnerRow{}, nil, err
	}
	if err := checkRange(f.Range); err != nil {
		return OwnerRow{}, nil, err
	}
	if owner == "" {
		return OwnerRow{}, nil, ErrNotFound
	}
	agg, err := ownerTotals(db, appID, f, []string{owner}, ownerOrders[OwnerSortLastSeen])
	if err != nil {
		return OwnerRow{}, nil, err
	}
	if len(agg) == 0 {
		return emptyTimeline(db, appID, owner)
	}
	var sessions []timelineSummary
	err = ownerSummaryScope(db, appID, f).Where("owner = ?", owner).
		Select("session_id, outcome, started_at, last_event_at").
		Order("last_event_at DESC, session_id DESC").Limit(maxTimelineSessions).Scan(&sessions).Error
	if err != nil {
		return OwnerRow{}, nil, err
	}
	timeline, err := timelineOf(db, appID, sessions)
	return agg[0].row(), timeline, err
}

// emptyTimeline answers for an owner with no sessions under the filter: known to the app, or not found.
func emptyTimeline(db *gorm.DB, appID, owner string) (OwnerRow, []TimelineSession, error) {
	var known []string
	err := db.Table("session_summaries").Where("app_id = ? AND owner = ?", appID, owner).Limit(1).Pluck("session_id", &known).Error
	switch {
	case err != nil:
		return OwnerRow{}, nil, err
	case len(known) == 0:
		return OwnerRow{}, nil, ErrNotFound
	}
	return OwnerRow{Owner: owner, LastOutcome: OutcomeInProgress}, []TimelineSession{}, nil
}

// timelineOf loads the events of sessions and orders the sessions by start, newest first.
func timelineOf(db *gorm.DB, appID string, sessions []timelineSummary) ([]TimelineSession, error) {
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.SessionID
	}
	var events []SessionEvent
	err := db.Where("app_id = ? AND session_id IN ?", appID, ids).Order("occurred_at, received_at, id").Find(&events).Error
	if err != nil {
		return nil, err
	}
	bySession := map[string][]TimelineEvent{}
	for _, e := range events {
		bySession[e.SessionID] = append(bySession[e.SessionID],
			TimelineEvent{Step: e.Step, At: e.OccurredAt.UTC(), Make: e.Make, Error: e.ErrorCode})
	}
	out := make([]TimelineSession, len(sessions))
	for i, s := range sessions {
		ts := TimelineSession{SessionID: s.SessionID, Outcome: outcomeName(s.Outcome), Events: bySession[s.SessionID]}
		switch {
		case s.StartedAt != nil:
			ts.StartedAt = s.StartedAt.UTC()
		case len(ts.Events) > 0: // the launch has not arrived yet: the session started no later than its first event
			ts.StartedAt = ts.Events[0].At
		default:
			ts.StartedAt = s.LastEventAt.UTC()
		}
		if ts.Events == nil {
			ts.Events = []TimelineEvent{}
		}
		out[i] = ts
	}
	slices.SortStableFunc(out, func(a, b TimelineSession) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.SessionID, a.SessionID)
	})
	return out, nil
}
