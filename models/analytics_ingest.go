package models

import (
	"cmp"
	"crypto/sha256"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// AnalyticsSteps are the steps a session can reach: the funnel in order, then the terminal alternatives.
// A step's position is its bit in session_summaries.steps_mask.
var AnalyticsSteps = []string{StepLaunched, StepBrandSelected, StepSignedIn, StepVehiclesSelected,
	StepPermissionsApproved, StepCompleted, StepError, StepExited}

// FunnelSteps are the steps of the funnel proper, in order.
var FunnelSteps = AnalyticsSteps[:6]

// stepBit is the steps_mask bit of step, or 0 for an unknown step.
func stepBit(step string) int64 {
	for i, s := range AnalyticsSteps {
		if s == step {
			return 1 << i
		}
	}
	return 0
}

// dayOf is the UTC day of t as stored in the rollups.
func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// sessionSummary is one session as analytics sees it: the steps it reached and the dimensions it is counted under.
type sessionSummary struct {
	SessionID   string `gorm:"primaryKey"`
	AppID       string
	Owner       string
	Make        string
	Mode        string
	Sandbox     bool
	Day         string
	StepsMask   int64
	Outcome     string
	ErrorCode   string
	StartedAt   *time.Time
	CompletedAt *time.Time
	LastEventAt time.Time
}

func (sessionSummary) TableName() string { return "session_summaries" }

// rollupShards is how many rows share the count of one (app, day, step, make, mode, sandbox): every
// Connect launch of an app on a day would otherwise update the same launched row and queue behind its
// row lock until commit. Readers sum over the shards.
const rollupShards = 16

// shardOf is the rollup shard of a session: a function of its id alone, so its increments and
// decrements always land on the same rows and no row ever goes negative.
func shardOf(sessionID string) int {
	sum := sha256.Sum256([]byte(sessionID))
	return int(sum[0]) % rollupShards
}

// rollupKey is where a session's contributions to funnel_daily and error_daily are counted.
type rollupKey struct {
	AppID, Day, Make, Mode string
	Sandbox                bool
	Shard                  int
}

// less orders rollup rows as they are locked: every column of the key, shard included.
func (k rollupKey) less(o rollupKey) bool {
	return cmp.Or(cmp.Compare(k.AppID, o.AppID), cmp.Compare(k.Day, o.Day), cmp.Compare(k.Make, o.Make),
		cmp.Compare(k.Mode, o.Mode), cmp.Compare(boolInt(k.Sandbox), boolInt(o.Sandbox)), cmp.Compare(k.Shard, o.Shard)) < 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s sessionSummary) key() rollupKey {
	return rollupKey{AppID: s.AppID, Day: s.Day, Make: s.Make, Mode: s.Mode, Sandbox: s.Sandbox, Shard: shardOf(s.SessionID)}
}

// RecordEvent stores e and brings the session's summary and the daily rollups up to date, all in tx
// (the caller's transaction). It is idempotent on e.ID: a duplicate returns inserted=false and changes
// nothing. Events may arrive in any order; the numbers come out as if they had arrived in order.
//
// A session's first event (every Connect launch) costs three statements: the event, its summary
// inserted whole, and one rollup upsert per step reached. Later events lock the summary and fold into it.
func RecordEvent(tx *gorm.DB, e SessionEvent, sandbox bool) (inserted bool, err error) {
	e.OccurredAt = e.OccurredAt.UTC()
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = time.Now().UTC()
	}
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(&e)
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	// Folding into an empty summary reads nothing (no dimension has a value to disagree with), so the
	// summary of a first event is known before its row exists; if the row turns out to exist already
	// (a concurrent insert waits for ours to commit, then sees it), fold into that row instead.
	empty := sessionSummary{SessionID: e.SessionID, AppID: e.AppID, Day: dayOf(e.OccurredAt), LastEventAt: e.OccurredAt}
	first, err := foldEvent(tx, empty, e, sandbox)
	if err != nil {
		return true, err
	}
	res = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "session_id"}}, DoNothing: true}).Create(&first)
	if res.Error != nil {
		return true, res.Error
	}
	if res.RowsAffected == 1 {
		return true, moveContributions(tx, empty, first)
	}
	before, err := lockSummary(tx, e.SessionID)
	if err != nil {
		return true, err
	}
	after, err := foldEvent(tx, before, e, sandbox)
	if err != nil {
		return true, err
	}
	if err := tx.Save(&after).Error; err != nil {
		return true, err
	}
	return true, moveContributions(tx, before, after)
}

