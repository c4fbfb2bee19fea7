package models_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

func userRow(t *testing.T, db *gorm.DB, id string) models.User {
	t.Helper()
	var u models.User
	if err := db.Where("id = ?", id).Take(&u).Error; err != nil {
		t.Fatalf("read user %s: %v", id, err)
	}
	return u
}

// loginFailures reads the failure counter of an email (known to an account or not).
func loginFailures(t *testing.T, db *gorm.DB, email string) int {
	t.Helper()
	var counts []int
	if err := db.Raw("SELECT count FROM rate_counters WHERE k = ?", "login-email:"+models.HashToken(email)).Scan(&counts).Error; err != nil {
		t.Fatalf("read failure counter: %v", err)
	}
	if len(counts) == 0 {
		return 0
	}
	return counts[0]
}

func TestAuthenticate(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	cases := []struct {
		name, email, password string
		wantErr               error
	}{
		{"right password", "ada@example.com", testPassword, nil},
		{"email in another case, with spaces", "  ADA@Example.com ", testPassword, nil},
		{"wrong password", "ada@example.com", "wrong-password-123", models.ErrBadCredentials},
		{"password in another case", "ada@example.com", "CORRECT-HORSE-BATTERY", models.ErrBadCredentials},
		{"empty password", "ada@example.com", "", models.ErrBadCredentials},
		{"unknown email", "nobody@example.com", testPassword, models.ErrBadCredentials},
		{"empty email", "", testPassword, models.ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := models.Authenticate(db, tc.email, tc.password)
			if tc.wantErr == nil {
				if err != nil || u.ID != a.User.ID {
					t.Errorf("Authenticate = %+v, %v; want ada", u, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
			}
			if u.ID != "" || u.PasswordHash != "" {
				t.Errorf("a failed sign-in returned the user %+v", u)
			}
		})
	}
	// Unknown email and wrong password are told apart by nothing the caller sees.
	_, unknown := models.Authenticate(db, "nobody@example.com", testPassword)
	_, wrong := models.Authenticate(db, "ada@example.com", "wrong-password-123")
	if unknown != wrong || unknown.Error() != wrong.Error() {
		t.Errorf("unknown email → %v, wrong password → %v; want the same error", unknown, wrong)
	}
	if n := countRows(t, db, "users", ""); n != 1 {
		t.Errorf("users has %d rows after sign-in attempts", n)
	}
}

func TestAuthenticateCountsFailuresAndResetsOnSuccess(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	for i := 1; i <= 3; i++ {
		if _, err := models.Authenticate(db, a.User.Email, "wrong-password-123"); !errors.Is(err, models.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if n := loginFailures(t, db, a.User.Email); n != i {
			t.Fatalf("after %d failures the counter says %d", i, n)
		}
	}
	if _, err := models.Authenticate(db, a.User.Email, testPassword); err != nil {
		t.Fatalf("right password after 3 failures: %v", err)
	}
	if n := loginFailures(t, db, a.User.Email); n != 0 {
		t.Errorf("the counter says %d after a successful sign-in, want 0", n)
	}
}

func TestAuthenticateLocksOutAfterMaxFailures(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	for i := 0; i < models.MaxFailedLogins; i++ {
		if _, err := models.Authenticate(db, a.User.Email, "wrong-password-123"); !errors.Is(err, models.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v, want ErrBadCredentials", i+1, err)
		}
	}
	if n := loginFailures(t, db, a.User.Email); n != models.MaxFailedLogins {
		t.Fatalf("the counter says %d, want %d", n, models.MaxFailedLogins)
	}

	for _, password := range []string{testPassword, "wrong-password-123"} {
		_, err := models.Authenticate(db, a.User.Email, password)
		var rl *models.RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("Authenticate(%q) while locked = %v (%T), want *models.RateLimitedError", password, err, err)
		}
		if rl.RetryAfter <= 0 || rl.RetryAfter > int(models.LockoutWindow.Seconds())+1 {
			t.Errorf("RetryAfter = %d, want 1..%d seconds", rl.RetryAfter, int(models.LockoutWindow.Seconds())+1)
		}
	}
	if n := loginFailures(t, db, a.User.Email); n < models.MaxFailedLogins {
		t.Errorf("the lockout reset the counter to %d", n)
	}

	// The lockout window passes.
	past := time.Now().UTC().Add(-models.LockoutWindow - time.Minute)
	if err := db.Exec("UPDATE rate_counters SET window_start = ? WHERE k = ?", past, "login-email:"+models.HashToken(a.User.Email)).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := models.Authenticate(db, a.User.Email, testPassword); err != nil {
		t.Fatalf("right password after the lockout window: %v", err)
	}
	if n := loginFailures(t, db, a.User.Email); n != 0 {
		t.Errorf("the counter says %d after a successful sign-in, want 0", n)
	}
}

// Issue 10 item 4: an email without an account is counted and locked exactly like one with an
// account, so the lockout does not tell which emails are registered.
func TestAuthenticateLocksUnknownEmailsLikeKnownOnes(t *testing.T) {
	db := modelstest.Open(t)
	newAccount(t, db, "ada@example.com")
	outcomes := func(email string) []string {
		var out []string
		for i := 0; i <= models.MaxFailedLogins+1; i++ {
			_, err := models.Authenticate(db, email, "wrong-password-123")
			var rl *models.RateLimitedError
			switch {
			case errors.Is(err, models.ErrBadCredentials):
				out = append(out, "bad credentials")
			case errors.As(err, &rl):
				out = append(out, "locked")
			default:
				t.Fatalf("%s attempt %d: %v", email, i+1, err)
			}
		}
		return out
	}
	known, unknown := outcomes("ada@example.com"), outcomes("nobody@example.com")
	if strings.Join(known, ",") != strings.Join(unknown, ",") {
		t.Errorf("known email: %v\nunknown email: %v\nwant the same sequence", known, unknown)
	}
	if known[models.MaxFailedLogins-1] != "bad credentials" || known[models.MaxFailedLogins] != "locked" {
		t.Errorf("known email: %v; want %d refusals, then locked", known, models.MaxFailedLogins)
	}
	var rows []string
	if err := db.Raw("SELECT k FROM rate_counters").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, k := range rows {
		if strings.Contains(k, "nobody") || strings.Contains(k, "example.com") {
			t.Errorf("counter key %q holds the typed email; it must be hashed", k)
		}
	}
}

// security.md E43: parallel wrong passwords are all counted, none lost to a read-modify-write race.
func TestAuthenticateCountsParallelFailuresExactly(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	const n = 20
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = models.Authenticate(db, a.User.Email, "wrong-password-123")
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		var rl *models.RateLimitedError
		if !errors.Is(err, models.ErrBadCredentials) && !errors.As(err, &rl) {
			t.Errorf("attempt %d: %v, want ErrBadCredentials or RateLimitedError", i, err)
		}
	}
	if got := loginFailures(t, db, a.User.Email); got != n {
		t.Errorf("the counter says %d after %d parallel wrong passwords, want %d", got, n, n)
	}
	_, err := models.Authenticate(db, a.User.Email, testPassword)
	var rl *models.RateLimitedError
	if !errors.As(err, &rl) {
		t.Errorf("right password after %d failures = %v, want *models.RateLimitedError (soft-locked)", n, err)
	}
}

