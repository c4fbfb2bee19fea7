package models_test

import (
	"strings"
	"testing"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

func apiKeyRow(t *testing.T, db *gorm.DB, id string) models.APIKey {
	t.Helper()
	var k models.APIKey
	if err := db.Where("id = ?", id).Take(&k).Error; err != nil {
		t.Fatalf("read api key %s: %v", id, err)
	}
	return k
}

func TestCreateAPIKeyPerEnvironment(t *testing.T) {
	cases := []struct {
		env, prefix string
	}{
		{models.EnvTest, "kf_test_"},
		{models.EnvLive, "kf_live_"},
	}
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			db := modelstest.Open(t)
			a := newAccount(t, db, "ada@example.com")
			app, _ := newApp(t, db, a, "Fleet")

			k, err := models.CreateAPIKey(db, a.Actor, a.Org.ID, app.ID, "  billing server ", tc.env)
			if err != nil {
				t.Fatalf("CreateAPIKey: %v", err)
			}
			if !strings.HasPrefix(k.Key, tc.prefix) || !models.TokenWellFormed(k.Key, tc.prefix) {
				t.Fatalf("key %q is not a well-formed %s token", k.Key, tc.prefix)
			}
			if k.Prefix != k.Key[:len(tc.prefix)+4] || k.Last4 != k.Key[len(k.Key)-4:] {
				t.Errorf("display parts %q…%q do not match the key", k.Prefix, k.Last4)
			}
			stored := apiKeyRow(t, db, k.ID)
			if stored.AppID != app.ID || stored.Name != "billing server" || stored.Environment != tc.env ||
				stored.Hash != sha256Hex(k.Key) || stored.RevokedAt != nil || stored.LastUsedAt != nil {
				t.Errorf("stored key = %+v", stored)
			}
			wantStoredOnlyHashed(t, db, "api_keys", k.Key, tc.prefix)

			entries := auditEntries(t, db, a.Org.ID, "api_key.create")
			if len(entries) != 1 || entries[0].Target != k.Prefix || !strings.Contains(entries[0].Detail, tc.env) {
				t.Errorf("api_key.create audit entries = %+v", entries)
			}

			gotKey, gotApp, err := models.AuthenticateAPIKey(db, k.Key)
			if err != nil || gotKey.ID != k.ID || gotApp.ID != app.ID || gotKey.Environment != tc.env {
				t.Fatalf("AuthenticateAPIKey = %+v, %+v, %v", gotKey, gotApp, err)
			}
			if apiKeyRow(t, db, k.ID).LastUsedAt == nil {
				t.Error("last_used_at not set after a successful authentication")
			}

			listed, err := models.ListAPIKeys(db, a.Org.ID, app.ID)
			if err != nil || len(listed) != 1 || listed[0].ID != k.ID {
				t.Errorf("ListAPIKeys = %+v, %v", listed, err)
			}
		})
	}
}

func TestCreateAPIKeyRefusesBadInput(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	app, _ := newApp(t, db, a, "Fleet")
	cases := []struct {
		name, orgID, appID, keyName, env string
		check                            func(t *testing.T, err error)
	}{
		{"empty name", a.Org.ID, app.ID, "", models.EnvTest, func(t *testing.T, err error) { wantValidation(t, err, "name", "invalid_name") }},
		{"blank name", a.Org.ID, app.ID, "   ", models.EnvTest, func(t *testing.T, err error) { wantValidation(t, err, "name", "invalid_name") }},
		{"101-character name", a.Org.ID, app.ID, strings.Repeat("é", 101), models.EnvTest, func(t *testing.T, err error) { wantValidation(t, err, "name", "invalid_name") }},
		{"empty environment", a.Org.ID, app.ID, "server", "", func(t *testing.T, err error) { wantValidation(t, err, "environment", "invalid_environment") }},
		{"unknown environment", a.Org.ID, app.ID, "server", "prod", func(t *testing.T, err error) { wantValidation(t, err, "environment", "invalid_environment") }},
		{"upper-case environment", a.Org.ID, app.ID, "server", "LIVE", func(t *testing.T, err error) { wantValidation(t, err, "environment", "invalid_environment") }},
		{"another organisation's app", b.Org.ID, app.ID, "server", models.EnvLive, func(t *testing.T, err error) { wantErrorIs(t, err, models.ErrNotFound) }},
		{"unknown app", a.Org.ID, "00000000-0000-4000-8000-000000000000", "server", models.EnvLive, func(t *testing.T, err error) { wantErrorIs(t, err, models.ErrNotFound) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := models.CreateAPIKey(db, a.Actor, tc.orgID, tc.appID, tc.keyName, tc.env)
			tc.check(t, err)
			if k.Key != "" {
				t.Errorf("a refused request returned a key value")
			}
			if n := countRows(t, db, "api_keys", ""); n != 0 {
				t.Errorf("api_keys has %d rows after a refused request", n)
			}
		})
	}
	if n := len(auditEntries(t, db, a.Org.ID, "api_key.create")) + len(auditEntries(t, db, b.Org.ID, "api_key.create")); n != 0 {
		t.Errorf("%d api_key.create audit entries for refused requests", n)
	}
	// 100 characters is the limit, counted in characters.
	if _, err := models.CreateAPIKey(db, a.Actor, a.Org.ID, app.ID, strings.Repeat("é", 100), models.EnvTest); err != nil {
		t.Errorf("100-character name: %v", err)
	}
}

