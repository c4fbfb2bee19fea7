package handlers

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"keyfob/models"
)

var brandingKeys = []string{"button_color", "button_color_input", "button_text_color", "contrast_ratio", "logo_url", "makes", "account_select"}

func brandingAPI(appID, suffix string) string { return "/api/v1/apps/" + appID + "/branding" + suffix }

// storedDraft reads the draft straight from the models, as the database holds it.
func storedDraft(t *testing.T, s *testServer, orgID, appID string) models.Branding {
	t.Helper()
	d, err := models.LoadDraft(s.db, orgID, appID)
	if err != nil {
		t.Fatalf("LoadDraft: %v", err)
	}
	return d
}

// previewHTML fetches the Connect preview with a bearer token.
func previewHTML(t *testing.T, s *testServer, token, appID, query string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/connect/preview/"+appID+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.request(req)
}

func themeLink(hex string) string {
	return `<link rel="stylesheet" href="/connect/theme.css?button=` + strings.TrimPrefix(hex, "#") + `">`
}

// logoTestImage encodes a w×h gradient as "png", "png-alpha" (half transparent), "jpeg" or "gif".
func logoTestImage(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), map[bool]uint8{true: 128, false: 255}[format == "png-alpha"]})
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "png", "png-alpha":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil || buf.Len() == 0 {
		t.Fatalf("encode %s: %v", format, err)
	}
	return buf.Bytes()
}

