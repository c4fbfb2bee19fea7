package models

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ingestBatch stores events (all of app appID, already valid) and brings the session summaries and
// the daily rollups up to date in tx, in a handful of statements whatever the batch size. It returns
// the ids of the events it stored; the others were already known (or repeated within the batch).
//
// Rows are locked in one global order, so concurrent batches cannot deadlock on PostgreSQL: events
// and summaries by session id, then every rollup row in key order (rollup changes are summed in
// memory and written last).
func ingestBatch(tx *gorm.DB, appID string, events []SessionEvent, sandbox bool) (map[string]bool, error) {
	events = orderedUnique(appID, events)
	if len(events) == 0 {
		return map[string]bool{}, nil
	}
	stored, err := insertEvents(tx, events)
	if err != nil || len(stored) == 0 {
		return stored, err
	}
	bySession := map[string][]SessionEvent{}
	var sessions []string
	for _, e := range events {
		if !stored[e.ID] {
			continue
		}
		if _, seen := bySession[e.SessionID]; !seen {
			sessions = append(sessions, e.SessionID)
		}
		bySession[e.SessionID] = append(bySession[e.SessionID], e)
	}
	deltas := summaryDeltas{rollups: rollupDeltas{}, owners: ownerDeltas{}}
	existing, err := insertNewSummaries(tx, appID, sessions, bySession, sandbox, deltas)
	if err != nil {
		return stored, err
	}
	if err := foldIntoExisting(tx, appID, existing, bySession, sandbox, deltas); err != nil {
		return stored, err
	}
	return stored, deltas.flush(tx)
}

// orderedUnique keeps the first of events sharing an id, stamps times, and sorts by session, then time.
func orderedUnique(appID string, events []SessionEvent) []SessionEvent {
	now := time.Now().UTC()
	seen := map[string]bool{}
	out := make([]SessionEvent, 0, len(events))
	for _, e := range events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		// PostgreSQL keeps microseconds: fold what will be read back, so later folds agree with this one.
		e.AppID, e.OccurredAt = appID, e.OccurredAt.UTC().Truncate(time.Microsecond)
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = now
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b SessionEvent) int {
		return cmp.Or(strings.Compare(a.SessionID, b.SessionID), a.OccurredAt.Compare(b.OccurredAt), strings.Compare(a.ID, b.ID))
	})
	return out
}

// insertEvents inserts the events that are new and returns their ids.
func insertEvents(tx *gorm.DB, events []SessionEvent) (map[string]bool, error) {
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = []any{e.AppID, e.ID, e.SessionID, e.Owner, e.Step, e.Make, e.Mode, e.ErrorCode, e.OccurredAt, e.ReceivedAt}
	}
	ids, err := insertReturning(tx, "session_events",
		"app_id, id, session_id, owner, step, make, mode, error_code, occurred_at, received_at", rows, "app_id, id", "id")
	stored := make(map[string]bool, len(ids))
	for _, id := range ids {
		stored[id] = true
	}
	return stored, err
}

// insertNewSummaries inserts, whole, the summary of every session that has none yet (folding into an
// empty summary reads nothing but the session's own events) and counts them in deltas. It returns the
// sessions that already had a summary, in order.
func insertNewSummaries(tx *gorm.DB, appID string, sessions []string, bySession map[string][]SessionEvent,
	sandbox bool, deltas summaryDeltas) ([]string, error) {
	folded := map[string]sessionSummary{}
	rows := make([][]any, 0, len(sessions))
	for _, id := range sessions {
		first := bySession[id][0]
		s := sessionSummary{SessionID: id, AppID: appID, Day: dayOf(first.OccurredAt), LastEventAt: first.OccurredAt}
		var err error
		if s, err = foldEvents(tx, s, bySession[id], sandbox); err != nil {
			return nil, err
		}
		folded[id] = s
		rows = append(rows, []any{s.AppID, s.SessionID, s.Owner, s.Make, s.Mode, s.Sandbox, s.Day, s.StepsMask,
			s.Outcome, s.ErrorCode, s.StartedAt, s.CompletedAt, s.LastEventAt})
	}
	inserted, err := insertReturning(tx, "session_summaries", "app_id, session_id, owner, make, mode, sandbox, day, "+
		"steps_mask, outcome, error_code, started_at, completed_at, last_event_at", rows, "app_id, session_id", "session_id")
	if err != nil {
		return nil, err
	}
	isNew := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
		deltas.add(folded[id])
	}
	var existing []string
	for _, id := range sessions {
		if !isNew[id] {
			existing = append(existing, id)
		}
	}
	return existing, nil
}

