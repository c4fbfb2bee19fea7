package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The binary tests share one build of this package per test process.
var keyfobBuild struct {
	once sync.Once
	dir  string
	bin  string
	took time.Duration
	err  error
	out  []byte
}

// TestMain removes the shared build when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if keyfobBuild.dir != "" {
		os.RemoveAll(keyfobBuild.dir)
	}
	os.Exit(code)
}

// buildKeyfob builds the binary once and returns its path and how long the build took.
func buildKeyfob(t *testing.T) (string, time.Duration) {
	t.Helper()
	b := &keyfobBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "keyfob-bin-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "keyfob")
		started := time.Now()
		b.out, b.err = exec.Command("go", "build", "-o", b.bin, ".").CombinedOutput()
		b.took = time.Since(started)
	})
	if b.err != nil {
		t.Fatalf("build: %v\n%s", b.err, b.out)
	}
	return b.bin, b.took
}