// logoMultipart is a multipart body with fields and, unless filename is "", a "logo" part with the
// given Content-Type header.
func logoMultipart(t *testing.T, fields map[string]string, filename, partType string, data []byte) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if filename != "" {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="logo"; filename="`+strings.ReplaceAll(filename, `"`, `\"`)+`"`)
		hdr.Set("Content-Type", partType)
		part, err := mw.CreatePart(hdr)
		if err != nil {
			t.Fatal(err)
		}
		part.Write(data)
	}
	mw.Close()
	return &body, mw.FormDataContentType()
}

// uploadLogoAPI posts a logo to the management API with a bearer token.
func (s *testServer) uploadLogoAPI(token, appID, filename, partType string, data []byte) (*http.Response, string) {
	s.t.Helper()
	body, ctype := logoMultipart(s.t, nil, filename, partType, data)
	req := httptest.NewRequest("POST", "/api/v1/apps/"+appID+"/branding/logo", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	return s.request(req)
}

// uploadLogoConsole posts the console's upload form (multipart with the CSRF token).
func (b *browser) uploadLogoConsole(appID, filename, partType string, data []byte, accept string) (*http.Response, string) {
	b.s.t.Helper()
	b.get("/apps/" + appID + "/branding")
	body, ctype := logoMultipart(b.s.t, map[string]string{"_csrf": b.cookies["keyfob_csrf"]}, filename, partType, data)
	req := httptest.NewRequest("POST", "/apps/"+appID+"/branding/logo", body)
	req.Header.Set("Content-Type", ctype)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return b.do(req)
}

func TestBrandingAPIShapeAndColourSyntaxes(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("brand@example.com", "Brand Co")
	appID := s.createApp(a, "Branded")["id"].(string)

	out := s.apiJSON("GET", brandingAPI(appID, ""), a.Token, nil, 200)
	wantKeys(t, "branding", out, "draft", "published")
	if out["published"] != nil {
		t.Fatalf("nothing published yet: %v", out["published"])
	}
	wantKeys(t, "draft", out["draft"], brandingKeys...)
	draft := out["draft"].(map[string]any)
	if draft["button_color"] != "#0B5CAD" || draft["button_color_input"] != "#0b5cad" || draft["button_text_color"] != "#FFFFFF" ||
		draft["logo_url"] != nil || draft["account_select"] != false || fmt.Sprint(draft["makes"]) != "[]" {
		t.Fatalf("default draft: %v", draft)
	}
	if ratio, _ := draft["contrast_ratio"].(float64); ratio < 4.5 || ratio > 21 {
		t.Fatalf("contrast_ratio %v", draft["contrast_ratio"])
	}
	if makes, ok := draft["makes"].([]any); !ok || len(makes) != 0 {
		t.Fatalf("makes must be an empty list, not null: %#v", draft["makes"])
	}

	for _, tc := range []struct{ typed, hex, text string }{
		{"#0af", "#00AAFF", "#000000"},
		{"#1E3A8A", "#1E3A8A", "#FFFFFF"},
		{"rgb(1, 2, 3)", "#010203", "#FFFFFF"},
		{"rgba(255 255 255 / 100%)", "#FFFFFF", "#000000"},
		{"hsl(200, 100%, 50%)", "#00AAFF", "#000000"},
		{"hsl(1,2%,3%)", "#080807", "#FFFFFF"},
	} {
		got := s.apiJSON("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": tc.typed}, 200)
		wantKeys(t, "PUT draft", got, brandingKeys...)
		if got["button_color"] != tc.hex || got["button_color_input"] != tc.typed || got["button_text_color"] != tc.text {
			t.Fatalf("%q: %v", tc.typed, got)
		}
		if d := storedDraft(t, s, a.OrgID, appID); d.ButtonColor != tc.hex || d.ButtonColorInput != tc.typed {
			t.Fatalf("%q stored as %q / %q", tc.typed, d.ButtonColor, d.ButtonColorInput)
		}
	}
	got := s.apiJSON("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"makes": []string{"tesla", "FORD", "Tesla"}, "account_select": true}, 200)
	if fmt.Sprint(got["makes"]) != "[TESLA FORD]" || got["account_select"] != true || got["button_color"] != "#080807" {
		t.Fatalf("makes and account_select, colour kept: %v", got)
	}
	again := s.apiJSON("GET", brandingAPI(appID, ""), a.Token, nil, 200)
	if !reflect.DeepEqual(again["draft"], got) {
		t.Fatalf("GET shows the saved draft: %v, want %v", again["draft"], got)
	}
}

func TestBrandingAPIRefusesBadInput(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("bad@example.com", "Bad Input")
	appID := s.createApp(a, "Guarded")["id"].(string)
	s.apiJSON("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": "#123456", "makes": []string{"BMW"}}, 200)
	skip := volatile
	before := dumpTables(t, s.db, skip...)

	for _, bad := range []string{"red;background:url(//evil)", `#fff"><script>`, "rgb(0,0,0)}body{x}", "expression(1)", "var(--x)", "red", "#12345"} {
		resp, raw := s.api("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": bad, "makes": []string{"TESLA"}})
		checkErrorBody(t, resp, raw, 422, "invalid_color", "button_color")
		if strings.Contains(raw, bad) || strings.Contains(raw, "<script") {
			t.Fatalf("the error must not echo the input: %s", raw)
		}
	}
	resp, raw := s.api("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": "#00ff00", "makes": []string{"TESLA", "DELOREAN"}})
	checkErrorBody(t, resp, raw, 422, "unknown_make", "makes")
	for _, body := range []string{`{"button_color":"#00ff00","logo_hash":"abc"}`, `{"makes":"TESLA"}`, `{"button_color":`, `{"account_select":"yes"}`} {
		resp, raw := s.api("PUT", brandingAPI(appID, "/draft"), a.Token, body)
		checkErrorBody(t, resp, raw, 400, "", "")
	}
	if after := dumpTables(t, s.db, skip...); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("refused edits changed the database")
	}
	if d := storedDraft(t, s, a.OrgID, appID); d.ButtonColor != "#123456" || !reflect.DeepEqual(d.Makes, []string{"BMW"}) {
		t.Fatalf("draft changed: %+v", d)
	}
}

