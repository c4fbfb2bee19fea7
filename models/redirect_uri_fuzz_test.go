package models_test

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"keyfob/models"
)

// FuzzValidateRedirectURI: whatever a developer types, a URI is either refused with a field error or
// stored in a form that re-validates to itself, parses as a URL and breaks none of the rules
// (security.md A.4: no dangerous scheme, wildcard, fragment, user info, or http off loopback).
func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range []string{"https://app.example.com/cb", "https://APP.Example.COM/Cb?x=1", "http://localhost:3000/cb",
		"http://[::1]:8080/cb", "sc" + testClientID + "://callback", "com.example.app:/oauth", "JaVaScRiPt:alert(1)",
		"https://*.x.com/cb", "https://x.com/cb#f", "https://user@x.com/cb", "http://x.com/cb", "https://x.com:0/cb",
		"https://x.com/%zz", "https://x.com/?a=%zz", "https://x.com\\@evil.com", "https://x.com/\x00", "https://x.com/\xff",
		"https://xn--nxasmq6b.example/cb", "https://ex\u00e4mple.com/cb", " https://a.example.com/ ", "a:", "https:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, kind, err := models.ValidateRedirectURI(raw, testClientID)
		if err != nil {
			var v *models.ValidationError
			if !errors.As(err, &v) || v.Field != "uri" || v.Code != "invalid_redirect_uri" || v.Message == "" || got != "" || kind != "" {
				t.Fatalf("ValidateRedirectURI(%q) = %q, %q, %#v", raw, got, kind, err)
			}
			return
		}
		again, kind2, err := models.ValidateRedirectURI(got, testClientID)
		if err != nil || again != got || kind2 != kind {
			t.Fatalf("%q is stored as %q, which re-validates to %q, %q, %v", raw, got, again, kind2, err)
		}
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\x00 #*\\") || strings.TrimSpace(got) != got {
			t.Fatalf("%q is stored as %q", raw, got)
		}
		u, perr := url.Parse(got)
		if perr != nil || u.User != nil || u.Fragment != "" {
			t.Fatalf("%q is stored as %q, which parses to %#v, %v", raw, got, u, perr)
		}
		switch kind {
		case models.RedirectWeb:
			if u.Scheme != "https" || u.Hostname() == "" {
				t.Fatalf("web URI %q", got)
			}
		case models.RedirectLoopback:
			if h := u.Hostname(); h != "localhost" && !net.ParseIP(h).IsLoopback() {
				t.Fatalf("loopback URI %q has host %q", got, h)
			}
		case models.RedirectCustomScheme:
			if u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "javascript" || u.Scheme == "data" {
				t.Fatalf("custom-scheme URI %q", got)
			}
		default:
			t.Fatalf("%q: unknown kind %q", got, kind)
		}
	})
}
