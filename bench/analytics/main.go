// Command analytics measures analytics on several data shapes at growing sizes. For each shape it
// starts Keyfob's router on loopback against a fresh database, loads generated Connect sessions
// through POST /api/v1/events (real HTTP, batches of 1,000, -c clients), and after each size in
// -sizes times the dashboard's reads (funnel, owners in each order, first and last page, search,
// the busiest owner's timeline, the organisation overview, a CSV export of up to 10,000 owners). Before
// timing it compacts the rollups and analyses the tables, as a running server's background job and
// autovacuum would. It prints one table per shape, each cell against its goal: p95 under 50 ms at the
// largest size and at most twice its p95 at the smallest.
//
//	go run ./bench/analytics -db postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// Shapes (-shapes, comma-separated): many (many owners, few sessions each), few (50 owners, many
// sessions each), whale (one owner with 20% of the sessions), pastweek (every event in one week
// five weeks ago, read for that week and for the last 30 days), apps (50 apps in one organisation),
// year (a 365-day range). -db names the PostgreSQL server; each shape gets its own database there,
// dropped at the end (-keep leaves them). An empty -db uses throwaway SQLite files.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

func main() {
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "postgres:// URL of the server (empty: temporary SQLite files)")
	sizes := flag.String("sizes", "100000,1000000,5000000", "event counts to measure at, ascending")
	shapes := flag.String("shapes", "many,few,whale,pastweek,apps,year", "data shapes to measure")
	workers := flag.Int("c", 4, "concurrent ingestion clients")
	reps := flag.Int("reps", 30, "timed repetitions of each read")
	keep := flag.Bool("keep", false, "keep the benchmark databases")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and load) here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	var targets []int
	for _, field := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		check(err)
		targets = append(targets, n)
	}
	began := time.Now()
	for _, name := range strings.Split(*shapes, ",") {
		sh, ok := shapeNamed(strings.TrimSpace(name))
		if !ok {
			log.Fatalf("unknown shape %q", name)
		}
		results := runShape(sh, *dsn, *keep, targets, *workers, *reps)
		printShape(sh, results, targets)
	}
	fmt.Fprintf(os.Stderr, "matrix done in %s\n", time.Since(began).Round(time.Second))
}

// runShape loads sh to each size in a fresh database and times its reads there.
func runShape(sh shape, dsn string, keep bool, targets []int, workers, reps int) map[int][]timing {
	dbURL, drop := freshDatabase(dsn, keep, sh.name)
	defer drop()
	b := start(dbURL, sh.apps)
	results := map[int][]timing{}
	loaded, seed := 0, uint64(1)
	for _, target := range targets {
		began, before := time.Now(), loaded
		for loaded < target {
			loaded += b.ingest(sh, min(100_000, target-loaded), seed, workers)
			seed++
			fmt.Fprintf(os.Stderr, "\r  %s: loaded %d / %d events (%.0f events/s)   ", sh.name, loaded, target,
				float64(loaded-before)/time.Since(began).Seconds())
		}
		fmt.Fprintln(os.Stderr)
		rate := float64(loaded-before) / time.Since(began).Seconds()
		b.settle()
		results[target] = append([]timing{{cell: "ingestion", rate: rate}}, b.timeCells(sh, reps)...)
	}
	return results
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