func TestBrandingAPIPublishVersionsAndRestore(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("pub@example.com", "Publishers")
	appID := s.createApp(a, "Published")["id"].(string)

	if _, html := previewHTML(t, s, a.Token, appID, "?version=published"); !strings.Contains(html, themeLink("#0B5CAD")) {
		t.Fatal("before publishing, Connect shows the default colour")
	}
	s.apiJSON("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": "#ff0000", "makes": []string{"TESLA"}}, 200)
	v1 := s.apiJSON("POST", brandingAPI(appID, "/publish"), a.Token, nil, 200)
	wantKeys(t, "published", v1, append([]string{"version", "published_at", "published_by"}, brandingKeys...)...)
	wantKeys(t, "published_by", v1["published_by"], "id", "email")
	if v1["version"] != float64(1) || v1["button_color"] != "#FF0000" || v1["published_by"].(map[string]any)["email"] != a.Email {
		t.Fatalf("version 1: %v", v1)
	}
	s.apiJSON("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": "rgb(0, 0, 255)", "makes": []string{}, "account_select": true}, 200)
	if _, html := previewHTML(t, s, a.Token, appID, "?version=published"); !strings.Contains(html, themeLink("#FF0000")) {
		t.Fatal("Connect keeps showing version 1 until the draft is published")
	}
	if _, html := previewHTML(t, s, a.Token, appID, ""); !strings.Contains(html, themeLink("#0000FF")) {
		t.Fatal("the preview shows the draft")
	}
	v2 := s.apiJSON("POST", brandingAPI(appID, "/publish"), a.Token, nil, 200)
	if v2["version"] != float64(2) || v2["button_color"] != "#0000FF" {
		t.Fatalf("version 2: %v", v2)
	}
	if _, html := previewHTML(t, s, a.Token, appID, "?version=published&button_color=%2300ff00"); !strings.Contains(html, themeLink("#0000FF")) {
		t.Fatal("the published view renders version 2 and ignores overrides")
	}
	current := s.apiJSON("GET", brandingAPI(appID, ""), a.Token, nil, 200)
	if !reflect.DeepEqual(current["published"], v2) {
		t.Fatalf("GET branding shows the newest version: %v, want %v", current["published"], v2)
	}

	list := s.apiJSON("GET", brandingAPI(appID, "/versions"), a.Token, nil, 200)
	wantKeys(t, "versions", list, "versions")
	versions := list["versions"].([]any)
	if len(versions) != 2 || !reflect.DeepEqual(versions[0], v2) || !reflect.DeepEqual(versions[1], v1) {
		t.Fatalf("versions newest first: %v", versions)
	}
	if by := versions[1].(map[string]any)["published_by"].(map[string]any); by["id"] != a.UserID || by["email"] != a.Email {
		t.Fatalf("published_by: %v", by)
	}

	restored := s.apiJSON("POST", brandingAPI(appID, "/versions/1/restore"), a.Token, nil, 200)
	wantKeys(t, "restored draft", restored, brandingKeys...)
	for _, k := range brandingKeys {
		if !reflect.DeepEqual(restored[k], v1[k]) {
			t.Fatalf("restored %s = %v, version 1 has %v", k, restored[k], v1[k])
		}
	}
	if d := storedDraft(t, s, a.OrgID, appID); d.ButtonColor != "#FF0000" || !reflect.DeepEqual(d.Makes, []string{"TESLA"}) || d.AccountSelect {
		t.Fatalf("stored draft after restore: %+v", d)
	}
	if n := len(s.apiJSON("GET", brandingAPI(appID, "/versions"), a.Token, nil, 200)["versions"].([]any)); n != 2 {
		t.Fatalf("restore does not publish: %d versions", n)
	}
	for _, v := range []string{"3", "0", "-1", "abc"} {
		resp, raw := s.api("POST", brandingAPI(appID, "/versions/"+v+"/restore"), a.Token, nil)
		checkErrorBody(t, resp, raw, 404, "not_found", "")
	}
	if d := storedDraft(t, s, a.OrgID, appID); d.ButtonColor != "#FF0000" {
		t.Fatalf("a missing version changed the draft: %+v", d)
	}
}

