package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"keyfob/models"
)

// This file is the outage test's load: clients sending event batches and a client calling the other
// route families, every answer recorded with when it was sent and received.

// outageProbe is one kind of request and the status it gets while the database is up.
type outageProbe struct {
	name   string
	normal int
	usesDB bool
	client *http.Client
	build  func() *http.Request
}

// outageAnswer is one answer, or the transport error instead of it.
type outageAnswer struct {
	probe      string
	sent, done time.Time
	status     int
	retryAfter string
	body       string
	err        error
}

// outageLoad runs the clients and keeps every answer and every acknowledged event id.
type outageLoad struct {
	base, apiKey string
	probes       []outageProbe
	events       *http.Client
	mu           sync.Mutex
	answers      []outageAnswer
	acked        []string
	stop         chan struct{}
	wg           sync.WaitGroup
}

// outageAccount is what the load needs from the running server: an app with a secret and a redirect
// URI, an API key, an access token and a signed-in console.
type outageAccount struct {
	appID, secret, redirect, apiKey, access string
	console                                 *http.Client
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// newOutageAccount sets up the account through the server's own API, with the database up.
func newOutageAccount(t *testing.T, base string) outageAccount {
	t.Helper()
	c := newRestartClient(t, base)
	c.login()
	a := outageAccount{redirect: "https://outage.example/callback"}
	var app struct {
		ID           string `json:"id"`
		ClientSecret string `json:"client_secret"`
	}
	c.call("POST", "/api/v1/apps", map[string]string{"name": "Outage test"}, 201, &app)
	a.appID, a.secret = app.ID, app.ClientSecret
	c.call("POST", "/api/v1/apps/"+a.appID+"/redirect_uris", map[string]string{"uri": a.redirect}, 201, nil)
	var key struct{ Key string }
	c.call("POST", "/api/v1/apps/"+a.appID+"/api_keys", map[string]string{"name": "outage", "environment": "test"}, 201, &key)
	a.apiKey = key.Key
	var code struct {
		PublicToken string `json:"public_token"`
	}
	c.bearer = a.apiKey
	c.call("POST", "/sandbox/public_token/create", map[string]any{"user_id": "owner-1", "make": "FORD", "scope": []string{"read_vehicle_info"}}, 201, &code)
	resp, err := http.DefaultClient.Do(a.tokenRequest(base, url.Values{"grant_type": {"authorization_code"}, "code": {code.PublicToken}}))
	if err != nil {
		t.Fatal(err)
	}
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tokens)
	resp.Body.Close()
	if resp.StatusCode != 200 || tokens.AccessToken == "" {
		t.Fatalf("exchange the sandbox code: %d", resp.StatusCode)
	}
	a.access = tokens.AccessToken
	a.console = signedInConsole(t, base)
	return a
}

// tokenRequest is POST /oauth/token with the app's client credentials in HTTP Basic.
func (a outageAccount) tokenRequest(base string, form url.Values) *http.Request {
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.appID+":"+a.secret)))
	return req
}

// signedInConsole signs the admin in to the console the way a browser does (CSRF token from the page).
func signedInConsole(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page: %.300s", page)
	}
	form := url.Values{"email": {restartAdminEmail}, "password": {restartAdminPass}, "next": {"/apps"}, "_csrf": {string(m[1])}}
	resp, err = c.PostForm(base+"/signin", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console sign-in: %d", resp.StatusCode)
	}
	return c
}

// newOutageLoad lists the probes: every route family a client of Keyfob calls.
func newOutageLoad(base string, a outageAccount) *outageLoad {
	plain := &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, bearer string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("GET", base+path, nil)
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			return req
		}
	}
	authorize := "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {a.appID}, "redirect_uri": {a.redirect},
		"scope": {"read_vehicle_info"}, "mode": {"test"}, "state": {"s"}}.Encode()
	// An unknown code: with the database up the client authenticates and the code is refused.
	unknownCode := url.Values{"grant_type": {"authorization_code"}, "code": {models.NewToken(models.PrefixCode)}}
	return &outageLoad{base: base, apiKey: a.apiKey, stop: make(chan struct{}), events: &http.Client{Timeout: 15 * time.Second},
		probes: []outageProbe{
			{"healthz", 200, false, plain, get("/healthz", "")},
			{"readyz", 200, true, plain, get("/readyz", "")},
			{"authorize", http.StatusFound, true, plain, get(authorize, "")},
			{"token", http.StatusBadRequest, true, plain, func() *http.Request { return a.tokenRequest(base, unknownCode) }},
			{"v2.0 vehicles", 200, true, plain, get("/v2.0/vehicles", a.access)},
			{"console apps", 200, true, a.console, get("/apps", "")},
		}}
}

