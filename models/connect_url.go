package models

import "net/url"

// ConnectURL is the test-mode Connect launch URL for an app: what a developer pastes into a browser
// to try the flow. The URL builder (a later issue) offers every parameter; this is the minimal one.
func ConnectURL(baseURL, clientID, redirectURI string) string {
	q := url.Values{}
	q.Set("response_type", "code")
	q.Set("client_id", clientID)
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	q.Set("scope", "read_vehicle_info read_odometer")
	q.Set("mode", "test")
	return baseURL + "/oauth/authorize?" + q.Encode()
}

// BuildConnectURL is the authorize URL for p: every non-empty parameter, sorted by name.
func BuildConnectURL(baseURL string, p AuthorizeParams) string {
	q := url.Values{}
	for _, kv := range [][2]string{{"response_type", p.ResponseType}, {"client_id", p.ClientID}, {"redirect_uri", p.RedirectURI},
		{"scope", p.Scope}, {"state", p.State}, {"approval_prompt", p.ApprovalPrompt}, {"mode", p.Mode}, {"make", p.Make},
		{"single_select", p.SingleSelect}, {"single_select_vin", p.SingleSelectVIN}, {"flags", p.Flags}, {"user", p.User},
		{"code_challenge", p.CodeChallenge}, {"code_challenge_method", p.CodeChallengeMethod}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return baseURL + "/oauth/authorize?" + q.Encode()
}
