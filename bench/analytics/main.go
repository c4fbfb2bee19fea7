// Command analytics measures analytics at scale: it loads session events into a fresh PostgreSQL
// database through POST /api/v1/events (real HTTP on loopback, batches of 1,000, -c clients), and
// after each size in -sizes times the dashboard's queries through the API: the 30-day funnel, the
// owners list (each sort) and one owner's timeline. Before timing it compacts the rollups and analyses
// the tables, as a running server's background job and autovacuum would.
//
//	go run ./bench/analytics -db postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// -db names the server; the benchmark creates keyfob_bench_<time> there and drops it at the end
// (-keep leaves it). An empty -db uses a throwaway SQLite file.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"keyfob/handlers"
	"keyfob/models"
)

type bench struct {
	base, token, key, appID string
	client                  *http.Client
	db                      *gorm.DB
}

func main() {
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "postgres:// URL of the server (empty: a temporary SQLite file)")
	sizes := flag.String("sizes", "100000,1000000,5000000", "event counts to measure at, ascending")
	workers := flag.Int("c", 4, "concurrent ingestion clients")
	owners := flag.Int("owners", 100000, "distinct vehicle owners")
	reps := flag.Int("reps", 40, "timed repetitions of each query")
	keep := flag.Bool("keep", false, "keep the benchmark database")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and load) here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	dbURL, drop := freshDatabase(*dsn, *keep)
	defer drop()
	b := start(dbURL)
	fmt.Printf("%-10s %-22s %-12s %s\n", "events", "ingestion", "query", "p50 / p95 / max (ms)")
	loaded, seed := 0, uint64(1)
	for _, field := range strings.Split(*sizes, ",") {
		target, err := strconv.Atoi(strings.TrimSpace(field))
		check(err)
		began, before := time.Now(), loaded
		for loaded < target {
			loaded += b.ingest(min(100_000, target-loaded), *owners, seed, *workers)
			seed++
			fmt.Fprintf(os.Stderr, "\r  loaded %d / %d events (%.0f events/s)   ", loaded, target, float64(loaded-before)/time.Since(began).Seconds())
		}
		fmt.Fprintln(os.Stderr)
		rate := fmt.Sprintf("%.0f events/s", float64(loaded-before)/time.Since(began).Seconds())
		b.settle()
		for _, q := range b.queries() {
			fmt.Printf("%-10d %-22s %-12s %s\n", loaded, rate, q.name, b.time(q.path, *reps))
			rate = ""
		}
	}
}

// settle does what a running server does in the background before the dashboard is read: the
// periodic job compacts the finished days' rollup shards, and PostgreSQL's autovacuum analyses the
// freshly loaded tables (without statistics the planner would not use the recency index).
func (b *bench) settle() {
	began := time.Now()
	removed, err := models.CompactRollups(b.db, time.Now().UTC().AddDate(0, 0, -1))
	check(err)
	if models.IsPostgres(b.db) {
		check(b.db.Exec("ANALYZE").Error)
	}
	fmt.Fprintf(os.Stderr, "  compacted %d rollup rows and analysed in %s\n", removed, time.Since(began).Round(time.Millisecond))
}

