package modelstest

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// StatementLog records the SQL statements issued through a database handle, so tests can bound how
// many statements an operation costs or compare the shapes of two code paths.
type StatementLog struct {
	mu    sync.Mutex
	stmts []string
}

// Recording returns a handle on db's connections whose statements are recorded in the returned log.
func Recording(db *gorm.DB) (*gorm.DB, *StatementLog) {
	log := &StatementLog{}
	return db.Session(&gorm.Session{Logger: log}), log
}

// Statements returns the recorded statements, values replaced by ? so that two runs compare by shape.
func (l *StatementLog) Statements() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.stmts...)
}

// Work is Statements without the session settings a transaction may start with (SET LOCAL …), the
// statements that do the work whose count a test bounds.
func (l *StatementLog) Work() []string {
	var out []string
	for _, s := range l.Statements() {
		if !strings.HasPrefix(strings.TrimSpace(s), "SET ") {
			out = append(out, s)
		}
	}
	return out
}

// Reset forgets what was recorded.
func (l *StatementLog) Reset() {
	l.mu.Lock()
	l.stmts = nil
	l.mu.Unlock()
}

var literals = regexp.MustCompile(`'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|"[^"]*"`)

func (l *StatementLog) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *StatementLog) Info(context.Context, string, ...any)     {}
func (l *StatementLog) Warn(context.Context, string, ...any)     {}
func (l *StatementLog) Error(context.Context, string, ...any)    {}

// Trace records one statement.
func (l *StatementLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	l.mu.Lock()
	l.stmts = append(l.stmts, literals.ReplaceAllString(sql, "?"))
	l.mu.Unlock()
}
