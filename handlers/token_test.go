package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"keyfob/models"
	"keyfob/models/modelstest"
)

func countRows(t *testing.T, s *testServer, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := s.db.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// codeFor walks a whole KIA flow (unless extra names another make) and returns the code.
func (s *testServer) codeFor(t *testing.T, app connectApp, extra map[string]string) string {
	t.Helper()
	q := map[string]string{"make": "KIA"}
	for k, v := range extra {
		q[k] = v
	}
	o := s.owner(t)
	o.open(authorizeQuery(app, q))
	o.signIn("driver@example.com")
	o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	params := finalRedirect(t, o.submit("permissions", url.Values{"decision": {"allow"}, "permission": {"read_odometer"}}), app.redirect)
	if params.Get("code") == "" {
		t.Fatalf("no code: %v", params)
	}
	return params.Get("code")
}

// tokenCall posts to /oauth/token with Basic credentials when id is set; every answer must be no-store JSON.
func (s *testServer) tokenCall(t *testing.T, query string, form url.Values, id, secret string) (*http.Response, map[string]any) {
	t.Helper()
	req := httpForm("/oauth/token"+query, form)
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	resp, body := s.request(req)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("/oauth/token %d must send Cache-Control: no-store, got %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	out := map[string]any{}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("/oauth/token %d: body is not JSON: %s", resp.StatusCode, body)
	}
	return resp, out
}

func wantOAuthError(t *testing.T, what string, resp *http.Response, out map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || out["error"] != code || out["error_description"] == "" || out["access_token"] != nil {
		t.Fatalf("%s: want %d %s, got %d %v", what, status, code, resp.StatusCode, out)
	}
}

// bogusCode passes client authentication and then fails as invalid_grant: it tells a good secret from a bad one.
var bogusCode = url.Values{"grant_type": {"authorization_code"}, "code": {"kf_code_bogus"}, "redirect_uri": {"https://fleet.example.com/callback"}}

func codeForm(code, redirect string, more ...string) url.Values {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if redirect != "" {
		form.Set("redirect_uri", redirect)
	}
	for i := 0; i < len(more); i += 2 {
		form.Set(more[i], more[i+1])
	}
	return form
}

func TestTokenClientAuthentication(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	resp, out := s.tokenCall(t, "", codeForm(s.codeFor(t, app, nil), app.redirect), app.id, app.secret)
	if resp.StatusCode != 200 || out["token_type"] != "Bearer" || out["expires_in"] != float64(7200) ||
		!models.TokenWellFormed(fmt.Sprint(out["access_token"]), models.PrefixAccessToken) || !models.TokenWellFormed(fmt.Sprint(out["refresh_token"]), models.PrefixRefreshToken) {
		t.Fatalf("HTTP Basic: %d %v", resp.StatusCode, out)
	}
	resp, out = s.tokenCall(t, "", codeForm(s.codeFor(t, app, nil), app.redirect, "client_id", app.id, "client_secret", app.secret), "", "")
	if resp.StatusCode != 200 || out["access_token"] == nil {
		t.Fatalf("form credentials: %d %v", resp.StatusCode, out)
	}

	resp, out = s.tokenCall(t, "", codeForm("kf_code_x", app.redirect, "client_secret", app.secret), app.id, app.secret)
	wantOAuthError(t, "Basic plus a body secret", resp, out, 400, "invalid_request")
	resp, out = s.tokenCall(t, "", bogusCode, "", "")
	wantOAuthError(t, "no credentials", resp, out, 401, "invalid_client")
	resp, out = s.tokenCall(t, "", codeForm("kf_code_x", "", "client_id", app.id), "", "")
	wantOAuthError(t, "client_id without a secret", resp, out, 401, "invalid_client")
	wrong := app.secret[:len(app.secret)-4] + "AAAA"
	resp, out = s.tokenCall(t, "", bogusCode, app.id, wrong)
	wantOAuthError(t, "wrong secret by Basic", resp, out, 401, "invalid_client")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("a failed Basic authentication answers WWW-Authenticate, got %q", resp.Header.Get("WWW-Authenticate"))
	}
	resp, out = s.tokenCall(t, "", codeForm("kf_code_x", "", "client_id", app.id, "client_secret", wrong), "", "")
	wantOAuthError(t, "wrong secret in the form", resp, out, 401, "invalid_client")
	other := s.createApp(app.owner, "Other app")
	resp, out = s.tokenCall(t, "", bogusCode, app.id, other["client_secret"].(string))
	wantOAuthError(t, "another app's secret", resp, out, 401, "invalid_client")

	for _, grant := range []string{"password", "client_credentials", "implicit"} {
		resp, out = s.tokenCall(t, "", url.Values{"grant_type": {grant}, "username": {"a"}, "password": {"b"}}, app.id, app.secret)
		wantOAuthError(t, "grant_type="+grant, resp, out, 400, "unsupported_grant_type")
	}
	resp, out = s.tokenCall(t, "", url.Values{"code": {"kf_code_x"}}, app.id, app.secret)
	wantOAuthError(t, "missing grant_type", resp, out, 400, "invalid_request")
}