// lockSummary returns the session's existing summary row, held FOR UPDATE on PostgreSQL so that
// concurrent events of one session apply one after another.
func lockSummary(tx *gorm.DB, sessionID string) (sessionSummary, error) {
	q := tx
	if IsPostgres(tx) {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var s sessionSummary
	err := q.Where("session_id = ?", sessionID).Take(&s).Error
	return s, err
}

// foldEvent is the summary s once event e is known. Every field is a function of the set of the
// session's events, not of their arrival order.
func foldEvent(tx *gorm.DB, s sessionSummary, e SessionEvent, sandbox bool) (sessionSummary, error) {
	var err error
	errorCode := ""
	if e.Step == StepError {
		errorCode = e.ErrorCode
	}
	s.StepsMask |= stepBit(e.Step)
	s.Sandbox = s.Sandbox || sandbox
	if e.OccurredAt.After(s.LastEventAt) {
		s.LastEventAt = e.OccurredAt
	}
	switch e.Step {
	case StepLaunched:
		s.StartedAt = earliest(s.StartedAt, e.OccurredAt)
	case StepCompleted:
		s.CompletedAt = earliest(s.CompletedAt, e.OccurredAt)
	}
	if s.StartedAt != nil {
		s.Day = dayOf(*s.StartedAt)
	} else if d := dayOf(e.OccurredAt); d < s.Day {
		s.Day = d
	}
	for _, f := range []struct {
		col      string
		cur      *string
		val      string
		earliest bool
	}{{"owner", &s.Owner, e.Owner, false}, {"make", &s.Make, e.Make, false}, {"mode", &s.Mode, e.Mode, false},
		{"error_code", &s.ErrorCode, errorCode, true}} {
		if *f.cur, err = settle(tx, s.SessionID, f.col, *f.cur, f.val, f.earliest); err != nil {
			return s, err
		}
	}
	s.Outcome = outcomeOf(s.StepsMask)
	return s, nil
}

// settle picks a session's value of a dimension: that of its latest event carrying one (for error codes,
// its earliest error event: the first error wins; an exit's code is not an error). Only a disagreement
// needs a look at the session's events.
func settle(tx *gorm.DB, sessionID, col, cur, val string, first bool) (string, error) {
	if val == "" || val == cur {
		return cur, nil
	}
	if cur == "" {
		return val, nil
	}
	q := tx.Model(&SessionEvent{}).Select(col).Where("session_id = ? AND "+col+" <> ''", sessionID)
	if first {
		q = q.Where("step = ?", StepError).Order("occurred_at, id")
	} else {
		q = q.Order("occurred_at DESC, id DESC")
	}
	var out string
	err := q.Limit(1).Scan(&out).Error
	return out, err
}

func earliest(cur *time.Time, t time.Time) *time.Time {
	if cur == nil || t.Before(*cur) {
		return &t
	}
	return cur
}

// outcomeOf ranks what a session came to: completed, else error, else exited, else in progress ("").
func outcomeOf(mask int64) string {
	for _, step := range []string{StepCompleted, StepError, StepExited} {
		if mask&stepBit(step) != 0 {
			return step
		}
	}
	return ""
}

// moveContributions changes the rollups from counting before to counting after: only new steps and a
// new error code when the session stays under the same key, everything moved when its day or a
// dimension changed (an earlier event arrived late, the make became known).
func moveContributions(tx *gorm.DB, before, after sessionSummary) error {
	if before.key() != after.key() {
		// Rollup rows are always locked in key order, so two sessions moving in opposite directions
		// cannot deadlock on PostgreSQL.
		first, second := before, after
		firstDelta := -1
		if after.key().less(before.key()) {
			first, second, firstDelta = after, before, 1
		}
		if err := addContributions(tx, first.key(), first.StepsMask, first.ErrorCode, firstDelta); err != nil {
			return err
		}
		return addContributions(tx, second.key(), second.StepsMask, second.ErrorCode, -firstDelta)
	}
	if err := addContributions(tx, after.key(), after.StepsMask&^before.StepsMask, "", 1); err != nil {
		return err
	}
	if before.ErrorCode == after.ErrorCode {
		return nil
	}
	// The first error code changed: error rows too are locked in order, the lower code first.
	codes := []struct {
		code  string
		delta int
	}{{before.ErrorCode, -1}, {after.ErrorCode, 1}}
	if after.ErrorCode < before.ErrorCode {
		codes[0], codes[1] = codes[1], codes[0]
	}
	for _, c := range codes {
		if err := addContributions(tx, after.key(), 0, c.code, c.delta); err != nil {
			return err
		}
	}
	return nil
}

// addContributions adds delta sessions to every step of mask and to errorCode (when set) under k.
func addContributions(tx *gorm.DB, k rollupKey, mask int64, errorCode string, delta int) error {
	for i, step := range AnalyticsSteps {
		if mask&(1<<i) == 0 {
			continue
		}
		if err := tx.Exec(`INSERT INTO funnel_daily (app_id, day, step, make, mode, sandbox, shard, sessions)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, day, step, make, mode, sandbox, shard)
			DO UPDATE SET sessions = funnel_daily.sessions + excluded.sessions`,
			k.AppID, k.Day, step, k.Make, k.Mode, k.Sandbox, k.Shard, delta).Error; err != nil {
			return err
		}
	}
	if errorCode == "" {
		return nil
	}
	return tx.Exec(`INSERT INTO error_daily (app_id, day, error_code, make, mode, sandbox, shard, sessions)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, day, error_code, make, mode, sandbox, shard)
		DO UPDATE SET sessions = error_daily.sessions + excluded.sessions`,
		k.AppID, k.Day, errorCode, k.Make, k.Mode, k.Sandbox, k.Shard, delta).Error
}
