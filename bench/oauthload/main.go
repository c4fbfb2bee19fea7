// Command oauthload measures the token exchange and the authorize endpoint under concurrent load,
// over real HTTP on loopback, against Keyfob's router on the database DATABASE_URL names (PostgreSQL
// for the figures in BENCHMARKS.md; empty uses a throwaway SQLite file).
//
//	go run ./bench/oauthload -db postgres://postgres@127.0.0.1:5432/keyfob_bench?sslmode=disable
//
// It issues the codes directly through models (Connect's pages are not what is measured), then
// fires POST /oauth/token with -c workers, and GET /oauth/authorize likewise, and prints throughput
// and latency percentiles. -bcrypt adds a bcrypt (cost 12) check of the client secret to every
// exchange, to compare with the SHA-256 lookup Keyfob uses.
package main

import (
	"encoding/base64"
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
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"keyfob/handlers"
	"keyfob/models"
)

func main() {
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "postgres:// URL (empty: a temporary SQLite file)")
	exchanges := flag.Int("n", 6000, "token exchanges to run")
	authorizes := flag.Int("authorize", 3000, "authorize requests to run")
	workers := flag.Int("c", 32, "concurrent clients")
	withBcrypt := flag.Bool("bcrypt", false, "also verify a bcrypt(cost 12) hash of the secret on every exchange")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and load) here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	sqlitePath := filepath.Join(os.TempDir(), fmt.Sprintf("oauthload-%d.db", time.Now().UnixNano()))
	db, err := models.Open(*dsn, sqlitePath)
	check(err)
	check(models.Migrate(db))
	user, org, err := models.CreateAccount(db, models.SignUp{Email: fmt.Sprintf("load-%d@example.com", time.Now().UnixNano()),
		Password: "load test password", Name: "Load", Organization: "Load"})
	check(err)
	name := "Load app"
	actor := models.Actor{ID: user.ID, Email: user.Email}
	app, secret, err := models.CreateApp(db, actor, org.ID, models.AppInput{Name: &name})
	check(err)
	redirect := "https://load.example.com/cb"
	_, err = models.AddRedirectURI(db, actor, org.ID, app.ID, redirect)
	check(err)

	h := handlers.New(db, handlers.Config{BaseURL: "http://127.0.0.1", SignupOpen: true, UploadsDir: os.TempDir()},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	server := h.App()
	if *withBcrypt {
		// The bcrypt comparison runs in the load generator's workers, on the same 2 cores, so it
		// costs what it would cost inside the server.
		bcryptHash, err = bcrypt.GenerateFromPassword([]byte(secret.Secret), 12)
		check(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go server.Listener(ln)
	base := "http://" + ln.Addr().String()

	vehicle := models.SimulatedVehicles("load-owner", "FORD")[0]
	check(models.EnsureVehicleStates(db, app.ID, "load-owner", []models.Vehicle{vehicle}))
	codes := make([]string, *exchanges)
	for i := range codes {
		codes[i], err = models.IssueCode(db, models.CodeGrant{AppID: app.ID, RedirectURI: redirect, Owner: "load-owner",
			Mode: "test", Vehicles: []string{vehicle.ID}, Scope: []string{"read_vehicle_info", "read_odometer"}})
		check(err)
	}
	accessTokens := make([]string, *exchanges)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers * 2}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(app.ID+":"+secret.Secret))
	exchange := func(i int) error {
		if bcryptHash != nil {
			if err := bcrypt.CompareHashAndPassword(bcryptHash, []byte(secret.Secret)); err != nil {
				return err
			}
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]}, "redirect_uri": {redirect}}
		req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("exchange: status %d %v", resp.StatusCode, err)
		}
		accessTokens[i] = body.AccessToken
		return nil
	}
	report("token exchange", run(*exchanges, *workers, exchange))

	odometer := func(i int) error {
		req, _ := http.NewRequest("GET", base+"/v2.0/vehicles/"+vehicle.ID+"/odometer", nil)
		req.Header.Set("Authorization", "Bearer "+accessTokens[i%len(accessTokens)])
		return expect(client.Do(req))(200)
	}
	report("vehicle odometer", run(*exchanges, *workers, odometer))

	authorizeURL := models.BuildConnectURL(base, models.AuthorizeParams{ResponseType: "code", ClientID: app.ID, RedirectURI: redirect,
		Scope: "read_vehicle_info", State: "s", Mode: "test", User: "load-owner"})
	authorize := func(int) error { return expect(client.Get(authorizeURL))(302) }
	report("authorize", run(*authorizes, *workers, authorize))
}

var bcryptHash []byte

func expect(resp *http.Response, err error) func(int) error {
	return func(status int) error {
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, status)
		}
		return nil
	}
}

type result struct {
	elapsed   time.Duration
	latencies []time.Duration
	failures  int64
}

// run calls do(0..n-1) from workers goroutines and records each call's latency.
func run(n, workers int, do func(int) error) result {
	var next, failures int64 = -1, 0
	latencies := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1))
				if i >= n {
					return
				}
				t := time.Now()
				if err := do(i); err != nil {
					if atomic.AddInt64(&failures, 1) == 1 {
						log.Printf("first failure: %v", err)
					}
				}
				latencies[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return result{elapsed: time.Since(start), latencies: latencies, failures: failures}
}

func report(name string, r result) {
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	pct := func(p float64) time.Duration { return r.latencies[int(float64(len(r.latencies)-1)*p)] }
	fmt.Printf("%-15s %6d requests in %6.2fs = %7.0f/s  p50 %6.2fms  p99 %6.2fms  max %6.2fms  failures %d\n",
		name, len(r.latencies), r.elapsed.Seconds(), float64(len(r.latencies))/r.elapsed.Seconds(),
		ms(pct(0.50)), ms(pct(0.99)), ms(r.latencies[len(r.latencies)-1]), r.failures)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
