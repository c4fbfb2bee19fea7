package handlers

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// TestRouteFuzz sends every route of the real router (enumerated from it, so a new route is covered
// without being listed) malformed input as every kind of caller, and fails on any 5xx, any panic in
// the log and any answer slower than a second (issue 10's guard). The mutations are drawn from a
// seeded generator: KEYFOB_FUZZ_SEED replays another draw, KEYFOB_FUZZ_VERBOSE=1 logs each route's
// statuses (to see how deep the cases reach).
func TestRouteFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("the route fuzz test sends a few thousand requests")
	}
	w := newFuzzWorld(t)
	seed := uint64(10)
	if v, err := strconv.ParseUint(os.Getenv("KEYFOB_FUZZ_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	routes := fuzzRoutes(w.s.app)
	failures := map[string]string{} // one example per route and kind of failure
	start, sent := time.Now(), 0
	for _, r := range routes {
		statuses := w.fuzzRoute(r, rng, failures)
		for _, n := range statuses {
			sent += n
		}
		if r.Path == "/orgs" || r.Path == "/orgs/switch" {
			w.backToTheOrg()
		}
		if os.Getenv("KEYFOB_FUZZ_VERBOSE") != "" {
			t.Logf("%s %s: %v", r.Method, r.Path, statuses)
		}
	}
	for _, path := range unroutedPaths {
		resp, body, err := w.send(fiber.Route{Method: "GET", Path: path}, w.anonymous, fuzzCase{what: "unrouted"})
		if err != nil || resp.StatusCode >= 500 {
			failures["GET "+path] = fmt.Sprintf("GET %.80s: %v %v %.200s", path, err, resp, body)
		}
	}
	t.Logf("%d requests on %d routes in %v (seed %d)", sent, len(routes), time.Since(start).Round(time.Millisecond), seed)
	for _, key := range sortedKeys(failures) {
		t.Errorf("%s", failures[key])
	}
	if log := w.log.String(); strings.Contains(log, "msg=panic") {
		t.Errorf("a handler panicked: %.1500s", log[strings.Index(log, "msg=panic"):])
	}
}

// fuzzRoute sends a route its cases as each of its callers, notes the first failure of each kind in
// failures and returns how often each status came back.
func (w *fuzzWorld) fuzzRoute(r fiber.Route, rng *rand.Rand, failures map[string]string) map[int]int {
	statuses := map[int]int{}
	fail := func(kind, detail string) {
		if key := r.Method + " " + r.Path + " " + kind; failures[key] == "" {
			failures[key] = detail
		}
	}
	callers := w.callersFor(r.Path)
	for i, caller := range callers {
		for _, fc := range w.cases(r, rng, i == len(callers)-1) {
			resp, body, took, limit, err := w.timedSend(r, caller, fc)
			where := fmt.Sprintf("%s %s as %s, %s", r.Method, r.Path, caller.name, fc.what)
			switch {
			case err != nil:
				fail("error", where+": "+err.Error())
				statuses[0]++
				continue
			case resp.StatusCode >= 500:
				fail(strconv.Itoa(resp.StatusCode), fmt.Sprintf("%s: status %d: %.300s", where, resp.StatusCode, body))
			case took > limit:
				fail("slow", fmt.Sprintf("%s: took %v, over %v three times", where, took, limit))
			}
			statuses[resp.StatusCode]++
		}
	}
	return statuses
}

// timedSend sends a case and times it against slowLimit. A slow answer is sent again, up to three
// times in all, and counts only if it is slow every time: the limit is about the server's work (a
// handler that is slow on some input is slow each time), not about a machine busy for a moment.
func (w *fuzzWorld) timedSend(r fiber.Route, c fuzzCaller, fc fuzzCase) (*http.Response, string, time.Duration, time.Duration, error) {
	for try := 1; ; try++ {
		began := time.Now()
		resp, body, err := w.send(r, c, fc)
		took, limit := time.Since(began), time.Second
		if took > limit {
			limit = slowLimit()
		}
		if try == 3 || err != nil || resp.StatusCode >= 500 || took <= limit {
			return resp, body, took, limit, err
		}
	}
}

// slowLimit is one second on a machine with a core to spare, and proportionally more when the load
// average says every core is shared (CI runners and developer machines run other builds): a password
// hash (argon2id, 64 MiB) takes ~70 ms alone but over a second at a load of 6 per core.
func slowLimit() time.Duration {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return time.Second
	}
	load, err := strconv.ParseFloat(strings.Fields(string(raw) + " x")[0], 64)
	if err != nil {
		return time.Second
	}
	return time.Duration(max(1, load/float64(runtime.NumCPU())) * float64(time.Second))
}

