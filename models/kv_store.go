package models

import (
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// KVStore is a small expiring key-value table that satisfies fiber.Storage, so Fiber's CSRF and
// limiter middleware keep their state in the shared database and every replica sees the same.
type KVStore struct {
	DB *gorm.DB
}

type kvRow struct {
	K         string `gorm:"column:k;primaryKey"`
	V         []byte `gorm:"column:v"`
	ExpiresAt *time.Time
}

func (kvRow) TableName() string { return "kv_store" }

// Get returns the value of key, or nil when it is missing or expired.
func (s KVStore) Get(key string) ([]byte, error) {
	var row kvRow
	err := s.DB.Where("k = ? AND (expires_at IS NULL OR expires_at > ?)", key, time.Now().UTC()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return row.V, err
}

// Set stores key with an optional lifetime (0 = forever).
func (s KVStore) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	row := kvRow{K: key, V: val}
	if exp > 0 {
		t := time.Now().UTC().Add(exp)
		row.ExpiresAt = &t
	}
	return s.DB.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "k"}}, DoUpdates: clause.AssignmentColumns([]string{"v", "expires_at"})}).Create(&row).Error
}

// Delete removes key.
func (s KVStore) Delete(key string) error { return s.DB.Where("k = ?", key).Delete(&kvRow{}).Error }

// Reset removes every key.
func (s KVStore) Reset() error { return s.DB.Where("1 = 1").Delete(&kvRow{}).Error }

// Close does nothing: the database outlives the store.
func (s KVStore) Close() error { return nil }

// PurgeExpired deletes expired keys; called periodically.
func (s KVStore) PurgeExpired() error {
	return s.DB.Where("expires_at IS NOT NULL AND expires_at <= ?", time.Now().UTC()).Delete(&kvRow{}).Error
}
