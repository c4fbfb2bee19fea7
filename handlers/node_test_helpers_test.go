package handlers

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nodeWith installs npm packages into a temporary directory and returns node's path and that directory.
// Without Node.js and npm it skips, unless KEYFOB_REQUIRE_NODE is set (CI), when it fails.
func nodeWith(t *testing.T, packages ...string) (node, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("installs npm packages and runs Node")
	}
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		if os.Getenv("KEYFOB_REQUIRE_NODE") != "" {
			t.Fatal("Node.js and npm are required (KEYFOB_REQUIRE_NODE is set) but missing")
		}
		t.Skip("Node.js/npm not installed: this test needs them (apt-get install nodejs npm)")
	}
	dir = t.TempDir()
	args := append([]string{"install", "--no-audit", "--no-fund", "--prefix", dir}, packages...)
	if out, err := exec.Command(npm, args...).CombinedOutput(); err != nil {
		t.Fatalf("npm install %v: %v\n%s", packages, err, out)
	}
	return node, dir
}

// runNode runs script (written into dir, beside node_modules) with env added, and returns its stdout.
func runNode(t *testing.T, node, dir, name, script string, env ...string) []byte {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, path)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules")), env...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("node %s failed: %v\n%s\n%s", name, err, out, stderr)
	}
	return out
}

// serveAtOwnOrigin is a test server listening on a loopback port whose KEYFOB_BASE_URL is that origin,
// as discovery (RFC 8414) and issuer checks (RFC 9207) need.
func serveAtOwnOrigin(t *testing.T) (*testServer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	s := newTestServerWith(t, Config{BaseURL: base, SignupOpen: true, UploadsDir: t.TempDir(), Limits: Limits{SignupsPerIP: 1_000_000}})
	go s.app.Listener(DrainingListener(ln))
	t.Cleanup(func() { s.app.Shutdown() })
	return s, base
}