func TestBrandingAPIRoles(t *testing.T) {
	for _, tc := range []struct {
		role               models.Role
		edit, publish, get bool
	}{
		{models.RoleOwner, true, true, true},
		{models.RoleDesigner, true, true, true},
		{models.RoleDeveloper, true, false, true},
		{models.RoleAnalyst, false, false, true},
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			s := newTestServer(t)
			owner := s.signup("owner@example.com", "Roles Org")
			appID := s.createApp(owner, "Role app")["id"].(string)
			s.apiJSON("POST", brandingAPI(appID, "/publish"), owner.Token, nil, 200)
			caller := owner
			if tc.role != models.RoleOwner {
				caller = s.member(owner, string(tc.role)+"@example.com", tc.role)
			}
			calls := []struct {
				name    string
				allowed bool
				call    func() (*http.Response, string)
			}{
				{"GET branding", tc.get, func() (*http.Response, string) { return s.api("GET", brandingAPI(appID, ""), caller.Token, nil) }},
				{"GET versions", tc.get, func() (*http.Response, string) {
					return s.api("GET", brandingAPI(appID, "/versions"), caller.Token, nil)
				}},
				{"PUT draft", tc.edit, func() (*http.Response, string) {
					return s.api("PUT", brandingAPI(appID, "/draft"), caller.Token, map[string]any{"button_color": "#ff0000"})
				}},
				{"POST logo", tc.edit, func() (*http.Response, string) {
					return s.uploadLogoAPI(caller.Token, appID, "logo.png", "image/png", logoTestImage(t, "png-alpha", 12, 12))
				}},
				{"POST restore", tc.edit, func() (*http.Response, string) {
					return s.api("POST", brandingAPI(appID, "/versions/1/restore"), caller.Token, nil)
				}},
				{"POST publish", tc.publish, func() (*http.Response, string) {
					return s.api("POST", brandingAPI(appID, "/publish"), caller.Token, nil)
				}},
			}
			skip := volatile
			for _, c := range calls {
				before := dumpTables(t, s.db, skip...)
				resp, raw := c.call()
				if !c.allowed {
					checkErrorBody(t, resp, raw, 403, "forbidden", "")
					if after := dumpTables(t, s.db, skip...); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Fatalf("a refused %s changed the database", c.name)
					}
					continue
				}
				if resp.StatusCode != 200 {
					t.Fatalf("%s as %s: %d %s", c.name, tc.role, resp.StatusCode, raw)
				}
			}
			versions, _ := models.ListVersions(s.db, owner.OrgID, appID)
			want := 1
			if tc.publish {
				want = 2
			}
			if len(versions) != want || versions[0].PublishedByID != map[bool]string{true: caller.UserID, false: owner.UserID}[tc.publish] {
				t.Fatalf("versions after %s: %+v", tc.role, versions)
			}
		})
	}
}

func TestConnectPreviewAccess(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("preview@example.com", "Preview Co")
	appID := s.createApp(a, "Preview app")["id"].(string)
	path := "/connect/preview/" + appID

	for _, token := range []string{"", "kf_api_not-a-real-token"} {
		resp, body := previewHTML(t, s, token, appID, "")
		wantStatus(t, resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/signin?next="+url.QueryEscape(path) {
			t.Fatalf("not signed in: redirect to %q", loc)
		}
	}
	stranger := s.signup("stranger@example.com", "Strangers")
	resp, body := previewHTML(t, s, stranger.Token, appID, "")
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = s.signedIn(stranger).get(path)
	wantStatus(t, resp, body, http.StatusNotFound)
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-an-id"} {
		resp, body = previewHTML(t, s, a.Token, id, "")
		wantStatus(t, resp, body, http.StatusNotFound)
	}

	analyst := s.member(a, "analyst@example.com", models.RoleAnalyst)
	resp, body = previewHTML(t, s, analyst.Token, appID, "")
	wantStatus(t, resp, body, 200)
	resp, body = s.signedIn(a).get(path)
	wantStatus(t, resp, body, 200)
	if !strings.Contains(body, themeLink(models.DefaultBranding.ButtonColor)) {
		t.Fatal("a new app previews the default colour")
	}
}

func TestConnectThemeCSS(t *testing.T) {
	s := newTestServer(t)
	const fallback = ":root{--kf-button:#0B5CAD;--kf-button-text:#FFFFFF}\n"
	for query, want := range map[string]string{
		"00AAFF":                              ":root{--kf-button:#00AAFF;--kf-button-text:#000000}\n",
		"0af":                                 ":root{--kf-button:#00AAFF;--kf-button-text:#000000}\n",
		"1e3a8a":                              ":root{--kf-button:#1E3A8A;--kf-button-text:#FFFFFF}\n",
		url.QueryEscape("red;}"):              fallback,
		"red;}":                               fallback,
		url.QueryEscape("0af;}body{x"):        fallback,
		url.QueryEscape("00AAFF;background:"): fallback,
		url.QueryEscape("#00AAFF"):            fallback,
		"expression(1)":                       fallback,
		"":                                    fallback,
	} {
		resp, body := s.request(httptest.NewRequest("GET", "/connect/theme.css?button="+query, nil))
		wantStatus(t, resp, body, 200)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Fatalf("Content-Type %q", ct)
		}
		if body != want {
			t.Fatalf("button=%s: %q, want %q", query, body, want)
		}
	}
}
