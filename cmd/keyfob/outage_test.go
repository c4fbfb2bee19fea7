package main

// security.md #63 and #64, issue 10's outage guard: PostgreSQL stopped under load (once with a fast
// shutdown, once with an immediate one, a crash that recovery replays) → the server keeps answering,
// only 503 with Retry-After while the database is away (no 4xx, no 500, no success that did not
// happen), /readyz 503 and /healthz 200; it recovers by itself within 10 s of the database's return,
// and no acknowledged event is lost.
//
// The test runs its own throwaway PostgreSQL cluster (outage_pg_test.go), never the shared server. It
// is skipped when PostgreSQL's server binaries are missing, unless KEYFOB_REQUIRE_OUTAGE_TEST is set.

import (
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"keyfob/models"
)

// outageRecoveryLimit is security.md #63's bound: real requests succeed again this soon after the
// database accepts connections.
const outageRecoveryLimit = 10 * time.Second

// outageWindow is one outage as the test's clock saw it.
type outageWindow struct {
	mode                                    string
	stopBegin, stopped, startBegin, started time.Time
}

// down reports whether a was sent and answered while the database was stopped.
func (w outageWindow) down(a outageAnswer) bool {
	return a.sent.After(w.stopped) && a.done.Before(w.startBegin)
}

func TestPostgresOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs its own PostgreSQL and the binary")
	}
	pg := startThrowawayPostgres(t)
	bin, built := buildKeyfob(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "keyfob.log")
	logServerTailOnFailure(t, logPath)
	env := []string{"DATABASE_URL=" + pg.url(), "KEYFOB_UPLOADS_DIR=" + filepath.Join(dir, "uploads"),
		"KEYFOB_ADMIN_EMAIL=" + restartAdminEmail, "KEYFOB_ADMIN_PASSWORD=" + restartAdminPass, "KEYFOB_SIGNUP=open"}
	started := time.Now()
	srv := startRestartServer(t, bin, env, logPath)
	t.Logf("built in %s, first start (migrations, demo seed) in %s", built.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	account := newOutageAccount(t, srv.base)

	load := newOutageLoad(srv.base, account)
	load.start(3)
	time.Sleep(1500 * time.Millisecond)
	var windows []outageWindow
	for _, mode := range []string{"fast", "immediate"} {
		windows = append(windows, runOutage(t, pg, load, mode))
	}
	load.finish()
	select {
	case <-srv.done:
		t.Fatalf("the server died during the outages: %v", srv.waitErr)
	default:
	}

	checkOutageAnswers(t, load, windows)
	for i, w := range windows {
		next := time.Now()
		if i+1 < len(windows) {
			next = windows[i+1].stopBegin
		}
		checkOutageRecovery(t, load, w, next)
	}
	checkAckedEventsStored(t, pg, account.appID, load.acked)
	srv.stop(t)
}

