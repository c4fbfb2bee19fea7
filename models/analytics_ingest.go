package models

import (
	"cmp"
	"crypto/sha256"
	"slices"
	"time"

	"gorm.io/gorm"
)

// AnalyticsSteps are the steps a session can reach: the funnel in order, then the terminal alternatives.
// A step's position is its bit in session_summaries.steps_mask.
var AnalyticsSteps = []string{StepLaunched, StepBrandSelected, StepSignedIn, StepVehiclesSelected,
	StepPermissionsApproved, StepCompleted, StepError, StepExited}

// FunnelSteps are the steps of the funnel proper, in order.
var FunnelSteps = AnalyticsSteps[:6]

// stepIndex is step's position in AnalyticsSteps, or -1 for an unknown step.
func stepIndex(step string) int { return slices.Index(AnalyticsSteps, step) }

// stepBit is the steps_mask bit of step, or 0 for an unknown step.
func stepBit(step string) int64 {
	if i := stepIndex(step); i >= 0 {
		return 1 << i
	}
	return 0
}

// dayOf is the UTC day of t as stored in the rollups.
func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// sessionSummary is one session as analytics sees it: the steps it reached and the dimensions it is counted under.
type sessionSummary struct {
	AppID       string `gorm:"primaryKey"`
	SessionID   string `gorm:"primaryKey"`
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

// rollupShards is how many rows share the count of one (app, day, step, make, mode, sandbox) while
// its day is current: every Connect launch of an app on a day would otherwise update the same launched
// row and queue behind its row lock until commit. Readers (and CompactRollups) sum over the shards.
const rollupShards = 16

// shardOf is the rollup shard of a session counted under day: spread by session id while the day is
// today or yesterday (UTC), when live traffic writes it; shard 0 for older days, which only late or
// imported events touch, so those days never grow sixteen rows per cell. A session's increment and a
// later decrement may therefore land on different shards of a cell (one row goes negative); the sum
// over the shards, the only thing anyone reads, stays exact.
func shardOf(sessionID, day string) int {
	if day < dayOf(time.Now().Add(-24*time.Hour)) {
		return 0
	}
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
	return rollupKey{AppID: s.AppID, Day: s.Day, Make: s.Make, Mode: s.Mode, Sandbox: s.Sandbox, Shard: shardOf(s.SessionID, s.Day)}
}

// RecordEvent stores e and brings the session's summary and the daily rollups up to date, all in tx
// (the caller's transaction). It is idempotent on (app, e.ID): a duplicate returns inserted=false and
// changes nothing. Events may arrive in any order; the numbers come out as if they had arrived in order.
func RecordEvent(tx *gorm.DB, e SessionEvent, sandbox bool) (inserted bool, err error) {
	stored, err := ingestBatch(tx, e.AppID, []SessionEvent{e}, sandbox)
	return len(stored) == 1, err
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
		if *f.cur, err = settle(tx, s.AppID, s.SessionID, f.col, *f.cur, f.val, f.earliest); err != nil {
			return s, err
		}
	}
	s.Outcome = outcomeOf(s.StepsMask)
	return s, nil
}

// settle picks a session's value of a dimension: that of its latest event carrying one (for error codes,
// its earliest error event: the first error wins; an exit's code is not an error). Only a disagreement
// needs a look at the session's events.
func settle(tx *gorm.DB, appID, sessionID, col, cur, val string, first bool) (string, error) {
	if val == "" || val == cur {
		return cur, nil
	}
	if cur == "" {
		return val, nil
	}
	q := tx.Model(&SessionEvent{}).Select(col).Where("app_id = ? AND session_id = ? AND "+col+" <> ''", appID, sessionID)
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
