package handlers

import (
	"fmt"
	"net/url"
	"testing"
)

func TestOAuthMetadata(t *testing.T) {
	s := newTestServer(t)
	out := s.apiJSON("GET", "/.well-known/oauth-authorization-server", "", nil, 200)
	want := map[string]string{
		"issuer": "http://localhost:8080", "authorization_endpoint": "http://localhost:8080/oauth/authorize",
		"token_endpoint": "http://localhost:8080/oauth/token", "response_types_supported": "[code]",
		"grant_types_supported": "[authorization_code refresh_token]", "code_challenge_methods_supported": "[S256]",
		"token_endpoint_auth_methods_supported":          "[client_secret_basic client_secret_post]",
		"authorization_response_iss_parameter_supported": "true",
	}
	for k, v := range want {
		if fmt.Sprint(out[k]) != v {
			t.Errorf("%s = %v, want %s", k, out[k], v)
		}
	}
	if scopes, _ := out["scopes_supported"].([]any); len(scopes) != len(allScopes) {
		t.Errorf("scopes_supported %v", out["scopes_supported"])
	}
}

// TestAuthorizationResponsesCarryIss: RFC 9207's iss is on every redirect back to the app: a code, an error
// from /authorize, a denial and an exit.
func TestAuthorizationResponsesCarryIss(t *testing.T) {
	s := newTestServer(t)
	app := s.connectApp(t)
	wantIss := func(what string, p url.Values) {
		t.Helper()
		if p.Get("iss") != "http://localhost:8080" || p.Get("state") != "xyz-123" {
			t.Fatalf("%s: iss %q state %q in %v", what, p.Get("iss"), p.Get("state"), p)
		}
	}
	resp, _ := s.browser().get("/oauth/authorize?" + authorizeQuery(app, map[string]string{"scope": "read_speed"}).Encode())
	wantIss("invalid_scope", finalRedirect(t, resp, app.redirect))

	o := s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
	o.signIn("driver@example.com")
	o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	p := finalRedirect(t, o.submit("permissions", url.Values{"decision": {"allow"}}), app.redirect)
	if p.Get("code") == "" {
		t.Fatalf("code expected: %v", p)
	}
	wantIss("code", p)

	o = s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
	o.signIn("driver@example.com")
	o.submit("vehicles", url.Values{"vehicle": o.vehicles()[:1]})
	wantIss("access_denied", finalRedirect(t, o.submit("permissions", url.Values{"decision": {"deny"}}), app.redirect))

	o = s.owner(t)
	o.open(authorizeQuery(app, map[string]string{"make": "KIA"}))
	resp, _ = o.b.get("/connect/" + o.sessionID() + "/exit")
	wantIss("exit", finalRedirect(t, resp, app.redirect))
}