// start runs senders event clients and one client cycling through the probes until finish.
func (l *outageLoad) start(senders int) {
	for i := 0; i < senders; i++ {
		l.wg.Add(1)
		go l.sendEvents(i)
	}
	l.wg.Add(1)
	go l.cycleProbes()
}

func (l *outageLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

func (l *outageLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *outageLoad) cycleProbes() {
	defer l.wg.Done()
	for !l.stopped() {
		for _, p := range l.probes {
			l.record(p.name, p.client, p.build())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendEvents posts batches of 20 events with ids of their own, each batch once; an acknowledged (202)
// batch's ids are kept for the final check.
func (l *outageLoad) sendEvents(client int) {
	defer l.wg.Done()
	for batch := 0; !l.stopped(); batch++ {
		ids := make([]string, 20)
		events := make([]map[string]string, len(ids))
		for i := range ids {
			ids[i] = fmt.Sprintf("outage-c%d-b%05d-e%02d", client, batch, i)
			events[i] = map[string]string{"id": ids[i], "session_id": fmt.Sprintf("outage-c%d-b%05d", client, batch),
				"owner": "outage-owner", "step": models.StepLaunched, "occurred_at": time.Now().UTC().Format(time.RFC3339Nano)}
		}
		body, _ := json.Marshal(map[string]any{"events": events})
		req, _ := http.NewRequest("POST", l.base+"/api/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+l.apiKey)
		if l.record("events", l.events, req) == http.StatusAccepted {
			l.mu.Lock()
			l.acked = append(l.acked, ids...)
			l.mu.Unlock()
		}
		time.Sleep(25 * time.Millisecond) // stay well inside the key's 6,000 batches a minute
	}
}

// record sends req and keeps its answer; it returns the status (0 on a transport error).
func (l *outageLoad) record(probe string, c *http.Client, req *http.Request) int {
	a := outageAnswer{probe: probe, sent: time.Now()}
	resp, err := c.Do(req)
	if err == nil {
		raw, readErr := io.ReadAll(resp.Body)
		resp.Body.Close()
		a.status, a.retryAfter, a.body, err = resp.StatusCode, resp.Header.Get("Retry-After"), string(raw), readErr
	}
	a.err, a.done = err, time.Now()
	l.mu.Lock()
	l.answers = append(l.answers, a)
	l.mu.Unlock()
	return a.status
}

// normal is the status probe gets with the database up.
func (l *outageLoad) normal(probe string) (int, bool) {
	if probe == "events" {
		return http.StatusAccepted, true
	}
	for _, p := range l.probes {
		if p.name == probe {
			return p.normal, p.usesDB
		}
	}
	return 0, false
}

// retryAfterOK reports whether a 503 says when to come back, in whole seconds.
func retryAfterOK(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n > 0
}

// dbProbes names every kind of request that needs the database, events included.
func (l *outageLoad) dbProbes() []string {
	out := []string{"events"}
	for _, p := range l.probes {
		if p.usesDB {
			out = append(out, p.name)
		}
	}
	return out
}

// firstSuccess is how long after since the first normal answer of probe, sent then and before until,
// was received; -1 when there is none.
func (l *outageLoad) firstSuccess(probe string, since, until time.Time) time.Duration {
	normal, _ := l.normal(probe)
	l.mu.Lock()
	defer l.mu.Unlock()
	first := time.Duration(-1)
	for _, a := range l.answers {
		if a.probe == probe && a.err == nil && a.status == normal && !a.sent.Before(since) && a.sent.Before(until) {
			if d := a.done.Sub(since); first < 0 || d < first {
				first = d
			}
		}
	}
	return first
}

// notRecovered lists the kinds of request with no normal answer sent between since and until.
func (l *outageLoad) notRecovered(since, until time.Time) []string {
	var out []string
	for _, probe := range l.dbProbes() {
		if l.firstSuccess(probe, since, until) < 0 {
			out = append(out, probe)
		}
	}
	return out
}

// lastUnavailable is how long after since the last 503 sent between since and until was received; 0
// when there was none.
func (l *outageLoad) lastUnavailable(since, until time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last time.Duration
	for _, a := range l.answers {
		if a.status == http.StatusServiceUnavailable && !a.sent.Before(since) && a.sent.Before(until) {
			last = max(last, a.done.Sub(since))
		}
	}
	return last
}
