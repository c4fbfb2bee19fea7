package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"keyfob/models"
)

// demoEvents is `keyfob demo-events`: it generates realistic Connect sessions for an app and stores
// them through the events API's ingestion path, showing progress and the final rate.
func demoEvents(args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("demo-events", flag.ContinueOnError)
	fs.SetOutput(out)
	appID := fs.String("app", "", "id of the application to fill (required)")
	traffic := models.DemoTraffic{Seed: uint64(time.Now().UnixNano())}
	fs.IntVar(&traffic.Owners, "owners", 300, "number of distinct vehicle owners")
	fs.IntVar(&traffic.Sessions, "sessions", 2000, "number of Connect sessions")
	fs.IntVar(&traffic.Days, "days", 30, "spread the sessions over this many days up to now (at most 365)")
	fs.Uint64Var(&traffic.Seed, "seed", traffic.Seed, "random seed, to generate the same traffic again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *appID == "" {
		return errors.New("demo-events: give --app <application id> (it is on the app's Overview page)")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := models.Open(cfg.DatabaseURL, cfg.sqlitePath())
	if err != nil {
		return err
	}
	if err := models.Migrate(db); err != nil {
		return err
	}
	app, err := models.FindAppForOperator(db, *appID)
	if err != nil {
		return fmt.Errorf("demo-events: application %s: %w", *appID, err)
	}
	events, err := models.GenerateDemoEvents(traffic, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("demo-events: %w", err)
	}
	fmt.Fprintf(out, "Generating %d sessions (%d events) for %q over %d days\n", traffic.Sessions, len(events), app.Name, traffic.Days)
	bar := newProgressBar(out, len(events))
	if err := models.IngestDemoEvents(db, app.ID, events, bar.update); err != nil {
		return fmt.Errorf("demo-events: %w", err)
	}
	bar.finish()
	return nil
}

// progressBar draws one line that redraws itself: the share done, the count and the rate so far.
type progressBar struct {
	out   io.Writer
	total int
	start time.Time
}

func newProgressBar(out io.Writer, total int) *progressBar {
	return &progressBar{out: out, total: total, start: time.Now()}
}

func (p *progressBar) update(done int) {
	const width = 30
	filled := width * done / max(p.total, 1)
	fmt.Fprintf(p.out, "\r[%s%s] %3d%% %d/%d events  %.0f events/s", strings.Repeat("#", filled),
		strings.Repeat(".", width-filled), 100*done/max(p.total, 1), done, p.total, p.rate(done))
}

func (p *progressBar) rate(done int) float64 {
	return float64(done) / max(time.Since(p.start).Seconds(), 1e-9)
}

func (p *progressBar) finish() {
	elapsed := time.Since(p.start)
	fmt.Fprintf(p.out, "\nStored %d events in %s: %.0f events/s\n", p.total, elapsed.Round(time.Millisecond), p.rate(p.total))
}