// foldIntoExisting locks the summaries of sessions (held FOR UPDATE on PostgreSQL, in session order,
// so concurrent events of one session apply one after another), folds their new events in, saves them
// and moves their rollup contributions.
func foldIntoExisting(tx *gorm.DB, appID string, sessions []string, bySession map[string][]SessionEvent,
	sandbox bool, deltas summaryDeltas) error {
	if len(sessions) == 0 {
		return nil
	}
	var before []sessionSummary
	for chunk := range slices.Chunk(sessions, 500) {
		q := tx.Where("app_id = ? AND session_id IN ?", appID, chunk).Order("session_id")
		if IsPostgres(tx) {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var part []sessionSummary
		if err := q.Find(&part).Error; err != nil {
			return err
		}
		before = append(before, part...)
	}
	after := make([]sessionSummary, len(before))
	for i, b := range before {
		a, err := foldEvents(tx, b, bySession[b.SessionID], sandbox)
		if err != nil {
			return err
		}
		after[i] = a
		deltas.move(b, a)
	}
	for chunk := range slices.Chunk(after, 500) {
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "app_id"}, {Name: "session_id"}}, UpdateAll: true}).
			Create(&chunk).Error; err != nil {
			return err
		}
	}
	return nil
}

func foldEvents(tx *gorm.DB, s sessionSummary, events []SessionEvent, sandbox bool) (sessionSummary, error) {
	var err error
	for _, e := range events {
		if s, err = foldEvent(tx, s, e, sandbox); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Rollup tables a rollupCell can belong to.
const (
	funnelTable = iota
	errorTable
	completionTable
)

// rollupTables name each rollup table, the column its cell label goes in, and its key columns.
var rollupTables = []struct{ name, label, key string }{
	funnelTable:     {"funnel_daily", "step", "app_id, day, step, make, mode, sandbox, shard"},
	errorTable:      {"error_daily", "error_code", "app_id, day, error_code, make, mode, sandbox, shard"},
	completionTable: {"completion_daily", "seconds", "app_id, make, day, seconds, mode, sandbox"},
}

// rollupCell is one row of a rollup table: funnel_daily (label = step), error_daily (label = error
// code) or completion_daily (rank = whole seconds from launch to completion). The completion
// histogram has no shards (completions spread over many durations anyway), and counts each session
// twice: under its make and under make "*" (all makes), with the make first in its key, so that a
// dashboard reads one make's rows or the total's, never every make's.
//
// rank orders the cells of one key as their rows are locked: funnel steps in the order sessions reach
// them (a Connect transaction that records two steps, launched then error or permissions_approved
// then completed, flushes twice; in funnel order its second flush only locks rows after its first's,
// keeping the one global lock order that batches follow), error codes by text, durations by value.
type rollupCell struct {
	table int
	key   rollupKey
	rank  int
	label string
}

// values is the cell's row for its table's key columns, then its count.
func (c rollupCell) values(count int) []any {
	k := c.key
	if c.table == completionTable {
		return []any{k.AppID, k.Make, k.Day, c.rank, k.Mode, k.Sandbox, count}
	}
	return []any{k.AppID, k.Day, c.label, k.Make, k.Mode, k.Sandbox, k.Shard, count}
}

// summaryDeltas are the changes a batch makes to the tables derived from the session summaries.
type summaryDeltas struct {
	rollups rollupDeltas
	owners  ownerDeltas
}

// add counts a new session.
func (d summaryDeltas) add(s sessionSummary) {
	d.rollups.add(s, 1)
	d.owners.add(s, 1, false)
}

// move replaces a session's contributions as before by those as after.
func (d summaryDeltas) move(before, after sessionSummary) {
	d.rollups.add(before, -1)
	d.rollups.add(after, 1)
	d.owners.move(before, after)
}

// flush writes the owner rows, then the rollups: one global lock order for every transaction.
func (d summaryDeltas) flush(tx *gorm.DB) error {
	if err := d.owners.flush(tx); err != nil {
		return err
	}
	return d.rollups.flush(tx)
}

// rollupDeltas sums the changes a batch makes to rollup rows, so each row is written once.
type rollupDeltas map[rollupCell]int

// add counts (sign 1) or uncounts (sign -1) a session's contributions: one per step it reached, one
// for its error code and one for its time to complete.
func (d rollupDeltas) add(s sessionSummary, sign int) {
	k := s.key()
	for i, step := range AnalyticsSteps {
		if s.StepsMask&(1<<i) != 0 {
			d[rollupCell{table: funnelTable, key: k, rank: i, label: step}] += sign
		}
	}
	if s.ErrorCode != "" {
		d[rollupCell{table: errorTable, key: k, label: s.ErrorCode}] += sign
	}
	d.addCompletion(s, sign)
}

func (d rollupDeltas) addCompletion(s sessionSummary, sign int) {
	secs, ok := secondsToComplete(s)
	if !ok {
		return
	}
	for _, m := range []string{allMakes, s.Make} {
		if m != "" {
			k := s.key()
			k.Shard, k.Make = 0, m
			d[rollupCell{table: completionTable, key: k, rank: secs}] += sign
		}
	}
}

// allMakes is the make under which completion_daily counts every make together.
const allMakes = "*"

// secondsToComplete is the whole seconds from a session's launch to its completion, when it has both.
func secondsToComplete(s sessionSummary) (int, bool) {
	if s.StartedAt == nil || s.CompletedAt == nil {
		return 0, false
	}
	return max(0, int(s.CompletedAt.Sub(*s.StartedAt)/time.Second)), true
}

// flush writes the non-zero changes, table by table, each in key order.
func (d rollupDeltas) flush(tx *gorm.DB) error {
	cells := make([]rollupCell, 0, len(d))
	for c, delta := range d {
		if delta != 0 {
			cells = append(cells, c)
		}
	}
	slices.SortFunc(cells, func(a, b rollupCell) int {
		switch {
		case a.table != b.table:
			return cmp.Compare(a.table, b.table)
		case a.key != b.key:
			if a.key.less(b.key) {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.label, b.label))
	})
	for table := range rollupTables {
		var rows [][]any
		for _, c := range cells {
			if c.table == table {
				rows = append(rows, c.values(d[c]))
			}
		}
		if err := upsertCounts(tx, table, rows); err != nil {
			return err
		}
	}
	return nil
}

// backfillCompletions fills completion_daily from the session summaries that existed before it, a
// page of 5,000 at a time in (app_id, session_id) order.
func backfillCompletions(tx *gorm.DB) error {
	var after sessionSummary
	for {
		var rows []sessionSummary
		err := tx.Where("started_at IS NOT NULL AND completed_at IS NOT NULL").
			Where("app_id > ? OR (app_id = ? AND session_id > ?)", after.AppID, after.AppID, after.SessionID).
			Order("app_id, session_id").Limit(5000).Find(&rows).Error
		if err != nil || len(rows) == 0 {
			return err
		}
		d := rollupDeltas{}
		for _, s := range rows {
			d.addCompletion(s, 1)
		}
		if err := d.flush(tx); err != nil {
			return err
		}
		after = rows[len(rows)-1]
	}
}

// upsertCounts adds each row's count to the table's sessions, inserting rows not there yet.
func upsertCounts(tx *gorm.DB, t int, rows [][]any) error {
	table, key := rollupTables[t].name, rollupTables[t].key
	for chunk := range slices.Chunk(rows, 400) {
		values, args := valuesList(chunk)
		err := tx.Exec(fmt.Sprintf(`INSERT INTO %s (%s, sessions) VALUES %s ON CONFLICT (%s)
			DO UPDATE SET sessions = %s.sessions + excluded.sessions`, table, key, values, key, table), args...).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// insertReturning inserts rows into table, skipping those that conflict on the conflict columns, and
// returns the returning column of the rows it inserted. Both SQLite and PostgreSQL support RETURNING.
func insertReturning(tx *gorm.DB, table, cols string, rows [][]any, conflict, returning string) ([]string, error) {
	var out []string
	for chunk := range slices.Chunk(rows, 300) {
		values, args := valuesList(chunk)
		// Rows, not Scan: GORM's Scan renders every statement with its arguments inlined for a trace
		// recorder, which for 3,000 arguments cost a fifth of the ingestion's CPU.
		result, err := tx.Raw(fmt.Sprintf("INSERT INTO %s (%s) VALUES %s ON CONFLICT (%s) DO NOTHING RETURNING %s",
			table, cols, values, conflict, returning), args...).Rows()
		if err != nil {
			return out, err
		}
		out, err = appendStrings(out, result)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// appendStrings reads a one-column result into out and closes it.
func appendStrings(out []string, rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// valuesList is "(?, ?), (?, ?)" for rows, with their values in order.
func valuesList(rows [][]any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(rows)*len(rows[0]))
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", len(r)), ", ") + ")")
		args = append(args, r...)
	}
	return b.String(), args
}