func TestTokenSecretRotationAndRevocation(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	works := func(secret string) bool {
		t.Helper()
		resp, out := s.tokenCall(t, "", bogusCode, app.id, secret)
		if resp.StatusCode == 400 && out["error"] == "invalid_grant" {
			return true
		}
		wantOAuthError(t, "refused secret", resp, out, 401, "invalid_client")
		return false
	}
	secrets := "/api/v1/apps/" + app.id + "/secrets"
	second := s.apiJSON("POST", secrets, app.owner.Token, map[string]int{"expire_previous_in": 3600}, 201)
	if !works(app.secret) || !works(second["secret"].(string)) {
		t.Fatal("during a rotation's overlap the old and the new secret both work")
	}
	if status, out := s.exchange(app, codeForm(s.codeFor(t, app, nil), app.redirect)); status != 200 {
		t.Fatalf("the old secret still exchanges codes during the overlap: %d %v", status, out)
	}
	third := s.apiJSON("POST", secrets, app.owner.Token, map[string]int{"expire_previous_in": 0}, 201)
	if works(app.secret) || works(second["secret"].(string)) || !works(third["secret"].(string)) {
		t.Fatal("expire_previous_in=0 stops every earlier secret at once; the new one works")
	}
	fourth := s.apiJSON("POST", secrets, app.owner.Token, map[string]int{"expire_previous_in": 3600}, 201)
	s.apiJSON("DELETE", secrets+"/"+third["id"].(string), app.owner.Token, nil, 204)
	if works(third["secret"].(string)) || !works(fourth["secret"].(string)) {
		t.Fatal("a revoked secret gets 401 at once, despite its overlap")
	}
}

func TestTokenRefusesSecretInQueryAndKeepsItOutOfTheLog(t *testing.T) {
	var logs bytes.Buffer
	db := modelstest.Open(t)
	h := New(db, Config{BaseURL: "http://localhost:8080", SignupOpen: true, UploadsDir: t.TempDir()}, slog.New(slog.NewJSONHandler(&logs, nil)))
	s := &testServer{t: t, db: db, h: h, app: h.App()}
	app := s.connectApp(t)
	code := s.codeFor(t, app, nil)
	query := "?client_secret=" + url.QueryEscape(app.secret) + "&client_id=" + app.id
	resp, out := s.tokenCall(t, query, codeForm(code, app.redirect, "client_id", app.id), "", "")
	wantOAuthError(t, "client_secret in the query", resp, out, 400, "invalid_request")
	resp, out = s.tokenCall(t, query, codeForm(code, app.redirect), app.id, app.secret)
	wantOAuthError(t, "client_secret in the query, Basic too", resp, out, 400, "invalid_request")
	if n := countRows(t, s, "oauth_tokens", ""); n != 0 {
		t.Fatalf("no token may be issued: %d", n)
	}
	if !strings.Contains(logs.String(), `"path":"/oauth/token"`) {
		t.Fatalf("the access log should record the token requests: %.500s", logs.String())
	}
	if strings.Contains(logs.String(), app.secret) || strings.Contains(logs.String(), url.QueryEscape(app.secret)) {
		t.Fatal("the client secret from the query string appears in the access log")
	}
}

