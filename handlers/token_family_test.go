package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"keyfob/models"
)

// security.md #31, issue 10 item 5: through /oauth/token, a family kept alive by daily rotation
// still ends a year after its code was exchanged, with invalid_grant; a day before, it refreshes.
func TestTokenRefreshFamilyHasAnAbsoluteLifetime(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	const year = models.RefreshFamilyLifetime
	for _, tc := range []struct {
		name    string
		age     time.Duration
		wantErr string // "" = 200
	}{
		{"a day before its end", year - 24*time.Hour, ""},
		{"a minute past its end", year + time.Minute, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := s.codeFor(t, app, nil)
			_, first := s.exchange(app, codeForm(code, app.redirect))
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}}
			resp, out := s.tokenCall(t, "", refresh, app.id, app.secret)
			wantStatus(t, resp, "", 200) // rotated today: this refresh token has its full 60 days
			refresh.Set("refresh_token", out["refresh_token"].(string))

			sum := sha256.Sum256([]byte(code))
			s.startFamilyAt(t, hex.EncodeToString(sum[:]), time.Now().Add(-tc.age))
			resp, out = s.tokenCall(t, "", refresh, app.id, app.secret)
			if tc.wantErr == "" {
				if resp.StatusCode != 200 || out["access_token"] == nil {
					t.Fatalf("refresh %s: %d %v", tc.name, resp.StatusCode, out)
				}
				return
			}
			wantOAuthError(t, "refresh "+tc.name, resp, out, 400, tc.wantErr)
		})
	}
}

// startFamilyAt moves the birth of a token family (its code's exchange) to at.
func (s *testServer) startFamilyAt(t *testing.T, family string, at time.Time) {
	t.Helper()
	if err := s.db.Exec("UPDATE oauth_codes SET created_at = ? WHERE hash = ?", at.UTC(), family).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.db.Exec("UPDATE oauth_tokens SET created_at = ?, family_started_at = ? WHERE family_id = ?", at.UTC(), at.UTC(), family).Error; err != nil {
		t.Fatal(err)
	}
}
