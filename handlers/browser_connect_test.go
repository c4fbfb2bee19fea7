package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"keyfob/models"
)

// TestBrowserConnectOnPhone walks Connect as a vehicle owner on a phone-sized screen, from the
// app's link to its redirect URI, taking a screenshot of each step.
func TestBrowserConnectOnPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := newTestServer(t)
	a := s.signup("phone-dev@example.com", "Phone Co")
	created := s.createApp(a, "Charge Buddy")
	appID := created["id"].(string)

	received := make(chan url.Values, 1)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.URL.Query()
		w.Write([]byte("<!doctype html><title>App</title><h1>Back in the app</h1>"))
	}))
	defer callback.Close()
	redirect := callback.URL + "/callback"
	s.apiJSON("POST", "/api/v1/apps/"+appID+"/redirect_uris", a.Token, map[string]string{"uri": redirect}, 201)
	s.apiJSON("PUT", "/api/v1/apps/"+appID+"/branding/draft", a.Token, map[string]any{"button_color": "hsl(150, 80%, 30%)", "makes": []string{"TESLA", "FORD", "KIA"}}, 200)
	s.apiJSON("POST", "/api/v1/apps/"+appID+"/branding/publish", a.Token, nil, 200)

	base := s.serveForBrowser(t)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	link := models.BuildConnectURL(base, models.AuthorizeParams{ResponseType: "code", ClientID: appID, RedirectURI: redirect,
		Scope: "required:read_vehicle_info read_odometer", State: "phone-state", Mode: "test", User: "phone-owner"})

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		screenshot(ctx, t, "connect-phone-"+name+".png")
	}
	step("1-brand", chromedp.Navigate(link), chromedp.WaitVisible(".make-grid"))
	waitForJS(ctx, t, `getComputedStyle(document.querySelector(".connect-initial")).backgroundColor`, "rgb(15, 138, 77)")
	waitForJS(ctx, t, `[...document.querySelectorAll(".make-button")].map(b => b.value).join(",")`, "TESLA,FORD,KIA")
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`button[value="KIA"]`)); err != nil {
		t.Fatal(err)
	}
	step("2-signin", chromedp.WaitVisible("#c-email"), chromedp.SendKeys("#c-email", "driver@example.com"), chromedp.SendKeys("#c-password", "any password"))
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`.connect-button`)); err != nil {
		t.Fatal(err)
	}
	step("3-vehicles", chromedp.WaitVisible(".connect-vehicle"))
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`.connect-button`)); err != nil {
		t.Fatal(err)
	}
	step("4-permissions", chromedp.WaitVisible(".connect-permissions"))
	if err := chromedp.Do(ctx, chromedp.Click(`button[value="allow"]`)); err != nil {
		t.Fatal(err)
	}
	select {
	case q := <-received:
		if q.Get("state") != "phone-state" || !models.TokenWellFormed(q.Get("code"), models.PrefixCode) {
			t.Fatalf("the walk must end at the redirect URI with a code and the state: %v", q)
		}
	case <-time.After(15 * time.Second):
		loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		t.Fatalf("never reached the redirect URI; browser at %s", loc)
	}
	step("5-back-in-app", chromedp.WaitVisible("h1"))
	if loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`)); !strings.HasPrefix(loc, redirect+"?code=") {
		t.Fatalf("browser should be at the redirect URI, is at %s", loc)
	}
}
