package models_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// tableCells reads every column of every row of table as text.
func tableCells(t *testing.T, db *gorm.DB, table string) [][]string {
	t.Helper()
	rows, err := db.Raw("SELECT * FROM " + table).Rows()
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
			case []byte:
				row[i] = string(x)
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantStoredOnlyHashed checks that no cell of table holds value or its secret middle (only the
// displayable prefix and last 4 characters may be kept), and that one cell holds its SHA-256.
func wantStoredOnlyHashed(t *testing.T, db *gorm.DB, table, value, prefix string) {
	t.Helper()
	middle := value[len(prefix)+4 : len(value)-4]
	hashed := false
	rows := tableCells(t, db, table)
	if len(rows) == 0 {
		t.Fatalf("%s is empty", table)
	}
	for _, row := range rows {
		for _, cell := range row {
			if strings.Contains(cell, value) || strings.Contains(cell, middle) {
				t.Errorf("%s stores the secret value in clear: %q", table, cell)
			}
			if cell == sha256Hex(value) {
				hashed = true
			}
		}
	}
	if !hashed {
		t.Errorf("%s holds no SHA-256 of the value", table)
	}
	for _, other := range []string{"audit_entries", "apps"} {
		for _, row := range tableCells(t, db, other) {
			for _, cell := range row {
				if strings.Contains(cell, middle) {
					t.Errorf("%s holds the secret value: %q", other, cell)
				}
			}
		}
	}
}

func secretsOf(t *testing.T, db *gorm.DB, appID string) map[string]models.ClientSecret {
	t.Helper()
	var list []models.ClientSecret
	if err := db.Where("app_id = ?", appID).Find(&list).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]models.ClientSecret{}
	for _, s := range list {
		out[s.ID] = s
	}
	return out
}

func wantClientAuth(t *testing.T, db *gorm.DB, clientID, secret string, ok bool) {
	t.Helper()
	app, err := models.AuthenticateClient(db, clientID, secret)
	if ok {
		if err != nil || app.ID != clientID {
			t.Errorf("AuthenticateClient(%s, %s…) = %+v, %v; want the app", clientID, secret[:min(len(secret), 10)], app, err)
		}
		return
	}
	if err != models.ErrUnauthenticated {
		t.Errorf("AuthenticateClient(%s, %s…) = %+v, %v; want ErrUnauthenticated", clientID, secret[:min(len(secret), 10)], app, err)
	}
}

func TestCreateAppStoresOnlyTheSecretsHash(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, secret := newApp(t, db, a, "Fleet")

	if !models.TokenWellFormed(secret.Secret, models.PrefixClientSecret) {
		t.Fatalf("new secret %q is not a well-formed kf_cs_ token", secret.Secret)
	}
	if secret.Prefix != secret.Secret[:len("kf_cs_")+4] || secret.Last4 != secret.Secret[len(secret.Secret)-4:] {
		t.Errorf("display parts %q…%q do not match %q", secret.Prefix, secret.Last4, secret.Secret)
	}
	wantStoredOnlyHashed(t, db, "client_secrets", secret.Secret, models.PrefixClientSecret)

	stored := secretsOf(t, db, app.ID)
	if len(stored) != 1 || stored[secret.ID].Hash != sha256Hex(secret.Secret) {
		t.Fatalf("stored secrets = %+v", stored)
	}
	s := stored[secret.ID]
	if s.ExpiresAt != nil || s.RevokedAt != nil || s.LastUsedAt != nil || s.Prefix != secret.Prefix || s.Last4 != secret.Last4 {
		t.Errorf("stored secret = %+v", s)
	}
	if entries := auditEntries(t, db, a.Org.ID, "app.create"); len(entries) != 1 || !strings.Contains(entries[0].Detail, secret.Prefix) {
		t.Errorf("app.create audit entries = %+v", entries)
	}

	wantClientAuth(t, db, app.ID, secret.Secret, true)
}

func TestAuthenticateClientRefuses(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	appA, secretA := newApp(t, db, a, "A")
	appA2, _ := newApp(t, db, a, "A2")
	appB, secretB := newApp(t, db, b, "B")
	apiKey, err := models.CreateAPIKey(db, a.Actor, a.Org.ID, appA.ID, "server", models.EnvTest)
	if err != nil {
		t.Fatal(err)
	}
	last := secretA.Secret[len(secretA.Secret)-1]
	badChecksum := secretA.Secret[:len(secretA.Secret)-1] + map[bool]string{true: "A", false: "B"}[last != 'A']

	cases := []struct {
		name, clientID, secret string
	}{
		{"another app's client_id", appB.ID, secretA.Secret},
		{"same organisation, other app", appA2.ID, secretA.Secret},
		{"B's secret for A", appA.ID, secretB.Secret},
		{"wrong well-formed secret", appA.ID, models.NewToken(models.PrefixClientSecret)},
		{"bad checksum", appA.ID, badChecksum},
		{"API key as secret", appA.ID, apiKey.Key},
		{"empty secret", appA.ID, ""},
		{"empty client_id", "", secretA.Secret},
		{"client_id not a UUID", "client", secretA.Secret},
		{"upper-case client_id", strings.ToUpper(appA.ID), secretA.Secret},
		{"hash instead of secret", appA.ID, sha256Hex(secretA.Secret)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantClientAuth(t, db, tc.clientID, tc.secret, false)
		})
	}
	// No refused attempt counted as use.
	for id, s := range secretsOf(t, db, appA.ID) {
		if s.LastUsedAt != nil {
			t.Errorf("secret %s has last_used_at %v after refused attempts only", id, s.LastUsedAt)
		}
	}
	wantClientAuth(t, db, appA.ID, secretA.Secret, true)
	wantClientAuth(t, db, appB.ID, secretB.Secret, true)
}

