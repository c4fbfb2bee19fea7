package handlers

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"keyfob/models"
)

var (
	hiddenMakePattern = regexp.MustCompile(`<input type="hidden" name="makes" value="([^"]*)">`)
	colorInputPattern = regexp.MustCompile(`id="f-button_color" name="button_color" type="text" value="([^"]*)"`)
	colorErrorPattern = regexp.MustCompile(`id="f-button_color-error"\s*>([^<]*)</p>`)
	makeButtonPattern = regexp.MustCompile(`name="make" value="([^"]*)"`)
)

// consoleIn signs a in and switches the console to a's organisation.
func consoleIn(s *testServer, a account) *browser {
	s.t.Helper()
	b := s.signedIn(a)
	resp, body := b.post("/orgs/switch", url.Values{"org_id": {a.OrgID}})
	wantStatus(s.t, resp, body, http.StatusSeeOther)
	return b
}

// submitBranding reads the branding form as a browser without JavaScript would (the typed colour
// and the hidden make list), applies the button op and posts it.
func submitBranding(t *testing.T, b *browser, appID, op, addMake string, accountSelect bool) (*http.Response, string) {
	t.Helper()
	resp, page := b.get("/apps/" + appID + "/branding")
	wantStatus(t, resp, page, 200)
	form := url.Values{"op": {op}}
	if m := colorInputPattern.FindStringSubmatch(page); m != nil {
		form.Set("button_color", html.UnescapeString(m[1]))
	}
	for _, m := range hiddenMakePattern.FindAllStringSubmatch(page, -1) {
		form.Add("makes", m[1])
	}
	if addMake != "" {
		form.Set("add_make", addMake)
	}
	if accountSelect {
		form.Set("account_select", "on")
	}
	return b.post("/apps/"+appID+"/branding", form)
}