// The counter behind E43 counts every wrong password, also those that arrive while the account is
// locked: otherwise parallel attempts are counted or not depending on which read the row first.
func TestAuthenticateCountsWrongPasswordsWhileLocked(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	const n = models.MaxFailedLogins + 5
	for i := 0; i < n; i++ {
		_, err := models.Authenticate(db, a.User.Email, "wrong-password-123")
		var rl *models.RateLimitedError
		if !errors.Is(err, models.ErrBadCredentials) && !errors.As(err, &rl) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if got := loginFailures(t, db, a.User.Email); got != n {
		t.Errorf("the counter says %d after %d wrong passwords, want %d", got, n, n)
	}
}

func TestAuthenticateDisabledUser(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	if err := db.Exec("UPDATE users SET disabled = ? WHERE id = ?", true, a.User.ID).Error; err != nil {
		t.Fatal(err)
	}
	_, err := models.Authenticate(db, a.User.Email, testPassword)
	wantErrorIs(t, err, models.ErrBadCredentials)
}

func TestFindUser(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	if u, err := models.FindUserByEmail(db, "  ADA@example.COM "); err != nil || u.ID != a.User.ID {
		t.Errorf("FindUserByEmail = %+v, %v", u, err)
	}
	if u, err := models.FindUser(db, a.User.ID); err != nil || u.Email != "ada@example.com" {
		t.Errorf("FindUser = %+v, %v", u, err)
	}
	_, err := models.FindUserByEmail(db, "nobody@example.com")
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.FindUser(db, "00000000-0000-4000-8000-000000000000")
	wantErrorIs(t, err, models.ErrNotFound)
}

// security.md #44: an unknown email and a known email with a wrong password take the same steps:
// the same statements, in the same order, and one argon2id run each (the answers are compared in
// TestAuthenticate). Timing then differs only by noise; BENCHMARKS.md reports the measured medians.
func TestAuthenticateTakesTheSameStepsForUnknownAndKnownEmails(t *testing.T) {
	db := modelstest.Open(t)
	newAccount(t, db, "ada@example.com")
	recorded, log := modelstest.Recording(db)
	steps := func(email string) ([]string, int64) {
		log.Reset()
		runs := models.PasswordHashRuns()
		if _, err := models.Authenticate(recorded, email, "wrong-password-123"); !errors.Is(err, models.ErrBadCredentials) {
			t.Fatalf("%s: %v", email, err)
		}
		return log.Statements(), models.PasswordHashRuns() - runs
	}
	known, knownHashes := steps("ada@example.com")
	unknown, unknownHashes := steps("nobody@example.com")
	if len(known) < 2 {
		t.Fatalf("recorded %d statements for a failed sign-in; the recorder is not recording: %q", len(known), known)
	}
	if strings.Join(known, "\n") != strings.Join(unknown, "\n") {
		t.Errorf("statements differ:\nknown email:\n%s\nunknown email:\n%s", strings.Join(known, "\n"), strings.Join(unknown, "\n"))
	}
	if knownHashes != 1 || unknownHashes != 1 {
		t.Errorf("argon2id runs: known %d, unknown %d; want one each", knownHashes, unknownHashes)
	}
}
