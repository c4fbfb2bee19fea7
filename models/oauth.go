package models

import (
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// OAuthError is an RFC 6749 §5.2 error: Code is invalid_request, invalid_client, invalid_grant,
// unauthorized_client, unsupported_grant_type, invalid_scope; Status is the HTTP status (400, or 401
// for invalid_client).
type OAuthError struct {
	Code        string
	Description string
	Status      int
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// Lifetimes (security.md): codes 10 minutes, access tokens 2 hours, refresh tokens 60 days.
const (
	CodeLifetime         = 10 * time.Minute
	AccessTokenLifetime  = 2 * time.Hour
	RefreshTokenLifetime = 60 * 24 * time.Hour
)

// RefreshFamilyLifetime is the absolute lifetime of a grant: every token issued from one code, however
// often it is rotated, ends this long after the code was issued. A refresh token's own 60 days only
// bound inactivity; without this a family rotated daily would never end (security.md #31).
const RefreshFamilyLifetime = 365 * 24 * time.Hour

// Token prefixes (recognisable, checksummed like the others): codes, access and refresh tokens.
const (
	PrefixCode         = "kf_code_"
	PrefixAccessToken  = "kf_at_"
	PrefixRefreshToken = "kf_rt_"
)

const (
	tokenKindAccess  = "access"
	tokenKindRefresh = "refresh"
)

func invalidGrant(description string) *OAuthError {
	return &OAuthError{Code: "invalid_grant", Description: description, Status: 400}
}

// Descriptions of invalid_grant refusals; each refusal is a fresh *OAuthError the caller may keep.
const (
	descCodeNotValid       = "The authorization code is not valid."
	descCodeExpired        = "The authorization code has expired."
	descCodeUsed           = "The authorization code has already been used; the tokens issued from it are revoked."
	descRedirectMismatch   = "redirect_uri does not match the one sent with the authorization request."
	descVerifierMissing    = "code_verifier is required: the authorization request had a code_challenge."
	descVerifierUnexpected = "code_verifier was sent, but the authorization request had no code_challenge."
	descVerifierMalformed  = "code_verifier must be 43–128 characters of A–Z, a–z, 0–9, '-', '.', '_' and '~'."
	descVerifierMismatch   = "code_verifier does not match the code_challenge."
	descRefreshNotValid    = "The refresh token is not valid."
	descRefreshExpired     = "The refresh token has expired."
	descRefreshUsed        = "The refresh token has already been used; every token of its grant is revoked."
	descFamilyEnded        = "The refresh token has expired: its grant is more than a year old. Ask the user to connect again."
)

var (
	errCodeGrantIncomplete  = errors.New("models: a code grant needs an app id, an owner and a mode of test or simulated")
	errCodeGrantBadPKCE     = errors.New("models: a code challenge must be 43 base64url characters (S256)")
	errCodeGrantBadVehicles = errors.New("models: a code grant's vehicle ids must not be empty")
)

// oauthCode is a row of oauth_codes; only the code's SHA-256 is kept.
type oauthCode struct {
	Hash          string `gorm:"primaryKey"`
	AppID         string
	RedirectURI   string
	CodeChallenge string
	Owner         string
	SessionID     string
	Vehicles      string // JSON array of vehicle ids
	Scope         string // space-separated permission names
	Mode          string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        *time.Time
}

func (oauthCode) TableName() string { return "oauth_codes" }

// oauthToken is a row of oauth_tokens. Every token issued from one code shares FamilyID, the code's
// hash, and FamilyStartedAt, when the code was issued.
type oauthToken struct {
	Hash            string `gorm:"primaryKey"`
	Kind            string
	AppID           string
	FamilyID        string
	FamilyStartedAt time.Time
	Owner           string
	Vehicles        string
	Scope           string
	Mode            string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	UsedAt          *time.Time
	RevokedAt       *time.Time
}

// familyEnd is when every token of t's family stops working. A row without a start (none should be
// left after migration 14) counts as ended: fail closed.
func (t oauthToken) familyEnd() time.Time {
	return t.FamilyStartedAt.Add(RefreshFamilyLifetime)
}

func (oauthToken) TableName() string { return "oauth_tokens" }

// oauthTransaction runs fn in a transaction that still commits when fn refuses with an *OAuthError,
// so that a spent code or a revoked family stays so; any other error rolls everything back.
func oauthTransaction(db *gorm.DB, fn func(tx *gorm.DB) error) error {
	var refusal *OAuthError
	err := db.Transaction(func(tx *gorm.DB) error {
		err := fn(tx)
		if errors.As(err, &refusal) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	return nil
}

// joinScope stores permission names space-separated, without duplicates, in the order given.
func joinScope(names []string) string {
	seen := map[string]bool{}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return strings.Join(out, " ")
}

// splitScope reads a stored scope back; the empty scope is an empty, non-nil list.
func splitScope(s string) []string {
	return append([]string{}, strings.Fields(s)...)
}