// unroutedPaths are requests no route takes: the static files mount, the final 404s, and a request
// line over the server's read buffer (431 before any routing).
var unroutedPaths = []string{"/static/css/console.css", "/static/%00", "/static/..%2f..%2fgo.mod", "/static/%FF",
	"/no/such/page%FF", "/api/v1/nope", "/api/v1/%00", "/v2.0/nope", "/connect/%00/nope",
	"/apps?q=" + strings.Repeat("q", 10_000), "/api/v1/apps/" + strings.Repeat("a", 10_000)}

// fuzzRoutes is every route of the router in a safe order: routes that end something (sign-out,
// deletes, revocations, the Connect exit) after the ones that need it. Nothing is skipped; HEAD
// routes, which Fiber adds for every GET, get the same cases through the same handlers.
func fuzzRoutes(app *fiber.App) []fiber.Route {
	routes := app.GetRoutes(true)
	slices.SortStableFunc(routes, func(a, b fiber.Route) int { return destructiveRank(a) - destructiveRank(b) })
	return routes
}

func destructiveRank(r fiber.Route) int {
	p := r.Path
	switch {
	case strings.HasSuffix(p, "/signout"), strings.HasSuffix(p, "/logout"):
		return 4
	case p == "/account/password":
		return 3
	case r.Method == fiber.MethodDelete && p == "/api/v1/apps/:app", p == "/apps/:app/delete":
		return 2
	case r.Method == fiber.MethodDelete, strings.HasSuffix(p, "/remove"), strings.HasSuffix(p, "/revoke"),
		strings.HasSuffix(p, "/delete"), strings.HasSuffix(p, "/exit"):
		return 1
	}
	return 0
}

// realParams are the route's parameters filled with real ids; /v2.0's :vehicle is the grant's.
func (w *fuzzWorld) realParams(path string) map[string]string {
	out := map[string]string{}
	for _, m := range routeParamName.FindAllStringSubmatch(path, -1) {
		out[m[1]] = url.PathEscape(w.params[m[1]])
	}
	if strings.HasPrefix(path, "/v2.0/") {
		out["vehicle"] = w.vehicleV2
	}
	return out
}

// cases are the requests one caller sends to one route: the well-formed request, then mutations.
// The most privileged caller gets every kind of mutation; the others the well-formed one and three.
func (w *fuzzWorld) cases(r fiber.Route, rng *rand.Rand, full bool) []fuzzCase {
	real := w.realParams(r.Path)
	fill := strings.NewReplacer("{org}", w.params["org"], "{app}", w.params["app"], "{user}", w.params["user"])
	tmpl := templateFor(r, fill)
	withBody := r.Method != fiber.MethodGet && r.Method != fiber.MethodHead
	upload := withBody && strings.HasSuffix(r.Path, "/branding/logo")
	var out []fuzzCase
	add := func(what string, edit func(*fuzzCase)) {
		c := fuzzCase{what: what, params: real}
		if withBody {
			c.contentType, c.body = tmpl.encode(upload)
		} else if tmpl.query != "" {
			c.query = tmpl.query
		}
		if edit != nil {
			edit(&c)
		}
		out = append(out, c)
	}
	add("well-formed", nil)
	for _, p := range sortedKeys(real) {
		v := pick(rng, hostilePathValues)
		add(":"+p+" = "+v, func(c *fuzzCase) { c.params = with(real, p, v) })
	}
	q := hostileQuery(rng, 3)
	add("query "+shorten(q), func(c *fuzzCase) { c.query = q })
	if tmpl.query != "" { // a well-formed query with one parameter made hostile
		q := tmpl.withHostileParam(rng)
		add("query "+shorten(q), func(c *fuzzCase) { c.query = q })
	}
	nums := "from=" + pick(rng, hostileQueryValues) + "&to=" + pick(rng, hostileQueryValues) + "&limit=" + pick(rng, hostileQueryValues) +
		"&offset=" + pick(rng, hostileQueryValues) + "&cursor=" + pick(rng, hostileQueryValues)
	add("query "+shorten(nums), func(c *fuzzCase) { c.query = nums })
	auth := pick(rng, hostileCredentials)
	add("Authorization: "+quoted(auth), func(c *fuzzCase) { c.auth = auth })
	if withBody {
		out = append(out, tmpl.mutations(rng, real, upload)...)
	}
	if full || len(out) <= 4 {
		return out
	}
	rest := out[1:]
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return append(out[:1], rest[:3]...)
}

func with(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m))
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
