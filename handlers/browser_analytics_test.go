package handlers

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"keyfob/models"
)

// extraOwners are n more owners a minute apart on day0, so that the owners table looks like a real one.
func extraOwners(day0 time.Time, n int) []ownerSession {
	outcomes := [][]string{connectedSteps, {"launched", "brand_selected/TESLA", "error/TESLA/vehicle_incompatible"},
		{"launched", "brand_selected/FORD"}, {"launched", "exited//" + exitedReason}}
	out := make([]ownerSession, n)
	for i := range out {
		out[i] = ownerSession{id: fmt.Sprintf("d%02d", i), owner: fmt.Sprintf("driver-%02d@fleet.example", i),
			start: day0.Add(6*time.Hour + time.Duration(i)*time.Minute), steps: outcomes[i%len(outcomes)]}
	}
	return out
}

// pageFits reports whether the page itself scrolls sideways (a table may, inside its own region).
const pageFits = `(() => { const d = document.documentElement;
	return d.scrollWidth <= d.clientWidth ? "fits " + d.clientWidth : "overflows: " + d.scrollWidth + " > " + d.clientWidth; })()`

// TestBrowserAnalyticsPages shows the Analytics tab (on two months of demo traffic), the Owners
// list, an owner's timeline and the organisation overview in Chromium on a desktop (1440×900) and on a
// phone (390×844), checks what each page shows, that no page scrolls sideways and that every table
// stays inside its card, and keeps screenshots.
func TestBrowserAnalyticsPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := newTestServer(t)
	a := s.signup("analytics-browser@example.com", "Fleet Analytics")
	appID := s.createApp(a, "Fleet Charging")["id"].(string)
	day0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	loadOwnerSessions(t, s.db, appID, append(ownersFixture(day0), extraOwners(day0, 12)...))
	demoID := s.createApp(a, "Demo traffic")["id"].(string)
	events, err := models.GenerateDemoEvents(models.DemoTraffic{Owners: 800, Sessions: 1800, Days: 60, Growth: 1.5, Seed: 1}, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	if err := models.IngestDemoEvents(s.db, demoID, events, nil); err != nil {
		t.Fatal(err)
	}
	base := s.serveForBrowser(t)
	ctx := newBrowser(t)
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/signin"), chromedp.SendKeys("#email", a.Email), chromedp.SendKeys("#password", a.Password))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit("#password")); err != nil {
		t.Fatal(err)
	}

	query := "?" + url.Values{"from": {day0.Format(time.DateOnly)}, "to": {time.Now().UTC().Format(time.DateOnly)}}.Encode()
	owners := "/apps/" + appID + "/analytics/owners"
	pages := []struct{ name, path, ready, check, want string }{
		{"1-tab", "/apps/" + demoID + "/analytics", ".headlines",
			`document.querySelectorAll(".headline").length + " headlines, " + document.querySelectorAll(".headline .change.good, .headline .change.bad, .headline .change.flat").length + " compared; funnel: " + funnelShown()`,
			"8 headlines, 8 compared; funnel: 6 steps with bars and drop-off"},
		{"2-owners", owners + query, "table.owners",
			`document.querySelectorAll("table.owners tbody tr").length + " rows, sorted by " + document.querySelector('th[aria-sort="descending"]').textContent.trim() + "; " + document.querySelector("#owners-caption strong").textContent`,
			"17 rows, sorted by Last seen (UTC) ▼; 1–17 of 17 owners"},
		{"3-timeline", owners + "/" + ownerSegment(emailOwner) + query, ".timeline",
			`document.querySelectorAll(".timeline-session").length + " sessions; newest: " + [...document.querySelectorAll(".timeline-session:first-child .step")].map(e => e.textContent).join(", ")`,
			"3 sessions; newest: Launched, Brand selected, Signed in, Vehicles selected, Permissions approved, Completed"},
		{"4-overview", "/analytics", "table.overview", `overviewShown()`, "2 apps, conversion and median shown"},
	}
	for _, screen := range []struct {
		name          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{{"desktop", 1440, 900, nil}, {"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch}}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(screen.width, screen.height, screen.opts...)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.ready)); err != nil {
				t.Fatalf("%s %s: %v", screen.name, p.name, err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](analyticsProbes)); err != nil {
				t.Fatal(err)
			}
			waitForJS(ctx, t, p.check, p.want)
			fits(ctx, t, screen.name, screen.width)
			waitForJS(ctx, t, `tablesInCards()`, "every table inside its card")
			screenshot(ctx, t, "analytics-"+screen.name+"-"+p.name+".png")
		}
	}
	searchByKeyboard(ctx, t, base+owners+query)
}

