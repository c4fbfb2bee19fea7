package models

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
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

// oauthToken is a row of oauth_tokens. Every token issued from one code shares FamilyID, the code's hash.
type oauthToken struct {
	Hash      string `gorm:"primaryKey"`
	Kind      string
	AppID     string
	FamilyID  string
	Owner     string
	Vehicles  string
	Scope     string
	Mode      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

func (oauthToken) TableName() string { return "oauth_tokens" }

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
	var c oauthCode
	err := tx.Where("hash = ?", hash).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return TokenResponse{}, invalidGrant(descCodeNotValid)
	}
	if err != nil {
		return TokenResponse{}, err
	}
	now := time.Now().UTC()
	// The conditional UPDATE is the single-use guarantee: of any number of concurrent presentations,
	// exactly one sees a row affected (PostgreSQL re-checks used_at once the winner commits).
	res := tx.Exec("UPDATE oauth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL", now, hash)
	if res.Error != nil {
		return TokenResponse{}, res.Error
	}
	if res.RowsAffected == 0 {
		if err := revokeFamily(tx, hash, now); err != nil {
			return TokenResponse{}, err
		}
		return TokenResponse{}, invalidGrant(descCodeUsed)
	}
	if refusal := checkCode(c, app, redirectURI, verifier, now); refusal != nil {
		return TokenResponse{}, refusal
	}
	family := oauthToken{AppID: c.AppID, FamilyID: hash, Owner: c.Owner, Vehicles: c.Vehicles, Mode: c.Mode}
	return issueTokenPair(tx, family, c.Scope, c.Scope, now)
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

// RefreshTokens rotates a refresh token of app: the presented one is marked used and a new access and
// refresh pair of the same family is returned. Presenting a used refresh token revokes the whole
// family. scope nil (or empty) keeps the granted scope; a subset narrows the new access token only,
// as the new refresh token keeps the original grant (RFC 6749 §6).
func RefreshTokens(db *gorm.DB, app App, refreshToken string, scope []string) (TokenResponse, error) {
	if !TokenWellFormed(refreshToken, PrefixRefreshToken) {
		return TokenResponse{}, invalidGrant(descRefreshNotValid)
	}
	var resp TokenResponse
	err := oauthTransaction(db, func(tx *gorm.DB) error {
		var err error
		resp, err = rotateRefreshToken(tx, app, HashToken(refreshToken), scope)
		return err
	})
	if err != nil {
		return TokenResponse{}, err
	}
	return resp, nil
}

func rotateRefreshToken(tx *gorm.DB, app App, hash string, scope []string) (TokenResponse, error) {
	var old oauthToken
	err := tx.Where("hash = ? AND kind = ?", hash, tokenKindRefresh).Take(&old).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return TokenResponse{}, invalidGrant(descRefreshNotValid)
	}
	if err != nil {
		return TokenResponse{}, err
	}
	if err := lockFamilies(tx, old.FamilyID); err != nil {
		return TokenResponse{}, err
	}
	now := time.Now().UTC()
	if old.UsedAt != nil {
		return TokenResponse{}, refuseReuse(tx, old.FamilyID, now)
	}
	switch {
	case subtle.ConstantTimeCompare([]byte(old.AppID), []byte(app.ID)) != 1, old.RevokedAt != nil:
		return TokenResponse{}, invalidGrant(descRefreshNotValid)
	case !old.ExpiresAt.After(now):
		return TokenResponse{}, invalidGrant(descRefreshExpired)
	}
	accessScope, err := narrowScope(old.Scope, scope)
	if err != nil {
		return TokenResponse{}, err
	}
	// Single winner even without the family lock: the token may have been used or revoked since it was
	// read, and a loser treats that as reuse.
	res := tx.Exec("UPDATE oauth_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL", now, hash)
	if res.Error != nil {
		return TokenResponse{}, res.Error
	}
	if res.RowsAffected == 0 {
		return TokenResponse{}, refuseReuse(tx, old.FamilyID, now)
	}
	return issueTokenPair(tx, old, accessScope, old.Scope, now)
}

// refuseReuse revokes a family whose used refresh token came back (RFC 9700 §4.14.2) and refuses.
func refuseReuse(tx *gorm.DB, familyID string, now time.Time) error {
	if err := revokeFamily(tx, familyID, now); err != nil {
		return err
	}
	return invalidGrant(descRefreshUsed)
}

// narrowScope returns the access scope for a refresh: the grant when nothing is asked, else the
// asked subset of it (in the grant's order); asking beyond the grant is invalid_scope.
func narrowScope(granted string, asked []string) (string, error) {
	grant := splitScope(granted)
	want := map[string]bool{}
	for _, s := range asked {
		if s != "" {
			want[s] = true
		}
	}
	if len(want) == 0 {
		return granted, nil
	}
	var out []string
	for _, s := range grant {
		if want[s] {
			out = append(out, s)
			delete(want, s)
		}
	}
	if len(want) > 0 {
		return "", &OAuthError{Code: "invalid_scope", Description: "The requested scope includes permissions that were not granted.", Status: 400}
	}
	return joinScope(out), nil
}