func TestRotateClientSecretWithOverlap(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, old := newApp(t, db, a, "Fleet")

	before := time.Now().UTC()
	fresh, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, time.Hour)
	if err != nil {
		t.Fatalf("RotateClientSecret: %v", err)
	}
	if fresh.ID == old.ID || fresh.Secret == old.Secret || !models.TokenWellFormed(fresh.Secret, models.PrefixClientSecret) {
		t.Fatalf("rotated secret %+v", fresh)
	}
	wantClientAuth(t, db, app.ID, old.Secret, true)
	wantClientAuth(t, db, app.ID, fresh.Secret, true)

	stored := secretsOf(t, db, app.ID)
	if len(stored) != 2 {
		t.Fatalf("app has %d secrets, want 2", len(stored))
	}
	exp := stored[old.ID].ExpiresAt
	if exp == nil || exp.Before(before.Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("old secret expires_at = %v, want about an hour from %v", exp, before)
	}
	if stored[fresh.ID].ExpiresAt != nil || stored[fresh.ID].Hash != sha256Hex(fresh.Secret) {
		t.Errorf("new secret = %+v", stored[fresh.ID])
	}
	wantStoredOnlyHashed(t, db, "client_secrets", fresh.Secret, models.PrefixClientSecret)
	if entries := auditEntries(t, db, a.Org.ID, "secret.rotate"); len(entries) != 1 || entries[0].Target != fresh.Prefix || entries[0].AppID != app.ID {
		t.Errorf("secret.rotate audit entries = %+v", entries)
	}

	// The hour passes.
	if err := db.Exec("UPDATE client_secrets SET expires_at = ? WHERE id = ?", time.Now().UTC().Add(-time.Second), old.ID).Error; err != nil {
		t.Fatal(err)
	}
	wantClientAuth(t, db, app.ID, old.Secret, false)
	wantClientAuth(t, db, app.ID, fresh.Secret, true)

	listed, err := models.ListClientSecrets(db, a.Org.ID, app.ID)
	if err != nil || len(listed) != 2 {
		t.Fatalf("ListClientSecrets = %+v, %v", listed, err)
	}
	now := time.Now().UTC()
	for _, s := range listed {
		want := map[string]string{old.ID: "expired", fresh.ID: "active"}[s.ID]
		if got := s.Status(now); got != want {
			t.Errorf("secret %s status %q, want %q", s.Prefix, got, want)
		}
	}
	// An expired secret cannot be revoked, and the one left is the last active one.
	wantConflict(t, models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, old.ID), "secret_inactive")
	wantConflict(t, models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, fresh.ID), "last_active_secret")
}

func TestRotateClientSecretWithoutOverlap(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, old := newApp(t, db, a, "Fleet")
	fresh, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, 0)
	if err != nil {
		t.Fatalf("RotateClientSecret: %v", err)
	}
	wantClientAuth(t, db, app.ID, old.Secret, false)
	wantClientAuth(t, db, app.ID, fresh.Secret, true)
	if s := secretsOf(t, db, app.ID)[old.ID]; s.ExpiresAt == nil || s.ExpiresAt.After(time.Now()) {
		t.Errorf("old secret expires_at = %v, want now", s.ExpiresAt)
	}

	// A second rotation with a long overlap does not bring the expired secret back.
	third, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, models.MaxRotationOverlap)
	if err != nil {
		t.Fatalf("RotateClientSecret(7 days): %v", err)
	}
	wantClientAuth(t, db, app.ID, old.Secret, false)
	wantClientAuth(t, db, app.ID, fresh.Secret, true)
	wantClientAuth(t, db, app.ID, third.Secret, true)
}

