package models_test

// Regression tests for the security review's fixes in models. Each names the finding it guards.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// concurrently runs the functions at the same moment (a start barrier) and waits for all of them.
func concurrently(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// Finding: RevokeClientSecret counted the other active secrets without locking the app, so two
// concurrent revocations of an app's two active secrets each saw the other one still active and
// both succeeded, leaving the app with no working secret (models/app.go lockApp, used by
// models/client_secret.go RevokeClientSecret). SQLite runs one writer at a time (one connection),
// so the race only exists on PostgreSQL.
func TestRegressionConcurrentRevokeKeepsOneActiveSecret(t *testing.T) {
	if !modelstest.IsPostgres() {
		t.Skip("the race needs concurrent transactions: set " + modelstest.EnvPostgres)
	}
	db := modelstest.Open(t)
	a := newAccount(t, db, "revoke-race@example.com")
	for round := range 20 {
		app, first := newApp(t, db, a, fmt.Sprintf("Race %d", round))
		second, err := models.RotateClientSecret(db, a.Actor, a.Org.ID, app.ID, time.Hour)
		if err != nil {
			t.Fatalf("RotateClientSecret: %v", err)
		}
		errs := concurrently(
			func() error { return models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, first.ID) },
			func() error { return models.RevokeClientSecret(db, a.Actor, a.Org.ID, app.ID, second.ID) },
		)
		ok, conflicts := 0, 0
		for _, err := range errs {
			var c *models.ConflictError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &c) && c.Code == "last_active_secret":
				conflicts++
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d revocations succeeded and %d got last_active_secret, want 1 and 1 (%v)", round, ok, conflicts, errs)
		}
		now := time.Now().UTC()
		active := 0
		for _, s := range secretsOf(t, db, app.ID) {
			if s.Active(now) {
				active++
			}
		}
		if active != 1 {
			t.Fatalf("round %d: %d active secrets left, want 1", round, active)
		}
	}
}

// Finding: UpdateDraft read the draft, applied the patch and wrote the whole draft back without a
// lock, so two designers editing different fields at once lost one change (models/app.go lockApp,
// used by models/branding.go draftForUpdate).
func TestRegressionConcurrentDraftUpdatesKeepBothChanges(t *testing.T) {
	if !modelstest.IsPostgres() {
		t.Skip("the race needs concurrent transactions: set " + modelstest.EnvPostgres)
	}
	f := newBrandingFixture(t)
	makeSets := [][]string{{"TESLA", "FORD"}, {"KIA"}, {"BMW", "TESLA"}}
	for round := range 20 {
		color := fmt.Sprintf("#%02X%02X%02X", 16+round, 32+round, 48+round)
		makes := makeSets[round%len(makeSets)]
		errs := concurrently(
			func() error {
				_, err := models.UpdateDraft(f.db, f.designer, f.owner.Org.ID, f.app.ID, models.BrandingPatch{ButtonColor: bptr(color)})
				return err
			},
			func() error {
				_, err := models.UpdateDraft(f.db, f.designer, f.owner.Org.ID, f.app.ID, models.BrandingPatch{Makes: bptr(slices.Clone(makes))})
				return err
			},
		)
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: UpdateDraft: %v", round, err)
			}
		}
		got := f.draft(t)
		if got.ButtonColor != color || !slices.Equal(got.Makes, makes) {
			t.Fatalf("round %d: draft has colour %s and makes %v, want %s and %v (a concurrent update was lost)", round, got.ButtonColor, got.Makes, color, makes)
		}
	}
}