func TestAuthenticateAPIKeyRefuses(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, secret := newApp(t, db, a, "Fleet")
	k, err := models.CreateAPIKey(db, a.Actor, a.Org.ID, app.ID, "server", models.EnvLive)
	if err != nil {
		t.Fatal(err)
	}
	swap := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	cases := map[string]string{
		"bad checksum":                  swap(k.Key, len(k.Key)-1),
		"changed random part":           swap(k.Key, len("kf_live_")+5),
		"live key with test prefix":     "kf_test_" + k.Key[len("kf_live_"):],
		"unknown well-formed live key":  models.NewToken(models.PrefixLiveKey),
		"unknown well-formed test key":  models.NewToken(models.PrefixTestKey),
		"client secret":                 secret.Secret,
		"empty":                         "",
		"hash of the key":               sha256Hex(k.Key),
		"key with trailing space":       k.Key + " ",
		"display prefix and last four":  k.Prefix + k.Last4,
		"key without prefix":            k.Key[len("kf_live_"):],
		"session-style token (no type)": models.NewToken(models.PrefixSession),
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := models.AuthenticateAPIKey(db, value)
			wantErrorIs(t, err, models.ErrUnauthenticated)
		})
	}
	if apiKeyRow(t, db, k.ID).LastUsedAt != nil {
		t.Error("refused attempts recorded a use of the key")
	}
}

func TestRevokeAPIKey(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	app, _ := newApp(t, db, a, "Fleet")
	k, err := models.CreateAPIKey(db, a.Actor, a.Org.ID, app.ID, "server", models.EnvTest)
	if err != nil {
		t.Fatal(err)
	}
	other, err := models.CreateAPIKey(db, a.Actor, a.Org.ID, app.ID, "other server", models.EnvTest)
	if err != nil {
		t.Fatal(err)
	}

	wantErrorIs(t, models.RevokeAPIKey(db, b.Actor, b.Org.ID, app.ID, k.ID), models.ErrNotFound)
	if _, _, err := models.AuthenticateAPIKey(db, k.Key); err != nil {
		t.Fatalf("another organisation's revoke stopped the key: %v", err)
	}

	if err := models.RevokeAPIKey(db, a.Actor, a.Org.ID, app.ID, k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	_, _, err = models.AuthenticateAPIKey(db, k.Key)
	wantErrorIs(t, err, models.ErrUnauthenticated)
	if apiKeyRow(t, db, k.ID).RevokedAt == nil {
		t.Error("revoked_at not set")
	}
	if _, _, err := models.AuthenticateAPIKey(db, other.Key); err != nil {
		t.Errorf("revoking one key stopped another: %v", err)
	}

	// Revoking twice is harmless and logged once.
	if err := models.RevokeAPIKey(db, a.Actor, a.Org.ID, app.ID, k.ID); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	if entries := auditEntries(t, db, a.Org.ID, "api_key.revoke"); len(entries) != 1 || entries[0].Target != k.Prefix {
		t.Errorf("api_key.revoke audit entries = %+v", entries)
	}
	wantErrorIs(t, models.RevokeAPIKey(db, a.Actor, a.Org.ID, app.ID, "00000000-0000-4000-8000-000000000000"), models.ErrNotFound)
}

func TestDeletedAppsKeysAndSecretsStopWorking(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, secret := newApp(t, db, a, "Fleet")
	k, err := models.CreateAPIKey(db, a.Actor, a.Org.ID, app.ID, "server", models.EnvLive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, app.ID, "https://app.example.com/cb"); err != nil {
		t.Fatal(err)
	}
	if err := models.DeleteApp(db, a.Actor, a.Org.ID, app.ID); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	for _, table := range []string{"apps", "client_secrets", "redirect_uris", "api_keys"} {
		col := "app_id"
		if table == "apps" {
			col = "id"
		}
		if n := countRows(t, db, table, col+" = ?", app.ID); n != 0 {
			t.Errorf("%s keeps %d rows of the deleted app", table, n)
		}
	}
	_, _, err = models.AuthenticateAPIKey(db, k.Key)
	wantErrorIs(t, err, models.ErrUnauthenticated)
	wantClientAuth(t, db, app.ID, secret.Secret, false)
	if n := len(auditEntries(t, db, a.Org.ID, "app.delete")); n != 1 {
		t.Errorf("%d app.delete audit entries, want 1", n)
	}
}