// issueTokenPair inserts a new access and refresh token sharing family's app, owner, vehicles and mode.
func issueTokenPair(tx *gorm.DB, family oauthToken, accessScope, refreshScope string, now time.Time) (TokenResponse, error) {
	access, refresh := NewToken(PrefixAccessToken), NewToken(PrefixRefreshToken)
	rows := []oauthToken{family, family}
	rows[0].Hash, rows[0].Kind, rows[0].Scope, rows[0].ExpiresAt = HashToken(access), tokenKindAccess, accessScope, now.Add(AccessTokenLifetime)
	rows[1].Hash, rows[1].Kind, rows[1].Scope, rows[1].ExpiresAt = HashToken(refresh), tokenKindRefresh, refreshScope, now.Add(RefreshTokenLifetime)
	for i := range rows {
		rows[i].CreatedAt, rows[i].UsedAt, rows[i].RevokedAt = now, nil, nil
	}
	if err := tx.Create(&rows).Error; err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(AccessTokenLifetime / time.Second), Scope: splitScope(accessScope),
	}, nil
}

// revokeFamily revokes every token issued from one code, directly or by rotation.
func revokeFamily(tx *gorm.DB, familyID string, now time.Time) error {
	if err := lockFamilies(tx, familyID); err != nil {
		return err
	}
	return tx.Exec("UPDATE oauth_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", now, familyID).Error
}

// familyLockClass namespaces the advisory locks of token families (the two-key form, apart from the
// one-key locks of migrations and the demo seed).
const familyLockClass = 7_243_002

// lockFamilies serialises rotations and revocations of the given token families until tx ends. On
// PostgreSQL, concurrent multi-row revocations otherwise deadlock, and a rotation committing during
// a revocation would leave a live pair behind. SQLite needs nothing: it runs one writer at a time.
func lockFamilies(tx *gorm.DB, families ...string) error {
	if !IsPostgres(tx) {
		return nil
	}
	keys := make([]int32, 0, len(families))
	for _, f := range families {
		h := fnv.New32a()
		h.Write([]byte(f))
		keys = append(keys, int32(h.Sum32()))
	}
	slices.Sort(keys) // one order for every locker, so that none waits in a cycle
	for _, k := range slices.Compact(keys) {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?, ?)", familyLockClass, k).Error; err != nil {
			return err
		}
	}
	return nil
}

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

// AccessGrant is what a live access token allows.
type AccessGrant struct {
	AppID, Owner, Mode, FamilyID string
	Vehicles, Scope              []string
	ExpiresAt                    time.Time
}

// AuthenticateAccessToken checks a bearer access token. A malformed one, or one with a bad checksum,
// is refused without a query; an unknown, expired or revoked one is refused too.
func AuthenticateAccessToken(db *gorm.DB, token string) (AccessGrant, error) {
	if !TokenWellFormed(token, PrefixAccessToken) {
		return AccessGrant{}, ErrUnauthenticated
	}
	var t oauthToken
	err := db.Where("hash = ? AND kind = ?", HashToken(token), tokenKindAccess).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return AccessGrant{}, ErrUnauthenticated
	}
	if err != nil {
		return AccessGrant{}, err
	}
	if t.RevokedAt != nil || !t.ExpiresAt.After(time.Now().UTC()) {
		return AccessGrant{}, ErrUnauthenticated
	}
	var vehicles []string
	if err := json.Unmarshal([]byte(t.Vehicles), &vehicles); err != nil {
		return AccessGrant{}, fmt.Errorf("models: vehicles of access token family %s: %w", t.FamilyID, err)
	}
	return AccessGrant{
		AppID: t.AppID, Owner: t.Owner, Mode: t.Mode, FamilyID: t.FamilyID,
		Vehicles: vehicles, Scope: splitScope(t.Scope), ExpiresAt: t.ExpiresAt,
	}, nil
}

// RevokeVehicleAccess revokes every live token of app that covers vehicleID and returns how many
// were revoked. Tokens of one family share their vehicles, so whole families go.
func RevokeVehicleAccess(db *gorm.DB, appID, vehicleID string) (int64, error) {
	var revoked int64
	err := db.Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		families, err := familiesCovering(tx, appID, vehicleID, now)
		if err != nil || len(families) == 0 {
			return err
		}
		if err := lockFamilies(tx, families...); err != nil {
			return err
		}
		res := tx.Exec(`UPDATE oauth_tokens SET revoked_at = ?
			WHERE app_id = ? AND family_id IN ? AND revoked_at IS NULL AND used_at IS NULL AND expires_at > ?`,
			now, appID, families, now)
		revoked = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, err
	}
	return revoked, nil
}

// familiesCovering lists the families of app's live tokens whose vehicles include vehicleID. LIKE
// narrows the rows portably; the JSON is then decoded to match ids exactly.
func familiesCovering(tx *gorm.DB, appID, vehicleID string, now time.Time) ([]string, error) {
	quoted, err := json.Marshal(vehicleID)
	if err != nil {
		return nil, err
	}
	var rows []oauthToken
	err = tx.Select("family_id", "vehicles").
		Where(`app_id = ? AND revoked_at IS NULL AND used_at IS NULL AND expires_at > ? AND vehicles LIKE ? ESCAPE '\'`,
			appID, now, "%"+escapeLike(string(quoted))+"%").
		Find(&rows).Error
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var families []string
	for _, r := range rows {
		var vehicles []string
		if err := json.Unmarshal([]byte(r.Vehicles), &vehicles); err != nil {
			return nil, fmt.Errorf("models: vehicles of token family %s: %w", r.FamilyID, err)
		}
		for _, v := range vehicles {
			if v == vehicleID && !seen[r.FamilyID] {
				seen[r.FamilyID] = true
				families = append(families, r.FamilyID)
			}
		}
	}
	return families, nil
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
