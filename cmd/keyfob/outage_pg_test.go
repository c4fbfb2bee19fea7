package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file runs a throwaway PostgreSQL cluster for the outage test: its own data directory, port and
// socket directory, so stopping it never touches a shared server.

// throwawayPostgres is one private cluster.
type throwawayPostgres struct {
	bin, data, sockets, logFile string
	port                        int
	asPostgres                  bool // run the server binaries as the postgres OS user (PostgreSQL refuses root)
}

// postgresBinaries finds the newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl, or "".
func postgresBinaries() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode()&0o111 != 0
}

// startThrowawayPostgres initialises a cluster in a temp dir and starts it on a free port of 127.0.0.1;
// it is stopped and removed when the test ends. Without PostgreSQL's binaries the test is skipped,
// unless KEYFOB_REQUIRE_OUTAGE_TEST is set.
func startThrowawayPostgres(t *testing.T) *throwawayPostgres {
	t.Helper()
	bin := postgresBinaries()
	if bin == "" {
		if os.Getenv("KEYFOB_REQUIRE_OUTAGE_TEST") != "" {
			t.Fatal("KEYFOB_REQUIRE_OUTAGE_TEST is set but PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb, pg_ctl) are missing: apt-get install postgresql")
		}
		t.Skip("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb, pg_ctl) are missing: apt-get install postgresql to run the outage test")
	}
	dir := t.TempDir()
	pg := &throwawayPostgres{bin: bin, data: filepath.Join(dir, "data"), sockets: dir, logFile: filepath.Join(dir, "postgres.log"),
		port: freePort(t), asPostgres: os.Geteuid() == 0}
	if pg.asPostgres {
		pg.handOverToPostgres(t, dir)
	}
	pg.run(t, "initdb", "-D", pg.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	t.Cleanup(func() {
		// Immediate: the cluster is thrown away, whatever state the test left it in.
		pg.command("pg_ctl", "stop", "-D", pg.data, "-m", "immediate", "-w").Run()
	})
	pg.start(t)
	return pg
}

// handOverToPostgres makes dir the postgres user's, and lets it through the test's temp dirs above.
func (pg *throwawayPostgres) handOverToPostgres(t *testing.T, dir string) {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root, the cluster needs the postgres OS user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(dir); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, info.Mode().Perm()|0o011) // traverse only: nothing in them becomes readable
	}
}

// command is a PostgreSQL program run as the postgres OS user when the test runs as root.
func (pg *throwawayPostgres) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(pg.bin, name)
	if pg.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (pg *throwawayPostgres) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := pg.command(name, args...).CombinedOutput(); err != nil {
		logs, _ := os.ReadFile(pg.logFile)
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, logs)
	}
}

// start starts the server and waits until it accepts connections.
func (pg *throwawayPostgres) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.sockets)
	pg.run(t, "pg_ctl", "start", "-D", pg.data, "-l", pg.logFile, "-w", "-t", "30", "-o", opts)
}

// stop stops the server: "fast" ends sessions and rolls back their transactions, "immediate" is a
// crash (recovery replays the WAL at the next start).
func (pg *throwawayPostgres) stop(t *testing.T, mode string) {
	t.Helper()
	pg.run(t, "pg_ctl", "stop", "-D", pg.data, "-m", mode, "-w", "-t", "30")
}

// url is the connection URL of the cluster's postgres database.
func (pg *throwawayPostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
