package models_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// FuzzParseAuthorize: for any /oauth/authorize parameters, ParseAuthorize either accepts a request
// that ends at a registered redirect URI with known permissions, or refuses it; a refusal redirects
// only to a registered URI (carrying state unchanged), and an unknown client or unregistered
// redirect_uri is always Keyfob's own error page, never a redirect (security.md A.1, A.2, A.6).
func FuzzParseAuthorize(f *testing.F) {
	db := modelstest.Open(f)
	user, org, err := models.CreateAccount(db, models.SignUp{Email: "fuzz@example.com", Password: "correct horse battery",
		Name: "Fuzz", Organization: "Fuzz Org"})
	if err != nil {
		f.Fatal(err)
	}
	actor, name := models.Actor{ID: user.ID, Email: user.Email}, "Fuzzed"
	app, _, err := models.CreateApp(db, actor, org.ID, models.AppInput{Name: &name})
	if err != nil {
		f.Fatal(err)
	}
	registered := []string{"https://app.example.com/cb", "com.example.app://cb?x=1"}
	for _, uri := range registered {
		if _, err := models.AddRedirectURI(db, actor, org.ID, app.ID, uri); err != nil {
			f.Fatal(err)
		}
	}
	clients := []string{app.ID, "00000000-0000-4000-8000-000000000000", "not-a-uuid", ""}
	f.Add(uint8(0), "", "code", "required:read_vehicle_info read_odometer", "xyz", "", "test", "", "", "", "", "owner-1", "", "", uint8(0))
	f.Add(uint8(0), registered[1], "code", "read_location", "s", "force", "live", "TESLA", "true", "5YJ3E1EA7JF000000", "a:b c:d", "", strings.Repeat("A", 43), "S256", uint8(0))
	f.Add(uint8(0), "https://evil.example/cb", "code", "read_odometer", "", "", "", "", "", "", "", "", "", "", uint8(0))
	f.Add(uint8(1), registered[0], "token", "unknown", "\x00", "never", "x", "NOPE", "maybe", "vin", "flag", "", "abc", "plain", uint8(3))
	f.Add(uint8(0), registered[0], "code", "read_odometer", "s&t=1", "", "", "", "", "", "", "", "", "", uint8(4))
	f.Fuzz(func(t *testing.T, client uint8, redirect, responseType, scope, state, prompt, mode, make, single, vin, flags, owner,
		challenge, method string, dups uint8) {
		p := models.AuthorizeParams{ClientID: clients[int(client)%len(clients)], RedirectURI: redirect, ResponseType: responseType,
			Scope: scope, State: state, ApprovalPrompt: prompt, Mode: mode, Make: make, SingleSelect: single, SingleSelectVIN: vin,
			Flags: flags, User: owner, CodeChallenge: challenge, CodeChallengeMethod: method}
		for i, name := range []string{"client_id", "redirect_uri", "scope", "state"} {
			if dups&(1<<i) != 0 {
				p.Duplicates = append(p.Duplicates, name)
			}
		}
		req, err := models.ParseAuthorize(db, p)
		trusted := p.ClientID == app.ID && (redirect == "" || slices.Contains(registered, redirect)) &&
			!slices.Contains(p.Duplicates, "client_id") && !slices.Contains(p.Duplicates, "redirect_uri")
		var refused *models.AuthorizeError
		switch {
		case err == nil:
			checkAccepted(t, p, req, app.ID, registered, trusted)
		case !errors.As(err, &refused):
			t.Fatalf("ParseAuthorize(%+v): %v", p, err)
		case refused.Page:
			if refused.RedirectURI != "" || refused.Description == "" {
				t.Fatalf("a page error carries a redirect: %+v", refused)
			}
		default:
			checkErrorRedirect(t, p, refused, registered, trusted)
		}
	})
}

func checkAccepted(t *testing.T, p models.AuthorizeParams, req models.AuthorizeRequest, appID string, registered []string, trusted bool) {
	t.Helper()
	if !trusted || req.AppID != appID || !slices.Contains(registered, req.RedirectURI) || (p.RedirectURI != "" && req.RedirectURI != p.RedirectURI) {
		t.Fatalf("accepted %+v as %+v", p, req)
	}
	if p.ResponseType != "code" || len(p.Duplicates) > 0 || len(req.Scope) == 0 || req.State != p.State {
		t.Fatalf("accepted %+v as %+v", p, req)
	}
	for _, s := range req.Scope {
		if _, ok := models.FindPermission(s.Name); !ok {
			t.Fatalf("accepted an unknown permission %q", s.Name)
		}
	}
	if !slices.Contains([]string{models.ModeTest, models.ModeSimulated, models.ModeLive}, req.Mode) ||
		(req.ApprovalPrompt != "auto" && req.ApprovalPrompt != "force") {
		t.Fatalf("accepted mode %q, approval_prompt %q", req.Mode, req.ApprovalPrompt)
	}
	if (req.CodeChallenge != "" && (len(req.CodeChallenge) != 43 || p.CodeChallengeMethod != "S256")) ||
		(req.SingleSelectVIN != "" && (!req.SingleSelect || len(req.SingleSelectVIN) != 17)) {
		t.Fatalf("accepted PKCE %q or VIN %q", req.CodeChallenge, req.SingleSelectVIN)
	}
}

func checkErrorRedirect(t *testing.T, p models.AuthorizeParams, refused *models.AuthorizeError, registered []string, trusted bool) {
	t.Helper()
	if !trusted || !slices.Contains(registered, refused.RedirectURI) {
		t.Fatalf("%+v redirects its error to %q", p, refused.RedirectURI)
	}
	to := refused.RedirectURL()
	u, err := url.Parse(to)
	if err != nil || !strings.HasPrefix(to, refused.RedirectURI) {
		t.Fatalf("error redirect %q: %v", to, err)
	}
	q := u.Query()
	if q.Get("error") != refused.Code || (p.State != "" && q.Get("state") != p.State) {
		t.Fatalf("error redirect %q: error %q, state %q; want %q, %q", to, q.Get("error"), q.Get("state"), refused.Code, p.State)
	}
}
