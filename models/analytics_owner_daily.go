package models

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// owner_daily counts each owner's sessions per day and dimension (make, mode, sandbox): sessions,
// completed ones and the latest event. Owner lists, owner totals and unique-owner figures read it
// instead of the session summaries, so their cost follows owner-days, not sessions: an app whose 50
// owners come back hundreds of times a day costs 50 rows a day. Each session is counted twice: under
// its make and mode, and under make and mode "*" (all of them), so a list without a make or mode
// filter reads one row per owner and day however many makes an owner connects.
//
// Counts move with deltas like the other rollups. last_event_at only grows while a session keeps its
// key; a session that leaves a row (its launch arrived late and moved its day, or its owner, make or
// mode settled on another value) gets that row's latest event recomputed from the summaries, and a
// row left with no sessions is deleted.

// ownerKey is one owner_daily row.
type ownerKey struct {
	AppID, Day, Owner, Make, Mode string
	Sandbox                       bool
}

func (k ownerKey) compare(o ownerKey) int {
	return cmp.Or(cmp.Compare(k.AppID, o.AppID), cmp.Compare(k.Day, o.Day), cmp.Compare(k.Owner, o.Owner),
		cmp.Compare(k.Make, o.Make), cmp.Compare(k.Mode, o.Mode), cmp.Compare(boolInt(k.Sandbox), boolInt(o.Sandbox)))
}

func (s sessionSummary) ownerKey() ownerKey {
	return ownerKey{AppID: s.AppID, Day: s.Day, Owner: s.Owner, Make: s.Make, Mode: s.Mode, Sandbox: s.Sandbox}
}

// ownerDelta is a batch's change to one row.
type ownerDelta struct {
	sessions, completed int
	lastEventAt         time.Time // the latest session counted here by this batch: its last event,
	lastSession         string    // its id (ties on the instant go to the greater id, as everywhere)
	lastOutcome         string    // and its outcome
	left                bool      // a session left this row: it may be empty, or its latest session stale
	leftAt              time.Time // the latest event of the sessions that left
}

// ownerDeltas sums a batch's changes to owner_daily, so each row is written once.
type ownerDeltas map[ownerKey]*ownerDelta

// allModes is the mode under which owner_daily counts every mode together (with make allMakes).
const allModes = "*"

// add counts (sign 1) or uncounts (sign -1) a session under its owner's rows. Sessions without an
// owner belong to nobody's row. leaving says the session moves to another row.
func (d ownerDeltas) add(s sessionSummary, sign int, leaving bool) {
	if s.Owner == "" {
		return
	}
	k := s.ownerKey()
	d.addTo(k, s, sign, leaving)
	k.Make, k.Mode = allMakes, allModes
	d.addTo(k, s, sign, leaving)
}

func (d ownerDeltas) addTo(k ownerKey, s sessionSummary, sign int, leaving bool) {
	od := d[k]
	if od == nil {
		od = &ownerDelta{}
		d[k] = od
	}
	od.sessions += sign
	if s.Outcome == StepCompleted {
		od.completed += sign
	}
	if sign > 0 && (s.LastEventAt.After(od.lastEventAt) || s.LastEventAt.Equal(od.lastEventAt) && s.SessionID > od.lastSession) {
		od.lastEventAt, od.lastSession, od.lastOutcome = s.LastEventAt, s.SessionID, s.Outcome
	}
	if leaving {
		od.left = true
		if s.LastEventAt.After(od.leftAt) {
			od.leftAt = s.LastEventAt
		}
	}
}

// move records that a session's summary changed from before to after. Within one row the latest
// event only grows; a session that changes rows leaves its old ones to be repaired.
func (d ownerDeltas) move(before, after sessionSummary) {
	b, a := before.ownerKey(), after.ownerKey()
	bAll, aAll := b, a
	bAll.Make, bAll.Mode, aAll.Make, aAll.Mode = allMakes, allModes, allMakes, allModes
	if before.Owner != "" { // sessions without an owner are in nobody's rows
		d.addTo(b, before, -1, b != a)
		d.addTo(bAll, before, -1, bAll != aAll)
	}
	if after.Owner != "" {
		d.addTo(a, after, 1, false)
		d.addTo(aAll, after, 1, false)
	}
}

