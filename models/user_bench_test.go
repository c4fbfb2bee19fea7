package models_test

import (
	"testing"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// BenchmarkAuthenticateWrongPassword times a failed sign-in for an email with an account and for one
// without (security.md #44: the two must not be told apart by timing). Run the two sub-benchmarks
// with -count and compare them with benchstat.
func BenchmarkAuthenticateWrongPassword(b *testing.B) {
	db := modelstest.Open(b)
	if _, _, err := models.CreateAccount(db, models.SignUp{Email: "ada@example.com", Password: testPassword, Name: "Ada", Organization: "Ada"}); err != nil {
		b.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		name := "known"
		if email != "ada@example.com" {
			name = "unknown"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := models.Authenticate(db, email, "wrong-password-123"); err != models.ErrBadCredentials {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := db.Exec("DELETE FROM rate_counters").Error; err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