func TestTokenRedirectURIAndPKCEBinding(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	verifier := strings.Repeat("v3rifier-", 7) // 63 unreserved characters
	sum := sha256.Sum256([]byte(verifier))
	pkce := map[string]string{"code_challenge": base64.RawURLEncoding.EncodeToString(sum[:]), "code_challenge_method": "S256"}
	for _, tc := range []struct {
		name     string
		authz    map[string]string
		form     func(code string) url.Values
		wantCode string // "" = 200
	}{
		{"other redirect_uri", nil, func(c string) url.Values { return codeForm(c, "https://fleet.example.com/other") }, "invalid_grant"},
		{"redirect_uri omitted", nil, func(c string) url.Values { return codeForm(c, "") }, "invalid_grant"},
		{"redirect_uri with a slash", nil, func(c string) url.Values { return codeForm(c, app.redirect+"/") }, "invalid_grant"},
		{"PKCE right verifier", pkce, func(c string) url.Values { return codeForm(c, app.redirect, "code_verifier", verifier) }, ""},
		{"PKCE wrong verifier", pkce, func(c string) url.Values { return codeForm(c, app.redirect, "code_verifier", verifier+"x") }, "invalid_grant"},
		{"PKCE missing verifier", pkce, func(c string) url.Values { return codeForm(c, app.redirect) }, "invalid_grant"},
		{"PKCE 42-character verifier", pkce, func(c string) url.Values { return codeForm(c, app.redirect, "code_verifier", verifier[:42]) }, "invalid_grant"},
		{"verifier without challenge", nil, func(c string) url.Values { return codeForm(c, app.redirect, "code_verifier", verifier) }, "invalid_grant"},
	} {
		resp, out := s.tokenCall(t, "", tc.form(s.codeFor(t, app, tc.authz)), app.id, app.secret)
		if tc.wantCode == "" {
			if resp.StatusCode != 200 || out["access_token"] == nil {
				t.Fatalf("%s: %d %v", tc.name, resp.StatusCode, out)
			}
			continue
		}
		wantOAuthError(t, tc.name, resp, out, 400, tc.wantCode)
	}
	if n := countRows(t, s, "oauth_tokens", "kind = ?", "access"); n != 1 {
		t.Fatalf("only the right verifier gets tokens: %d access tokens", n)
	}
}

func TestTokenCodeOfAnotherClient(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	other := s.createApp(app.owner, "Thief")
	code := s.codeFor(t, app, nil)
	resp, out := s.tokenCall(t, "", codeForm(code, app.redirect), other["id"].(string), other["client_secret"].(string))
	wantOAuthError(t, "B redeems A's code", resp, out, 400, "invalid_grant")
	resp, out = s.tokenCall(t, "", codeForm(code, app.redirect), app.id, app.secret)
	wantOAuthError(t, "A after B tried", resp, out, 400, "invalid_grant")
	if n := countRows(t, s, "oauth_tokens", ""); n != 0 {
		t.Fatalf("no token may come from a code another client presented: %d", n)
	}
}

// race sends the same form n times at once to the real server and returns the answers.
func race(t *testing.T, base string, app connectApp, form url.Values, n int) (statuses []int, bodies []map[string]any) {
	t.Helper()
	// Its own transport, closed at the end: a spare connection left open would hold up the server's shutdown.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(app.id, app.secret)
			<-start
			resp, err := client.Do(req)
			status, out := 0, map[string]any{}
			if err == nil {
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				json.Unmarshal(raw, &out)
				status = resp.StatusCode
				if resp.Header.Get("Cache-Control") != "no-store" {
					status = -status // reported by the caller as an unexpected answer
				}
			}
			mu.Lock()
			statuses, bodies = append(statuses, status), append(bodies, out)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses, bodies
}

func TestTokenConcurrentCodeExchangeHasOneWinner(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	code := s.codeFor(t, app, nil)
	base := s.serveForBrowser(t)
	statuses, bodies := race(t, base, app, codeForm(code, app.redirect), 20)
	winners := 0
	var access, refresh string
	for i, status := range statuses {
		switch {
		case status == 200:
			winners++
			access, refresh = fmt.Sprint(bodies[i]["access_token"]), fmt.Sprint(bodies[i]["refresh_token"])
		case status != 400 || bodies[i]["error"] != "invalid_grant":
			t.Fatalf("a losing exchange is 400 invalid_grant, got %d %v", status, bodies[i])
		}
	}
	if winners != 1 {
		t.Fatalf("20 concurrent exchanges of one code: %d got tokens, want exactly 1 (%v)", winners, statuses)
	}
	if _, err := models.AuthenticateAccessToken(s.db, access); err == nil {
		t.Fatal("the replays revoke the tokens the code issued")
	}
	resp, out := s.tokenCall(t, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, app.id, app.secret)
	wantOAuthError(t, "the winner's refresh token after replays", resp, out, 400, "invalid_grant")
}

