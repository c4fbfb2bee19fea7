package models

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"strings"

	"github.com/google/uuid"
)

// Token prefixes make a leaked credential recognisable to secret scanners; the CRC32 suffix lets them
// verify a match offline without calling us.
const (
	PrefixClientSecret = "kf_cs_"
	PrefixTestKey      = "kf_test_"
	PrefixLiveKey      = "kf_live_"
	PrefixAPIToken     = "kf_ses_"
	PrefixSession      = "" // console cookies carry no prefix: they never leave the browser
)

const (
	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tokenBodyLen   = 43 // 256 bits in base62
	checksumLen    = 6  // 32 bits in base62
)

// NewToken returns prefix + 256 random bits in base62 + a base62 CRC32 of everything before it.
func NewToken(prefix string) string {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the platform is unusable without randomness
	}
	body := prefix + base62(raw[:], tokenBodyLen)
	return body + checksum(body)
}

// TokenWellFormed checks a token's shape and checksum without touching the database, so garbage
// credentials cost nothing.
func TokenWellFormed(token, prefix string) bool {
	if !strings.HasPrefix(token, prefix) || len(token) != len(prefix)+tokenBodyLen+checksumLen {
		return false
	}
	for _, r := range token[len(prefix):] {
		if !strings.ContainsRune(base62Alphabet, r) {
			return false
		}
	}
	body := token[:len(token)-checksumLen]
	return subtle.ConstantTimeCompare([]byte(checksum(body)), []byte(token[len(body):])) == 1
}

// HashToken is what we store: SHA-256 is enough for 256-bit random values (nothing to brute-force).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenDisplay returns the parts of a token safe to show later: its prefix with 4 characters, and its last 4.
func tokenDisplay(token, prefix string) (shown, last4 string) {
	return token[:len(prefix)+4], token[len(token)-4:]
}

func checksum(body string) string {
	var b [4]byte
	c := crc32.ChecksumIEEE([]byte(body))
	b[0], b[1], b[2], b[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return base62(b[:], checksumLen)
}

func base62(raw []byte, width int) string {
	n := new(big.Int).SetBytes(raw)
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62Alphabet[mod.Int64()]
	}
	return string(out)
}

// newID returns a random UUID; ids are strings on the wire and in the database.
func newID() string { return uuid.NewString() }

// IsUUID reports whether s is a canonical UUID, so malformed ids can be refused before a query.
func IsUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == strings.ToLower(s) && len(s) == 36
}
