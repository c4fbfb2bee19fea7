package models_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

const oauthRedirect = "https://app.example/callback"

// oauthEnv is a fresh database with two apps of different organisations: A (the code's client) and B.
type oauthEnv struct {
	db   *gorm.DB
	a, b models.App
}

func newOAuthEnv(t *testing.T) oauthEnv {
	t.Helper()
	db := modelstest.Open(t)
	a, _ := newApp(t, db, newAccount(t, db, "ada@example.com"), "A")
	b, _ := newApp(t, db, newAccount(t, db, "bob@example.com"), "B")
	return oauthEnv{db: db, a: a, b: b}
}

// grant is a typical completed Connect session of app, without PKCE.
func (e oauthEnv) grant(app models.App) models.CodeGrant {
	return models.CodeGrant{AppID: app.ID, RedirectURI: oauthRedirect, Owner: "owner-1", SessionID: "session-1",
		Mode: "test", Vehicles: []string{"veh-1", "veh-2"}, Scope: []string{"read_odometer", "read_location"}}
}

func (e oauthEnv) issue(t *testing.T, g models.CodeGrant) string {
	t.Helper()
	code, err := models.IssueCode(e.db, g)
	if err != nil {
		t.Fatalf("IssueCode: %v", err)
	}
	return code
}

// pair issues a code for g and exchanges it, failing the test unless that works.
func (e oauthEnv) pair(t *testing.T, g models.CodeGrant) (string, models.TokenResponse) {
	t.Helper()
	code := e.issue(t, g)
	resp, err := models.ExchangeCode(e.db, e.a, code, g.RedirectURI, "")
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	return code, resp
}

func (e oauthEnv) refresh(t *testing.T, refreshToken string, scope []string) models.TokenResponse {
	t.Helper()
	resp, err := models.RefreshTokens(e.db, e.a, refreshToken, scope)
	if err != nil {
		t.Fatalf("RefreshTokens: %v", err)
	}
	return resp
}

// wantOAuthError checks that err is an RFC 6749 error with code, status 400 and a description containing about.
func wantOAuthError(t *testing.T, err error, code, about string) {
	t.Helper()
	var oe *models.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("error = %v; want OAuth %s", err, code)
	}
	if oe.Code != code || oe.Status != 400 || !strings.Contains(oe.Description, about) {
		t.Errorf("error = %+v; want %s (400) about %q", oe, code, about)
	}
}

func wantAccess(t *testing.T, db *gorm.DB, token string, ok bool) models.AccessGrant {
	t.Helper()
	g, err := models.AuthenticateAccessToken(db, token)
	if ok && err != nil {
		t.Errorf("AuthenticateAccessToken = %v; want the grant", err)
	}
	if !ok && err != models.ErrUnauthenticated {
		t.Errorf("AuthenticateAccessToken = %+v, %v; want ErrUnauthenticated", g, err)
	}
	return g
}

// pkceVerifier returns n random characters of RFC 7636's unreserved set.
func pkceVerifier(n int) string {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = set[int(b[i])%len(set)]
	}
	return string(b)
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

type oauthTokenRow struct {
	Hash, Kind, AppID, FamilyID, Owner, Vehicles, Scope, Mode string
	CreatedAt, ExpiresAt                                      time.Time
	UsedAt, RevokedAt                                         *time.Time
}

func oauthTokenOf(t *testing.T, db *gorm.DB, token string) oauthTokenRow {
	t.Helper()
	var row oauthTokenRow
	if err := db.Table("oauth_tokens").Where("hash = ?", sha256Hex(token)).Take(&row).Error; err != nil {
		t.Fatalf("read token row: %v", err)
	}
	return row
}

// setExpiry moves a stored code's or token's expiry.
func setExpiry(t *testing.T, db *gorm.DB, table, value string, at time.Time) {
	t.Helper()
	if err := db.Exec("UPDATE "+table+" SET expires_at = ? WHERE hash = ?", at.UTC(), sha256Hex(value)).Error; err != nil {
		t.Fatal(err)
	}
}

func near(got, want time.Time) bool { return got.Sub(want).Abs() < time.Minute }

