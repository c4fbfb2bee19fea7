package main

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"keyfob/models"
)

func TestDemoEventsCommandFillsAnApp(t *testing.T) {
	dir := t.TempDir()
	env := fakeEnv(map[string]string{"KEYFOB_DATA_DIR": dir, "KEYFOB_UPLOADS_DIR": filepath.Join(dir, "uploads")})
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	db, err := models.Open("", cfg.sqlitePath())
	if err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	demo, err := models.SeedDemo(db, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	err = demoEvents([]string{"--app", demo.AppID, "--owners", "40", "--sessions", "250", "--days", "7"}, env, &out)
	if err != nil {
		t.Fatalf("demo-events: %v\n%s", err, out.String())
	}
	text := out.String()
	if !strings.Contains(text, "100% ") || !strings.Contains(text, "events/s") || !strings.Contains(text, "\nStored ") {
		t.Fatalf("demo-events shows a progress bar and the final rate:\n%s", text)
	}
	var sessions int64
	db.Table("session_summaries").Where("app_id = ?", demo.AppID).Count(&sessions)
	if sessions != 250 {
		t.Fatalf("demo-events stored %d sessions, want 250", sessions)
	}

	for _, args := range [][]string{{}, {"--app", "not-an-id"}, {"--app", demo.AppID, "--days", "400"}} {
		out.Reset()
		if err := demoEvents(args, env, &out); err == nil {
			t.Errorf("demo-events %v succeeded", args)
		}
	}
	if err := demoEvents([]string{"--help"}, env, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-sessions") {
		t.Errorf("--help explains the flags: %v %s", err, out.String())
	}
}
