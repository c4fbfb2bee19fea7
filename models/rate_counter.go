package models

import (
	"errors"
	"time"

	"gorm.io/gorm"
)

// Fixed-window failure counters shared by every replica. Only failures write; a request that passes
// costs one primary-key read.

// RecordFailure counts one failure for key in the current window of length window.
func RecordFailure(db *gorm.DB, key string, window time.Duration) error {
	now := time.Now().UTC()
	start := now.Add(-window)
	return db.Exec(`INSERT INTO rate_counters (k, count, window_start) VALUES (?, 1, ?)
		ON CONFLICT (k) DO UPDATE SET
			count = CASE WHEN rate_counters.window_start < ? THEN 1 ELSE rate_counters.count + 1 END,
			window_start = CASE WHEN rate_counters.window_start < ? THEN ? ELSE rate_counters.window_start END`,
		key, now, start, start, now).Error
}

// FailureLimit returns how many seconds to wait when key has max or more failures in the current
// window, else 0.
func FailureLimit(db *gorm.DB, key string, max int, window time.Duration) (int, error) {
	var row struct {
		Count       int
		WindowStart time.Time
	}
	err := db.Table("rate_counters").Select("count, window_start").Where("k = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	ends := row.WindowStart.Add(window)
	if row.Count < max || !time.Now().UTC().Before(ends) {
		return 0, nil
	}
	return int(time.Until(ends).Seconds()) + 1, nil
}

// PurgeRateCounters deletes counters whose window ended before cutoff.
func PurgeRateCounters(db *gorm.DB, cutoff time.Time) error {
	return db.Exec("DELETE FROM rate_counters WHERE window_start < ?", cutoff.UTC()).Error
}