// analyticsProbes are the page checks, defined in the page: what the funnel shows (a bar of some width
// and a drop-off inside the viewport on every step), what the overview shows (each app's conversion and
// median inside the viewport), and whether any table's box reaches past its card.
const analyticsProbes = `(() => {
	// Seen without scrolling: inside the viewport and inside the box that would scroll it.
	const inView = el => {
		const r = el.getBoundingClientRect(), box = (el.closest(".table-scroll") || document.documentElement).getBoundingClientRect();
		return r.width > 0 && r.left >= Math.max(0, box.left) - 1 && r.right <= Math.min(document.documentElement.clientWidth, box.right) + 1;
	};
	window.funnelShown = () => {
		const rows = [...document.querySelectorAll("table.funnel tbody tr")];
		// The first step has no drop-off (the phone hides its empty cell).
		const ok = rows.filter((r, i) => r.querySelector("svg").getBoundingClientRect().width >= 30 && inView(r.cells[2]) &&
			(i === 0 || inView(r.cells[r.cells.length - 1]) && /%$/.test(r.cells[r.cells.length - 1].textContent.trim())));
		return ok.length + " steps with bars and drop-off";
	};
	window.overviewShown = () => {
		const rows = [...document.querySelectorAll("table.overview tbody tr")];
		const head = [...document.querySelectorAll("table.overview thead th")].map(th => th.textContent.trim());
		const conv = head.indexOf("Conversion"), median = head.indexOf("Median time to connect");
		const ok = rows.filter(r => inView(r.children[conv]) && inView(r.children[median]) && /%$/.test(r.children[conv].textContent.trim()));
		return ok.length + " apps, conversion and median shown";
	};
	window.tablesInCards = () => {
		const bad = [...document.querySelectorAll("main table")].filter(t => {
			const box = (t.closest(".table-scroll") || t).getBoundingClientRect(), card = (t.closest(".card") || document.querySelector("main")).getBoundingClientRect();
			return box.left < card.left - 1 || box.right > card.right + 1;
		});
		return bad.length ? bad.length + " tables reach past their card: " + bad.map(t => t.className).join(", ") : "every table inside its card";
	};
	return true;
})()`

// fits fails when the page scrolls sideways; on the phone the layout must also be the phone's width
// (a page too wide for a phone is zoomed out instead, which widens the layout viewport).
func fits(ctx context.Context, t *testing.T, screen string, width int64) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageFits))
	if err != nil || !strings.HasPrefix(got, "fits") || (screen == "phone" && got != fmt.Sprintf("fits %d", width)) {
		loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		t.Fatalf("%s: %s on the %s (%v)", loc, got, screen, err)
	}
}

// searchByKeyboard types a search and follows an owner link with the keyboard alone (still on the phone).
func searchByKeyboard(ctx context.Context, t *testing.T, ownersURL string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(ownersURL), chromedp.WaitVisible("#o-q")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.SendKeys("#o-q", "fleet/7"+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitForJS(ctx, t, `[...document.querySelectorAll("table.owners tbody th")].map(e => e.textContent).join("|")`, slashOwner)
	if _, err := chromedp.RunResponse(ctx, chromedp.SendKeys(".owner-id a", kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitForJS(ctx, t, `document.querySelector("h2 .owner-id") ? document.querySelector("h2 .owner-id").textContent : ""`, slashOwner)
	waitForJS(ctx, t, `[...document.querySelectorAll(".step")].map(e => e.textContent).join(", ")`, "Launched, Brand selected, Completed")
	screenshot(ctx, t, "analytics-phone-4-timeline-by-keyboard.png")
}