// ingest posts about n events of fresh generated sessions in batches of 1,000 over c clients and
// returns how many were accepted.
func (b *bench) ingest(n, owners int, seed uint64, c int) int {
	events, err := models.GenerateDemoEvents(models.DemoTraffic{Owners: owners, Sessions: n / 5, Days: 30, Seed: seed}, time.Now().UTC())
	check(err)
	events = events[:min(n, len(events))]
	batches := make(chan []models.EventInput)
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				got := b.post(batch)
				mu.Lock()
				accepted += got
				mu.Unlock()
			}
		}()
	}
	for chunk := range slices.Chunk(events, models.MaxEventBatch) {
		batches <- chunk
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

func (b *bench) post(batch []models.EventInput) int {
	body := struct {
		Events []eventJSON `json:"events"`
	}{}
	for _, e := range batch {
		body.Events = append(body.Events, eventJSON{e.ID, e.SessionID, e.Owner, e.Step, e.OccurredAt, e.Make, e.Error, e.Mode})
	}
	raw, err := json.Marshal(body)
	check(err)
	req, _ := http.NewRequest("POST", b.base+"/api/v1/events", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+b.key)
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

type query struct{ name, path string }

// queries are what the dashboard asks: the funnel of the last 30 days, the owners list in each sort,
// and the timeline of the busiest owner.
func (b *bench) queries() []query {
	app := "/api/v1/apps/" + b.appID + "/analytics"
	var top struct {
		Owners []struct{ Owner string } `json:"owners"`
	}
	check(json.Unmarshal(b.get(app+"/owners?sort=sessions&limit=1"), &top))
	owner := ""
	if len(top.Owners) > 0 {
		owner = top.Owners[0].Owner
	}
	return []query{
		{"funnel", app + "/funnel"},
		{"funnel+make", app + "/funnel?make=TESLA"},
		{"owners", app + "/owners"},
		{"owners/sess", app + "/owners?sort=sessions"},
		{"owners/find", app + "/owners?owner=" + url.QueryEscape("driver-0042")},
		{"timeline", app + "/owners/" + url.PathEscape(owner)},
	}
}

// time runs GET path reps times (after one warm-up) and gives the latency percentiles.
func (b *bench) time(path string, reps int) string {
	b.get(path)
	var took []time.Duration
	for range reps {
		began := time.Now()
		b.get(path)
		took = append(took, time.Since(began))
	}
	slices.Sort(took)
	pct := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	return fmt.Sprintf("%.2f / %.2f / %.2f", pct(0.5), pct(0.95), pct(1))
}

func (b *bench) get(path string) []byte {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	check(err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		log.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body
}

// start runs Keyfob's router on loopback against dbURL and makes an account, an app and a test key.
func start(dbURL string) *bench {
	sqlitePath := filepath.Join(os.TempDir(), fmt.Sprintf("analytics-bench-%d.db", time.Now().UnixNano()))
	db, err := models.Open(dbURL, sqlitePath)
	check(err)
	check(models.Migrate(db))
	user, org, err := models.CreateAccount(db, models.SignUp{Email: "bench@example.com", Password: "benchmark password",
		Name: "Bench", Organization: "Bench"})
	check(err)
	name := "Analytics bench"
	actor := models.Actor{ID: user.ID, Email: user.Email}
	app, _, err := models.CreateApp(db, actor, org.ID, models.AppInput{Name: &name})
	check(err)
	key, err := models.CreateAPIKey(db, actor, org.ID, app.ID, "bench", models.EnvTest)
	check(err)
	h := handlers.New(db, handlers.Config{BaseURL: "http://127.0.0.1", UploadsDir: os.TempDir()},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go h.App().Listener(ln)
	b := &bench{base: "http://" + ln.Addr().String(), key: key.Key, appID: app.ID, db: db,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Minute}}
	var login struct{ Token string }
	raw, _ := json.Marshal(map[string]string{"email": "bench@example.com", "password": "benchmark password"})
	resp, err := b.client.Post(b.base+"/api/v1/login", "application/json", bytes.NewReader(raw))
	check(err)
	check(json.NewDecoder(resp.Body).Decode(&login))
	resp.Body.Close()
	b.token = login.Token
	return b
}

// freshDatabase creates a new database on the server dsn names and returns its URL and how to drop it.
func freshDatabase(dsn string, keep bool) (string, func()) {
	if dsn == "" {
		return "", func() {}
	}
	admin, err := gorm.Open(postgres.Open(dsn), &gorm.Config{})
	check(err)
	name := fmt.Sprintf("keyfob_bench_%d", time.Now().Unix())
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

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
