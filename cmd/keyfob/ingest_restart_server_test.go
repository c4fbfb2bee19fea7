package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// This file starts the binary under test, kills or stops it, and talks JSON to it.

// restartServer is one start of the binary.
type restartServer struct {
	cmd     *exec.Cmd
	base    string
	done    chan struct{}
	waitErr error
}

func startRestartServer(t *testing.T, bin string, env []string, logPath string) *restartServer {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), "KEYFOB_ADDR="+addr, "KEYFOB_BASE_URL=http://"+addr)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logFile.Close()
	s := &restartServer{cmd: cmd, base: "http://" + addr, done: make(chan struct{})}
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
	})
	waitReady(t, s.base+"/readyz")
	return s
}

// kill is kill -9: no drain, no shutdown hook.
func (s *restartServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-s.done
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the process must have died of SIGKILL, got %v", s.waitErr)
	}
}

func (s *restartServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
		if s.waitErr != nil {
			t.Errorf("graceful shutdown after the restart must exit 0: %v", s.waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("did not stop within 30 s of SIGTERM")
	}
}

// restartClient talks JSON to one server.
type restartClient struct {
	t      *testing.T
	http   *http.Client
	base   string
	bearer string
}

func newRestartClient(t *testing.T, base string) *restartClient {
	tr := &http.Transport{MaxIdleConnsPerHost: restartConcurrency * 2}
	t.Cleanup(tr.CloseIdleConnections)
	return &restartClient{t: t, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, base: base}
}

// call sends a JSON request and decodes a JSON answer of the wanted status, or fails the test.
func (c *restartClient) call(method, path string, in any, want int, out any) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	req.Header.Set("Content-Type", "application/json")
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

func (c *restartClient) login() {
	c.t.Helper()
	var login struct{ Token string }
	c.bearer = ""
	c.call("POST", "/api/v1/login", map[string]string{"email": restartAdminEmail, "password": restartAdminPass}, 200, &login)
	if login.Token == "" {
		c.t.Fatal("login returned no token")
	}
	c.bearer = login.Token
}

// ingestResult is the answer of POST /api/v1/events.
type ingestResult struct {
	Accepted   int               `json:"accepted"`
	Duplicates int               `json:"duplicates"`
	Refused    []json.RawMessage `json:"refused"`
}

// postBatch sends one batch with the API key; err is a transport error (the process died).
func (c *restartClient) postBatch(apiKey, idemKey string, body []byte) (int, ingestResult, string, error) {
	req, _ := http.NewRequest("POST", c.base+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, ingestResult{}, "", err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, ingestResult{}, "", err // the answer was cut off: not an acknowledgement
	}
	var res ingestResult
	if resp.StatusCode == http.StatusAccepted {
		if err := json.Unmarshal(raw, &res); err != nil {
			return resp.StatusCode, res, string(raw), fmt.Errorf("202 with an unreadable body: %w", err)
		}
	}
	return resp.StatusCode, res, string(raw), nil
}
