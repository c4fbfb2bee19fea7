package models_test

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"keyfob/models"
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// decodeBase62 is written here independently of the production encoder, so the two check each other.
func decodeBase62(t *testing.T, s string) *big.Int {
	t.Helper()
	n := new(big.Int)
	for _, r := range s {
		i := strings.IndexRune(base62Alphabet, r)
		if i < 0 {
			t.Fatalf("%q is not base62 (at %q)", s, r)
		}
		n.Mul(n, big.NewInt(62))
		n.Add(n, big.NewInt(int64(i)))
	}
	return n
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var tokenPrefixes = []struct {
	name, prefix string
}{
	{"client secret", models.PrefixClientSecret},
	{"test key", models.PrefixTestKey},
	{"live key", models.PrefixLiveKey},
	{"api token", models.PrefixAPIToken},
	{"session", models.PrefixSession},
}

func TestNewTokenShape(t *testing.T) {
	if models.PrefixClientSecret != "kf_cs_" || models.PrefixTestKey != "kf_test_" || models.PrefixLiveKey != "kf_live_" {
		t.Fatalf("prefixes = %q %q %q, want kf_cs_ kf_test_ kf_live_", models.PrefixClientSecret, models.PrefixTestKey, models.PrefixLiveKey)
	}
	for _, p := range tokenPrefixes {
		t.Run(p.name, func(t *testing.T) {
			tok := models.NewToken(p.prefix)
			if !strings.HasPrefix(tok, p.prefix) {
				t.Fatalf("%q lacks prefix %q", tok, p.prefix)
			}
			if len(tok) != len(p.prefix)+43+6 {
				t.Fatalf("len(%q) = %d, want prefix + 43 + 6", tok, len(tok))
			}
			body, sum := tok[len(p.prefix):len(tok)-6], tok[len(tok)-6:]
			// 43 base62 characters hold 256 bits and no more.
			if bits := decodeBase62(t, body).BitLen(); bits > 256 {
				t.Errorf("random part has %d bits, want at most 256", bits)
			}
			// The checksum is the CRC32 (IEEE) of prefix + random part, verifiable offline.
			if got, want := decodeBase62(t, sum).Uint64(), uint64(crc32.ChecksumIEEE([]byte(tok[:len(tok)-6]))); got != want {
				t.Errorf("checksum %q = %d, want CRC32 %d", sum, got, want)
			}
			if !models.TokenWellFormed(tok, p.prefix) {
				t.Errorf("TokenWellFormed(%q) = false", tok)
			}
		})
	}
}

func TestTokenWellFormedRejects(t *testing.T) {
	secret := models.NewToken(models.PrefixClientSecret)
	testKey := models.NewToken(models.PrefixTestKey)
	cases := []struct {
		name, token, prefix string
	}{
		{"empty", "", models.PrefixClientSecret},
		{"prefix only", models.PrefixClientSecret, models.PrefixClientSecret},
		{"one character short", secret[:len(secret)-1], models.PrefixClientSecret},
		{"one character long", secret + "A", models.PrefixClientSecret},
		{"checksum missing", secret[:len(secret)-6], models.PrefixClientSecret},
		{"client secret as live key", secret, models.PrefixLiveKey},
		{"client secret as session", secret, models.PrefixSession},
		{"test key as live key", testKey, models.PrefixLiveKey},
		{"test prefix swapped for live", "kf_live_" + testKey[len("kf_test_"):], models.PrefixLiveKey},
		{"upper-case prefix", strings.ToUpper(secret[:6]) + secret[6:], models.PrefixClientSecret},
		{"prefix changed, length kept", "kf_cx_" + secret[6:], models.PrefixClientSecret},
		{"dash in body", secret[:10] + "-" + secret[11:], models.PrefixClientSecret},
		{"underscore in body", secret[:10] + "_" + secret[11:], models.PrefixClientSecret},
		{"space in body", secret[:10] + " " + secret[11:], models.PrefixClientSecret},
		{"surrounding space", " " + secret[:len(secret)-1], models.PrefixClientSecret},
		{"multi-byte character", secret[:10] + "é" + secret[12:], models.PrefixClientSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if models.TokenWellFormed(tc.token, tc.prefix) {
				t.Errorf("TokenWellFormed(%q, %q) = true", tc.token, tc.prefix)
			}
		})
	}
}

// Changing any one character after the prefix, in the random part or the checksum, is detected.
func TestTokenWellFormedDetectsEveryChangedCharacter(t *testing.T) {
	for _, p := range tokenPrefixes {
		tok := models.NewToken(p.prefix)
		for i := len(p.prefix); i < len(tok); i++ {
			idx := strings.IndexByte(base62Alphabet, tok[i])
			for _, shift := range []int{1, 26, 31, 61} {
				changed := tok[:i] + string(base62Alphabet[(idx+shift)%62]) + tok[i+1:]
				if models.TokenWellFormed(changed, p.prefix) {
					t.Errorf("%s: %q with position %d changed to %q is accepted", p.name, tok, i, changed)
				}
			}
		}
	}
}

func TestNewTokenIsUnique(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	bodies := make(map[string]bool, n)
	maxBits := 0
	for i := 0; i < n; i++ {
		tok := models.NewToken(models.PrefixClientSecret)
		if seen[tok] {
			t.Fatalf("token %q generated twice in %d", tok, i+1)
		}
		seen[tok] = true
		body := tok[len(models.PrefixClientSecret) : len(tok)-6]
		bodies[body] = true
		if bits := decodeBase62(t, body).BitLen(); bits > maxBits {
			maxBits = bits
		}
	}
	if len(bodies) != n {
		t.Errorf("%d distinct random parts in %d tokens", len(bodies), n)
	}
	// With 256 random bits, 10,000 draws all below 2^250 would have probability 2^-60000.
	if maxBits < 250 {
		t.Errorf("largest random part has %d bits: the value space is not 256 bits", maxBits)
	}
}

func TestHashToken(t *testing.T) {
	hexSHA256 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	cases := []struct{ name, in, want string }{
		{"known vector", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"client secret", "kf_cs_x", sha256Hex("kf_cs_x")},
	}
	tok := models.NewToken(models.PrefixLiveKey)
	cases = append(cases, struct{ name, in, want string }{"generated key", tok, sha256Hex(tok)})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := models.HashToken(tc.in)
			if !hexSHA256.MatchString(got) {
				t.Errorf("HashToken(%q) = %q, not 64 lower-case hex digits", tc.in, got)
			}
			if got != tc.want {
				t.Errorf("HashToken(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if models.HashToken(tok) == models.HashToken(tok[:len(tok)-1]+"x") {
		t.Error("different tokens hash alike")
	}
}
