package models

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters from security.md: m = 64 MiB, t = 1, p = 2.
const (
	argonMemoryKiB = 64 * 1024
	argonTime      = 1
	argonThreads   = 2
	argonKeyLen    = 32
	// MinPasswordLength is counted in characters, so a Unicode password is not penalised.
	MinPasswordLength = 10
	maxPasswordLength = 1024
	// PasswordHashMiB is what one argon2id call holds while it runs.
	PasswordHashMiB = argonMemoryKiB / 1024
)

// HashPassword returns a PHC-format argon2id hash ($argon2id$v=19$m=...,t=...,p=...$salt$key). It waits
// for a slot of the process-wide hashing pool and answers *BusyError when none frees up in time.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	var key []byte
	err := passwordHashing.run(func() {
		key = argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword verifies password against a hash made by HashPassword, in constant time, inside the
// hashing pool (see HashPassword). A malformed hash is a mismatch.
func CheckPassword(hash, password string) (bool, error) {
	salt, want, m, t, p, ok := parsePasswordHash(hash)
	if !ok {
		return false, nil
	}
	var got []byte
	err := passwordHashing.run(func() { got = argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) })
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parsePasswordHash reads a PHC argon2id string. Parameters above ours are refused: a stored hash must
// never make one check cost more memory than the pool budgets for.
func parsePasswordHash(hash string) (salt, key []byte, m, t uint32, p uint8, ok bool) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return nil, nil, 0, 0, 0, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > argonMemoryKiB || t > 4 || p == 0 {
		return nil, nil, 0, 0, 0, false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return nil, nil, 0, 0, 0, false
	}
	return salt, key, m, t, p, true
}

// ValidatePassword applies the password policy: at least 10 characters, at most 1024 bytes.
func ValidatePassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return Invalid("password", "weak_password", fmt.Sprintf("Use at least %d characters.", MinPasswordLength))
	}
	if len(password) > maxPasswordLength {
		return Invalid("password", "invalid_password", "Use at most 1,024 bytes.")
	}
	return nil
}

// dummyPasswordHash is checked against when the email is unknown (or taken, at sign-up), so every
// answer costs one argon2id run. It is a constant so that starting a process costs no hash.
const dummyPasswordHash = "$argon2id$v=19$m=65536,t=1,p=2$a2V5Zm9iLXRpbWluZy1lcQ$XMGsnuoPKGLeG0PxPmH2YjuCwfTSDjK+gy6KnyfXL0M"

// hashPool bounds how many argon2id runs hold their 64 MiB at once in this process. Memory is a
// per-process resource, so the pool is one per process; callers beyond its slots queue for at most
// wait and then get a *BusyError instead of growing the heap.
type hashPool struct {
	slots chan struct{}
	wait  time.Duration
}

// hashRuns counts the argon2id runs this process has made.
var hashRuns atomic.Int64

// PasswordHashRuns says how many argon2id runs this process has made.
func PasswordHashRuns() int64 { return hashRuns.Load() }

// Defaults: two slots (128 MiB, what two cores can hash at once anyway) and a three-second queue.
const (
	DefaultPasswordHashMemoryMiB = 2 * PasswordHashMiB
	passwordHashWait             = 3 * time.Second
)

var passwordHashing = newHashPool(DefaultPasswordHashMemoryMiB, passwordHashWait)

func newHashPool(memoryMiB int, wait time.Duration) *hashPool {
	return &hashPool{slots: make(chan struct{}, max(1, memoryMiB/PasswordHashMiB)), wait: wait}
}

// SetPasswordHashMemory sizes the process's hashing pool from a memory budget in MiB (one slot per
// 64 MiB, at least one). Call it once at start, before serving.
func SetPasswordHashMemory(memoryMiB int) { passwordHashing = newHashPool(memoryMiB, passwordHashWait) }

// PasswordHashSlots says how many hashes may run at once.
func PasswordHashSlots() int { return cap(passwordHashing.slots) }

func (p *hashPool) run(work func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.wait)
	defer cancel()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return &BusyError{RetryAfter: 1, Message: "Too many sign-ins are being checked right now. Try again in a second."}
	}
	defer func() { <-p.slots }()
	hashRuns.Add(1)
	work()
	return nil
}
