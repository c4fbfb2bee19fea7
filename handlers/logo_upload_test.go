package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// logoPaddedJPEG is a valid JPEG of exactly size bytes: comment (COM) segments fill it up.
func logoPaddedJPEG(t *testing.T, size int) []byte {
	t.Helper()
	return modelstest.PadJPEG(t, logoTestImage(t, "jpeg", 32, 32), size)
}

var logoURLPattern = regexp.MustCompile(`^/logos/([0-9a-f]{64})\.(png|jpg)$`)

// draftLogo is the draft's logo hash as stored.
func draftLogo(t *testing.T, s *testServer, orgID, appID string) string {
	t.Helper()
	d, err := models.LoadDraft(s.db, orgID, appID)
	if err != nil {
		t.Fatal(err)
	}
	return d.LogoHash
}

// wantServedLogo fetches a logo URL and checks the headers that keep it an inert image.
func wantServedLogo(t *testing.T, s *testServer, logoURL, contentType string) []byte {
	t.Helper()
	m := logoURLPattern.FindStringSubmatch(logoURL)
	if m == nil {
		t.Fatalf("logo_url %q is not /logos/<64 hex>.png|jpg", logoURL)
	}
	resp, body := s.request(httptest.NewRequest("GET", logoURL, nil))
	wantStatus(t, resp, body, 200)
	for header, want := range map[string]string{"Content-Type": contentType, "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Content-Disposition":     `inline; filename="logo-` + m[1][:12] + "." + m[2] + `"`} {
		if got := resp.Header.Get(header); got != want {
			t.Fatalf("%s: %q, want %q", header, got, want)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Fatalf("Cache-Control %q", cc)
	}
	if sum := sha256.Sum256([]byte(body)); hex.EncodeToString(sum[:]) != m[1] {
		t.Fatal("the served bytes do not hash to the logo's name")
	}
	if _, format, err := image.DecodeConfig(strings.NewReader(body)); err != nil || "image/"+format != contentType {
		t.Fatalf("served bytes decode as %q (%v), want %s", format, err, contentType)
	}
	return []byte(body)
}

func TestLogoUploadAndServe(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("logo@example.com", "Logos")
	appID := s.createApp(a, "Logo app")["id"].(string)

	resp, raw := s.uploadLogoAPI(a.Token, appID, `my "brand".png`, "image/png", logoTestImage(t, "png-alpha", 40, 20))
	wantStatus(t, resp, raw, 200)
	pngURL := mustField(t, raw, "logo_url")
	if !strings.HasSuffix(pngURL, ".png") {
		t.Fatalf("a translucent logo stays PNG: %s", pngURL)
	}
	hash := logoURLPattern.FindStringSubmatch(pngURL)[1]
	if draftLogo(t, s, a.OrgID, appID) != hash {
		t.Fatal("the draft must hold the uploaded logo")
	}
	wantServedLogo(t, s, pngURL, "image/png")
	if resp, _ := s.request(httptest.NewRequest("GET", pngURL, nil)); strings.Contains(resp.Header.Get("Content-Disposition"), "brand") {
		t.Fatal("the served file name must be the server's, not the uploader's")
	}
	entries, _, _ := models.ListAudit(s.db, a.OrgID, models.AuditFilter{Action: "branding.logo"})
	if len(entries) != 1 || entries[0].ActorID != a.UserID {
		t.Fatalf("one branding.logo entry by the uploader: %+v", entries)
	}

	resp, raw = s.uploadLogoAPI(a.Token, appID, "photo.png", "image/png", logoTestImage(t, "png", 30, 30))
	wantStatus(t, resp, raw, 200)
	jpgURL := mustField(t, raw, "logo_url")
	if !strings.HasSuffix(jpgURL, ".jpg") {
		t.Fatalf("an opaque logo is re-encoded as JPEG: %s", jpgURL)
	}
	wantServedLogo(t, s, jpgURL, "image/jpeg")

	for _, path := range []string{
		strings.TrimSuffix(pngURL, ".png") + ".gif", strings.TrimSuffix(pngURL, ".png") + ".jpg",
		strings.TrimSuffix(pngURL, ".png"), "/logos/" + strings.ToUpper(hash) + ".png", "/logos/" + hash[:63] + ".png",
		"/logos/" + strings.Repeat("0", 64) + ".png", "/logos/..%2F..%2Fetc%2Fpasswd.png", "/logos/zz.png",
	} {
		resp, body := s.request(httptest.NewRequest("GET", path, nil))
		wantStatus(t, resp, body, 404)
	}

	resp, raw = s.api("DELETE", "/api/v1/apps/"+appID+"/branding/logo", a.Token, nil)
	wantStatus(t, resp, raw, 200)
	var out map[string]any
	mustUnmarshal(t, raw, &out)
	if out["logo_url"] != nil || draftLogo(t, s, a.OrgID, appID) != "" {
		t.Fatalf("logo removed from the draft: %s", raw)
	}
}

func TestLogoUploadConsoleDropsEXIF(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("exif@example.com", "Exif")
	appID := s.createApp(a, "Exif app")["id"].(string)
	b := s.signedIn(a)

	exif := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"), "GPSLatitude=52.5200N;GPSLongitude=13.4050E"...)
	upload := modelstest.AfterSOI(logoTestImage(t, "jpeg", 48, 32), modelstest.JPEGSegment(0xE1, exif))
	if !bytes.Contains(upload, []byte("Exif")) || !bytes.Contains(upload, []byte("GPSLatitude")) {
		t.Fatal("the upload must carry the EXIF block")
	}
	if _, _, err := image.Decode(bytes.NewReader(upload)); err != nil {
		t.Fatalf("the upload must be a valid JPEG: %v", err)
	}

	// Without the CSRF token the form is refused and nothing is stored.
	body, ctype := logoMultipart(t, nil, "photo.jpg", "image/jpeg", upload)
	req := httptest.NewRequest("POST", "/apps/"+appID+"/branding/logo", body)
	req.Header.Set("Content-Type", ctype)
	resp, raw := b.do(req)
	wantStatus(t, resp, raw, 403)
	if draftLogo(t, s, a.OrgID, appID) != "" || countRows(t, s, "logos", "") != 0 {
		t.Fatal("a forged upload must store nothing")
	}

	resp, raw = b.uploadLogoConsole(appID, "photo.jpg", "image/jpeg", upload, "")
	wantStatus(t, resp, raw, 303)
	if loc := resp.Header.Get("Location"); loc != "/apps/"+appID+"/branding" {
		t.Fatalf("redirect to %q", loc)
	}
	d, _ := models.LoadDraft(s.db, a.OrgID, appID)
	served := wantServedLogo(t, s, d.LogoURL(), "image/jpeg")
	if bytes.Contains(served, []byte("Exif")) || bytes.Contains(served, []byte("GPSLatitude")) {
		t.Fatal("the stored logo still carries EXIF")
	}
	_, page := b.get("/apps/" + appID + "/branding")
	if !strings.Contains(page, `src="`+d.LogoURL()+`"`) {
		t.Fatal("the branding page shows the new logo")
	}

	// Scripts asking for JSON get the draft back.
	resp, raw = b.uploadLogoConsole(appID, "logo.png", "image/png", logoTestImage(t, "png-alpha", 16, 16), "application/json")
	wantStatus(t, resp, raw, 200)
	if url := mustField(t, raw, "logo_url"); !strings.HasSuffix(url, ".png") || draftLogo(t, s, a.OrgID, appID) != logoURLPattern.FindStringSubmatch(url)[1] {
		t.Fatalf("JSON upload: %s", raw)
	}
}

func TestLogoUploadRefusals(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("refuse@example.com", "Refusals")
	appID := s.createApp(a, "Refused app")["id"].(string)
	resp, raw := s.uploadLogoAPI(a.Token, appID, "first.png", "image/png", logoTestImage(t, "png-alpha", 20, 20))
	wantStatus(t, resp, raw, 200)
	first, rows := draftLogo(t, s, a.OrgID, appID), countRows(t, s, "logos", "")

	goodPNG := logoTestImage(t, "png-alpha", 64, 64)
	for _, tc := range []struct {
		name, filename string
		data           []byte
		status         int
		code, field    string
		message        string
	}{
		{"gif", "logo.png", logoTestImage(t, "gif", 8, 8), 415, "unsupported_type", "", "GIF"},
		{"svg", "logo.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>`), 415, "unsupported_type", "", "SVG"},
		{"html", "logo.png", []byte("<!doctype html><html><script>alert(1)</script></html>"), 415, "unsupported_type", "", "HTML"},
		{"text", "logo.png", []byte("just some text, not a picture\n"), 415, "unsupported_type", "", "text"},
		{"jpeg named png", "logo.png", logoTestImage(t, "jpeg", 16, 16), 415, "unsupported_type", "", ".png"},
		{"png named jpg", "logo.jpg", goodPNG, 415, "unsupported_type", "", ".jpg"},
		{"truncated png", "logo.png", goodPNG[:len(goodPNG)/2], 422, "unreadable_image", "logo", "could not read"},
		{"30000x30000 png", "logo.png", modelstest.PNGDeclaring(30000, 30000), 422, "image_too_large", "logo", "4,096"},
		{"no file", "", nil, 422, "logo_required", "logo", "PNG or JPG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.uploadLogoAPI(a.Token, appID, tc.filename, "image/png", tc.data)
			msg := checkErrorBody(t, resp, raw, tc.status, tc.code, tc.field)
			if !strings.Contains(msg, tc.message) {
				t.Fatalf("message %q should mention %q", msg, tc.message)
			}
			if draftLogo(t, s, a.OrgID, appID) != first || countRows(t, s, "logos", "") != rows {
				t.Fatal("a refused upload changed the draft's logo or stored a file")
			}
		})
	}

	// The console answers the same refusal with a page that explains it.
	b := s.signedIn(a)
	resp, raw = b.uploadLogoConsole(appID, "logo.png", "image/png", logoTestImage(t, "gif", 8, 8), "")
	wantStatus(t, resp, raw, 415)
	if !strings.Contains(raw, "This looks like a GIF") || draftLogo(t, s, a.OrgID, appID) != first {
		t.Fatalf("console 415 page: %.400s", raw)
	}
}

// realUpload sends a logo upload through a real HTTP connection; err is the client's error, if any.
// A non-zero sendBuffer pins the client's socket send buffer, as for an upload over a real network,
// where the body is still being sent when the server answers.
func realUpload(base, token, appID string, body io.Reader, ctype string, length int64, sendBuffer int) (*http.Response, string, error) {
	req, err := http.NewRequest("POST", base+"/api/v1/apps/"+appID+"/branding/logo", body)
	if err != nil {
		return nil, "", err
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		if sendBuffer == 0 {
			return nil
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sendBuffer)
		})
		return errors.Join(err, serr)
	}}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialer.DialContext}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw), nil
}

