package models

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"gorm.io/gorm"
)

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
	case !old.familyEnd().After(now):
		return TokenResponse{}, invalidGrant(descFamilyEnded)
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

// issueTokenPair inserts a new access and refresh token sharing family's app, owner, vehicles, mode and
// start. Neither outlives the family.
func issueTokenPair(tx *gorm.DB, family oauthToken, accessScope, refreshScope string, now time.Time) (TokenResponse, error) {
	access, refresh := NewToken(PrefixAccessToken), NewToken(PrefixRefreshToken)
	accessExpiry := notAfter(now.Add(AccessTokenLifetime), family.familyEnd())
	rows := []oauthToken{family, family}
	rows[0].Hash, rows[0].Kind, rows[0].Scope, rows[0].ExpiresAt = HashToken(access), tokenKindAccess, accessScope, accessExpiry
	rows[1].Hash, rows[1].Kind, rows[1].Scope, rows[1].ExpiresAt = HashToken(refresh), tokenKindRefresh, refreshScope,
		notAfter(now.Add(RefreshTokenLifetime), family.familyEnd())
	for i := range rows {
		rows[i].CreatedAt, rows[i].UsedAt, rows[i].RevokedAt = now, nil, nil
	}
	if err := tx.Create(&rows).Error; err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(accessExpiry.Sub(now) / time.Second), Scope: splitScope(accessScope),
	}, nil
}

// notAfter returns t, or end if t is later.
func notAfter(t, end time.Time) time.Time {
	if t.After(end) {
		return end
	}
	return t
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
