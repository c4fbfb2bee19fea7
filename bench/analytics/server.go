package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"keyfob/handlers"
	"keyfob/models"
)

// bench is one shape's server: its database, an organisation with apps and a test API key per app,
// an API token and a console session of the organisation's owner.
type bench struct {
	base, token, cookie string
	apps, keys          []string
	client              *http.Client
	db                  *gorm.DB
}

// start runs Keyfob's router on loopback against dbURL with an organisation of n apps.
func start(dbURL string, n int) *bench {
	sqlitePath := filepath.Join(os.TempDir(), fmt.Sprintf("analytics-bench-%d.db", time.Now().UnixNano()))
	db, err := models.Open(dbURL, sqlitePath)
	check(err)
	check(models.Migrate(db))
	user, org, err := models.CreateAccount(db, models.SignUp{Email: "bench@example.com", Password: "benchmark password",
		Name: "Bench", Organization: "Bench"})
	check(err)
	actor := models.Actor{ID: user.ID, Email: user.Email}
	b := &bench{db: db, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Minute}}
	for i := range n {
		name := fmt.Sprintf("Analytics bench %d", i+1)
		app, _, err := models.CreateApp(db, actor, org.ID, models.AppInput{Name: &name})
		check(err)
		key, err := models.CreateAPIKey(db, actor, org.ID, app.ID, "bench", models.EnvTest)
		check(err)
		b.apps, b.keys = append(b.apps, app.ID), append(b.keys, key.Key)
	}
	// Generous API-key budgets: the benchmark measures the database, not the limits.
	h := handlers.New(db, handlers.Config{BaseURL: "http://127.0.0.1", UploadsDir: os.TempDir(),
		Limits: handlers.Limits{EventBatches: 1_000_000}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go h.App().Listener(ln)
	b.base = "http://" + ln.Addr().String()
	b.token, _, err = models.StartSession(db, user.ID, models.SessionKindAPI, org.ID)
	check(err)
	b.cookie, _, err = models.StartSession(db, user.ID, models.SessionKindConsole, org.ID)
	check(err)
	return b
}

// ingest posts about n events of sh's traffic in batches of 1,000 over c clients, each batch with
// the key of its app, and returns how many were accepted.
func (b *bench) ingest(sh shape, n int, seed uint64, c int) int {
	events, apps := sh.generate(n, seed)
	perApp := make([][]models.EventInput, len(b.apps))
	for i, e := range events {
		perApp[apps[i]] = append(perApp[apps[i]], e)
	}
	type batch struct {
		key    string
		events []models.EventInput
	}
	batches := make(chan batch)
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for bt := range batches {
				got := b.post(bt.key, bt.events)
				mu.Lock()
				accepted += got
				mu.Unlock()
			}
		})
	}
	for i, evs := range perApp {
		for start := 0; start < len(evs); start += models.MaxEventBatch {
			batches <- batch{b.keys[i], evs[start:min(start+models.MaxEventBatch, len(evs))]}
		}
	}
	close(batches)
	wg.Wait()
	return accepted
}

type eventJSON struct {
	ID         string `json:"id"`
	SessionID  string `json:"session_id"`
	Owner      string `json:"owner"`
	Step       string `json:"step"`
	OccurredAt string `json:"occurred_at"`
	Make       string `json:"make,omitempty"`
	Error      string `json:"error,omitempty"`
	Mode       string `json:"mode,omitempty"`
}

func (b *bench) post(key string, batch []models.EventInput) int {
	body := struct {
		Events []eventJSON `json:"events"`
	}{}
	for _, e := range batch {
		body.Events = append(body.Events, eventJSON{e.ID, e.SessionID, e.Owner, e.Step, e.OccurredAt, e.Make, e.Error, e.Mode})
	}
	raw, err := json.Marshal(body)
	check(err)
	req, _ := http.NewRequest("POST", b.base+"/api/v1/events", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	check(err)
	defer resp.Body.Close()
	var out models.IngestResult
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(answer, &out) != nil || len(out.Refused) > 0 {
		log.Fatalf("POST /api/v1/events: %d %s", resp.StatusCode, answer)
	}
	return out.Accepted
}

// settle does what a running server does in the background before the dashboard is read: the
// periodic job compacts the finished days' rollup shards, and PostgreSQL's autovacuum analyses the
// freshly loaded tables (without statistics the planner would not use the recency indexes).
func (b *bench) settle() {
	began := time.Now()
	removed, err := models.CompactRollups(b.db, time.Now().UTC().AddDate(0, 0, -1))
	check(err)
	if models.IsPostgres(b.db) {
		check(b.db.Exec("VACUUM ANALYZE").Error)
	}
	fmt.Fprintf(os.Stderr, "  compacted %d rollup rows and analysed in %s\n", removed, time.Since(began).Round(time.Millisecond))
}

// get reads path with the API token (or the console cookie for console pages) and wants a 200.
func (b *bench) get(path string, console bool) []byte {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	if console {
		req.AddCookie(&http.Cookie{Name: "keyfob_session", Value: b.cookie})
	} else {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	resp, err := b.client.Do(req)
	check(err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		log.Fatalf("GET %s: %d %.300s", path, resp.StatusCode, body)
	}
	return body
}

// freshDatabase creates a database for a shape on the server dsn names and returns its URL and how to drop it.
func freshDatabase(dsn string, keep bool, shape string) (string, func()) {
	if dsn == "" {
		return "", func() {}
	}
	admin, err := gorm.Open(postgres.Open(dsn), &gorm.Config{})
	check(err)
	name := fmt.Sprintf("keyfob_bench_%s_%d", shape, time.Now().Unix())
	check(admin.Exec("CREATE DATABASE " + name).Error)
	u, err := url.Parse(dsn)
	check(err)
	u.Path = "/" + name
	return u.String(), func() {
		if keep {
			fmt.Fprintln(os.Stderr, "kept database", name)
			return
		}
		if err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)").Error; err != nil {
			fmt.Fprintln(os.Stderr, "drop:", err)
		}
	}
}
