package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"keyfob/models"
)

// connectWalker is a vehicle owner's browser on the real server: a cookie jar, following Keyfob's
// redirects and stopping at the app's redirect URI.
type connectWalker struct {
	t      *testing.T
	client *http.Client
	base   string
	page   string
	at     *url.URL
}

func newConnectWalker(t *testing.T, base, redirect string) *connectWalker {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Transport: &http.Transport{}, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirect) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	t.Cleanup(client.CloseIdleConnections) // before the server's shutdown, which waits for open connections
	return &connectWalker{t: t, base: base, client: client}
}

// do sends req and keeps the page it ends on (unless it ends at the app).
func (w *connectWalker) do(req *http.Request) *http.Response {
	w.t.Helper()
	resp, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 300 || resp.StatusCode >= 400 {
		w.page, w.at = string(body), resp.Request.URL
	}
	return resp
}

// post submits the current page's form to the session's action, with the page's CSRF token.
func (w *connectWalker) post(action string, form url.Values) *http.Response {
	w.t.Helper()
	m := csrfField.FindStringSubmatch(w.page)
	if m == nil || !strings.HasPrefix(w.at.Path, "/connect/") {
		w.t.Fatalf("no Connect form at %s: %.600s", w.at, w.page)
	}
	form.Set("_csrf", m[1])
	req, _ := http.NewRequest("POST", w.base+w.at.Path+"/"+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return w.do(req)
}

// authorize walks Connect from authURL (make=KIA: sign-in, first vehicle, allow) and returns the code.
func (w *connectWalker) authorize(authURL, redirect, state string) string {
	w.t.Helper()
	return w.authorizeRedirect(authURL, redirect, state).Query().Get("code")
}

// authorizeRedirect walks Connect like authorize and returns the whole redirect to the app.
func (w *connectWalker) authorizeRedirect(authURL, redirect, state string) *url.URL {
	w.t.Helper()
	req, _ := http.NewRequest("GET", authURL, nil)
	if resp := w.do(req); resp.StatusCode != 200 || !strings.Contains(w.page, "Sign in to Kia") {
		w.t.Fatalf("Connect's sign-in page expected from %s: %d %.500s", authURL, resp.StatusCode, w.page)
	}
	w.post("signin", url.Values{"email": {"driver@example.com"}, "password": {"secret"}})
	vehicles := vehicleField.FindStringSubmatch(w.page)
	if vehicles == nil {
		w.t.Fatalf("vehicles page expected: %.500s", w.page)
	}
	w.post("vehicles", url.Values{"vehicle": {vehicles[1]}})
	resp := w.post("permissions", url.Values{"decision": {"allow"}, "permission": {"read_odometer"}})
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		w.t.Fatalf("the consent ends with a redirect to the app, got %d %.500s", resp.StatusCode, w.page)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		w.t.Fatalf("redirect to the app with code and state expected, got %q", resp.Header.Get("Location"))
	}
	return loc
}

// tokenRecorder notes how each token request authenticated the client, without changing it.
type tokenRecorder struct {
	basic, form []bool
	transport   http.Transport
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	_, _, basic := req.BasicAuth()
	raw, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(raw))
	form, _ := url.ParseQuery(string(raw))
	r.basic, r.form = append(r.basic, basic), append(r.form, form.Get("client_secret") != "")
	return r.transport.RoundTrip(req)
}

func oauth2Setup(t *testing.T, style oauth2.AuthStyle) (*testServer, connectApp, *oauth2.Config, string) {
	s := newTestServer(t)
	app := s.connectApp(t)
	base := s.serveForBrowser(t)
	conf := &oauth2.Config{ClientID: app.id, ClientSecret: app.secret, RedirectURL: app.redirect,
		Scopes:   []string{"required:read_vehicle_info", "read_odometer"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/oauth/authorize", TokenURL: base + "/oauth/token", AuthStyle: style}}
	return s, app, conf, base
}

// connectOptions: each walk shows the permissions page (approval_prompt=force), even for a returning owner.
var connectOptions = []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("mode", "test"), oauth2.SetAuthURLParam("make", "KIA"),
	oauth2.SetAuthURLParam("user", "oauth2-owner"), oauth2.SetAuthURLParam("approval_prompt", "force")}

func wantRetrieveError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code || re.Response.StatusCode != 400 {
		t.Fatalf("%s: want a %s RetrieveError, got %v", what, code, err)
	}
}

