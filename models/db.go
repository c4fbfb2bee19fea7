package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Open connects to PostgreSQL when databaseURL is a postgres:// URL, else to the embedded
// SQLite file at dataDir/keyfob.db (sqlitePath overrides the file, e.g. ":memory:" in tests).
func Open(databaseURL, sqlitePath string) (*gorm.DB, error) {
	cfg := &gorm.Config{
		TranslateError: true,
		// Multi-row writes use explicit transactions; a lone statement needs no BEGIN/COMMIT around it.
		SkipDefaultTransaction: true,
		Logger:                 logger.Default.LogMode(logger.Silent),
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	if databaseURL != "" {
		cfg.PrepareStmt = true // the hot paths repeat a handful of statements: parse them once per connection
		// Batches and IN lists make statements of many lengths; keep the most used, not all of them.
		cfg.PrepareStmtMaxSize, cfg.PrepareStmtTTL = 512, time.Hour
		db, err := gorm.Open(postgres.Open(databaseURL), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		return db, nil
	}
	if sqlitePath != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(sqlitePath), 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	dsn := sqlitePath + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", sqlitePath, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// SQLite allows one writer; one connection turns lock contention into a queue instead of SQLITE_BUSY.
	sqlDB.SetMaxOpenConns(1)
	return db, nil
}

// IsPostgres reports whether db talks to PostgreSQL.
func IsPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// Ping checks that the database answers; readiness depends on it.
func Ping(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Ping()
}

// escapeLike makes a user-typed string literal inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// retryDeadlock runs fn in a transaction, again (up to three times) when PostgreSQL aborts it as a
// deadlock victim or a serialization failure: both mean "nothing was written, try again".
func retryDeadlock(db *gorm.DB, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = db.Transaction(fn); !isRetryable(err) {
			return err
		}
	}
	return err
}

func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// DatabaseUnavailable reports whether err means the database could not be reached or went away
// mid-statement, rather than refusing the statement: a closed pool, a refused or dropped connection,
// a timeout, or PostgreSQL shutting down, starting up or out of connections. Callers answer it with
// "try again" (503), never with "not found" or "not signed in".
func DatabaseUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr), errors.As(err, &connectErr), pgconn.Timeout(err):
		return true
	case errors.As(err, &pgErr):
		// 08: connection exception; 57P01-03: shutdown, crash, cannot connect now; 53: out of resources.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P0") || strings.HasPrefix(pgErr.Code, "53")
	}
	// database/sql does not export these; pgx reports a server that hung up in plain text.
	msg := err.Error()
	for _, s := range []string{"sql: database is closed", "connection refused", "conn closed", "unexpected EOF",
		"server closed the connection", "connection reset by peer", "broken pipe"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
