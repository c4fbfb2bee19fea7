package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"keyfob/models/modelstest"
)

// TestTwoReplicas runs two processes of the real binary on one PostgreSQL database, started at the
// same moment on an empty database, and checks what must hold across replicas: every security limit
// is counted once (issue 10 item 2), a code raced on both is redeemed once, and a console session and
// its CSRF token from one replica work on the other.
func TestTwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary twice")
	}
	if !modelstest.IsPostgres() {
		t.Skip("replicas share a PostgreSQL database: set " + modelstest.EnvPostgres)
	}
	bin, _ := buildKeyfob(t)
	dir := t.TempDir()
	env, _ := restartEnv(t, dir)
	logA, logB := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	logServerTailOnFailure(t, logA)
	logServerTailOnFailure(t, logB)
	var a, b *restartServer
	var wg sync.WaitGroup
	wg.Go(func() { a = startRestartServer(t, bin, env, logA) })
	wg.Go(func() { b = startRestartServer(t, bin, env, logB) })
	wg.Wait()
	if t.Failed() {
		return
	}
	r := &replicas{t: t, a: a.base, b: b.base, http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}

	admin := newRestartClient(t, a.base)
	app, apiKey := restartNewApp(t, admin, 0)
	var secret struct{ Secret string }
	admin.call("POST", "/api/v1/apps/"+app+"/secrets", map[string]any{"expire_previous_in": 0}, 201, &secret)

	t.Run("console session and CSRF token cross replicas", func(t *testing.T) { r.consoleAcross(t) })
	t.Run("a code raced on both replicas is redeemed once", func(t *testing.T) { r.raceCodes(t, app, secret.Secret, apiKey) })
	t.Run("API-key budget", func(t *testing.T) { r.apiKeyBudget(t, apiKey) })
	t.Run("token failures per client", func(t *testing.T) { r.tokenFailures(t, app) })
	t.Run("sign-in failures per IP", func(t *testing.T) { r.loginFailures(t) })
	t.Run("sign-ups per IP", func(t *testing.T) { r.signups(t) })
}

type replicas struct {
	t    *testing.T
	a, b string
	http *http.Client
}

// both sends n requests at once, even ones to replica A and odd ones to B, and counts the statuses.
func (r *replicas) both(t *testing.T, n int, request func(i int, base string) *http.Request) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			base := r.a
			if i%2 == 1 {
				base = r.b
			}
			resp, err := r.http.Do(request(i, base))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return counts
}

func jsonRequest(method, url, body string) *http.Request {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// wantLimited checks that at most allowed requests got through (pass) and the rest were refused with
// 429; 503 (the password-hashing queue was full) is refunded by the limit and allowed.
func wantLimited(t *testing.T, counts map[int]int, pass []int, allowed, total int) {
	t.Helper()
	through := 0
	for _, s := range pass {
		through += counts[s]
	}
	if through > allowed || counts[429] < total-allowed-counts[503] || through+counts[429]+counts[503] != total {
		t.Errorf("answers %v: %d got through a limit of %d; want at most %d, the rest 429", counts, through, allowed, allowed)
	}
	if counts[503] == 0 && through != allowed {
		t.Errorf("answers %v: %d got through a limit of %d; the limit refused requests within it", counts, through, allowed)
	}
	t.Logf("answers %v: %d of %d got through a limit of %d across two replicas", counts, through, total, allowed)
}

func (r *replicas) loginFailures(t *testing.T) {
	counts := r.both(t, 60, func(i int, base string) *http.Request {
		return jsonRequest("POST", base+"/api/v1/login", fmt.Sprintf(`{"email":"nobody%d@example.com","password":"wrong password"}`, i))
	})
	wantLimited(t, counts, []int{401}, 30, 60)
}

func (r *replicas) signups(t *testing.T) {
	counts := r.both(t, 40, func(i int, base string) *http.Request {
		return jsonRequest("POST", base+"/api/v1/signup", fmt.Sprintf(`{"email":"s%d@example.com","password":"correct horse battery","name":"S","organization":"S"}`, i))
	})
	wantLimited(t, counts, []int{201, 409}, 20, 40)
}

func (r *replicas) tokenFailures(t *testing.T, app string) {
	counts := r.both(t, 80, func(i int, base string) *http.Request {
		req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader("grant_type=authorization_code&code=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app, "kf_cs_wrong")
		return req
	})
	// The 50th failure of a minute is already answered 429.
	wantLimited(t, counts, []int{401}, 49, 80)
}

func (r *replicas) apiKeyBudget(t *testing.T, apiKey string) {
	counts := r.both(t, 700, func(i int, base string) *http.Request {
		req := jsonRequest("POST", base+"/user", fmt.Sprintf(`{"client_user_id":"budget-%d"}`, i%5))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		return req
	})
	wantLimited(t, counts, []int{200, 201}, 600-codeRaces, 700) // the sandbox calls of raceCodes used the same budget
}

const codeRaces = 10

// raceCodes creates codes through the sandbox and sends each to both replicas at once.
func (r *replicas) raceCodes(t *testing.T, app, secret, apiKey string) {
	for i := range codeRaces {
		req := jsonRequest("POST", r.a+"/sandbox/public_token/create", fmt.Sprintf(`{"user_id":"racer-%d","scope":["read_odometer"]}`, i))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		var grant struct {
			PublicToken string `json:"public_token"`
		}
		r.decode(t, req, 201, &grant)
		counts := r.both(t, 2, func(_ int, base string) *http.Request {
			req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {grant.PublicToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(app, secret)
			return req
		})
		if counts[200] != 1 || counts[400] != 1 {
			t.Errorf("code %d sent to both replicas at once: %v; want one 200 and one 400 invalid_grant", i, counts)
		}
	}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// consoleAcross signs in on A, then reads a page and submits a CSRF-protected form on B.
func (r *replicas) consoleAcross(t *testing.T) {
	jar, _ := cookiejar.New(nil) // cookies ignore the port: both replicas see the same jar
	browser := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	token := r.csrfFrom(t, browser, r.a+"/signin")
	resp, err := browser.PostForm(r.a+"/signin", url.Values{"email": {restartAdminEmail}, "password": {restartAdminPass}, "_csrf": {token}, "next": {"/apps"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on A: %v %v", resp, err)
	}
	resp.Body.Close()
	token = r.csrfFrom(t, browser, r.b+"/apps/new") // the session from A opens a page on B
	resp, err = browser.PostForm(r.b+"/apps", url.Values{"name": {"Made across replicas"}, "_csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 || !strings.Contains(string(body), "Made across replicas") {
		t.Fatalf("a form with A's session and CSRF token submitted to B: %d %.300s", resp.StatusCode, body)
	}
	token = r.csrfFrom(t, browser, r.a+"/apps/new") // and a token from A is taken by B
	resp, err = browser.PostForm(r.b+"/apps", url.Values{"name": {"Token from A"}, "_csrf": {token}})
	if err != nil || resp.StatusCode >= 400 {
		t.Fatalf("B refused A's CSRF token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func (r *replicas) csrfFrom(t *testing.T, browser *http.Client, page string) string {
	t.Helper()
	resp, err := browser.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET %s: %d, no CSRF field: %.300s", page, resp.StatusCode, body)
	}
	return string(m[1])
}

func (r *replicas) decode(t *testing.T, req *http.Request, want int, out any) {
	t.Helper()
	resp, err := r.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", req.Method, req.URL, resp.StatusCode, want, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}
