// Command keyfob runs the Keyfob console and Connect platform: config → database → migrations →
// demo seed → HTTP server → graceful shutdown.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"keyfob/handlers"
	"keyfob/models"

	"gorm.io/gorm"
)

const shutdownTimeout = 20 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "demo-events" {
		if err := demoEvents(os.Args[2:], os.Getenv, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(log); err != nil {
		log.Error("keyfob stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	models.SetPasswordHashMemory(cfg.HashMemoryMiB)
	if err := os.MkdirAll(cfg.UploadsDir, 0o750); err != nil {
		return fmt.Errorf("KEYFOB_UPLOADS_DIR: %w", err)
	}
	db, err := models.Open(cfg.DatabaseURL, cfg.sqlitePath())
	if err != nil {
		return err
	}
	if err := models.Migrate(db); err != nil {
		return err
	}
	demo, err := models.SeedDemo(db, cfg.AdminEmail, cfg.AdminPassword)
	if err != nil {
		return err
	}
	if demo != nil {
		if err := seedDemoAnalytics(db, demo.AppID, log); err != nil {
			return err
		}
		printDemo(cfg, demo)
	}

	h := handlers.New(db, cfg.handlers(), log)
	app := h.App()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go h.PurgeExpiredState(ctx)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("KEYFOB_ADDR %s: %w", cfg.Addr, err)
	}
	listenErr := make(chan error, 1)
	go func() { listenErr <- app.Listener(handlers.DrainingListener(ln)) }()
	log.Info("keyfob listening", "addr", cfg.Addr, "base_url", cfg.BaseURL, "database", dbKind(cfg))

	select {
	case err := <-listenErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "timeout", shutdownTimeout.String())
	h.Drain()
	if err := app.ShutdownWithTimeout(shutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

func dbKind(cfg config) string {
	if cfg.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite:" + cfg.sqlitePath()
}

// demoAnalyticsTraffic is what the first start puts in the demo app, so a newcomer sees a living
// dashboard: two months growing by half, so the default 30 days (about 3,000 sessions) compare with a
// full previous period (about 2,400) rather than with the few sessions at the edge of one month; an
// owner starts about 1.8 sessions in 30 days, a few many more.
var demoAnalyticsTraffic = models.DemoTraffic{Owners: 2500, Sessions: 5400, Days: 60, Growth: 1.5, Seed: 1}

// seedDemoAnalytics fills the first-start demo app with generated Connect sessions, through the same
// ingestion path as POST /api/v1/events.
func seedDemoAnalytics(db *gorm.DB, appID string, log *slog.Logger) error {
	started := time.Now()
	events, err := models.GenerateDemoEvents(demoAnalyticsTraffic, started.UTC())
	if err != nil {
		return err
	}
	if err := models.IngestDemoEvents(db, appID, events, nil); err != nil {
		return fmt.Errorf("demo analytics: %w", err)
	}
	log.Info("demo analytics ready", "sessions", demoAnalyticsTraffic.Sessions, "events", len(events),
		"took", time.Since(started).Round(time.Millisecond).String())
	return nil
}

// printDemo shows the first-start sign-in once, on stderr, for a person to read.
func printDemo(cfg config, demo *models.DemoSignIn) {
	password := demo.Password
	if password == "" {
		password = "(the KEYFOB_ADMIN_PASSWORD you set)"
	}
	fmt.Fprintf(os.Stderr, `
  Keyfob is ready with a demo organisation.
  Sign in at %s/signin
    email:    %s
    password: %s
  This password is shown only now; change it under Account once signed in, or set
  KEYFOB_ADMIN_EMAIL and KEYFOB_ADMIN_PASSWORD before the first start.
  The demo app has two months of generated Connect sessions under Analytics; add more with
    keyfob demo-events --app %s --sessions 5000

`, cfg.BaseURL, demo.Email, password, demo.AppID)
}
