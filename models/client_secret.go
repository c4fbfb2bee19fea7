package models

import (
	"crypto/subtle"
	"errors"
	"time"

	"gorm.io/gorm"
)

// ClientSecret is one of an app's secrets. Only its SHA-256 is stored; Prefix and Last4 identify it.
type ClientSecret struct {
	ID         string
	AppID      string
	Hash       string
	Prefix     string
	Last4      string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// NewSecret is a secret just made: the only moment its value exists outside the caller's hands.
type NewSecret struct {
	ClientSecret
	Secret string
}

// Rotation overlaps the console offers; the API accepts any number of seconds up to the maximum.
var RotationOverlaps = []time.Duration{0, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// MaxRotationOverlap is the longest an old secret may keep working after a rotation.
const MaxRotationOverlap = 7 * 24 * time.Hour

// DefaultRotationOverlap applies when the caller does not choose.
const DefaultRotationOverlap = 24 * time.Hour

// RotationOverlapOf is the overlap a caller asked for in seconds: the default when nil, and -1 (which
// RotateClientSecret refuses, explaining the range) when negative or past the maximum.
func RotationOverlapOf(seconds *int64) time.Duration {
	switch {
	case seconds == nil:
		return DefaultRotationOverlap
	case *seconds < 0 || *seconds > int64(MaxRotationOverlap/time.Second):
		return -1
	}
	return time.Duration(*seconds) * time.Second
}

// lastUsedThrottle bounds writes: last_used_at is refreshed at most once a minute per credential.
const lastUsedThrottle = time.Minute

// Active reports whether the secret works at time now.
func (s ClientSecret) Active(now time.Time) bool {
	return s.RevokedAt == nil && (s.ExpiresAt == nil || s.ExpiresAt.After(now))
}

// Status is a word for the console: active, expiring, expired or revoked.
func (s ClientSecret) Status(now time.Time) string {
	switch {
	case s.RevokedAt != nil:
		return "revoked"
	case s.ExpiresAt != nil && !s.ExpiresAt.After(now):
		return "expired"
	case s.ExpiresAt != nil:
		return "expiring"
	default:
		return "active"
	}
}

func insertClientSecret(tx *gorm.DB, appID string, now time.Time) (NewSecret, error) {
	value := NewToken(PrefixClientSecret)
	prefix, last4 := tokenDisplay(value, PrefixClientSecret)
	s := ClientSecret{ID: newID(), AppID: appID, Hash: HashToken(value), Prefix: prefix, Last4: last4, CreatedAt: now}
	return NewSecret{ClientSecret: s, Secret: value}, tx.Create(&s).Error
}

// ListClientSecrets lists an app's secrets, newest first.
func ListClientSecrets(db *gorm.DB, orgID, appID string) ([]ClientSecret, error) {
	if _, err := FindApp(db, orgID, appID); err != nil {
		return nil, err
	}
	var out []ClientSecret
	err := db.Where("app_id = ?", appID).Order("created_at DESC, id").Find(&out).Error
	return out, err
}

// RotateClientSecret adds a new secret and makes every other active secret expire after overlap
// (0 = now), so a deployment can switch over without downtime.
func RotateClientSecret(db *gorm.DB, actor Actor, orgID, appID string, overlap time.Duration) (NewSecret, error) {
	if overlap < 0 || overlap > MaxRotationOverlap {
		return NewSecret{}, Invalid("expire_previous_in", "invalid_overlap", "Keep the previous secrets for 0 to 604800 seconds (7 days).")
	}
	var secret NewSecret
	err := db.Transaction(func(tx *gorm.DB) error {
		app, err := FindApp(tx, orgID, appID)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		expiry := now.Add(overlap)
		// Only shorten lifetimes: a secret already expiring sooner keeps its earlier expiry.
		if err := tx.Model(&ClientSecret{}).
			Where("app_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", app.ID, expiry).
			Update("expires_at", expiry).Error; err != nil {
			return err
		}
		if secret, err = insertClientSecret(tx, app.ID, now); err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "secret.rotate", app.ID, secret.Prefix,
			map[string]any{"new_secret": secret.Prefix, "previous_expire_at": expiry})
	})
	return secret, err
}

// RevokeClientSecret stops a secret at once; the last active secret cannot be revoked.
func RevokeClientSecret(db *gorm.DB, actor Actor, orgID, appID, secretID string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		app, err := lockApp(tx, orgID, appID)
		if err != nil {
			return err
		}
		var s ClientSecret
		if err := tx.Where("app_id = ? AND id = ?", app.ID, secretID).Take(&s).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		now := time.Now().UTC()
		if !s.Active(now) {
			return Conflict("secret_inactive", "", "This secret has already expired or been revoked.")
		}
		var others int64
		if err := tx.Model(&ClientSecret{}).
			Where("app_id = ? AND id <> ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", app.ID, s.ID, now).
			Count(&others).Error; err != nil {
			return err
		}
		if others == 0 {
			return Conflict("last_active_secret", "", "This is the app's only working secret. Rotate first to create a new one, then revoke this one.")
		}
		if err := tx.Model(&ClientSecret{}).Where("id = ?", s.ID).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "secret.revoke", app.ID, s.Prefix, map[string]any{"secret": s.Prefix})
	})
}

// AuthenticateClient checks a client_id and client_secret; any failure is ErrUnauthenticated.
// A well-formed secret is looked up by its hash; last_used_at is refreshed at most once a minute.
func AuthenticateClient(db *gorm.DB, clientID, secret string) (App, error) {
	if !IsUUID(clientID) || !TokenWellFormed(secret, PrefixClientSecret) {
		return App{}, ErrUnauthenticated
	}
	// One query finds the secret and its app together: this runs on every token request.
	var row struct {
		ClientSecret
		OrgID, Name, Description   string
		AppCreatedAt, AppUpdatedAt time.Time
	}
	err := db.Table("client_secrets s").Joins("JOIN apps a ON a.id = s.app_id").
		Select("s.id, s.app_id, s.expires_at, s.revoked_at, s.last_used_at, a.org_id, a.name, a.description, a.created_at AS app_created_at, a.updated_at AS app_updated_at").
		Where("s.hash = ?", HashToken(secret)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return App{}, ErrUnauthenticated
	}
	if err != nil {
		return App{}, err
	}
	now := time.Now().UTC()
	s := row.ClientSecret
	if subtle.ConstantTimeCompare([]byte(s.AppID), []byte(clientID)) != 1 || !s.Active(now) {
		return App{}, ErrUnauthenticated
	}
	if err := touchLastUsed(db, "client_secrets", s.ID, s.LastUsedAt, now); err != nil {
		return App{}, err
	}
	return App{ID: s.AppID, OrgID: row.OrgID, Name: row.Name, Description: row.Description,
		CreatedAt: row.AppCreatedAt, UpdatedAt: row.AppUpdatedAt}, nil
}

// touchLastUsed records use at most once per throttle window, however busy the credential is: the
// row already read says whether a write is due, and the conditional UPDATE keeps replicas from
// writing twice.
func touchLastUsed(db *gorm.DB, table, id string, last *time.Time, now time.Time) error {
	if last != nil && now.Sub(*last) <= lastUsedThrottle {
		return nil
	}
	return db.Exec("UPDATE "+table+" SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
		now, id, now.Add(-lastUsedThrottle)).Error
}
