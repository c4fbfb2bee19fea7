// Package modelstest gives each test a fresh, migrated database: a SQLite file in the test's temp
// directory, or, when KEYFOB_TEST_DATABASE_URL points at a PostgreSQL server, a new database there
// that is dropped when the test ends.
package modelstest

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"keyfob/models"
)

// EnvPostgres names the variable that selects PostgreSQL for tests.
const EnvPostgres = "KEYFOB_TEST_DATABASE_URL"

// Open returns a fresh migrated database for t.
func Open(t testing.TB) *gorm.DB {
	t.Helper()
	db := OpenUnmigrated(t)
	if err := models.Migrate(db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// OpenUnmigrated returns a fresh empty database for t.
func OpenUnmigrated(t testing.TB) *gorm.DB {
	t.Helper()
	var db *gorm.DB
	var err error
	if admin := os.Getenv(EnvPostgres); admin != "" {
		db, err = models.Open(freshPostgres(t, admin), "")
	} else {
		db, err = models.Open("", filepath.Join(t.TempDir(), "keyfob.db"))
	}
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// IsPostgres reports whether tests run on PostgreSQL.
func IsPostgres() bool { return os.Getenv(EnvPostgres) != "" }

// freshPostgres creates a database named after a random suffix on the server of adminURL and
// returns its URL; the database is dropped (forcibly) when the test ends.
func freshPostgres(t testing.TB, adminURL string) string {
	t.Helper()
	admin, err := models.Open(adminURL, "")
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvPostgres, err)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	name := "keyfob_t_" + hex.EncodeToString(suffix[:])
	if err := admin.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}
