package models_test

import (
	"testing"
	"time"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// BenchmarkAuthenticateWrongPassword times a failed sign-in for an email with an account and for one
// without (security.md #44: the two must not be told apart by timing). Each iteration signs in once
// with each, alternately, so load on the machine falls on both alike; it reports both means and
// their difference.
func BenchmarkAuthenticateWrongPassword(b *testing.B) {
	db := modelstest.Open(b)
	if _, _, err := models.CreateAccount(db, models.SignUp{Email: "ada@example.com", Password: testPassword, Name: "Ada", Organization: "Ada"}); err != nil {
		b.Fatal(err)
	}
	var known, unknown time.Duration
	for i := 0; b.Loop(); i++ {
		emails := []string{"ada@example.com", "nobody@example.com"}
		if i%2 == 1 {
			emails[0], emails[1] = emails[1], emails[0]
		}
		for _, email := range emails {
			began := time.Now()
			if _, err := models.Authenticate(db, email, "wrong-password-123"); err != models.ErrBadCredentials {
				b.Fatal(err)
			}
			if email == "nobody@example.com" {
				unknown += time.Since(began)
			} else {
				known += time.Since(began)
			}
		}
		if err := db.Exec("DELETE FROM rate_counters").Error; err != nil { // stay under the lockout
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(known.Microseconds())/n/1000, "ms-known")
	b.ReportMetric(float64(unknown.Microseconds())/n/1000, "ms-unknown")
	b.ReportMetric(float64((unknown-known).Microseconds())/n/1000, "ms-difference")
}