// flush writes the rows in key order (the lock order), then repairs the rows sessions left.
func (d ownerDeltas) flush(tx *gorm.DB) error {
	keys := make([]ownerKey, 0, len(d))
	for k, od := range d {
		if od.sessions != 0 || od.completed != 0 || od.left || !od.lastEventAt.IsZero() {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, ownerKey.compare)
	var rows [][]any
	var left []ownerKey
	for _, k := range keys {
		od := d[k]
		at := od.lastEventAt
		if at.IsZero() {
			at = time.Unix(0, 0).UTC() // a row only uncounted here: the stored latest session stays
		}
		rows = append(rows, []any{k.AppID, k.Day, k.Owner, k.Make, k.Mode, k.Sandbox, od.sessions, od.completed,
			at, od.lastSession, od.lastOutcome})
		if od.left {
			left = append(left, k)
		}
	}
	const cols = "app_id, day, owner, make, mode, sandbox"
	// The row keeps its latest session: this batch's, when it is as late or later (the same session
	// with a new outcome, from an older event arriving late, is "as late").
	const later = "(excluded.last_event_at, excluded.last_session) >= (owner_daily.last_event_at, owner_daily.last_session)"
	for chunk := range slices.Chunk(rows, 250) {
		values, args := valuesList(chunk)
		err := tx.Exec(fmt.Sprintf(`INSERT INTO owner_daily (%[1]s, sessions, completed, last_event_at, last_session, last_outcome)
			VALUES %[2]s ON CONFLICT (%[1]s) DO UPDATE SET sessions = owner_daily.sessions + excluded.sessions,
			completed = owner_daily.completed + excluded.completed,
			last_event_at = CASE WHEN %[3]s THEN excluded.last_event_at ELSE owner_daily.last_event_at END,
			last_session = CASE WHEN %[3]s THEN excluded.last_session ELSE owner_daily.last_session END,
			last_outcome = CASE WHEN %[3]s THEN excluded.last_outcome ELSE owner_daily.last_outcome END`,
			cols, values, later), args...).Error
		if err != nil {
			return err
		}
	}
	if err := rememberOwners(tx, keys); err != nil {
		return err
	}
	return repairOwnerRows(tx, left, d)
}

// rememberOwners adds the owners of keys to app_owners, the one-row-per-owner list that owner search
// looks through (by trigram on PostgreSQL) before it reads owner_daily.
func rememberOwners(tx *gorm.DB, keys []ownerKey) error {
	seen := map[[2]string]bool{}
	var rows [][]any
	for _, k := range keys {
		if id := [2]string{k.AppID, k.Owner}; !seen[id] {
			seen[id] = true
			rows = append(rows, []any{k.AppID, k.Owner})
		}
	}
	slices.SortFunc(rows, func(a, b []any) int {
		return cmp.Or(cmp.Compare(a[0].(string), b[0].(string)), cmp.Compare(a[1].(string), b[1].(string)))
	})
	for chunk := range slices.Chunk(rows, 500) {
		values, args := valuesList(chunk)
		if err := tx.Exec("INSERT INTO app_owners (app_id, owner) VALUES "+values+" ON CONFLICT (app_id, owner) DO NOTHING", args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// repairOwnerRows deletes the rows in keys that no session is counted under any more, and, where
// a departed session may have been a row's latest, sets the latest session from those still there.
func repairOwnerRows(tx *gorm.DB, keys []ownerKey, d ownerDeltas) error {
	const rowKey = "app_id = ? AND day = ? AND owner = ? AND make = ? AND mode = ? AND sandbox = ?"
	for _, k := range keys {
		args := []any{k.AppID, k.Day, k.Owner, k.Make, k.Mode, k.Sandbox}
		if err := tx.Exec("DELETE FROM owner_daily WHERE "+rowKey+" AND sessions <= 0", args...).Error; err != nil {
			return err
		}
		err := tx.Exec(`UPDATE owner_daily SET last_event_at = (`+latestSessionOf("last_event_at")+`),
			last_session = (`+latestSessionOf("session_id")+`), last_outcome = (`+latestSessionOf("outcome")+`)
			WHERE `+rowKey+" AND last_event_at <= ?", append(args, d[k].leftAt)...).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// latestSessionOf is a subquery for a column of the latest session counted in an owner_daily row (a
// "*" row gathers every make and mode of its owner, day and sandbox flag).
func latestSessionOf(col string) string {
	return `SELECT s.` + col + ` FROM session_summaries s WHERE s.app_id = owner_daily.app_id AND s.day = owner_daily.day
		AND s.owner = owner_daily.owner AND (owner_daily.make = '*' OR s.make = owner_daily.make)
		AND (owner_daily.mode = '*' OR s.mode = owner_daily.mode) AND s.sandbox = owner_daily.sandbox
		ORDER BY s.last_event_at DESC, s.session_id DESC LIMIT 1`
}
