package handlers

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const opaqueColourMessage = "Button colours must be opaque: remove the alpha part or use FF."

// Issue 10 item 10: a translucent button colour is refused with 422 and a message that says what to
// do, by the API and by the console form; an alpha of FF is dropped and #RRGGBB is stored.
func TestBrandingRefusesTranslucentColours(t *testing.T) {
	s := newTestServer(t)
	a := s.signup("opaque@example.com", "Opaque Co")
	appID := s.createApp(a, "Opaque")["id"].(string)
	console := s.signedIn(a)

	for _, typed := range []string{"#ABCDEF00", "#abcdef80", "rgba(0, 170, 255, 0.5)", "hsl(200 100% 50% / 50%)"} {
		resp, raw := s.api("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": typed})
		if msg := checkErrorBody(t, resp, raw, 422, "invalid_color", "button_color"); !strings.HasPrefix(msg, opaqueColourMessage) {
			t.Errorf("PUT %q: message %q", typed, msg)
		}
		resp, body := console.post("/apps/"+appID+"/branding", url.Values{"button_color": {typed}})
		wantStatus(t, resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(html.UnescapeString(body), opaqueColourMessage) {
			t.Errorf("console form %q: the page does not explain: %.300s", typed, body)
		}
		if d := storedDraft(t, s, a.OrgID, appID); d.ButtonColor != "#0B5CAD" {
			t.Fatalf("refused %q changed the stored colour to %q", typed, d.ButtonColor)
		}
	}

	for _, typed := range []string{"#ABCDEFFF", "rgb(171 205 239 / 100%)"} {
		got := s.apiJSON("PUT", brandingAPI(appID, "/draft"), a.Token, map[string]any{"button_color": typed}, 200)
		if d := storedDraft(t, s, a.OrgID, appID); got["button_color"] != "#ABCDEF" || d.ButtonColor != "#ABCDEF" {
			t.Fatalf("%q: answered %v, stored %q; want #ABCDEF", typed, got["button_color"], d.ButtonColor)
		}
	}

	// The live preview's check uses the same parser.
	resp, raw := console.get("/apps/" + appID + "/branding/check?button_color=" + url.QueryEscape("#ABCDEF00"))
	var check map[string]any
	if err := json.Unmarshal([]byte(raw), &check); err != nil || resp.StatusCode != 200 || check["valid"] != false ||
		!strings.HasPrefix(check["error"].(string), opaqueColourMessage) {
		t.Fatalf("colour check of #ABCDEF00: %d %s", resp.StatusCode, raw)
	}
}
