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
