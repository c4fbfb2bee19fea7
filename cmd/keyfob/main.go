// Command keyfob runs the Keyfob console and Connect platform: config → database → migrations →
// demo seed → HTTP server → graceful shutdown.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"keyfob/handlers"
	"keyfob/models"
)

const shutdownTimeout = 20 * time.Second

func main() {
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

`, cfg.BaseURL, demo.Email, password)
}
