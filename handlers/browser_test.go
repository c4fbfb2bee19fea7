package handlers

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium. Without it the browser tests skip, unless
// KEYFOB_REQUIRE_BROWSER is set (CI sets it after installing Chromium), when they fail.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("KEYFOB_REQUIRE_BROWSER") != "" {
		t.Fatal("Chromium is required (KEYFOB_REQUIRE_BROWSER is set) but not installed: apt-get install chromium")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// artifactsDir is where browser tests leave screenshots: $KEYFOB_TEST_ARTIFACTS or ./artifacts/browser.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("KEYFOB_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serveForBrowser runs the real router on a loopback port and returns its origin.
func (s *testServer) serveForBrowser(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.app.Listener(DrainingListener(ln))
	t.Cleanup(func() { s.app.Shutdown() })
	return "http://" + ln.Addr().String()
}

func newBrowser(t *testing.T) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1400, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// previewButtonColor is the computed background of the preview's primary button.
const previewButtonColor = `(() => {
	const doc = document.getElementById("preview").contentDocument;
	const button = doc && doc.querySelector(".connect-button");
	return button ? getComputedStyle(button).backgroundColor : "";
})()`

func waitForJS(ctx context.Context, t *testing.T, expr, want string) {
	t.Helper()
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		value, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if got = value; err == nil && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("f-button_color") ? document.getElementById("f-button_color").value + " | " + document.getElementById("preview").src + " | logo error: " + document.getElementById("logo-error").textContent + " | thumb: " + (document.getElementById("logo-thumb") || {}).src : location.href`))
	t.Fatalf("waited for %q, last value %q (page state: %s)", want, got, state)
}

// typeColor empties the colour field and types v key by key, as a designer would.
func typeColor(ctx context.Context, t *testing.T, v string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("f-button_color").value = ""`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys("#f-button_color", v)); err != nil {
		t.Fatal(err)
	}
}

func screenshot(ctx context.Context, t *testing.T, name string) {
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir(t), name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserLivePreviewAndPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := newTestServer(t)
	a := s.signup("designer@example.com", "Design Studio")
	appID := s.createApp(a, "Studio app")["id"].(string)
	base := s.serveForBrowser(t)
	ctx := newBrowser(t)

	logo := filepath.Join(t.TempDir(), "logo.png")
	img := image.NewNRGBA(image.Rect(0, 0, 300, 120))
	for x := 0; x < 300; x++ {
		for y := 0; y < 120; y++ {
			img.Set(x, y, color.NRGBA{uint8(x), 80, 200, 255})
		}
	}
	var raw bytes.Buffer
	png.Encode(&raw, img)
	os.WriteFile(logo, raw.Bytes(), 0o644)

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signin"),
		chromedp.SendKeys("#email", a.Email),
		chromedp.SendKeys("#password", a.Password),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit("#password")); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/apps/"+appID+"/branding"),
		chromedp.WaitVisible("#preview"),
		chromedp.SetValue("#preview-step", "signin"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("preview-step").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ typed, css, shot string }{
		{"#ff0000", "rgb(255, 0, 0)", "preview-hex.png"},
		{"rgb(0 128 0)", "rgb(0, 128, 0)", "preview-rgb.png"},
		{"hsl(240, 100%, 25%)", "rgb(0, 0, 128)", "preview-hsl.png"},
	} {
		typeColor(ctx, t, tc.typed)
		waitForJS(ctx, t, previewButtonColor, tc.css)
		screenshot(ctx, t, tc.shot)
	}
	// An invalid colour shows its error and the preview keeps the last valid colour.
	typeColor(ctx, t, "red;}")
	waitForJS(ctx, t, `document.getElementById("f-button_color-error").hidden ? "hidden" : "shown"`, "shown")
	waitForJS(ctx, t, previewButtonColor, "rgb(0, 0, 128)")
	typeColor(ctx, t, "hsl(240, 100%, 25%)")
	waitForJS(ctx, t, `document.getElementById("f-button_color-error").hidden ? "hidden" : "shown"`, "hidden")

	// A logo chosen in the file input appears in the preview without a reload.
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles("#f-logo", []string{logo})); err != nil {
		t.Fatal(err)
	}
	waitForJS(ctx, t, `(() => { const img = document.getElementById("preview").contentDocument.querySelector(".connect-logo");
		return img && img.complete && img.naturalWidth > 0 && img.src.includes("/logos/") ? "logo" : ""; })()`, "logo")
	screenshot(ctx, t, "preview-logo.png")

	// Save the draft and publish; Connect's published look now has the colour.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`button[name=op][value=save]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`#publish`)); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/connect/preview/"+appID+"?version=published&step=signin"),
		chromedp.WaitVisible(".connect-button"),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitForJS(ctx, t, `getComputedStyle(document.querySelector(".connect-button")).backgroundColor`, "rgb(0, 0, 128)")
	waitForJS(ctx, t, `document.querySelector(".connect-logo") ? "logo" : ""`, "logo")
	screenshot(ctx, t, "connect-published.png")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/apps/"+appID+"/branding"), chromedp.WaitVisible(".badge")); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(".badge"))
	if err != nil || !strings.Contains(flash, "draft is live") {
		t.Fatalf("after publishing, the draft is live: %q", flash)
	}
}
