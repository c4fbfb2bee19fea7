package models

import (
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// APIKey authenticates an app's server-to-server calls in one environment. Only its SHA-256 is stored.
type APIKey struct {
	ID          string
	AppID       string
	Name        string
	Environment string
	Hash        string
	Prefix      string
	Last4       string
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
}

// NewAPIKey is a key just made, with its value shown once.
type NewAPIKey struct {
	APIKey
	Key string
}

// Environments an API key can belong to.
const (
	EnvTest = "test"
	EnvLive = "live"
)

// CreateAPIKey makes a named key for an app and environment.
func CreateAPIKey(db *gorm.DB, actor Actor, orgID, appID, name, environment string) (NewAPIKey, error) {
	name = strings.TrimSpace(name)
	if !validLabel(name, 100) {
		return NewAPIKey{}, Invalid("name", "invalid_name", "Name the key after where it is used, e.g. \"billing server\" (1–100 characters).")
	}
	prefix := map[string]string{EnvTest: PrefixTestKey, EnvLive: PrefixLiveKey}[environment]
	if prefix == "" {
		return NewAPIKey{}, Invalid("environment", "invalid_environment", "Choose the environment: test or live.")
	}
	var out NewAPIKey
	err := db.Transaction(func(tx *gorm.DB) error {
		app, err := FindApp(tx, orgID, appID)
		if err != nil {
			return err
		}
		value := NewToken(prefix)
		shown, last4 := tokenDisplay(value, prefix)
		out = NewAPIKey{APIKey: APIKey{ID: newID(), AppID: app.ID, Name: name, Environment: environment,
			Hash: HashToken(value), Prefix: shown, Last4: last4, CreatedAt: time.Now().UTC()}, Key: value}
		if err := tx.Create(&out.APIKey).Error; err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "api_key.create", app.ID, shown,
			map[string]any{"name": name, "environment": environment, "key": shown})
	})
	return out, err
}

// ListAPIKeys lists an app's keys, newest first.
func ListAPIKeys(db *gorm.DB, orgID, appID string) ([]APIKey, error) {
	if _, err := FindApp(db, orgID, appID); err != nil {
		return nil, err
	}
	var out []APIKey
	err := db.Where("app_id = ?", appID).Order("created_at DESC, id").Find(&out).Error
	return out, err
}

// RevokeAPIKey stops a key at once.
func RevokeAPIKey(db *gorm.DB, actor Actor, orgID, appID, keyID string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		app, err := FindApp(tx, orgID, appID)
		if err != nil {
			return err
		}
		var k APIKey
		if err := tx.Where("app_id = ? AND id = ?", app.ID, keyID).Take(&k).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		if k.RevokedAt != nil {
			return nil // revoking twice is harmless
		}
		if err := tx.Model(&APIKey{}).Where("id = ?", k.ID).Update("revoked_at", time.Now().UTC()).Error; err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "api_key.revoke", app.ID, k.Prefix, map[string]any{"name": k.Name, "key": k.Prefix})
	})
}

// AuthenticateAPIKey finds the live key behind a value and its app; malformed values are refused
// without a query, and use is recorded at most once a minute.
func AuthenticateAPIKey(db *gorm.DB, value string) (APIKey, App, error) {
	if !TokenWellFormed(value, PrefixTestKey) && !TokenWellFormed(value, PrefixLiveKey) {
		return APIKey{}, App{}, ErrUnauthenticated
	}
	var k APIKey
	err := db.Where("hash = ? AND revoked_at IS NULL", HashToken(value)).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return APIKey{}, App{}, ErrUnauthenticated
	}
	if err != nil {
		return APIKey{}, App{}, err
	}
	var app App
	err = db.Where("id = ?", k.AppID).Take(&app).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return APIKey{}, App{}, ErrUnauthenticated // the app went away between the two reads
	}
	if err != nil {
		return APIKey{}, App{}, err
	}
	if err := touchLastUsed(db, "api_keys", k.ID, k.LastUsedAt, time.Now().UTC()); err != nil {
		return APIKey{}, App{}, err
	}
	return k, app, nil
}