// runOutage stops PostgreSQL for 3 s under load, starts it again and waits until every kind of
// request has succeeded since (at most 12 s), then lets the load run a second more.
func runOutage(t *testing.T, pg *throwawayPostgres, load *outageLoad, mode string) outageWindow {
	t.Helper()
	w := outageWindow{mode: mode, stopBegin: time.Now()}
	pg.stop(t, mode)
	w.stopped = time.Now()
	time.Sleep(3 * time.Second)
	w.startBegin = time.Now()
	pg.start(t)
	w.started = time.Now()
	for deadline := w.started.Add(outageRecoveryLimit + 2*time.Second); time.Now().Before(deadline); {
		if len(load.notRecovered(w.started, time.Now())) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	return w
}

// checkOutageAnswers checks every answer (judge), and that each outage was met by every kind of
// request, answered 503, and by /healthz, answered 200. Problems are counted by kind, with an example.
func checkOutageAnswers(t *testing.T, load *outageLoad, windows []outageWindow) {
	t.Helper()
	problems := map[string][]string{} // kind → examples
	seen := map[string]int{}          // "window probe status" while the database was stopped
	for _, a := range load.answers {
		var in *outageWindow
		for i := range windows {
			if windows[i].down(a) {
				in = &windows[i]
				seen[fmt.Sprintf("%s %s %d", in.mode, a.probe, a.status)]++
			}
		}
		if kind, example := load.judge(a, in); kind != "" {
			problems[kind] = append(problems[kind], example)
		}
	}
	for _, w := range windows {
		if seen[w.mode+" healthz 200"] == 0 {
			problems[w.mode+" outage: /healthz never answered 200 while PostgreSQL was stopped"] = nil
		}
		for _, probe := range load.dbProbes() {
			if seen[w.mode+" "+probe+" 503"] == 0 {
				problems[fmt.Sprintf("%s outage: no %s request was answered 503 while PostgreSQL was stopped", w.mode, probe)] = nil
			}
		}
	}
	var lines []string
	for _, kind := range slices.Sorted(maps.Keys(problems)) {
		line := fmt.Sprintf("%d × %s", len(problems[kind]), kind)
		if len(problems[kind]) > 0 {
			line += "; e.g. " + problems[kind][0]
		}
		lines = append(lines, line)
	}
	if len(lines) > 0 {
		t.Errorf("wrong answers among %d:\n%s", len(load.answers), strings.Join(lines, "\n"))
	}
}

// judge says what is wrong with an answer ("" when nothing): an answer is the normal one or a 503 with
// Retry-After, and never a success for a request made and answered while the database was stopped (in).
func (l *outageLoad) judge(a outageAnswer, in *outageWindow) (kind, example string) {
	normal, usesDB := l.normal(a.probe)
	example = fmt.Sprintf("sent %s: %.200s", a.sent.Format("15:04:05.000"), a.body)
	switch {
	case a.err != nil:
		return a.probe + ": no answer (the server must keep answering)", a.err.Error()
	case a.status == http.StatusServiceUnavailable && usesDB:
		if !retryAfterOK(a.retryAfter) {
			return a.probe + ": 503 without a Retry-After of whole seconds", example
		}
	case a.status != normal:
		return fmt.Sprintf("%s: status %d (want %d, or 503 while the database is away)", a.probe, a.status, normal), example
	case in != nil && usesDB:
		return fmt.Sprintf("%s: status %d while PostgreSQL was stopped, a success that cannot have happened", a.probe, a.status), example
	}
	return "", ""
}

// checkOutageRecovery measures, for each kind of request, the first success sent after PostgreSQL was
// back; the slowest is the recovery time, which must stay within outageRecoveryLimit.
func checkOutageRecovery(t *testing.T, load *outageLoad, w outageWindow, until time.Time) {
	t.Helper()
	if missing := load.notRecovered(w.started, until); len(missing) > 0 {
		t.Errorf("%s outage: %v never succeeded again after PostgreSQL was back", w.mode, missing)
		return
	}
	var recovery time.Duration
	var each []string
	for _, probe := range load.dbProbes() {
		first := load.firstSuccess(probe, w.started, until)
		each = append(each, fmt.Sprintf("%s %s", probe, first.Round(time.Millisecond)))
		recovery = max(recovery, first)
	}
	// A pooled connection that died with the server fails once more when it is next used: the last
	// 503 after the restart says when that was over.
	last := load.lastUnavailable(w.started, until)
	t.Logf("%s outage: PostgreSQL down %s (stop took %s, start %s); recovery %s after it accepted connections again (first success: %s); last 503 %s after",
		w.mode, w.startBegin.Sub(w.stopped).Round(time.Millisecond), w.stopped.Sub(w.stopBegin).Round(time.Millisecond),
		w.started.Sub(w.startBegin).Round(time.Millisecond), recovery.Round(time.Millisecond), strings.Join(each, ", "), last.Round(time.Millisecond))
	if recovery > outageRecoveryLimit || last > outageRecoveryLimit {
		t.Errorf("%s outage: recovery took %s (last 503 at %s), more than %s", w.mode, recovery.Round(time.Millisecond), last.Round(time.Millisecond), outageRecoveryLimit)
	}
}

// checkAckedEventsStored wants every acknowledged event id stored exactly once.
func checkAckedEventsStored(t *testing.T, pg *throwawayPostgres, appID string, acked []string) {
	t.Helper()
	db, err := models.Open(pg.url(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	stored := restartStoredIDs(t, db, appID)
	var missing, doubled []string
	for _, id := range acked {
		switch stored[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			doubled = append(doubled, id)
		}
	}
	if len(missing)+len(doubled) > 0 {
		t.Errorf("of %d acknowledged events, %d are missing (e.g. %v) and %d stored twice (e.g. %v)",
			len(acked), len(missing), missing[:min(5, len(missing))], len(doubled), doubled[:min(5, len(doubled))])
	}
	t.Logf("%d acknowledged events, all stored once", len(acked))
}
