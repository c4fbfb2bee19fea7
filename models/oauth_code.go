package models

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// CodeGrant is what a completed Connect session grants; IssueCode binds a new code to it.
type CodeGrant struct {
	AppID         string
	RedirectURI   string // the redirect_uri sent to /authorize ("" when the request omitted it and the default was used)
	CodeChallenge string // PKCE S256 challenge, "" without PKCE
	Owner         string
	SessionID     string
	Mode          string   // "test" or "simulated"
	Vehicles      []string // vehicle ids
	Scope         []string // granted permission names
}

func (g CodeGrant) validate() error {
	if !IsUUID(g.AppID) || g.Owner == "" || (g.Mode != "test" && g.Mode != "simulated") {
		return errCodeGrantIncomplete
	}
	if g.CodeChallenge != "" && !validPKCEString(g.CodeChallenge, 43, 43) {
		return errCodeGrantBadPKCE
	}
	for _, v := range g.Vehicles {
		if v == "" {
			return errCodeGrantBadVehicles
		}
	}
	for _, s := range g.Scope {
		if _, ok := FindPermission(s); !ok {
			return fmt.Errorf("models: unknown permission %q in a code grant", s)
		}
	}
	return nil
}

// IssueCode stores a new single-use code (only its SHA-256) in tx and returns the code.
func IssueCode(tx *gorm.DB, g CodeGrant) (string, error) {
	if err := g.validate(); err != nil {
		return "", err
	}
	vehicles, err := json.Marshal(append([]string{}, g.Vehicles...)) // never "null"
	if err != nil {
		return "", err
	}
	code := NewToken(PrefixCode)
	now := time.Now().UTC()
	row := oauthCode{
		Hash: HashToken(code), AppID: g.AppID, RedirectURI: g.RedirectURI, CodeChallenge: g.CodeChallenge,
		Owner: g.Owner, SessionID: g.SessionID, Vehicles: string(vehicles), Scope: joinScope(g.Scope),
		Mode: g.Mode, CreatedAt: now, ExpiresAt: now.Add(CodeLifetime),
	}
	if err := tx.Create(&row).Error; err != nil {
		return "", err
	}
	return code, nil
}

// TokenResponse is the body of a successful /oauth/token answer.
type TokenResponse struct {
	AccessToken  string
	RefreshToken string
	TokenType    string
	ExpiresIn    int
	Scope        []string
}

// ExchangeCode redeems a code for app (already authenticated as a client by the caller). Any
// presentation of a known code spends it, whether it succeeds or not; a code presented again
// revokes every token issued from it (RFC 6749 §4.1.2).
func ExchangeCode(db *gorm.DB, app App, code, redirectURI, codeVerifier string) (TokenResponse, error) {
	if !TokenWellFormed(code, PrefixCode) {
		return TokenResponse{}, invalidGrant(descCodeNotValid)
	}
	var resp TokenResponse
	err := oauthTransaction(db, func(tx *gorm.DB) error {
		var err error
		resp, err = redeemCode(tx, app, HashToken(code), redirectURI, codeVerifier)
		return err
	})
	if err != nil {
		return TokenResponse{}, err
	}
	return resp, nil
}

func redeemCode(tx *gorm.DB, app App, hash, redirectURI, verifier string) (TokenResponse, error) {
	now := time.Now().UTC()
	// The conditional UPDATE is the single-use guarantee: of any number of concurrent presentations,
	// exactly one gets the row back (PostgreSQL re-checks used_at once the winner commits).
	var c oauthCode
	res := tx.Raw("UPDATE oauth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL RETURNING *", now, hash).Scan(&c)
	if res.Error != nil {
		return TokenResponse{}, res.Error
	}
	if res.RowsAffected == 0 {
		return TokenResponse{}, refuseSpentCode(tx, hash, now)
	}
	if refusal := checkCode(c, app, redirectURI, verifier, now); refusal != nil {
		return TokenResponse{}, refusal
	}
	family := oauthToken{AppID: c.AppID, FamilyID: hash, FamilyStartedAt: c.CreatedAt.UTC(), Owner: c.Owner, Vehicles: c.Vehicles, Mode: c.Mode}
	return issueTokenPair(tx, family, c.Scope, c.Scope, now)
}

// refuseSpentCode explains a code that could not be spent: unknown, or presented again, which
// revokes every token it issued.
func refuseSpentCode(tx *gorm.DB, hash string, now time.Time) error {
	var known int64
	if err := tx.Model(&oauthCode{}).Where("hash = ?", hash).Count(&known).Error; err != nil {
		return err
	}
	if known == 0 {
		return invalidGrant(descCodeNotValid)
	}
	if err := revokeFamily(tx, hash, now); err != nil {
		return err
	}
	return invalidGrant(descCodeUsed)
}

// checkCode applies the rules a spent code must pass to be exchanged.
func checkCode(c oauthCode, app App, redirectURI, verifier string, now time.Time) *OAuthError {
	switch {
	case subtle.ConstantTimeCompare([]byte(c.AppID), []byte(app.ID)) != 1:
		return invalidGrant(descCodeNotValid) // it is burnt all the same, so its own client cannot use it either
	case !c.ExpiresAt.After(now):
		return invalidGrant(descCodeExpired)
	case c.RedirectURI != redirectURI:
		return invalidGrant(descRedirectMismatch)
	}
	return checkPKCE(c.CodeChallenge, verifier)
}

// checkPKCE verifies an S256 code_verifier against the bound challenge (RFC 7636 §4.6). A verifier
// without a challenge is refused so that a downgraded request cannot pass for a PKCE one.
func checkPKCE(challenge, verifier string) *OAuthError {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return invalidGrant(descVerifierUnexpected)
	case verifier == "":
		return invalidGrant(descVerifierMissing)
	case !validPKCEString(verifier, 43, 128):
		return invalidGrant(descVerifierMalformed)
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return invalidGrant(descVerifierMismatch)
	}
	return nil
}

// validPKCEString reports whether s has shortest to longest characters of RFC 7636's unreserved set.
func validPKCEString(s string, shortest, longest int) bool {
	if len(s) < shortest || len(s) > longest {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
