package models_test

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
)

const familyLifetime = models.RefreshFamilyLifetime

// startFamilyAt moves the birth of the token family issued from code to at, as if the code had been
// exchanged then and the family rotated ever since (its current refresh token stays fresh).
func startFamilyAt(t *testing.T, db *gorm.DB, code string, at time.Time) {
	t.Helper()
	family := sha256Hex(code)
	if err := db.Exec("UPDATE oauth_codes SET created_at = ? WHERE hash = ?", at.UTC(), family).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE oauth_tokens SET created_at = ?, family_started_at = ? WHERE family_id = ?", at.UTC(), at.UTC(), family).Error; err != nil {
		t.Fatal(err)
	}
}

// security.md #31, issue 10 item 5: a family rotated every day still ends a year after its code was
// exchanged; each refresh token's 60 days are only the inactivity limit.
func TestRefreshFamilyEndsAfterItsAbsoluteLifetime(t *testing.T) {
	e := newOAuthEnv(t)
	code, first := e.pair(t, e.grant(e.a))
	current := e.refresh(t, first.RefreshToken, nil) // rotated yesterday, say: 60 days left on it

	startFamilyAt(t, e.db, code, time.Now().Add(-familyLifetime-time.Minute))
	got, err := models.RefreshTokens(e.db, e.a, current.RefreshToken, nil)
	if got.AccessToken != "" || got.RefreshToken != "" {
		t.Errorf("a refresh past the family's lifetime answered %+v", got)
	}
	wantOAuthError(t, err, "invalid_grant", "expired")
}

func TestRefreshFamilyWorksUntilItsEndAndNoTokenOutlivesIt(t *testing.T) {
	e := newOAuthEnv(t)
	code, first := e.pair(t, e.grant(e.a))
	started := time.Now().Add(-familyLifetime + 24*time.Hour) // one day left
	startFamilyAt(t, e.db, code, started)

	next := e.refresh(t, first.RefreshToken, nil)
	if row := oauthTokenOf(t, e.db, next.RefreshToken); !near(row.ExpiresAt, started.Add(familyLifetime)) {
		t.Errorf("the last refresh token expires %v; want the family's end %v, not 60 days on", row.ExpiresAt, started.Add(familyLifetime))
	}
	wantAccess(t, e.db, next.AccessToken, true)
}

func TestRefreshFamilyLifetimeIsAYear(t *testing.T) {
	if models.RefreshFamilyLifetime != 365*24*time.Hour {
		t.Errorf("RefreshFamilyLifetime = %v; the README promises a year", models.RefreshFamilyLifetime)
	}
}

// Migration 14 dates the families that existed before it from their code, or, without one, from
// their first token; a refresh then honours that start.
func TestBackfillFamilyStartsDatesExistingFamilies(t *testing.T) {
	e := newOAuthEnv(t)
	codeA, a := e.pair(t, e.grant(e.a))
	rotatedA := e.refresh(t, a.RefreshToken, nil)
	codeB, b := e.pair(t, e.grant(e.a))
	bornA := time.Now().UTC().Add(-familyLifetime - time.Hour).Truncate(time.Second)
	bornB := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := e.db.Exec(sql, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE oauth_tokens SET family_started_at = NULL")
	exec("UPDATE oauth_codes SET created_at = ? WHERE hash = ?", bornA, sha256Hex(codeA))
	exec("DELETE FROM oauth_codes WHERE hash = ?", sha256Hex(codeB))
	exec("UPDATE oauth_tokens SET created_at = ? WHERE hash = ?", bornB, sha256Hex(b.AccessToken))

	if err := models.BackfillFamilyStarts(e.db); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code string
		want time.Time
	}{{codeA, bornA}, {codeB, bornB}} {
		var starts []time.Time
		if err := e.db.Table("oauth_tokens").Where("family_id = ?", sha256Hex(tc.code)).Pluck("family_started_at", &starts).Error; err != nil {
			t.Fatal(err)
		}
		for _, got := range starts {
			if !got.Equal(tc.want) {
				t.Errorf("family %.8s starts %v; want %v", sha256Hex(tc.code), got, tc.want)
			}
		}
	}
	if n := countRows(t, e.db, "oauth_tokens", "family_started_at IS NULL"); n != 0 {
		t.Errorf("%d tokens left without a family start", n)
	}
	_, err := models.RefreshTokens(e.db, e.a, rotatedA.RefreshToken, nil)
	wantOAuthError(t, err, "invalid_grant", "expired")
	e.refresh(t, b.RefreshToken, nil)
}

// A new family starts when its code was issued, and every token of it carries that start.
func TestNewFamiliesCarryTheirStart(t *testing.T) {
	e := newOAuthEnv(t)
	code, first := e.pair(t, e.grant(e.a))
	e.refresh(t, first.RefreshToken, nil)
	var issued time.Time
	if err := e.db.Table("oauth_codes").Where("hash = ?", sha256Hex(code)).Pluck("created_at", &issued).Error; err != nil {
		t.Fatal(err)
	}
	var starts []time.Time
	if err := e.db.Table("oauth_tokens").Where("family_id = ?", sha256Hex(code)).Pluck("family_started_at", &starts).Error; err != nil {
		t.Fatal(err)
	}
	if len(starts) != 4 {
		t.Fatalf("%d tokens in the family; want two pairs", len(starts))
	}
	for _, got := range starts {
		if !got.Equal(issued) {
			t.Errorf("a token's family starts %v; want the code's issue %v", got, issued)
		}
	}
}
