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

// Connect records two steps in one transaction (launched then error, permissions_approved then
// completed) while API batches write the same rollup rows. Both must take rows in one order: on
// PostgreSQL a second order would deadlock, and Connect does not retry.
func TestConnectTransactionsAndBatchesDoNotDeadlock(t *testing.T) {
	if !modelstest.IsPostgres() {
		t.Skip("SQLite serialises writers; the row locks under test are PostgreSQL's")
	}
	env := newAnalyticsEnv(t)
	at := time.Now().UTC().Add(-time.Minute)
	var workers []func() error
	for w := range 4 {
		workers = append(workers, connectErrors(env, at, w, 60), apiErrorBatches(env, at, w, 15, 40))
	}
	for _, err := range concurrently(workers...) {
		if err != nil {
			t.Fatalf("concurrent Connect transactions and batches: %v", err)
		}
	}
	f := env.funnel(t, models.AnalyticsFilter{Range: models.LastDays(2, time.Now().UTC())})
	if want := 4*60 + 4*15*40; f.Started != want || len(f.Errors) != 1 || f.Errors[0].Count != want {
		t.Fatalf("started %d, errors %+v; want %d of each", f.Started, f.Errors, want)
	}
}

// connectErrors records n sessions as Connect does when a launch fails: launched and error in one transaction.
func connectErrors(env analyticsEnv, at time.Time, w, n int) func() error {
	return func() error {
		for i := range n {
			session := fmt.Sprintf("connect-%d-%d", w, i)
			err := env.db.Transaction(func(tx *gorm.DB) error {
				for j, step := range []string{"launched", "error"} {
					e := models.SessionEvent{ID: session + step, SessionID: session, AppID: env.app.ID, Owner: "o",
						Step: step, Mode: "test", OccurredAt: at.Add(time.Duration(j) * time.Second)}
					if step == "error" {
						e.ErrorCode = "no_vehicles"
					}
					if _, err := models.RecordEvent(tx, e, false); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// apiErrorBatches sends batches of sessions (launched, brand_selected, error) through IngestEvents.
func apiErrorBatches(env analyticsEnv, at time.Time, w, batches, perBatch int) func() error {
	key := models.APIKey{ID: "batches", AppID: env.app.ID, Environment: models.EnvTest}
	return func() error {
		for b := range batches {
			var in []models.EventInput
			for i := range perBatch {
				session := fmt.Sprintf("api-%d-%d-%d", w, b, i)
				for j, step := range []string{"launched", "brand_selected", "error"} {
					e := models.EventInput{Index: len(in), ID: session + step, SessionID: session, Owner: "o", Step: step,
						OccurredAt: at.Add(time.Duration(j) * time.Second).Format(time.RFC3339Nano)}
					if step == "error" {
						e.Error = "no_vehicles"
					}
					in = append(in, e)
				}
			}
			if _, err := models.IngestEvents(env.db, key, "", in, nil, time.Now().UTC()); err != nil {
				return err
			}
		}
		return nil
	}
}

// The completion histogram's migration pages through any number of summaries.
func TestBackfillCompletionsPagesThroughManySessions(t *testing.T) {
	env := newAnalyticsEnv(t)
	start := time.Now().UTC().Add(-2 * time.Hour)
	const sessions = 5200
	for from := 0; from < sessions; from += 400 {
		var values []string
		var args []any
		for i := from; i < min(from+400, sessions); i++ {
			values = append(values, "(?, ?, 'o', 'TESLA', 'test', ?, ?, 'completed', ?, ?, ?)")
			args = append(args, env.app.ID, fmt.Sprintf("s%05d", i), start.Format(time.DateOnly), 1|32,
				start, start.Add(time.Duration(i%50)*time.Second), start.Add(time.Minute))
		}
		err := env.db.Exec(`INSERT INTO session_summaries (app_id, session_id, owner, make, mode, day, steps_mask, outcome,
			started_at, completed_at, last_event_at) VALUES `+strings.Join(values, ", "), args...).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := models.BackfillCompletions(env.db); err != nil {
		t.Fatalf("backfill of %d sessions: %v", sessions, err)
	}
	var total int64
	env.db.Table("completion_daily").Where("make = ?", "*").Select("COALESCE(SUM(sessions), 0)").Scan(&total)
	if total != sessions {
		t.Fatalf("the histogram counts %d sessions, want %d", total, sessions)
	}
	f := env.funnel(t, models.AnalyticsFilter{Range: models.LastDays(2, time.Now().UTC()), Make: "TESLA"})
	if f.MedianSecondsToComplete != 24.5 {
		t.Fatalf("median %v, want 24.5", f.MedianSecondsToComplete)
	}
}

// Remembered Idempotency-Keys are forgotten after their window.
func TestPurgeIdempotencyKeys(t *testing.T) {
	env := newAnalyticsEnv(t)
	key := models.APIKey{ID: "k", AppID: env.app.ID, Environment: models.EnvTest}
	now := time.Now().UTC()
	for i, at := range []time.Time{now.Add(-2 * models.IdempotencyWindow), now} {
		in := []models.EventInput{{ID: fmt.Sprint("e", i), SessionID: "s1", Step: "launched",
			OccurredAt: at.Add(-time.Hour).Format(time.RFC3339)}}
		if _, err := models.IngestEvents(env.db, key, fmt.Sprint("key-", i), in, nil, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := models.PurgeIdempotencyKeys(env.db, now.Add(-models.IdempotencyWindow)); err != nil {
		t.Fatal(err)
	}
	var left []string
	env.db.Table("idempotency_keys").Pluck("idem_key", &left)
	if len(left) != 1 || left[0] != "key-1" {
		t.Fatalf("after the purge: %v, want only key-1", left)
	}
}
