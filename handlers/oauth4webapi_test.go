package handlers

import (
	"encoding/json"
	"strings"
	"testing"
)

// oauth4webapiScript is a strict OAuth client (npm oauth4webapi): STEP=start discovers Keyfob (RFC 8414)
// and prints an authorization URL with PKCE; STEP=finish validates the redirect (state and iss, RFC 9207),
// redeems the code with the verifier and refreshes, and checks that a wrong or missing iss is refused.
const oauth4webapiScript = `
import * as oauth from 'oauth4webapi';
const insecure = { [oauth.allowInsecureRequests]: true }; // a loopback test server speaks http
const issuer = new URL(process.env.ISSUER);
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
const client = { client_id: process.env.CLIENT_ID };
const auth = oauth.ClientSecretBasic(process.env.CLIENT_SECRET);
if (process.env.STEP === 'start') {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries({ client_id: client.client_id, redirect_uri: process.env.REDIRECT_URI, response_type: 'code',
    scope: 'read_odometer', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    state, mode: 'test', make: 'KIA', user: 'oauth4webapi-owner' })) url.searchParams.set(k, v);
  console.log(JSON.stringify({ url: url.href, verifier, state, methods: as.code_challenge_methods_supported }));
} else {
  const callback = new URL(process.env.CALLBACK);
  const refused = {};
  for (const [name, iss] of [['wrongIss', 'https://evil.example'], ['missingIss', null]]) {
    const bad = new URL(callback.href);
    if (iss) bad.searchParams.set('iss', iss); else bad.searchParams.delete('iss');
    try { oauth.validateAuthResponse(as, client, bad, process.env.STATE); refused[name] = false; } catch { refused[name] = true; }
  }
  const params = oauth.validateAuthResponse(as, client, callback, process.env.STATE);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, params, process.env.REDIRECT_URI, process.env.VERIFIER, insecure));
  const refreshed = await oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, insecure));
  console.log(JSON.stringify({ refused, tokenType: tokens.token_type, expiresIn: tokens.expires_in,
    rotated: refreshed.refresh_token !== tokens.refresh_token && refreshed.access_token !== tokens.access_token }));
}
`

// TestOAuth4WebAPI: a strict client discovers Keyfob, runs code + PKCE, checks iss on the redirect and
// refuses it when iss is wrong or missing, then refreshes.
func TestOAuth4WebAPI(t *testing.T) {
	node, dir := nodeWith(t, "oauth4webapi@3")
	s, base := serveAtOwnOrigin(t)
	app := s.connectApp(t)
	env := []string{"ISSUER=" + base, "CLIENT_ID=" + app.id, "CLIENT_SECRET=" + app.secret, "REDIRECT_URI=" + app.redirect}
	var start struct {
		URL, Verifier, State string
		Methods              []string
	}
	if err := json.Unmarshal(runNode(t, node, dir, "oauth.mjs", oauth4webapiScript, append(env, "STEP=start")...), &start); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(start.URL, base+"/oauth/authorize?") || len(start.Methods) != 1 || start.Methods[0] != "S256" {
		t.Fatalf("discovery: %+v", start)
	}
	callback := newConnectWalker(t, base, app.redirect).authorizeRedirect(start.URL, app.redirect, start.State).String()
	var done struct {
		Refused   map[string]bool
		TokenType string
		ExpiresIn int
		Rotated   bool
	}
	out := runNode(t, node, dir, "oauth.mjs", oauth4webapiScript, append(env, "STEP=finish", "CALLBACK="+callback,
		"STATE="+start.State, "VERIFIER="+start.Verifier)...)
	if err := json.Unmarshal(out, &done); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !done.Refused["wrongIss"] || !done.Refused["missingIss"] || done.TokenType != "bearer" || done.ExpiresIn != 7200 || !done.Rotated {
		t.Fatalf("oauth4webapi: %s", out)
	}
}