func TestIssueCodeStoresOnlyItsHashAndTheGrant(t *testing.T) {
	e := newOAuthEnv(t)
	g := e.grant(e.a)
	g.CodeChallenge = pkceChallenge(pkceVerifier(64))
	code := e.issue(t, g)

	if !models.TokenWellFormed(code, models.PrefixCode) || len(code) != len(models.PrefixCode)+43+6 {
		t.Fatalf("code %q is not a well-formed kf_code_ token", code)
	}
	wantStoredOnlyHashed(t, e.db, "oauth_codes", code, models.PrefixCode)
	var row struct {
		AppID, RedirectURI, CodeChallenge, Owner, SessionID, Vehicles, Scope, Mode string
		CreatedAt, ExpiresAt                                                       time.Time
		UsedAt                                                                     *time.Time
	}
	if err := e.db.Table("oauth_codes").Where("hash = ?", sha256Hex(code)).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.AppID != g.AppID || row.RedirectURI != g.RedirectURI || row.CodeChallenge != g.CodeChallenge ||
		row.Owner != g.Owner || row.SessionID != g.SessionID || row.Mode != g.Mode || row.UsedAt != nil ||
		row.Vehicles != `["veh-1","veh-2"]` || row.Scope != "read_odometer read_location" {
		t.Errorf("stored code = %+v", row)
	}
	if now := time.Now(); !near(row.CreatedAt, now) || !near(row.ExpiresAt, now.Add(models.CodeLifetime)) {
		t.Errorf("created %v, expires %v; want now and in 10 minutes", row.CreatedAt, row.ExpiresAt)
	}
}

func TestIssueCodeRefusesIncompleteGrants(t *testing.T) {
	e := newOAuthEnv(t)
	cases := map[string]func(*models.CodeGrant){
		"no app":             func(g *models.CodeGrant) { g.AppID = "" },
		"no owner":           func(g *models.CodeGrant) { g.Owner = "" },
		"unknown mode":       func(g *models.CodeGrant) { g.Mode = "live" },
		"unknown permission": func(g *models.CodeGrant) { g.Scope = []string{"read_odometer", "read_minds"} },
		"empty vehicle id":   func(g *models.CodeGrant) { g.Vehicles = []string{""} },
		"short challenge":    func(g *models.CodeGrant) { g.CodeChallenge = "abc" },
		"challenge with +":   func(g *models.CodeGrant) { g.CodeChallenge = strings.Repeat("a", 42) + "+" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			g := e.grant(e.a)
			change(&g)
			if code, err := models.IssueCode(e.db, g); err == nil {
				t.Errorf("IssueCode = %q; want an error", code)
			}
		})
	}
	if n := countRows(t, e.db, "oauth_codes", ""); n != 0 {
		t.Errorf("%d codes stored", n)
	}
}