func TestRotateClientSecretShortensButNeverExtends(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, first := newApp(t, db, a, "Fleet")
	if _, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	firstExpiry := *secretsOf(t, db, app.ID)[first.ID].ExpiresAt
	if _, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := secretsOf(t, db, app.ID)[first.ID].ExpiresAt; got == nil || !got.Equal(firstExpiry) {
		t.Errorf("a longer rotation moved the first secret's expiry from %v to %v", firstExpiry, got)
	}
}

func TestRotateClientSecretRefusesBadOverlap(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, old := newApp(t, db, a, "Fleet")
	for _, overlap := range []time.Duration{-time.Second, -time.Hour, models.MaxRotationOverlap + time.Second, 8 * 24 * time.Hour} {
		t.Run(overlap.String(), func(t *testing.T) {
			_, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, overlap)
			wantValidation(t, err, "expire_previous_in", "invalid_overlap")
			if n := countRows(t, db, "client_secrets", "app_id = ?", app.ID); n != 1 {
				t.Errorf("app has %d secrets, want 1", n)
			}
			if s := secretsOf(t, db, app.ID)[old.ID]; s.ExpiresAt != nil {
				t.Errorf("refused rotation set expires_at %v", s.ExpiresAt)
			}
			wantClientAuth(t, db, app.ID, old.Secret, true)
		})
	}
	if n := len(auditEntries(t, db, a.Org.ID, "secret.rotate")); n != 0 {
		t.Errorf("%d secret.rotate audit entries for refused rotations", n)
	}
}

func TestRevokeClientSecret(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	app, old := newApp(t, db, a, "Fleet")

	wantConflict(t, models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, old.ID), "last_active_secret")
	if s := secretsOf(t, db, app.ID)[old.ID]; s.RevokedAt != nil {
		t.Fatalf("the only secret was revoked")
	}
	wantClientAuth(t, db, app.ID, old.Secret, true)

	fresh, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Another organisation cannot revoke it.
	wantErrorIs(t, models.RevokeClientSecret(db, b.Actor, b.Org.ID, app.ID, old.ID), models.ErrNotFound)
	wantErrorIs(t, models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, "no-such-secret"), models.ErrNotFound)
	wantClientAuth(t, db, app.ID, old.Secret, true)

	if err := models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, old.ID); err != nil {
		t.Fatalf("revoke the old secret after rotating: %v", err)
	}
	wantClientAuth(t, db, app.ID, old.Secret, false)
	wantClientAuth(t, db, app.ID, fresh.Secret, true)
	stored := secretsOf(t, db, app.ID)
	if stored[old.ID].RevokedAt == nil || stored[fresh.ID].RevokedAt != nil {
		t.Errorf("revoked_at: old %v, new %v", stored[old.ID].RevokedAt, stored[fresh.ID].RevokedAt)
	}
	if got := stored[old.ID].Status(time.Now()); got != "revoked" {
		t.Errorf("revoked secret status %q", got)
	}
	if entries := auditEntries(t, db, a.Org.ID, "secret.revoke"); len(entries) != 1 || entries[0].Target != old.Prefix {
		t.Errorf("secret.revoke audit entries = %+v", entries)
	}

	wantConflict(t, models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, old.ID), "secret_inactive")
	wantConflict(t, models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, fresh.ID), "last_active_secret")
	wantClientAuth(t, db, app.ID, fresh.Secret, true)
}

func TestAuthenticateClientRecordsUseOncePerMinute(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, secret := newApp(t, db, a, "Fleet")

	wantClientAuth(t, db, app.ID, secret.Secret, true)
	first := secretsOf(t, db, app.ID)[secret.ID].LastUsedAt
	if first == nil {
		t.Fatal("last_used_at not set after a successful authentication")
	}
	wantClientAuth(t, db, app.ID, secret.Secret, true)
	if second := secretsOf(t, db, app.ID)[secret.ID].LastUsedAt; second == nil || !second.Equal(*first) {
		t.Errorf("last_used_at rewritten within a minute: %v → %v", first, second)
	}

	// Two minutes later, the next use is recorded.
	earlier := time.Now().UTC().Add(-2 * time.Minute)
	if err := db.Exec("UPDATE client_secrets SET last_used_at = ? WHERE id = ?", earlier, secret.ID).Error; err != nil {
		t.Fatal(err)
	}
	wantClientAuth(t, db, app.ID, secret.Secret, true)
	if third := secretsOf(t, db, app.ID)[secret.ID].LastUsedAt; third == nil || !third.After(earlier.Add(time.Minute)) {
		t.Errorf("last_used_at = %v, want refreshed from %v", third, earlier)
	}
}
