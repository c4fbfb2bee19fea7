package models_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// DatabaseUnavailable separates "the database is away" (try again: 503) from a statement the
// database refused or a row that is missing, which callers must keep answering as they do.
func TestDatabaseUnavailable(t *testing.T) {
	db := modelstest.Open(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()
	var n int64
	closedPool := db.Table("users").Count(&n).Error
	_, refused := models.Open("postgres://postgres@127.0.0.1:1/keyfob?sslmode=disable&connect_timeout=2", "")

	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"closed pool (a real query)", closedPool, true},
		{"connection refused (a real connect)", refused, true},
		{"bad connection", fmt.Errorf("query: %w", driver.ErrBadConn), true},
		{"connection closed by pgx", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), true},
		{"server hung up mid-query", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"EOF", io.EOF, true},
		{"deadline", fmt.Errorf("ping: %w", context.DeadlineExceeded), true},
		{"admin shutdown 57P01", &pgconn.PgError{Code: "57P01"}, true},
		{"starting up 57P03", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure 08006", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections 53300", &pgconn.PgError{Code: "53300"}, true},
		{"missing row", gorm.ErrRecordNotFound, false},
		{"domain not found", models.ErrNotFound, false},
		{"unique violation 23505", &pgconn.PgError{Code: "23505"}, false},
		{"bad text 22021", &pgconn.PgError{Code: "22021"}, false},
		{"syntax error", errors.New(`near ")": syntax error`), false},
		{"nil", nil, false},
	} {
		if tc.want && tc.err == nil {
			t.Fatalf("%s: the setup produced no error", tc.name)
		}
		if got := models.DatabaseUnavailable(tc.err); got != tc.want {
			t.Errorf("%s (%v): DatabaseUnavailable = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
