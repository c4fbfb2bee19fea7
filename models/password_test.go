package models_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"keyfob/models"
)

func mustHash(t *testing.T, password string) string {
	t.Helper()
	hash, err := models.HashPassword(password)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return hash
}

func checks(t *testing.T, hash, password string) bool {
	t.Helper()
	ok, err := models.CheckPassword(hash, password)
	if err != nil {
		t.Fatalf("CheckPassword: %v", err)
	}
	return ok
}

func TestHashPasswordIsArgon2id(t *testing.T) {
	hash := mustHash(t, "correct-horse-battery")
	if !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("hash %q does not start with $argon2id$", hash)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		t.Fatalf("hash %q has %d $-parts, want 6 (PHC format)", hash, len(parts))
	}
	if parts[2] != "v=19" {
		t.Errorf("version %q, want v=19", parts[2])
	}
	var m, tm, p int
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		t.Fatalf("parameters %q: %v", parts[3], err)
	}
	if m != 65536 || tm != 1 || p != 2 {
		t.Errorf("m=%d,t=%d,p=%d; want m=65536,t=1,p=2 (security.md)", m, tm, p)
	}
	if !strings.Contains(hash, "m=65536") {
		t.Errorf("hash %q lacks m=65536", hash)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 16 {
		t.Errorf("salt %q: %d bytes, %v; want at least 16", parts[4], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) != 32 {
		t.Errorf("key %q: %d bytes, %v; want 32", parts[5], len(key), err)
	}
	if again := mustHash(t, "correct-horse-battery"); again == hash {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestCheckPasswordRoundTrips(t *testing.T) {
	cases := []struct {
		name, password string
	}{
		{"64 characters", "Tr0ub4dor&3-correct-horse-battery-staple-9f8e7d6c5b4a3f2e1d0c9b8"},
		{"unicode", "pässwörd-日本語-🔑🔑"},
		{"spaces kept", "  leading and trailing  "},
		{"1024 bytes", strings.Repeat("x", 1024)},
	}
	if n := utf8.RuneCountInString(cases[0].password); n != 64 {
		t.Fatalf("the 64-character case has %d characters", n)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hash := mustHash(t, tc.password)
			if !checks(t, hash, tc.password) {
				t.Fatalf("CheckPassword(HashPassword(%q)) = false", tc.password)
			}
			r := []rune(tc.password)
			wrong := []string{
				tc.password + "x",
				string(r[:len(r)-1]),
				strings.ToUpper(tc.password),
				strings.TrimSpace(tc.password) + "!",
				"",
			}
			for _, w := range wrong {
				if w == tc.password {
					continue
				}
				if checks(t, hash, w) {
					t.Errorf("CheckPassword accepts %q for %q", w, tc.password)
				}
			}
		})
	}
}

func TestCheckPasswordRefusesMalformedHashes(t *testing.T) {
	good := mustHash(t, "correct-horse-battery")
	parts := strings.Split(good, "$")
	cases := map[string]string{
		"empty":             "",
		"plain text":        "correct-horse-battery",
		"bcrypt":            "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"argon2i":           strings.Replace(good, "$argon2id$", "$argon2i$", 1),
		"truncated":         good[:len(good)-10],
		"bad parameters":    strings.Join([]string{"", parts[1], parts[2], "m=x,t=1,p=2", parts[4], parts[5]}, "$"),
		"bad salt encoding": strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"other key":         strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], base64.RawStdEncoding.EncodeToString(make([]byte, 32))}, "$"),
		// A stored hash must not make one check cost more memory than the pool budgets for.
		"more memory than ours": strings.Join([]string{"", parts[1], parts[2], "m=1048576,t=1,p=2", parts[4], parts[5]}, "$"),
		"no threads":            strings.Join([]string{"", parts[1], parts[2], "m=65536,t=1,p=0", parts[4], parts[5]}, "$"),
	}
	for name, hash := range cases {
		t.Run(name, func(t *testing.T) {
			if checks(t, hash, "correct-horse-battery") {
				t.Errorf("CheckPassword(%q) = true", hash)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	cases := []struct {
		name     string
		password string
		ok       bool
	}{
		{"empty", "", false},
		{"9 characters", "123456789", false},
		{"10 characters", "1234567890", true},
		{"9 unicode characters (27 bytes)", "日本語日本語日本語", false},
		{"10 unicode characters", "日本語日本語日本語日", true},
		{"10 characters with emoji", "🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑", true},
		{"1024 bytes", strings.Repeat("a", 1024), true},
		{"1025 bytes", strings.Repeat("a", 1025), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := models.ValidatePassword(tc.password)
			if tc.ok {
				if err != nil {
					t.Errorf("ValidatePassword(%d characters) = %v, want nil", utf8.RuneCountInString(tc.password), err)
				}
				return
			}
			wantValidation(t, err, "password", "")
		})
	}
}

// Issue 10 item 1: the hashing pool never runs more hashes at once than its memory budget allows;
// callers beyond it wait, and those that wait too long get a BusyError instead of memory.
func TestHashPoolBoundsConcurrencyAndRefusesAfterWaiting(t *testing.T) {
	pool := models.NewHashPool(2*models.PasswordHashMiB, 150*time.Millisecond)
	var running, peak atomic.Int32
	release := make(chan struct{})
	results := make(chan error, 6)
	for range 6 {
		go func() {
			results <- pool.Run(func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
			})
		}()
	}
	// The two that got a slot hold it past the others' wait: the other four are refused.
	var busy int
	for range 4 {
		err := <-results
		var b *models.BusyError
		if !errors.As(err, &b) || b.RetryAfter < 1 || b.Message == "" {
			t.Fatalf("a caller beyond the slots got %v, want *models.BusyError with Retry-After", err)
		}
		busy++
	}
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("a caller with a slot got %v", err)
		}
	}
	if peak.Load() != 2 || busy != 4 {
		t.Errorf("peak %d hashes at once, %d refused; want 2 and 4", peak.Load(), busy)
	}
	// Freed slots serve the next callers.
	if err := pool.Run(func() {}); err != nil {
		t.Errorf("after the burst: %v", err)
	}
	if one := models.NewHashPool(10, time.Second); one == nil {
		t.Fatal("a budget under one hash still needs one slot")
	}
}
