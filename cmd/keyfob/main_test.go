package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFirstRunSignInAndGracefulShutdown builds the real binary, starts it on an empty SQLite
// database, signs in with the printed password, and stops it with SIGTERM.
func TestFirstRunSignInAndGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin, _ := buildKeyfob(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "KEYFOB_ADDR="+addr, "KEYFOB_BASE_URL=http://"+addr,
		"KEYFOB_DATA_DIR="+filepath.Join(dir, "data"), "KEYFOB_UPLOADS_DIR="+filepath.Join(dir, "uploads"), "DATABASE_URL=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	base := "http://" + addr
	waitReady(t, base+"/readyz")

	password := ""
	for _, line := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "password:" {
			password = f[1]
		}
	}
	if len(password) < 10 {
		t.Fatalf("the first start must print a password; stderr:\n%s", stderr.String())
	}
	body := fmt.Sprintf(`{"email":"admin@keyfob.local","password":%q}`, password)
	resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != 200 || login.Token == "" {
		t.Fatalf("printed credentials must sign in: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), "Demo app") || !strings.Contains(string(raw), "http://localhost:8000/exchange") {
		t.Fatalf("demo app with a redirect URI expected: %s", raw)
	}
	wantDemoAnalytics(t, base, login.Token, raw)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful shutdown must exit 0: %v", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not stop after SIGTERM")
	}
	var sawRequestLog, sawStopped bool
	for line := range logs {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			t.Fatalf("log lines are JSON: %q", line)
		}
		if entry["msg"] == "request" && entry["path"] == "/api/v1/login" {
			sawRequestLog = true
		}
		if entry["msg"] == "stopped cleanly" {
			sawStopped = true
		}
		if strings.Contains(line, password) {
			t.Fatal("the password must not be in the structured log")
		}
	}
	if !sawRequestLog || !sawStopped {
		t.Fatalf("want a request log line and a clean stop (request=%v stopped=%v)", sawRequestLog, sawStopped)
	}
}

func TestBadConfigStopsStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the program")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", ".")
	cmd.Env = append(os.Environ(), "KEYFOB_SIGNUP=maybe")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "KEYFOB_SIGNUP") {
		t.Fatalf("want a failure naming KEYFOB_SIGNUP, got err=%v out=%s", err, out)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(t *testing.T, url string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

// wantDemoAnalytics checks that the first start gave the demo app two months of Connect sessions,
// so that the default 30 days compare with a full previous period.
func wantDemoAnalytics(t *testing.T, base, token string, appsJSON []byte) {
	t.Helper()
	var apps struct {
		Apps []struct{ ID, Name string } `json:"apps"`
	}
	if err := json.Unmarshal(appsJSON, &apps); err != nil || len(apps.Apps) != 1 {
		t.Fatalf("one demo app expected: %v %s", err, appsJSON)
	}
	today := time.Now().UTC()
	current := demoFunnel(t, base+"/api/v1/apps/"+apps.Apps[0].ID+"/analytics/funnel", token, "")
	previous := demoFunnel(t, base+"/api/v1/apps/"+apps.Apps[0].ID+"/analytics/funnel", token,
		"?from="+today.AddDate(0, 0, -59).Format(time.DateOnly)+"&to="+today.AddDate(0, 0, -30).Format(time.DateOnly))
	// 5,400 sessions over 60 days growing to 1.5 times the first day's rate: about 3,000 in the
	// default last 30 days and 2,400 in the 30 before, a growth of about a fifth.
	if current.Started < 2700 || current.Started > 3300 || current.Completed == 0 {
		t.Fatalf("the demo app's last 30 days: %d started, %d completed; want about 3,000 started", current.Started, current.Completed)
	}
	if growth := float64(current.Started)/float64(previous.Started) - 1; growth < 0.05 || growth > 0.5 {
		t.Fatalf("the demo's previous 30 days have %d sessions against %d: a growth of %.0f %%, want a plausible one",
			previous.Started, current.Started, growth*100)
	}
}

// demoFunnel reads the sessions started and completed of the demo app's funnel.
func demoFunnel(t *testing.T, url, token, query string) (funnel struct{ Started, Completed int }) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Started   int `json:"sessions_started"`
		Completed int `json:"sessions_completed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); resp.StatusCode != 200 || err != nil {
		t.Fatalf("GET the demo app's funnel%s: %d %v", query, resp.StatusCode, err)
	}
	funnel.Started, funnel.Completed = body.Started, body.Completed
	return funnel
}
