package models

import (
	"time"

	"gorm.io/gorm"
)

// CompactRollups folds the shards of the funnel and error rollups into shard 0 for every day before
// the UTC day of before, and returns how many rows it removed. Shards only spread the writes of busy
// days; once a day is over they would just multiply the rows every dashboard reads (16 per cell), so
// compacting keeps the funnel's cost bounded by days × dimensions. Late events for an old day write to
// their shard again and are folded in on the next run. Each (app, day) is one transaction: a row is
// deleted and its count added to shard 0 together, so no count is lost or doubled.
func CompactRollups(db *gorm.DB, before time.Time) (int, error) {
	removed := 0
	for _, t := range []int{funnelTable, errorTable} {
		var days []struct{ AppID, Day string }
		err := db.Table(rollupTables[t].name).Distinct("app_id", "day").
			Where("shard <> 0 AND day < ?", dayOf(before)).Order("app_id, day").Scan(&days).Error
		if err != nil {
			return removed, err
		}
		for _, d := range days {
			n, err := compactDay(db, t, d.AppID, d.Day)
			if err != nil {
				return removed, err
			}
			removed += n
		}
	}
	return removed, nil
}

// compactDay moves one app's day of table t into shard 0.
func compactDay(db *gorm.DB, t int, appID, day string) (int, error) {
	label := rollupTables[t].label
	var moved []struct {
		Label, Make, Mode string
		Sandbox           bool
		Sessions          int
	}
	err := retryDeadlock(db, func(tx *gorm.DB) error {
		moved = nil // a retried attempt must not re-add what a rolled-back one read
		err := tx.Raw("DELETE FROM "+rollupTables[t].name+" WHERE app_id = ? AND day = ? AND shard <> 0 RETURNING "+
			label+" AS label, make, mode, sandbox, sessions", appID, day).Scan(&moved).Error
		if err != nil {
			return err
		}
		d := rollupDeltas{}
		for _, m := range moved {
			c := rollupCell{table: t, key: rollupKey{AppID: appID, Day: day, Make: m.Make, Mode: m.Mode, Sandbox: m.Sandbox}, label: m.Label}
			if t == funnelTable {
				c.rank = stepIndex(m.Label)
			}
			d[c] += m.Sessions
		}
		return d.flush(tx)
	})
	return len(moved), err
}