func TestIssueCodeTenThousandUniqueCodes(t *testing.T) {
	e := newOAuthEnv(t)
	const n = 10_000
	codes := make([]string, 0, n)
	err := e.db.Transaction(func(tx *gorm.DB) error {
		for range n {
			code, err := models.IssueCode(tx, e.grant(e.a))
			if err != nil {
				return err
			}
			codes = append(codes, code)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const bodyLen = 43 // 43 base62 characters hold 256.03 bits
	bodies := map[string]bool{}
	hashes := map[string]bool{}
	var seenAt [bodyLen]map[byte]bool
	for i := range seenAt {
		seenAt[i] = map[byte]bool{}
	}
	for _, code := range codes {
		if !models.TokenWellFormed(code, models.PrefixCode) || len(code) != len(models.PrefixCode)+bodyLen+6 {
			t.Fatalf("code %q is not a kf_code_ token with 43 random characters", code)
		}
		body := code[len(models.PrefixCode) : len(models.PrefixCode)+bodyLen]
		bodies[body] = true
		hashes[sha256Hex(code)] = true
		for i := range bodyLen {
			seenAt[i][body[i]] = true
		}
	}
	if len(bodies) != n {
		t.Fatalf("%d distinct codes of %d", len(bodies), n)
	}
	for i, seen := range seenAt {
		if len(seen) < 50 { // 10,000 uniform draws from 62 symbols miss almost none
			t.Errorf("position %d took only %d distinct characters", i, len(seen))
		}
	}
	rows := tableCells(t, e.db, "oauth_codes")
	if len(rows) != n {
		t.Fatalf("oauth_codes has %d rows; want %d", len(rows), n)
	}
	stored := 0
	for _, row := range rows {
		for _, cell := range row {
			if hashes[cell] {
				stored++
			}
			if strings.Contains(cell, models.PrefixCode) {
				t.Fatalf("oauth_codes holds a code in clear: %q", cell)
			}
			for i := 0; i+bodyLen <= len(cell); i++ {
				if bodies[cell[i:i+bodyLen]] {
					t.Fatalf("oauth_codes holds a code's random part: %q", cell)
				}
			}
		}
	}
	if stored != n {
		t.Errorf("%d cells hold a code's SHA-256; want %d", stored, n)
	}
}

func TestExchangeCodeIssuesAFamilyOfTokens(t *testing.T) {
	e := newOAuthEnv(t)
	for _, length := range []int{43, 64, 128} {
		g := e.grant(e.a)
		verifier := pkceVerifier(length)
		g.CodeChallenge = pkceChallenge(verifier)
		code := e.issue(t, g)
		resp, err := models.ExchangeCode(e.db, e.a, code, oauthRedirect, verifier)
		if err != nil {
			t.Fatalf("ExchangeCode with a %d-character verifier: %v", length, err)
		}
		if !models.TokenWellFormed(resp.AccessToken, models.PrefixAccessToken) ||
			!models.TokenWellFormed(resp.RefreshToken, models.PrefixRefreshToken) ||
			resp.TokenType != "Bearer" || resp.ExpiresIn != 7200 ||
			!slices.Equal(resp.Scope, []string{"read_odometer", "read_location"}) {
			t.Errorf("token response = %+v", resp)
		}
		wantStoredOnlyHashed(t, e.db, "oauth_tokens", resp.AccessToken, models.PrefixAccessToken)
		wantStoredOnlyHashed(t, e.db, "oauth_tokens", resp.RefreshToken, models.PrefixRefreshToken)

		now := time.Now()
		access, refresh := oauthTokenOf(t, e.db, resp.AccessToken), oauthTokenOf(t, e.db, resp.RefreshToken)
		if access.Kind != "access" || refresh.Kind != "refresh" || access.FamilyID != sha256Hex(code) ||
			refresh.FamilyID != access.FamilyID || !near(access.ExpiresAt, now.Add(2*time.Hour)) ||
			!near(refresh.ExpiresAt, now.Add(60*24*time.Hour)) || refresh.Vehicles != `["veh-1","veh-2"]` {
			t.Errorf("stored tokens = %+v, %+v", access, refresh)
		}
		got := wantAccess(t, e.db, resp.AccessToken, true)
		if got.AppID != e.a.ID || got.Owner != "owner-1" || got.Mode != "test" || got.FamilyID != sha256Hex(code) ||
			!slices.Equal(got.Vehicles, g.Vehicles) || !slices.Equal(got.Scope, g.Scope) || !near(got.ExpiresAt, now.Add(2*time.Hour)) {
			t.Errorf("access grant = %+v", got)
		}
		// The refresh token is a refresh token only.
		wantAccess(t, e.db, resp.RefreshToken, false)
	}
}

func TestExchangeCodeRefuses(t *testing.T) {
	e := newOAuthEnv(t)
	verifier := pkceVerifier(64)
	bad := map[string]string{ // well-shaped challenges of malformed verifiers
		"42":    pkceVerifier(42),
		"129":   pkceVerifier(129),
		"plus":  pkceVerifier(30) + "+" + pkceVerifier(30),
		"slash": pkceVerifier(30) + "/" + pkceVerifier(30),
	}
	cases := []struct {
		name               string
		challenge          string                   // bound at /authorize
		boundRedirect      string                   // bound at /authorize
		present            func(code string) string // the code sent (default: the code)
		redirect, verifier string                   // sent to /token
		otherApp, expire   bool
		about              string
	}{
		{name: "malformed code", present: func(string) string { return "kf_code_123" }, boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "not valid"},
		{name: "empty code", present: func(string) string { return "" }, boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "not valid"},
		{name: "bad checksum", present: func(c string) string { return flipLast(c) }, boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "not valid"},
		{name: "refresh token as code", present: func(string) string { return models.NewToken(models.PrefixRefreshToken) }, boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "not valid"},
		{name: "unknown code", present: func(string) string { return models.NewToken(models.PrefixCode) }, boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "not valid"},
		{name: "expired code", expire: true, boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "expired"},
		{name: "another app's code", otherApp: true, boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "not valid"},
		{name: "redirect_uri with trailing slash", boundRedirect: oauthRedirect, redirect: oauthRedirect + "/", about: "redirect_uri"},
		{name: "redirect_uri in other case", boundRedirect: oauthRedirect, redirect: "https://APP.example/callback", about: "redirect_uri"},
		{name: "redirect_uri omitted though bound", boundRedirect: oauthRedirect, redirect: "", about: "redirect_uri"},
		{name: "redirect_uri sent though none bound", boundRedirect: "", redirect: oauthRedirect, about: "redirect_uri"},
		{name: "verifier missing", challenge: pkceChallenge(verifier), boundRedirect: oauthRedirect, redirect: oauthRedirect, about: "required"},
		{name: "wrong verifier", challenge: pkceChallenge(verifier), boundRedirect: oauthRedirect, redirect: oauthRedirect, verifier: pkceVerifier(64), about: "does not match"},
		{name: "challenge sent as verifier", challenge: pkceChallenge(verifier), boundRedirect: oauthRedirect, redirect: oauthRedirect, verifier: pkceChallenge(verifier), about: "does not match"},
		{name: "verifier without challenge", boundRedirect: oauthRedirect, redirect: oauthRedirect, verifier: verifier, about: "no code_challenge"},
		{name: "verifier of 42", challenge: pkceChallenge(bad["42"]), boundRedirect: oauthRedirect, redirect: oauthRedirect, verifier: bad["42"], about: "43–128"},
		{name: "verifier of 129", challenge: pkceChallenge(bad["129"]), boundRedirect: oauthRedirect, redirect: oauthRedirect, verifier: bad["129"], about: "43–128"},
		{name: "verifier with +", challenge: pkceChallenge(bad["plus"]), boundRedirect: oauthRedirect, redirect: oauthRedirect, verifier: bad["plus"], about: "43–128"},
		{name: "verifier with /", challenge: pkceChallenge(bad["slash"]), boundRedirect: oauthRedirect, redirect: oauthRedirect, verifier: bad["slash"], about: "43–128"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := e.grant(e.a)
			g.CodeChallenge, g.RedirectURI = tc.challenge, tc.boundRedirect
			code := e.issue(t, g)
			if tc.expire {
				setExpiry(t, e.db, "oauth_codes", code, time.Now().Add(-time.Second))
			}
			sent, client := code, e.a
			if tc.present != nil {
				sent = tc.present(code)
			}
			if tc.otherApp {
				client = e.b
			}
			resp, err := models.ExchangeCode(e.db, client, sent, tc.redirect, tc.verifier)
			if resp.AccessToken != "" || resp.RefreshToken != "" {
				t.Errorf("refused exchange answered %+v", resp)
			}
			wantOAuthError(t, err, "invalid_grant", tc.about)
		})
	}
	if n := countRows(t, e.db, "oauth_tokens", ""); n != 0 {
		t.Errorf("refused exchanges issued %d tokens", n)
	}
}

// flipLast changes a token's last character, breaking its checksum and nothing else.
func flipLast(s string) string {
	if strings.HasSuffix(s, "A") {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}

func TestExchangeCodeOfAnotherAppBurnsIt(t *testing.T) {
	e := newOAuthEnv(t)
	code := e.issue(t, e.grant(e.a))
	_, err := models.ExchangeCode(e.db, e.b, code, oauthRedirect, "")
	wantOAuthError(t, err, "invalid_grant", "")
	_, err = models.ExchangeCode(e.db, e.a, code, oauthRedirect, "")
	wantOAuthError(t, err, "invalid_grant", "already been used")
	if n := countRows(t, e.db, "oauth_tokens", ""); n != 0 {
		t.Errorf("%d tokens issued from a burnt code", n)
	}
}

func TestExchangeCodeTwiceRevokesWhatItIssued(t *testing.T) {
	e := newOAuthEnv(t)
	code, first := e.pair(t, e.grant(e.a))
	wantAccess(t, e.db, first.AccessToken, true)

	_, err := models.ExchangeCode(e.db, e.a, code, oauthRedirect, "")
	wantOAuthError(t, err, "invalid_grant", "already been used")
	wantAccess(t, e.db, first.AccessToken, false)
	_, err = models.RefreshTokens(e.db, e.a, first.RefreshToken, nil)
	wantOAuthError(t, err, "invalid_grant", "")
	if n := countRows(t, e.db, "oauth_tokens", "family_id = ? AND revoked_at IS NULL", sha256Hex(code)); n != 0 {
		t.Errorf("%d tokens of the replayed code still live", n)
	}
}

func TestExchangeCodeConcurrentlyHasOneWinner(t *testing.T) {
	e := newOAuthEnv(t)
	code := e.issue(t, e.grant(e.a))
	const n = 20
	wins, refusals := racers(t, n, "ExchangeCode", func() error {
		_, err := models.ExchangeCode(e.db, e.a, code, oauthRedirect, "")
		return err
	})
	if wins != 1 || refusals != n-1 {
		t.Errorf("%d successes and %d invalid_grant of %d; want exactly one success", wins, refusals, n)
	}
	if got := countRows(t, e.db, "oauth_tokens", "family_id = ?", sha256Hex(code)); got != 2 {
		t.Errorf("%d tokens issued; want one pair", got)
	}
}

func TestRefreshTokensRotates(t *testing.T) {
	e := newOAuthEnv(t)
	code, first := e.pair(t, e.grant(e.a))
	second := e.refresh(t, first.RefreshToken, nil)

	all := []string{first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken}
	if len(slices.Compact(slices.Sorted(slices.Values(all)))) != len(all) {
		t.Errorf("rotation reused a token: %v", all)
	}
	if second.TokenType != "Bearer" || second.ExpiresIn != 7200 || !slices.Equal(second.Scope, first.Scope) ||
		!models.TokenWellFormed(second.RefreshToken, models.PrefixRefreshToken) {
		t.Errorf("rotated response = %+v", second)
	}
	wantAccess(t, e.db, first.AccessToken, true) // lives out its two hours
	if g := wantAccess(t, e.db, second.AccessToken, true); g.FamilyID != sha256Hex(code) || !slices.Equal(g.Vehicles, []string{"veh-1", "veh-2"}) {
		t.Errorf("rotated access grant = %+v", g)
	}
	old := oauthTokenOf(t, e.db, first.RefreshToken)
	if old.UsedAt == nil || old.RevokedAt != nil {
		t.Errorf("rotated-out refresh token = %+v; want used, not revoked", old)
	}
	if fresh := oauthTokenOf(t, e.db, second.RefreshToken); fresh.FamilyID != sha256Hex(code) ||
		!near(fresh.ExpiresAt, time.Now().Add(models.RefreshTokenLifetime)) {
		t.Errorf("new refresh token = %+v", fresh)
	}
	e.refresh(t, second.RefreshToken, nil) // and the chain goes on
}

func TestRefreshTokensReuseRevokesTheFamily(t *testing.T) {
	e := newOAuthEnv(t)
	code, first := e.pair(t, e.grant(e.a))
	second := e.refresh(t, first.RefreshToken, nil)
	_, other := e.pair(t, e.grant(e.a)) // another family of the same app and owner

	_, err := models.RefreshTokens(e.db, e.a, first.RefreshToken, nil)
	wantOAuthError(t, err, "invalid_grant", "already been used")
	wantAccess(t, e.db, first.AccessToken, false)
	wantAccess(t, e.db, second.AccessToken, false)
	_, err = models.RefreshTokens(e.db, e.a, second.RefreshToken, nil)
	wantOAuthError(t, err, "invalid_grant", "")
	if n := countRows(t, e.db, "oauth_tokens", "family_id = ? AND revoked_at IS NULL", sha256Hex(code)); n != 0 {
		t.Errorf("%d tokens of the family still live", n)
	}
	wantAccess(t, e.db, other.AccessToken, true)
	e.refresh(t, other.RefreshToken, nil)
}

func TestRefreshTokensConcurrentlyNeverTwoLivePairs(t *testing.T) {
	e := newOAuthEnv(t)
	code, first := e.pair(t, e.grant(e.a))
	const n = 10
	wins, refusals := racers(t, n, "RefreshTokens", func() error {
		_, err := models.RefreshTokens(e.db, e.a, first.RefreshToken, nil)
		return err
	})
	if wins != 1 || refusals != n-1 {
		t.Errorf("%d successes and %d invalid_grant of %d; want exactly one new pair", wins, refusals, n)
	}
	family := sha256Hex(code)
	if got := countRows(t, e.db, "oauth_tokens", "family_id = ? AND kind = 'refresh'", family); got != 2 {
		t.Errorf("%d refresh tokens in the family; want the first and one rotation", got)
	}
	if live := countRows(t, e.db, "oauth_tokens", "family_id = ? AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL", family); live > 1 {
		t.Errorf("%d live refresh tokens in one family", live)
	}
}

func TestRefreshTokensRefuses(t *testing.T) {
	e := newOAuthEnv(t)
	cases := []struct {
		name    string
		present func(t *testing.T, resp models.TokenResponse) string
		client  func(e oauthEnv) models.App
		about   string
	}{
		{"malformed", func(*testing.T, models.TokenResponse) string { return "kf_rt_nope" }, nil, "not valid"},
		{"empty", func(*testing.T, models.TokenResponse) string { return "" }, nil, "not valid"},
		{"bad checksum", func(_ *testing.T, r models.TokenResponse) string { return flipLast(r.RefreshToken) }, nil, "not valid"},
		{"unknown", func(*testing.T, models.TokenResponse) string { return models.NewToken(models.PrefixRefreshToken) }, nil, "not valid"},
		{"access token", func(_ *testing.T, r models.TokenResponse) string { return r.AccessToken }, nil, "not valid"},
		{"expired", func(t *testing.T, r models.TokenResponse) string {
			setExpiry(t, e.db, "oauth_tokens", r.RefreshToken, time.Now().Add(-time.Second))
			return r.RefreshToken
		}, nil, "expired"},
		{"revoked", func(t *testing.T, r models.TokenResponse) string {
			if _, err := models.RevokeVehicleAccess(e.db, e.a.ID, "veh-1"); err != nil {
				t.Fatal(err)
			}
			return r.RefreshToken
		}, nil, "not valid"},
		{"another app's token", func(_ *testing.T, r models.TokenResponse) string { return r.RefreshToken }, func(e oauthEnv) models.App { return e.b }, "not valid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, resp := e.pair(t, e.grant(e.a))
			client := e.a
			if tc.client != nil {
				client = tc.client(e)
			}
			got, err := models.RefreshTokens(e.db, client, tc.present(t, resp), nil)
			if got.AccessToken != "" || got.RefreshToken != "" {
				t.Errorf("refused refresh answered %+v", got)
			}
			wantOAuthError(t, err, "invalid_grant", tc.about)
		})
	}
}

func TestRefreshTokensOfAnotherAppStayWithTheirApp(t *testing.T) {
	e := newOAuthEnv(t)
	_, resp := e.pair(t, e.grant(e.a))
	_, err := models.RefreshTokens(e.db, e.b, resp.RefreshToken, nil)
	wantOAuthError(t, err, "invalid_grant", "not valid")
	e.refresh(t, resp.RefreshToken, nil)
}

func TestRefreshTokensScope(t *testing.T) {
	e := newOAuthEnv(t)
	_, resp := e.pair(t, e.grant(e.a)) // read_odometer read_location

	for _, ask := range [][]string{{"control_security"}, {"read_odometer", "read_vin"}, {"nonsense"}} {
		_, err := models.RefreshTokens(e.db, e.a, resp.RefreshToken, ask)
		wantOAuthError(t, err, "invalid_scope", "")
	}
	// invalid_scope leaves the refresh token usable.
	narrow := e.refresh(t, resp.RefreshToken, []string{"read_odometer"})
	if !slices.Equal(narrow.Scope, []string{"read_odometer"}) {
		t.Errorf("narrowed scope = %v", narrow.Scope)
	}
	if g := wantAccess(t, e.db, narrow.AccessToken, true); !slices.Equal(g.Scope, []string{"read_odometer"}) {
		t.Errorf("narrowed access grant scope = %v", g.Scope)
	}
	// The new refresh token keeps the original grant (RFC 6749 §6).
	full := e.refresh(t, narrow.RefreshToken, []string{"read_location", "read_odometer"})
	if !slices.Equal(full.Scope, []string{"read_odometer", "read_location"}) {
		t.Errorf("scope after narrowing = %v; want the whole grant back", full.Scope)
	}
	if kept := e.refresh(t, full.RefreshToken, []string{}); !slices.Equal(kept.Scope, []string{"read_odometer", "read_location"}) {
		t.Errorf("scope with none asked = %v", kept.Scope)
	}
}

func TestAccessTokenMalformedMakesNoQuery(t *testing.T) {
	e := newOAuthEnv(t)
	_, resp := e.pair(t, e.grant(e.a))

	var queries atomic.Int64
	count := func(*gorm.DB) { queries.Add(1) }
	cb := e.db.Callback()
	for name, err := range map[string]error{
		"query":  cb.Query().Before("gorm:query").Register("oauth_test:count_query", count),
		"raw":    cb.Raw().Before("gorm:raw").Register("oauth_test:count_raw", count),
		"row":    cb.Row().Before("gorm:row").Register("oauth_test:count_row", count),
		"create": cb.Create().Before("gorm:create").Register("oauth_test:count_create", count),
		"update": cb.Update().Before("gorm:update").Register("oauth_test:count_update", count),
		"delete": cb.Delete().Before("gorm:delete").Register("oauth_test:count_delete", count),
	} {
		if err != nil {
			t.Fatalf("register %s callback: %v", name, err)
		}
	}
	for _, token := range []string{
		flipLast(resp.AccessToken), "", "kf_at_", "Bearer " + resp.AccessToken, resp.RefreshToken,
		strings.Replace(resp.AccessToken, "kf_at_", "kf_rt_", 1), resp.AccessToken + "x", strings.ToLower(resp.AccessToken),
	} {
		wantAccess(t, e.db, token, false)
	}
	if n := queries.Load(); n != 0 {
		t.Errorf("malformed access tokens made %d queries", n)
	}
	wantAccess(t, e.db, models.NewToken(models.PrefixAccessToken), false)
	if queries.Load() == 0 {
		t.Error("the query counter saw no query for a well-formed token")
	}
}

func TestAccessTokenExpiredOrRevoked(t *testing.T) {
	e := newOAuthEnv(t)
	_, expired := e.pair(t, e.grant(e.a))
	_, revoked := e.pair(t, e.grant(e.a))
	_, live := e.pair(t, e.grant(e.a))
	setExpiry(t, e.db, "oauth_tokens", expired.AccessToken, time.Now().Add(-time.Second))
	if err := e.db.Exec("UPDATE oauth_tokens SET revoked_at = ? WHERE hash = ?", time.Now().UTC(), sha256Hex(revoked.AccessToken)).Error; err != nil {
		t.Fatal(err)
	}
	wantAccess(t, e.db, expired.AccessToken, false)
	wantAccess(t, e.db, revoked.AccessToken, false)
	wantAccess(t, e.db, live.AccessToken, true)
}

func TestRevokeVehicleAccess(t *testing.T) {
	e := newOAuthEnv(t)
	withVehicles := func(app models.App, vehicles ...string) models.CodeGrant {
		g := e.grant(app)
		g.Vehicles = vehicles
		return g
	}
	_, first := e.pair(t, withVehicles(e.a, "v1", "v2"))
	rotated := e.refresh(t, first.RefreshToken, nil) // live: first access, rotated access and refresh
	_, other := e.pair(t, withVehicles(e.a, "v3"))
	_, lookalike := e.pair(t, withVehicles(e.a, "v10", "xv1", `v1\`))
	code := e.issue(t, withVehicles(e.b, "v1"))
	bApp, err := models.ExchangeCode(e.db, e.b, code, oauthRedirect, "")
	if err != nil {
		t.Fatal(err)
	}

	for _, none := range []string{"v%", "v_", "", "v"} {
		if n, err := models.RevokeVehicleAccess(e.db, e.a.ID, none); err != nil || n != 0 {
			t.Errorf("RevokeVehicleAccess(%q) = %d, %v; want nothing revoked", none, n, err)
		}
	}
	n, err := models.RevokeVehicleAccess(e.db, e.a.ID, "v1")
	if err != nil || n != 3 {
		t.Fatalf("RevokeVehicleAccess(v1) = %d, %v; want 3 live tokens revoked", n, err)
	}
	wantAccess(t, e.db, first.AccessToken, false)
	wantAccess(t, e.db, rotated.AccessToken, false)
	_, err = models.RefreshTokens(e.db, e.a, rotated.RefreshToken, nil)
	wantOAuthError(t, err, "invalid_grant", "not valid")

	wantAccess(t, e.db, other.AccessToken, true)
	wantAccess(t, e.db, lookalike.AccessToken, true)
	wantAccess(t, e.db, bApp.AccessToken, true)
	e.refresh(t, other.RefreshToken, nil)
	if _, err := models.RefreshTokens(e.db, e.b, bApp.RefreshToken, nil); err != nil {
		t.Errorf("B's refresh after A's revocation: %v", err)
	}
	if n, err := models.RevokeVehicleAccess(e.db, e.a.ID, "v1"); err != nil || n != 0 {
		t.Errorf("second RevokeVehicleAccess(v1) = %d, %v; want 0", n, err)
	}
	if n, err := models.RevokeVehicleAccess(e.db, e.a.ID, `v1\`); err != nil || n != 2 {
		t.Errorf(`RevokeVehicleAccess(v1\) = %d, %v; want the lookalike pair`, n, err)
	}
}

// A revocation (reuse detected, or a vehicle disconnected) racing the legitimate rotation of the
// same family must not let the rotation's new pair survive.
func TestRefreshRacingARevocationLeavesNothingLive(t *testing.T) {
	e := newOAuthEnv(t)
	for i := range 10 {
		code, first := e.pair(t, e.grant(e.a))
		second := e.refresh(t, first.RefreshToken, nil)
		var revokeErr, rotateErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			if i%2 == 0 {
				_, revokeErr = models.RefreshTokens(e.db, e.a, first.RefreshToken, nil) // reuse
				if revokeErr != nil && strings.Contains(revokeErr.Error(), "already been used") {
					revokeErr = nil
				}
			} else {
				_, revokeErr = models.RevokeVehicleAccess(e.db, e.a.ID, "veh-1")
			}
		})
		wg.Go(func() { _, rotateErr = models.RefreshTokens(e.db, e.a, second.RefreshToken, nil) })
		wg.Wait()
		var oe *models.OAuthError
		if revokeErr != nil || (rotateErr != nil && !(errors.As(rotateErr, &oe) && oe.Code == "invalid_grant")) {
			t.Fatalf("round %d: revoke %v, rotate %v", i, revokeErr, rotateErr)
		}
		if live := countRows(t, e.db, "oauth_tokens", "family_id = ? AND revoked_at IS NULL AND used_at IS NULL", sha256Hex(code)); live != 0 {
			t.Errorf("round %d: %d tokens of the family still live", i, live)
		}
	}
}

// racers starts n calls of call at once and counts the successes and the invalid_grant refusals;
// anything else fails the test.
func racers(t *testing.T, n int, what string, call func() error) (wins, refusals int64) {
	t.Helper()
	var won, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			err := call()
			var oe *models.OAuthError
			switch {
			case err == nil:
				won.Add(1)
			case errors.As(err, &oe) && oe.Code == "invalid_grant":
				refused.Add(1)
			default:
				t.Errorf("%s: %v", what, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return won.Load(), refused.Load()
}