func TestTokenRefreshRotationAndReuse(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	_, first := s.exchange(app, codeForm(s.codeFor(t, app, nil), app.redirect))
	refresh := func(token string) (*http.Response, map[string]any) {
		return s.tokenCall(t, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}, app.id, app.secret)
	}
	resp, second := refresh(first["refresh_token"].(string))
	if resp.StatusCode != 200 || second["refresh_token"] == first["refresh_token"] || second["access_token"] == first["access_token"] ||
		second["expires_in"] != float64(7200) || second["refresh_token"] == nil {
		t.Fatalf("a refresh returns a new pair: %d %v", resp.StatusCode, second)
	}
	if _, err := models.AuthenticateAccessToken(s.db, second["access_token"].(string)); err != nil {
		t.Fatalf("the new access token works: %v", err)
	}
	resp, out := refresh(first["refresh_token"].(string))
	wantOAuthError(t, "reused refresh token", resp, out, 400, "invalid_grant")
	resp, out = refresh(second["refresh_token"].(string))
	wantOAuthError(t, "current refresh token after a reuse", resp, out, 400, "invalid_grant")
	if _, err := models.AuthenticateAccessToken(s.db, second["access_token"].(string)); err == nil {
		t.Fatal("a reuse revokes the family's access tokens too")
	}
	other := s.createApp(app.owner, "Other")
	_, third := s.exchange(app, codeForm(s.codeFor(t, app, nil), app.redirect))
	resp, out = s.tokenCall(t, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third["refresh_token"].(string)}},
		other["id"].(string), other["client_secret"].(string))
	wantOAuthError(t, "another client's refresh token", resp, out, 400, "invalid_grant")
	resp, out = s.tokenCall(t, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third["refresh_token"].(string)}, "scope": {"read_location"}}, app.id, app.secret)
	wantOAuthError(t, "refresh beyond the grant", resp, out, 400, "invalid_scope")
}

func TestTokenConcurrentRefreshesMakeAtMostOnePair(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	_, tokens := s.exchange(app, codeForm(s.codeFor(t, app, nil), app.redirect))
	base := s.serveForBrowser(t)
	statuses, bodies := race(t, base, app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}}, 10)
	winners := 0
	for i, status := range statuses {
		switch {
		case status == 200:
			winners++
		case status != 400 || bodies[i]["error"] != "invalid_grant":
			t.Fatalf("a losing refresh is 400 invalid_grant, got %d %v", status, bodies[i])
		}
	}
	live := countRows(t, s, "oauth_tokens", "app_id = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL", app.id, "refresh")
	if winners > 1 || live > 1 {
		t.Fatalf("10 concurrent refreshes: %d answered 200 and %d refresh tokens are live; never two pairs", winners, live)
	}
}

func TestTokenFailedClientAuthenticationIsRateLimited(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	wrong := url.Values{"grant_type": {"authorization_code"}, "code": {"kf_code_x"}, "client_id": {app.id}, "client_secret": {"kf_cs_wrong"}}
	limited := -1
	for i := range 51 {
		resp, out := s.tokenCall(t, "", wrong, "", "")
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") == "" {
				t.Fatalf("a 429 says when to retry: %v", resp.Header)
			}
			limited = i
			break
		}
		wantOAuthError(t, "wrong secret", resp, out, 401, "invalid_client")
	}
	if limited < 0 {
		t.Fatal("51 wrong secrets in a minute for one client never got 429")
	}
}

// security.md C.25: "a valid secret still works afterwards". A client_id is public (it is in every
// authorize URL), so guesses from elsewhere must not lock the real app out of /token.
func TestTokenValidSecretWorksWhileGuessesAreLimited(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	code := s.codeFor(t, app, nil)
	base := s.serveForBrowser(t)
	post := func(ip string, form url.Values, id, secret string) int {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}, Timeout: 10 * time.Second}
		defer client.CloseIdleConnections()
		req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if id != "" {
			req.SetBasicAuth(id, secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wrong := url.Values{"grant_type": {"authorization_code"}, "code": {"kf_code_x"}, "client_id": {app.id}, "client_secret": {"kf_cs_wrong"}}
	last := 0
	for range 52 {
		last = post("127.0.0.1", wrong, "", "")
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("guessing is limited: %d", last)
	}
	if status := post("127.0.0.2", codeForm(code, app.redirect), app.id, app.secret); status != 200 {
		t.Fatalf("the app's valid secret, from its own address, still works after someone else's 50 wrong guesses: %d", status)
	}
}
