package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// TestBrowserLinkWidgetReportsToOpener runs an app page that uses static/link.js in Chromium: it
// opens the widget in a popup with a link token, the owner walks Connect there, and the page's
// onSuccess receives the public_token by postMessage. A second run exits and gets onExit.
func TestBrowserLinkWidgetReportsToOpener(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := newTestServer(t)
	base := s.serveForBrowser(t)
	a := s.signup("link-dev@example.com", "Link Co")
	appID := s.createApp(a, "Link Demo")["id"].(string)
	var tokens []string
	var mu sync.Mutex
	appPage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/" || len(tokens) == 0 {
			http.NotFound(w, r)
			return
		}
		token := tokens[0]
		tokens = tokens[1:]
		fmt.Fprintf(w, `<!doctype html><title>app</title><script src="%s/static/link.js"></script>
<button id="go">Connect a car</button>
<script>
document.getElementById("go").onclick = () => KeyfobLink.open({ token: %q,
  onSuccess: (publicToken) => { document.title = "success:" + publicToken; },
  onError: (error) => { document.title = "error:" + error.type; },
  onExit: () => { document.title = "exit"; } });
</script>`, base, token)
	}))
	defer appPage.Close()
	s.apiJSON("POST", "/api/v1/apps/"+appID+"/redirect_uris", a.Token, map[string]string{"uri": appPage.URL + "/cb"}, 201)
	key := s.apiJSON("POST", "/api/v1/apps/"+appID+"/api_keys", a.Token, map[string]string{"name": "web", "environment": "test"}, 201)["key"].(string)
	user := s.apiJSON("POST", "/user", key, map[string]string{"client_user_id": "web-user"}, 201)["user_id"].(string)
	for i := 0; i < 2; i++ {
		tokens = append(tokens, s.apiJSON("POST", "/link/token", key, map[string]any{"user_id": user, "make": "KIA"}, 201)["link_token"].(string))
	}
	ctx := newBrowser(t)

	// Run 1: complete the flow in the popup.
	popup := openWidget(t, ctx, appPage.URL)
	err := chromedp.Do(popup, chromedp.WaitVisible("#c-email"), chromedp.SendKeys("#c-email", "driver@example.com"), chromedp.SendKeys("#c-password", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(popup, t, "link-popup-signin.png")
	for _, sel := range []string{".connect-button", ".connect-button"} {
		if _, err := chromedp.RunResponse(popup, chromedp.Click(sel)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(popup, chromedp.Click(`button[value="allow"]`)); err != nil {
		t.Fatal(err)
	}
	waitForJS(ctx, t, `document.title.startsWith("success:kf_code_") ? "ok" : document.title`, "ok")
	screenshot(ctx, t, "link-opener-success.png")

	// Run 2: leave through Exit.
	if err := chromedp.Do(ctx, chromedp.Navigate(appPage.URL)); err != nil {
		t.Fatal(err)
	}
	popup = openWidget(t, ctx, "")
	if _, err := chromedp.RunResponse(popup, chromedp.Click(`.connect-footer a`)); err != nil && !strings.Contains(err.Error(), "context canceled") {
		t.Logf("exit navigation: %v", err)
	}
	waitForJS(ctx, t, `document.title`, "exit")
}

// openWidget clicks the app page's button and returns a context driving the popup it opens.
func openWidget(t *testing.T, ctx context.Context, pageURL string) context.Context {
	t.Helper()
	created := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.OpenerID != "" })
	actions := []chromedp.Action[chromedp.Void]{}
	if pageURL != "" {
		actions = append(actions, chromedp.Navigate(pageURL))
	}
	actions = append(actions, chromedp.WaitVisible("#go"), chromedp.Click("#go"))
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-created:
		popup, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		t.Cleanup(cancel)
		return popup
	case <-time.After(15 * time.Second):
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`typeof window.KeyfobLink + " " + document.title + " " + location.href`))
		t.Fatalf("the widget popup never opened (page: %s)", state)
		return nil
	}
}
