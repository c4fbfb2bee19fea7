package models

import (
	"errors"
	"time"

	"gorm.io/gorm"
)

// AuthSession is a signed-in console browser (kind "console") or a management-API bearer token
// (kind "api"). Only the SHA-256 of the secret value is stored: the row's id.
type AuthSession struct {
	ID           string
	UserID       string
	Kind         string
	CurrentOrgID *string
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time
}

// Session lifetimes: console sessions end after 12 idle hours or 7 days; API tokens after 30 days.
const (
	SessionKindConsole = "console"
	SessionKindAPI     = "api"
	ConsoleIdleTimeout = 12 * time.Hour
	ConsoleLifetime    = 7 * 24 * time.Hour
	APITokenLifetime   = 30 * 24 * time.Hour
	// lastSeenThrottle limits writes: a busy browser updates last_seen_at once a minute at most.
	lastSeenThrottle = time.Minute
)

// StartSession creates a session for user and returns the secret value for the cookie or bearer token.
// A new value is made at every sign-in, so a value planted before sign-in never becomes authenticated.
func StartSession(db *gorm.DB, userID, kind, currentOrgID string) (string, AuthSession, error) {
	prefix := PrefixSession
	lifetime := ConsoleLifetime
	if kind == SessionKindAPI {
		prefix, lifetime = PrefixAPIToken, APITokenLifetime
	}
	token := NewToken(prefix)
	now := time.Now().UTC()
	s := AuthSession{ID: HashToken(token), UserID: userID, Kind: kind, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(lifetime)}
	if currentOrgID != "" {
		s.CurrentOrgID = &currentOrgID
	}
	return token, s, db.Create(&s).Error
}

// ResumeSession finds the live session behind a token and its user. Malformed tokens are refused
// before any query; expired, idle or disabled-user sessions are ErrUnauthenticated.
func ResumeSession(db *gorm.DB, token, kind string) (AuthSession, User, error) {
	prefix := PrefixSession
	if kind == SessionKindAPI {
		prefix = PrefixAPIToken
	}
	if !TokenWellFormed(token, prefix) {
		return AuthSession{}, User{}, ErrUnauthenticated
	}
	var s AuthSession
	err := db.Where("id = ? AND kind = ?", HashToken(token), kind).Take(&s).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return AuthSession{}, User{}, ErrUnauthenticated
	}
	if err != nil {
		return AuthSession{}, User{}, err
	}
	now := time.Now().UTC()
	if now.After(s.ExpiresAt) || (kind == SessionKindConsole && now.Sub(s.LastSeenAt) > ConsoleIdleTimeout) {
		db.Where("id = ?", s.ID).Delete(&AuthSession{})
		return AuthSession{}, User{}, ErrUnauthenticated
	}
	user, err := FindUser(db, s.UserID)
	if errors.Is(err, ErrNotFound) {
		return AuthSession{}, User{}, ErrUnauthenticated
	}
	if err != nil {
		return AuthSession{}, User{}, err
	}
	if user.Disabled {
		return AuthSession{}, User{}, ErrUnauthenticated
	}
	if now.Sub(s.LastSeenAt) > lastSeenThrottle {
		s.LastSeenAt = now
		if err := db.Model(&AuthSession{}).Where("id = ?", s.ID).Update("last_seen_at", now).Error; err != nil {
			return AuthSession{}, User{}, err
		}
	}
	return s, user, nil
}

// EndSession deletes the session behind token (sign-out); the value stops working at once.
func EndSession(db *gorm.DB, token string) error {
	return db.Where("id = ?", HashToken(token)).Delete(&AuthSession{}).Error
}

// SwitchOrganization makes orgID the console's current organisation, if the user belongs to it.
// orgID comes from a form, so a missing one is the caller's mistake (422), not the unscoped-query guard.
func SwitchOrganization(db *gorm.DB, s AuthSession, orgID string) error {
	if orgID == "" {
		return Invalid("org_id", "required", "Choose the organisation to switch to.")
	}
	if _, err := FindMembership(db, orgID, s.UserID); err != nil {
		return err
	}
	return db.Model(&AuthSession{}).Where("id = ?", s.ID).Update("current_org_id", orgID).Error
}
