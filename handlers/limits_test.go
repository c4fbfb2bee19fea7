package handlers

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func signupJSON(email string) string {
	return fmt.Sprintf(`{"email":%q,"password":"correct horse battery","name":"Limit","organization":"Limit"}`, email)
}

// listen serves the test server on a real loopback socket, so that requests can come from
// different client addresses (app.Test gives every request the same peer).
func (s *testServer) listen() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	go s.app.Listener(ln)
	s.t.Cleanup(func() { s.app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// postFrom posts JSON from the loopback address ip (127.0.0.0/8) with extra header pairs.
func postFrom(t *testing.T, base, path, ip, body string, header ...string) (*http.Response, string) {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(raw)
}

// Issue 10 item 1: sign-up is limited per client IP like sign-in, counting every attempt (taken,
// refused and new emails all cost an argon2id run).
func TestSignupIsLimitedPerIP(t *testing.T) {
	s := newTestServerWith(t, Config{BaseURL: "http://localhost:8080", SignupOpen: true, UploadsDir: t.TempDir()})
	base := s.listen()
	limit := DefaultLimits.SignupsPerIP
	for i := range limit {
		email := fmt.Sprintf("u%d@example.com", i)
		if i%3 == 0 {
			email = "u0@example.com" // taken after the first
		}
		resp, body := postFrom(t, base, "/api/v1/signup", "127.0.0.7", signupJSON(email))
		if resp.StatusCode != 201 && resp.StatusCode != 409 {
			t.Fatalf("sign-up %d of %d: %d %s", i+1, limit, resp.StatusCode, body)
		}
	}
	resp, body := postFrom(t, base, "/api/v1/signup", "127.0.0.7", signupJSON("one-more@example.com"))
	wantStatus(t, resp, body, http.StatusTooManyRequests)
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 3600 {
		t.Errorf("Retry-After = %q, want 1..3600 seconds", resp.Header.Get("Retry-After"))
	}
	if n := countRows(t, s, "users", "email = ?", "one-more@example.com"); n != 0 {
		t.Errorf("the refused sign-up created the account")
	}
	// The console's form shares the budget.
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}}
	browser := &http.Client{Jar: jar, Transport: &http.Transport{DialContext: dialer.DialContext}}
	page, err := browser.Get(base + "/signup")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	var csrf string
	for _, c := range page.Cookies() {
		if c.Name == "keyfob_csrf" {
			csrf = c.Value
		}
	}
	resp, err = browser.PostForm(base+"/signup", url.Values{"email": {"form@example.com"}, "password": {"correct horse battery"},
		"name": {"F"}, "organization": {"F"}, "_csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the console's sign-up form past the limit: %d, want 429", resp.StatusCode)
	}
	// Another address is not limited.
	resp, body = postFrom(t, base, "/api/v1/signup", "127.0.0.8", signupJSON("elsewhere@example.com"))
	wantStatus(t, resp, body, http.StatusCreated)
}

// Limits attribute requests to the rightmost X-Forwarded-For address only when the peer is a
// trusted proxy; anyone else's X-Forwarded-For is ignored (a client choosing its own address would
// get a fresh budget with every request).
func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	_, proxy, _ := net.ParseCIDR("127.0.0.10/32")
	s := newTestServerWith(t, Config{BaseURL: "http://localhost:8080", SignupOpen: true, UploadsDir: t.TempDir(),
		Limits: Limits{SignupsPerIP: 2}, TrustedProxies: []net.IPNet{*proxy}})
	base := s.listen()
	try := func(peer, xff string, i int) int {
		resp, _ := postFrom(t, base, "/api/v1/signup", peer, signupJSON(fmt.Sprintf("x%d@example.com", i)), "X-Forwarded-For", xff)
		return resp.StatusCode
	}
	// A direct client rotating spoofed addresses is still one client.
	for i, want := range []int{201, 201, 429} {
		if got := try("127.0.0.9", fmt.Sprintf("192.0.2.%d", i), i); got != want {
			t.Errorf("direct client, spoofed X-Forwarded-For, attempt %d: %d, want %d", i+1, got, want)
		}
	}
	// Through the proxy, the rightmost untrusted address is the client; what it prepended is ignored.
	for i, want := range []int{201, 201, 429} {
		if got := try("127.0.0.10", fmt.Sprintf("6.6.6.%d, 203.0.113.5, 127.0.0.10", i), 10+i); got != want {
			t.Errorf("through the proxy, attempt %d: %d, want %d", i+1, got, want)
		}
	}
	if got := try("127.0.0.10", "203.0.113.6", 20); got != 201 {
		t.Errorf("another client behind the proxy: %d, want 201", got)
	}
}

// Issue 10 item 2: limits are counted in the shared database, so two replicas (two Handlers on one
// database) enforce the number once: 60 parallel failed sign-ins from one address, alternating
// replicas, let exactly the limit through.
func TestLoginLimitHoldsAcrossReplicasInProcess(t *testing.T) {
	s := newTestServer(t)
	other := New(s.db, s.h.Cfg, slog.New(slog.NewTextHandler(io.Discard, nil))).App()
	limit := DefaultLimits.LoginFailuresPerIP
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 2 * limit {
		wg.Go(func() {
			req := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(fmt.Sprintf(`{"email":"p%d@example.com","password":"wrong password 1"}`, i)))
			req.Header.Set("Content-Type", "application/json")
			app := s.app
			if i%2 == 1 {
				app = other
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	// A sign-in the hashing queue could not take (503) is the server's fault and is taken back, so
	// it may let a later attempt in; the password checks made never exceed the limit.
	if counts[401] > limit || counts[429] < limit || counts[401]+counts[429]+counts[503] != 2*limit {
		t.Errorf("answers %v; want at most %d × 401, at least %d × 429 and nothing but 401, 429 and 503", counts, limit, limit)
	}
	var stored int
	if err := s.db.Raw("SELECT count FROM rate_counters WHERE k = ?", "login-ip:0.0.0.0").Scan(&stored).Error; err != nil || stored < counts[401] {
		t.Errorf("the shared counter holds %d (%v), want at least the %d failures answered", stored, err, counts[401])
	}
}

// A successful sign-in does not count against its address: the budget is for failures.
func TestLoginLimitRefundsSuccesses(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("ok@example.com", "OK")
	for i := range DefaultLimits.LoginFailuresPerIP + 5 {
		resp, body := s.api("POST", "/api/v1/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, a.Email, a.Password))
		if resp.StatusCode != 200 {
			t.Fatalf("sign-in %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	if n := countRows(t, s, "rate_counters", "k = ? AND count > 0", "login-ip:0.0.0.0"); n != 0 {
		t.Errorf("successful sign-ins were counted as failures")
	}
}
