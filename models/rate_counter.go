package models

import (
	"cmp"
	"errors"
	"time"

	"gorm.io/gorm"
)

// Fixed-window counters shared by every replica (the rate_counters table). Each count is one atomic
// statement that returns the new total, so parallel requests on several replicas can neither lose a
// count nor all pass a check made before any of them was counted.

// CountAttempt adds one to key's counter in the current window of length window and returns the
// total including this attempt.
func CountAttempt(db *gorm.DB, key string, window time.Duration) (int, error) {
	now := time.Now().UTC()
	start := now.Add(-window)
	rows, err := db.Raw(`INSERT INTO rate_counters (k, count, window_start) VALUES (?, 1, ?)
		ON CONFLICT (k) DO UPDATE SET
			count = CASE WHEN rate_counters.window_start < ? THEN 1 ELSE rate_counters.count + 1 END,
			window_start = CASE WHEN rate_counters.window_start < ? THEN ? ELSE rate_counters.window_start END
		RETURNING count`, key, now, start, start, now).Rows()
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	count := 0
	if rows.Next() {
		err = rows.Scan(&count)
	}
	return count, cmp.Or(err, rows.Err())
}

// RefundAttempt takes back one count of key (an attempt that turned out not to count, such as a
// successful sign-in under a per-IP failure limit).
func RefundAttempt(db *gorm.DB, key string) error {
	return db.Table("rate_counters").Exec("UPDATE rate_counters SET count = count - 1 WHERE k = ? AND count > 0", key).Error
}

// ResetAttempts forgets key's counter.
func ResetAttempts(db *gorm.DB, key string) error {
	return db.Exec("DELETE FROM rate_counters WHERE k = ?", key).Error
}

// AttemptsExceeded returns how many seconds remain in key's window when its count is at least max,
// else 0. It only reads: callers that must refuse before doing costly work ask it first.
func AttemptsExceeded(db *gorm.DB, key string, max int, window time.Duration) (int, error) {
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
