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

// TestBrowserAnalyticsPages shows the Analytics tab, the Owners list and an owner's timeline in
// Chromium on a desktop and on a phone, checks what each page shows, and keeps screenshots.
func TestBrowserAnalyticsPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := newTestServer(t)
	a := s.signup("analytics-browser@example.com", "Fleet Analytics")
	appID := s.createApp(a, "Fleet Charging")["id"].(string)
	day0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	loadOwnerSessions(t, s.db, appID, append(ownersFixture(day0), extraOwners(day0, 12)...))
	base := s.serveForBrowser(t)
	ctx := newBrowser(t)
	err := chromedp.Do(ctx, chromedp.Navigate(base+"/signin"), chromedp.SendKeys("#email", a.Email), chromedp.SendKeys("#password", a.Password))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit("#password")); err != nil {
		t.Fatal(err)
	}

	query := "?" + url.Values{"from": {day0.Format(time.DateOnly)}, "to": {time.Now().UTC().Format(time.DateOnly)}}.Encode()
	owners := "/apps/" + appID + "/analytics/owners"
	pages := []struct{ name, path, ready, check, want string }{
		{"1-tab", "/apps/" + appID + "/analytics" + query, ".headlines",
			`document.querySelectorAll(".headline").length + " headlines, owners link: " + !!document.querySelector('main a[href^="` + owners + `?from="]')`,
			"4 headlines, owners link: true"},
		{"2-owners", owners + query, "table.owners",
			`document.querySelectorAll("table.owners tbody tr").length + " rows, sorted by " + document.querySelector('th[aria-sort="descending"]').textContent.trim()`,
			"17 rows, sorted by Last seen (UTC) ▼"},
		{"3-timeline", owners + "/" + ownerSegment(emailOwner) + query, ".timeline",
			`document.querySelectorAll(".timeline-session").length + " sessions; newest: " + [...document.querySelectorAll(".timeline-session:first-child .step")].map(e => e.textContent).join(" ")`,
			"3 sessions; newest: launched brand_selected signed_in vehicles_selected permissions_approved completed"},
	}
	for _, screen := range []struct {
		name  string
		width int64
		opts  []chromedp.EmulateViewportOption
	}{{"desktop", 1280, nil}, {"phone", 390, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch}}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(screen.width, 844, screen.opts...)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.ready)); err != nil {
				t.Fatalf("%s %s: %v", screen.name, p.name, err)
			}
			waitForJS(ctx, t, p.check, p.want)
			fits(ctx, t, screen.name, screen.width)
			screenshot(ctx, t, "analytics-"+screen.name+"-"+p.name+".png")
		}
	}
	searchByKeyboard(ctx, t, base+owners+query)
}

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
	waitForJS(ctx, t, `[...document.querySelectorAll(".step")].map(e => e.textContent).join(" ")`, "launched brand_selected completed")
	screenshot(ctx, t, "analytics-phone-4-timeline-by-keyboard.png")
}