func TestOAuth2ClientAuthCodeExchangeAndRefresh(t *testing.T) {
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
		basic bool
	}{{"header", oauth2.AuthStyleInHeader, true}, {"params", oauth2.AuthStyleInParams, false}} {
		t.Run(tc.name, func(t *testing.T) {
			s, app, conf, base := oauth2Setup(t, tc.style)
			recorder := &tokenRecorder{}
			t.Cleanup(recorder.transport.CloseIdleConnections)
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: recorder, Timeout: 10 * time.Second})
			authURL := conf.AuthCodeURL("go-state", connectOptions...)
			code := newConnectWalker(t, base, app.redirect).authorize(authURL, app.redirect, "go-state")
			tok, err := conf.Exchange(ctx, code)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.TokenType != "Bearer" || !models.TokenWellFormed(tok.AccessToken, models.PrefixAccessToken) || !models.TokenWellFormed(tok.RefreshToken, models.PrefixRefreshToken) {
				t.Fatalf("token: %+v", tok)
			}
			if d := time.Until(tok.Expiry); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
				t.Fatalf("the access token expires in about 2 hours, got %s", d)
			}
			grant, err := models.AuthenticateAccessToken(s.db, tok.AccessToken)
			if err != nil || grant.Owner != "oauth2-owner" || strings.Join(grant.Scope, " ") != "read_vehicle_info read_odometer" {
				t.Fatalf("grant: %+v %v", grant, err)
			}
			if _, err := conf.Exchange(ctx, code); err == nil {
				t.Fatal("a code works once")
			}

			ctx = context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: recorder, Timeout: 10 * time.Second})
			tok2, err := freshCode(ctx, t, app, conf, base, "")
			if err != nil {
				t.Fatal(err)
			}
			old := *tok2
			tok2.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, tok2).Token()
			if err != nil {
				t.Fatalf("TokenSource refresh: %v", err)
			}
			if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken || fresh.RefreshToken == "" || !fresh.Valid() {
				t.Fatalf("a refresh gives a new access and refresh token: %+v", fresh)
			}
			if _, err := models.AuthenticateAccessToken(s.db, fresh.AccessToken); err != nil {
				t.Fatalf("the refreshed access token works: %v", err)
			}
			_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
			wantRetrieveError(t, "reused refresh token", err, "invalid_grant")

			for i := range recorder.basic {
				if recorder.basic[i] != tc.basic || recorder.form[i] == tc.basic {
					t.Fatalf("request %d: Basic %v, secret in form %v; want the %s style", i, recorder.basic[i], recorder.form[i], tc.name)
				}
			}
			if len(recorder.basic) != 5 {
				t.Fatalf("want 5 token requests, saw %d", len(recorder.basic))
			}
		})
	}
}

// freshCode walks Connect once more and exchanges the code, with PKCE when verifier is set.
func freshCode(ctx context.Context, t *testing.T, app connectApp, conf *oauth2.Config, base, verifier string) (*oauth2.Token, error) {
	t.Helper()
	opts := append([]oauth2.AuthCodeOption{}, connectOptions...)
	var exchange []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
		exchange = append(exchange, oauth2.VerifierOption(verifier))
	}
	code := newConnectWalker(t, base, app.redirect).authorize(conf.AuthCodeURL("st", opts...), app.redirect, "st")
	return conf.Exchange(ctx, code, exchange...)
}

func TestOAuth2ClientPKCE(t *testing.T) {
	s, app, conf, base := oauth2Setup(t, oauth2.AuthStyleInHeader)
	recorder := &tokenRecorder{}
	t.Cleanup(recorder.transport.CloseIdleConnections)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: recorder, Timeout: 10 * time.Second})
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(conf.AuthCodeURL("st", append(connectOptions, oauth2.S256ChallengeOption(verifier))...))
	if authURL.Query().Get("code_challenge_method") != "S256" || authURL.Query().Get("code_challenge") != oauth2.S256ChallengeFromVerifier(verifier) {
		t.Fatalf("the client sends an S256 challenge: %s", authURL)
	}
	tok, err := freshCode(ctx, t, app, conf, base, verifier)
	if err != nil || !models.TokenWellFormed(tok.AccessToken, models.PrefixAccessToken) {
		t.Fatalf("PKCE exchange with the right verifier: %v %+v", err, tok)
	}
	code := newConnectWalker(t, base, app.redirect).authorize(conf.AuthCodeURL("st", append(connectOptions, oauth2.S256ChallengeOption(verifier))...), app.redirect, "st")
	_, err = conf.Exchange(ctx, code)
	wantRetrieveError(t, "PKCE without the verifier", err, "invalid_grant")
	code = newConnectWalker(t, base, app.redirect).authorize(conf.AuthCodeURL("st", append(connectOptions, oauth2.S256ChallengeOption(verifier))...), app.redirect, "st")
	_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	wantRetrieveError(t, "PKCE with another verifier", err, "invalid_grant")
	if n := countRows(t, s, "oauth_tokens", "kind = ?", "access"); n != 1 {
		t.Fatalf("only the right verifier gets tokens: %d", n)
	}
}