// want413 checks the JSON 413 of an upload over the limit.
func want413(t *testing.T, resp *http.Response, raw string) {
	t.Helper()
	if msg := checkErrorBody(t, resp, raw, 413, "too_large", ""); !strings.Contains(msg, "1 MB") {
		t.Fatalf("413 message should mention 1 MB: %q", msg)
	}
}

// wantNoLogoChange checks that refused uploads left the draft's logo and the stored logos alone and
// that the server still answers.
func wantNoLogoChange(t *testing.T, s *testServer, base, orgID, appID, logo string, rows int64) {
	t.Helper()
	if draftLogo(t, s, orgID, appID) != logo || countRows(t, s, "logos", "") != rows {
		t.Fatal("a refused upload changed the draft's logo or stored a file")
	}
	health, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("the server must stay up: %v", err)
	}
	health.Body.Close()
	if health.StatusCode != 200 {
		t.Fatalf("/healthz: %d", health.StatusCode)
	}
}

func TestLogoUploadSizeLimits(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("size@example.com", "Sizes")
	appID := s.createApp(a, "Size app")["id"].(string)
	base := s.serveForBrowser(t)

	for _, size := range []int{models.MaxLogoBytes - 1, models.MaxLogoBytes} {
		body, ctype := logoMultipart(t, nil, "big.jpg", "image/jpeg", logoPaddedJPEG(t, size))
		resp, raw, err := realUpload(base, a.Token, appID, body, ctype, int64(body.Len()), 0)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, resp, raw, 200)
		if url := mustField(t, raw, "logo_url"); !logoURLPattern.MatchString(url) {
			t.Fatalf("a %d-byte logo is accepted: %s", size, raw)
		}
	}
	accepted, rows := draftLogo(t, s, a.OrgID, appID), countRows(t, s, "logos", "")
	if accepted == "" || rows != 1 {
		t.Fatalf("both uploads re-encode to the same pixels, stored once: %q, %d rows", accepted, rows)
	}

	body, ctype := logoMultipart(t, nil, "big.jpg", "image/jpeg", logoPaddedJPEG(t, models.MaxLogoBytes+1))
	resp, raw, err := realUpload(base, a.Token, appID, body, ctype, int64(body.Len()), 0)
	if err != nil {
		t.Fatal(err)
	}
	want413(t, resp, raw)
	wantNoLogoChange(t, s, base, a.OrgID, appID, accepted, rows)
}