func TestBrandingConsolePageAndInvalidColour(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("console@example.com", "Console Co")
	appID := s.createApp(a, "Console app")["id"].(string)
	b := s.signedIn(a)

	resp, page := b.get("/apps/" + appID + "/branding")
	wantStatus(t, resp, page, 200)
	for _, want := range []string{`id="branding-form"`, `<iframe id="preview"`, `src="/connect/preview/` + appID + `?step=brand"`,
		`value="#0b5cad"`, `id="f-logo"`, `id="publish"`, "Nothing published yet"} {
		if !strings.Contains(page, want) {
			t.Fatalf("branding page lacks %q", want)
		}
	}

	resp, body := b.post("/apps/"+appID+"/branding", url.Values{"button_color": {"rgb(51, 102, 153)"}, "op": {"save"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/apps/"+appID+"/branding" {
		t.Fatalf("redirect to %q", loc)
	}
	_, page = b.get("/apps/" + appID + "/branding")
	if !strings.Contains(page, `value="rgb(51, 102, 153)"`) || !strings.Contains(page, `<code id="normalized">#336699</code>`) || !strings.Contains(page, "Draft saved") {
		t.Fatalf("saved colour shown as typed and normalised, with a flash: %.2000s", page)
	}
	saved, audits := storedDraft(t, s, a.OrgID, appID), auditCount(t, s.db, a.OrgID)
	if saved.ButtonColor != "#336699" || saved.ButtonColorInput != "rgb(51, 102, 153)" {
		t.Fatalf("stored %+v", saved)
	}

	for _, bad := range []string{"red;background:url(//evil)", `#fff"><script>alert(1)</script>`, "rgb(0,0,0)}body{x}"} {
		resp, page := b.post("/apps/"+appID+"/branding", url.Values{"button_color": {bad}, "op": {"add"}, "add_make": {"TESLA"}, "account_select": {"on"}})
		wantStatus(t, resp, page, http.StatusUnprocessableEntity)
		m := colorInputPattern.FindStringSubmatch(page)
		if m == nil || html.UnescapeString(m[1]) != bad {
			t.Fatalf("the field must keep the typed text %q: %v", bad, m)
		}
		if e := colorErrorPattern.FindStringSubmatch(page); e == nil || !strings.Contains(e[1], "Use HEX") {
			t.Fatalf("the error is shown beside the field: %v", e)
		}
		if !strings.Contains(page, `aria-invalid="true"`) || strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, `<code id="normalized">#336699</code>`) {
			t.Fatal("invalid input is marked, escaped, and the last valid colour stays shown")
		}
		if d := storedDraft(t, s, a.OrgID, appID); !reflect.DeepEqual(d, saved) || auditCount(t, s.db, a.OrgID) != audits {
			t.Fatalf("an invalid form changed the draft: %+v", d)
		}
	}
}

func TestBrandingConsoleMakeListWithoutJavaScript(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("makes@example.com", "Makes Co")
	appID := s.createApp(a, "Makes app")["id"].(string)
	b := s.signedIn(a)
	_, page := b.get("/apps/" + appID + "/branding")
	if !strings.Contains(page, `id="all-makes"`) || hiddenMakePattern.MatchString(page) {
		t.Fatal("a new draft shows every brand and has no chosen list")
	}
	for _, step := range []struct {
		op, add string
		want    []string
	}{
		{"add", "TESLA", []string{"TESLA"}},
		{"add", "FORD", []string{"TESLA", "FORD"}},
		{"add", "FORD", []string{"TESLA", "FORD"}},
		{"up:FORD", "", []string{"FORD", "TESLA"}},
		{"up:FORD", "", []string{"FORD", "TESLA"}},
		{"down:FORD", "", []string{"TESLA", "FORD"}},
		{"up:FORD", "", []string{"FORD", "TESLA"}},
		{"add", "BMW", []string{"FORD", "TESLA", "BMW"}},
		{"remove:TESLA", "", []string{"FORD", "BMW"}},
		{"clear", "", []string{}},
	} {
		resp, body := submitBranding(t, b, appID, step.op, step.add, false)
		wantStatus(t, resp, body, http.StatusSeeOther)
		if d := storedDraft(t, s, a.OrgID, appID); !reflect.DeepEqual(d.Makes, step.want) {
			t.Fatalf("after %s %s: draft makes %v, want %v", step.op, step.add, d.Makes, step.want)
		}
		_, page := b.get("/apps/" + appID + "/branding")
		var shown []string
		for _, m := range hiddenMakePattern.FindAllStringSubmatch(page, -1) {
			shown = append(shown, m[1])
			if strings.Contains(page, `<option value="`+m[1]+`">`) {
				t.Fatalf("%s is chosen and still offered to add", m[1])
			}
		}
		if strings.Join(shown, ",") != strings.Join(step.want, ",") {
			t.Fatalf("after %s: page lists %v, want %v", step.op, shown, step.want)
		}
	}
	if d := storedDraft(t, s, a.OrgID, appID); d.ButtonColor != models.DefaultBranding.ButtonColor {
		t.Fatalf("make edits kept the colour: %+v", d)
	}
}

func TestBrandingConsoleAccountSelect(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("account@example.com", "Account Co")
	appID := s.createApp(a, "Account app")["id"].(string)
	b := s.signedIn(a)
	for _, on := range []bool{true, false, true} {
		resp, body := submitBranding(t, b, appID, "save", "", on)
		wantStatus(t, resp, body, http.StatusSeeOther)
		if d := storedDraft(t, s, a.OrgID, appID); d.AccountSelect != on {
			t.Fatalf("account_select %v, want %v", d.AccountSelect, on)
		}
		_, page := b.get("/apps/" + appID + "/branding")
		if strings.Contains(page, `id="f-account_select" checked`) != on {
			t.Fatalf("the checkbox must show %v", on)
		}
	}
}

func TestBrandingConsolePublishRestoreRollback(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("publish@example.com", "Publish Co")
	appID := s.createApp(a, "Publish app")["id"].(string)
	b := s.signedIn(a)
	save := func(color string) {
		t.Helper()
		resp, body := b.post("/apps/"+appID+"/branding", url.Values{"button_color": {color}, "op": {"save"}})
		wantStatus(t, resp, body, http.StatusSeeOther)
	}
	publish := func() {
		t.Helper()
		resp, body := b.post("/apps/"+appID+"/branding/publish", nil)
		wantStatus(t, resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/apps/"+appID+"/branding" {
			t.Fatalf("redirect to %q", loc)
		}
	}
	versions := func() []models.BrandingVersion {
		t.Helper()
		vs, err := models.ListVersions(s.db, a.OrgID, appID)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}

	save("#ff0000")
	publish()
	if vs := versions(); len(vs) != 1 || vs[0].Version != 1 || vs[0].ButtonColor != "#FF0000" || vs[0].PublishedByEmail != a.Email {
		t.Fatalf("version 1: %+v", vs)
	}
	_, page := b.get("/apps/" + appID + "/branding")
	if !strings.Contains(page, "Published version 1") || !strings.Contains(page, "draft is live") {
		t.Fatal("after publishing, the page says so and the draft is live")
	}
	save("#0000ff")
	if _, page = b.get("/apps/" + appID + "/branding"); !strings.Contains(page, "draft has unpublished changes") {
		t.Fatal("an edited draft is marked unpublished")
	}
	publish()
	save("#00ff00")

	resp, body := b.post("/apps/"+appID+"/branding/versions/1/restore", url.Values{"op": {"restore"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if d := storedDraft(t, s, a.OrgID, appID); d.ButtonColor != "#FF0000" || len(versions()) != 2 {
		t.Fatalf("restore copies version 1 into the draft without publishing: %+v, %d versions", d, len(versions()))
	}
	if live, _ := models.ConnectBranding(s.db, appID); live.ButtonColor != "#0000FF" {
		t.Fatalf("Connect still shows version 2: %+v", live)
	}

	save("#00ff00")
	resp, body = b.post("/apps/"+appID+"/branding/versions/1/restore", url.Values{"op": {"rollback"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	vs := versions()
	if len(vs) != 3 || vs[0].Version != 3 || !vs[0].SameAs(vs[2].Branding) || vs[0].ButtonColor != "#FF0000" {
		t.Fatalf("rollback publishes version 1 again as version 3: %+v", vs)
	}
	if live, _ := models.ConnectBranding(s.db, appID); live.ButtonColor != "#FF0000" || storedDraft(t, s, a.OrgID, appID).ButtonColor != "#FF0000" {
		t.Fatal("after a rollback Connect and the draft show version 1")
	}
	if _, page = b.get("/apps/" + appID + "/branding"); !strings.Contains(page, "is live again as version 3") {
		t.Fatal("the rollback is confirmed")
	}
	for _, v := range []string{"9", "x"} {
		resp, body = b.post("/apps/"+appID+"/branding/versions/"+v+"/restore", url.Values{"op": {"restore"}})
		wantStatus(t, resp, body, http.StatusNotFound)
	}
	if len(versions()) != 3 || storedDraft(t, s, a.OrgID, appID).ButtonColor != "#FF0000" {
		t.Fatal("a missing version changed nothing")
	}
}

func TestBrandingConsoleRolesAndCSRF(t *testing.T) {
	s := newTestServer(t)
	owner := s.signup("owner@example.com", "Roles Co")
	appID := s.createApp(owner, "Roles app")["id"].(string)
	s.apiJSON("POST", brandingAPI(appID, "/publish"), owner.Token, nil, 200)
	skip := volatile
	form := func() url.Values { return url.Values{"button_color": {"#ff0000"}, "op": {"save"}} }

	analyst := consoleIn(s, s.member(owner, "analyst@example.com", models.RoleAnalyst))
	developer := consoleIn(s, s.member(owner, "dev@example.com", models.RoleDeveloper))
	ownerBrowser := s.signedIn(owner)
	resp, page := analyst.get("/apps/" + appID + "/branding")
	wantStatus(t, resp, page, 200)
	if strings.Contains(page, "Save draft") || strings.Contains(page, `id="publish"`) || strings.Contains(page, `id="logo-form"`) {
		t.Fatal("analysts are not offered edits")
	}
	before := dumpTables(t, s.db, skip...)
	for path, f := range map[string]url.Values{
		"/apps/" + appID + "/branding":                    form(),
		"/apps/" + appID + "/branding/publish":            nil,
		"/apps/" + appID + "/branding/versions/1/restore": {"op": {"restore"}},
		"/apps/" + appID + "/branding/logo/delete":        nil,
	} {
		resp, body := analyst.post(path, f)
		wantStatus(t, resp, body, http.StatusForbidden)
	}
	resp, body := analyst.uploadLogoConsole(appID, "logo.png", "image/png", logoTestImage(t, "png-alpha", 8, 8), "")
	wantStatus(t, resp, body, http.StatusForbidden)

	resp, body = developer.post("/apps/"+appID+"/branding/publish", nil)
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = developer.post("/apps/"+appID+"/branding/versions/1/restore", url.Values{"op": {"rollback"}})
	wantStatus(t, resp, body, http.StatusForbidden)

	resp, body = ownerBrowser.postRaw("/apps/"+appID+"/branding", form())
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = ownerBrowser.postRaw("/apps/"+appID+"/branding/publish", url.Values{"_csrf": {"forged"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	if after := dumpTables(t, s.db, skip...); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("refused branding forms changed the database")
	}

	resp, body = developer.post("/apps/"+appID+"/branding", form())
	wantStatus(t, resp, body, http.StatusSeeOther)
	if d := storedDraft(t, s, owner.OrgID, appID); d.ButtonColor != "#FF0000" {
		t.Fatalf("developers edit the draft: %+v", d)
	}
}

func TestBrandingConsoleCheckColour(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("check@example.com", "Check Co")
	appID := s.createApp(a, "Check app")["id"].(string)
	b := s.signedIn(a)
	check := "/apps/" + appID + "/branding/check?button_color="

	resp, raw := b.get(check + url.QueryEscape("hsl(200,100%,50%)"))
	wantStatus(t, resp, raw, 200)
	var out map[string]any
	mustUnmarshal(t, raw, &out)
	if out["valid"] != true || out["button_color"] != "#00AAFF" || out["button_text_color"] != "#000000" {
		t.Fatalf("check: %s", raw)
	}
	for _, bad := range []string{"red;}", `#fff"><script>`, ""} {
		resp, raw = b.get(check + url.QueryEscape(bad))
		wantStatus(t, resp, raw, 200)
		out = map[string]any{}
		mustUnmarshal(t, raw, &out)
		msg, _ := out["error"].(string)
		if out["valid"] != false || !strings.Contains(msg, "Use HEX") || out["button_color"] != nil {
			t.Fatalf("check %q: %s", bad, raw)
		}
		if bad != "" && strings.Contains(raw, bad) {
			t.Fatalf("the answer must not echo the input: %s", raw)
		}
	}
	if d := storedDraft(t, s, a.OrgID, appID); !reflect.DeepEqual(d, models.DefaultBranding) {
		t.Fatalf("checking a colour must not save it: %+v", d)
	}
	other := s.signedIn(s.signup("other@example.com", "Other Co"))
	resp, raw = other.get(check + "%23fff")
	wantStatus(t, resp, raw, 404)
	resp, raw = s.browser().get(check + "%23fff")
	wantStatus(t, resp, raw, http.StatusSeeOther)
}

func TestBrandingEscapesHostileAppName(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("xss@example.com", "XSS Co")
	const name = "<img src=x onerror=alert(1)>"
	appID := s.createApp(a, name)["id"].(string)
	resp, raw := s.uploadLogoAPI(a.Token, appID, "logo.png", "image/png", logoTestImage(t, "png-alpha", 10, 10))
	wantStatus(t, resp, raw, 200)
	b := s.signedIn(a)
	pages := map[string]string{}
	_, pages["console"] = b.get("/apps/" + appID + "/branding")
	for _, step := range []string{"brand", "signin", "vehicles", "permissions", "error"} {
		resp, body := b.get("/connect/preview/" + appID + "?step=" + step)
		wantStatus(t, resp, body, 200)
		pages[step] = body
	}
	for where, body := range pages {
		if strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Fatalf("%s: the app name must be rendered escaped", where)
		}
	}
	if !strings.Contains(pages["permissions"], "<h1>&lt;img src=x onerror=alert(1)&gt; would like to</h1>") {
		t.Fatal("the permissions step names the app, escaped")
	}
	if !strings.Contains(pages["brand"], `alt="&lt;img src=x onerror=alert(1)&gt;"`) {
		t.Fatal("the logo's alt text is the escaped app name")
	}
}

func TestConnectPreviewOverridesAndSteps(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("steps@example.com", "Steps Co")
	appID := s.createApp(a, "Steps app")["id"].(string)
	s.apiJSON("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": "#336699"}, 200)
	saved, audits := storedDraft(t, s, a.OrgID, appID), auditCount(t, s.db, a.OrgID)
	get := func(query string) string {
		t.Helper()
		resp, body := previewHTML(t, s, a.Token, appID, query)
		wantStatus(t, resp, body, 200)
		if xfo, csp := resp.Header.Get("X-Frame-Options"), resp.Header.Get("Content-Security-Policy"); xfo != "SAMEORIGIN" ||
			!strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("the preview may be framed by the console only: X-Frame-Options %q, CSP %q", xfo, csp)
		}
		return body
	}

	if body := get("?button_color=%23ff0000"); !strings.Contains(body, themeLink("#FF0000")) || strings.Contains(body, themeLink("#336699")) {
		t.Fatal("an unsaved colour override is previewed")
	}
	for _, bad := range []string{"red;}", "red;background:url(//evil)", `#fff"><script>`} {
		body := get("?button_color=" + url.QueryEscape(bad))
		if !strings.Contains(body, themeLink("#336699")) || strings.Contains(body, "red;") || strings.Contains(body, "evil") || strings.Contains(body, `"><script>`) {
			t.Fatalf("an invalid override %q is ignored and never echoed", bad)
		}
	}
	if d := storedDraft(t, s, a.OrgID, appID); !reflect.DeepEqual(d, saved) || auditCount(t, s.db, a.OrgID) != audits {
		t.Fatalf("previewing must not change the draft: %+v", d)
	}

	for step, heading := range map[string]string{"brand": "<h1>Select your vehicle's brand</h1>", "signin": "<h1>Sign in to Acura</h1>",
		"vehicles": "<h1>Choose vehicles to share</h1>", "permissions": "<h1>Steps app would like to</h1>",
		"error": "<h1>We could not connect your vehicle</h1>", "bogus": "<h1>Select your vehicle's brand</h1>"} {
		if body := get("?step=" + step); !strings.Contains(body, heading) {
			t.Fatalf("step %s lacks %s", step, heading)
		}
	}

	if body := get("?step=vehicles"); strings.Contains(body, `class="connect-account"`) {
		t.Fatal("Account Select is off in the draft")
	}
	if body := get("?step=vehicles&account_select=1"); !strings.Contains(body, `class="connect-account"`) || !strings.Contains(body, "Signed in to Acura as") {
		t.Fatal("account_select=1 shows the account block on the vehicles step")
	}

	body := get("?makes=TESLA,FORD")
	if got := makeButtonPattern.FindAllStringSubmatch(body, -1); len(got) != 2 || got[0][1] != "TESLA" || got[1][1] != "FORD" {
		t.Fatalf("makes=TESLA,FORD shows Tesla then Ford only: %v", got)
	}
	if body := get("?step=signin&makes=tesla,FORD"); !strings.Contains(body, "<h1>Sign in to Tesla</h1>") {
		t.Fatal("the first chosen make signs in")
	}
	if got := makeButtonPattern.FindAllStringSubmatch(get("?makes=TESLA,DELOREAN"), -1); len(got) != len(models.Makes) {
		t.Fatalf("an invalid makes override is ignored: %d makes", len(got))
	}
	if got := makeButtonPattern.FindAllStringSubmatch(get("?step=brand&q=tes"), -1); len(got) != 1 || got[0][1] != "TESLA" {
		t.Fatalf("q=tes finds Tesla only: %v", got)
	}
	if body := get("?q=" + url.QueryEscape("<b>zz")); !strings.Contains(body, "No brand matches “&lt;b&gt;zz”") {
		t.Fatal("an empty search says so, escaped")
	}
}