// TestLogoUploadOverServerLimitWithContentLength sends a body a bit over the server's body limit
// from a client whose upload is still in flight when the server answers (as over any real network).
// The client must be able to read the 413: RFC 9112 §9.6 asks servers to close in stages so a reset
// does not destroy the response.
func TestLogoUploadOverServerLimitWithContentLength(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("over@example.com", "Over")
	appID := s.createApp(a, "Over app")["id"].(string)
	base := s.serveForBrowser(t)
	over := logoPaddedJPEG(t, models.MaxLogoBytes+100<<10)
	for attempt := 1; attempt <= 8; attempt++ {
		body, ctype := logoMultipart(t, nil, "big.jpg", "image/jpeg", over)
		resp, raw, err := realUpload(base, a.Token, appID, body, ctype, int64(body.Len()), 32<<10)
		if err != nil {
			t.Fatalf("attempt %d: the client could not read a 413, the server reset the connection: %v", attempt, err)
		}
		want413(t, resp, raw)
	}
	wantNoLogoChange(t, s, base, a.OrgID, appID, "", 0)
}

// TestLogoUploadChunkedOverLimit streams 3 MiB with Transfer-Encoding: chunked (no Content-Length).
func TestLogoUploadChunkedOverLimit(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("chunked@example.com", "Chunked")
	appID := s.createApp(a, "Chunked app")["id"].(string)
	base := s.serveForBrowser(t)

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	soi := logoTestImage(t, "jpeg", 8, 8)[:2]
	go func() {
		part, err := mw.CreateFormFile("logo", "stream.jpg")
		if err == nil {
			_, err = part.Write(soi)
		}
		chunk := bytes.Repeat([]byte{0xAB}, 64<<10)
		for i := 0; i < 48 && err == nil; i++ {
			_, err = part.Write(chunk)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp, raw, err := realUpload(base, a.Token, appID, pr, mw.FormDataContentType(), -1, 0)
	pr.CloseWithError(io.ErrClosedPipe)
	if err == nil {
		want413(t, resp, raw)
	} else {
		t.Logf("chunked upload: connection closed by the server (%v)", err)
	}
	wantNoLogoChange(t, s, base, a.OrgID, appID, "", 0)
}
