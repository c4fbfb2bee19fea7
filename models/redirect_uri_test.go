package models_test

import (
	"errors"
	"strings"
	"testing"

	"keyfob/models"
	"keyfob/models/modelstest"
)

const testClientID = "3f2b7c1e-9a4d-4e6f-8b1c-2d3e4f5a6b7c"

func TestValidateRedirectURIAccepts(t *testing.T) {
	long := "https://app.example.com/" + strings.Repeat("a", 2048-len("https://app.example.com/"))
	cases := []struct {
		raw, want, kind string
	}{
		{"https://app.example.com/cb", "https://app.example.com/cb", models.RedirectWeb},
		{"https://APP.Example.COM/Cb?x=1", "https://app.example.com/Cb?x=1", models.RedirectWeb},
		{"HTTPS://app.example.com/Callback", "https://app.example.com/Callback", models.RedirectWeb},
		{"https://app.example.com:8443/cb", "https://app.example.com:8443/cb", models.RedirectWeb},
		{"https://app.example.com", "https://app.example.com", models.RedirectWeb},
		{"  https://app.example.com/cb  ", "https://app.example.com/cb", models.RedirectWeb},
		{long, long, models.RedirectWeb},
		{"http://localhost:3000/cb", "http://localhost:3000/cb", models.RedirectLoopback},
		{"http://LOCALHOST:3000/cb", "http://localhost:3000/cb", models.RedirectLoopback},
		{"http://127.0.0.1/cb", "http://127.0.0.1/cb", models.RedirectLoopback},
		{"http://[::1]:8080/cb", "http://[::1]:8080/cb", models.RedirectLoopback},
		{"https://localhost/cb", "https://localhost/cb", models.RedirectLoopback},
		{"sc" + testClientID + "://callback", "sc" + testClientID + "://callback", models.RedirectCustomScheme},
		{"com.example.app://callback", "com.example.app://callback", models.RedirectCustomScheme},
		{"com.example.app:/oauth", "com.example.app:/oauth", models.RedirectCustomScheme},
		{"Com.Example.App://callback", "com.example.app://callback", models.RedirectCustomScheme},
	}
	if len(long) != 2048 {
		t.Fatalf("long URI has %d characters", len(long))
	}
	for _, tc := range cases {
		name := tc.raw
		if len(name) > 60 {
			name = "2048 characters"
		}
		t.Run(name, func(t *testing.T) {
			got, kind, err := models.ValidateRedirectURI(tc.raw, testClientID)
			if err != nil {
				t.Fatalf("ValidateRedirectURI(%q) = %v", tc.raw, err)
			}
			if got != tc.want || kind != tc.kind {
				t.Errorf("ValidateRedirectURI(%q) = %q, %q; want %q, %q", tc.raw, got, kind, tc.want, tc.kind)
			}
			// The stored form is a fixed point: validating it again changes nothing.
			again, kind2, err := models.ValidateRedirectURI(got, testClientID)
			if err != nil || again != got || kind2 != kind {
				t.Errorf("re-validating %q = %q, %q, %v", got, again, kind2, err)
			}
		})
	}
}

func TestValidateRedirectURIRejects(t *testing.T) {
	cases := []struct {
		rule string // rejections of one rule may share a message; different rules may not
		raw  string
		hint string // the message must say how to fix, so it mentions this (case-insensitive)
	}{
		{"http only for loopback", "http://example.com/cb", "https"},
		{"http only for loopback", "http://localhost.example.com/cb", "https"},
		{"http only for loopback", "http://127.0.0.2/cb", "https"},
		{"dangerous scheme", "JaVaScRiPt:alert(1)", "https://"},
		{"dangerous scheme", "javascript://x", "https://"},
		{"dangerous scheme", "data:text/html,hi", "https://"},
		{"dangerous scheme", "file:///etc/passwd", "https://"},
		{"dangerous scheme", "vbscript:x", "https://"},
		{"wildcard", "https://*.x.com/cb", "exact"},
		{"fragment", "https://x.com/cb#frag", "remove"},
		{"fragment", "https://x.com/cb#", "remove"},
		{"user info", "https://user:pw@x.com/cb", "remove"},
		{"user info", "https://user@x.com/cb", "remove"},
		{"whitespace", "https://x.com/a b", "%20"},
		{"whitespace", "https://x.com/a\tb", "%20"},
		{"whitespace", `https://x.com\@evil.com/cb`, "remove"},
		{"custom scheme", "myapp://callback", "com.example.app"},
		{"custom scheme", "scOTHERID://cb", "com.example.app"},
		{"custom scheme", "sc" + testClientID + "x://cb", "com.example.app"},
		{"empty", "", "https://"},
		{"empty", "   ", "https://"},
		{"too long", "https://app.example.com/" + strings.Repeat("a", 2049-len("https://app.example.com/")), "shorter"},
		{"relative", "/cb", "https://"},
		{"relative", "app.example.com/cb", "https://"},
		{"no host", "https:///cb", "host"},
		{"no host", "https:/cb", "host"},
		{"single-label host", "https://intranet/cb", "app.example.com"},
		{"not text", "https://x.com/\xff\xfe", "%FF"}, // found by FuzzValidateRedirectURI: was stored as it came
		{"not text", "https://x.com/a\x00b", "%FF"},
		{"not text", "https://x.com/a\x7fb", "%FF"},
	}
	messages := map[string]map[string]bool{} // rule → its messages
	for _, tc := range cases {
		name := tc.rule + ": " + tc.raw
		if len(name) > 80 {
			name = tc.rule
		}
		t.Run(name, func(t *testing.T) {
			got, kind, err := models.ValidateRedirectURI(tc.raw, testClientID)
			if err == nil {
				t.Fatalf("ValidateRedirectURI(%q) = %q, %q; want an error", tc.raw, got, kind)
			}
			if got != "" || kind != "" {
				t.Errorf("a rejected URI returned %q, %q", got, kind)
			}
			var v *models.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("err = %v (%T), want *models.ValidationError", err, err)
			}
			if v.Field != "uri" || v.Code != "invalid_redirect_uri" {
				t.Errorf("field %q code %q, want uri invalid_redirect_uri", v.Field, v.Code)
			}
			if strings.TrimSpace(v.Message) == "" {
				t.Fatal("empty message")
			}
			if !strings.Contains(strings.ToLower(v.Message), strings.ToLower(tc.hint)) {
				t.Errorf("message %q does not say how to fix (no %q)", v.Message, tc.hint)
			}
			if messages[tc.rule] == nil {
				messages[tc.rule] = map[string]bool{}
			}
			messages[tc.rule][v.Message] = true
		})
	}
	for rule, msgs := range messages {
		for other, otherMsgs := range messages {
			if rule >= other {
				continue
			}
			for m := range msgs {
				if otherMsgs[m] {
					t.Errorf("rules %q and %q give the same message %q", rule, other, m)
				}
			}
		}
	}
}

func TestAddRedirectURI(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, _ := newApp(t, db, a, "Fleet")

	first, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, app.ID, "https://APP.Example.com/cb")
	if err != nil {
		t.Fatalf("AddRedirectURI: %v", err)
	}
	if first.Position != 0 || first.URI != "https://app.example.com/cb" || first.Kind != models.RedirectWeb || first.AppID != app.ID {
		t.Errorf("first redirect URI = %+v; want position 0, normalised, web", first)
	}
	second, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, app.ID, "http://localhost:3000/cb")
	if err != nil {
		t.Fatalf("AddRedirectURI: %v", err)
	}
	if second.Position != 1 || second.Kind != models.RedirectLoopback {
		t.Errorf("second redirect URI = %+v; want position 1, loopback", second)
	}
	var stored []models.RedirectURI
	if err := db.Where("app_id = ?", app.ID).Order("position").Find(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[0].URI != "https://app.example.com/cb" || stored[0].Position != 0 ||
		stored[1].URI != "http://localhost:3000/cb" || stored[1].Position != 1 {
		t.Fatalf("stored redirect URIs = %+v", stored)
	}

	refused := []struct {
		raw   string
		check func(t *testing.T, err error)
	}{
		{"https://app.example.com/cb", func(t *testing.T, err error) { wantConflict(t, err, "duplicate_redirect_uri") }},
		{"HTTPS://APP.EXAMPLE.COM/cb", func(t *testing.T, err error) { wantConflict(t, err, "duplicate_redirect_uri") }},
		{" http://LOCALHOST:3000/cb ", func(t *testing.T, err error) { wantConflict(t, err, "duplicate_redirect_uri") }},
		{"javascript:alert(1)", func(t *testing.T, err error) { wantValidation(t, err, "uri", "invalid_redirect_uri") }},
		{"http://x.com/cb", func(t *testing.T, err error) { wantValidation(t, err, "uri", "invalid_redirect_uri") }},
	}
	for _, tc := range refused {
		t.Run(tc.raw, func(t *testing.T) {
			_, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, app.ID, tc.raw)
			tc.check(t, err)
			if n := countRows(t, db, "redirect_uris", "app_id = ?", app.ID); n != 2 {
				t.Errorf("app has %d redirect URIs, want 2", n)
			}
		})
	}

	// The first added is the default: listed first.
	listed, err := models.ListRedirectURIs(db, a.Org.ID, app.ID)
	if err != nil || len(listed) != 2 || listed[0].ID != first.ID || listed[1].ID != second.ID {
		t.Fatalf("ListRedirectURIs = %+v, %v", listed, err)
	}
	details, err := models.LoadAppDetails(db, a.Org.ID, app.ID)
	if err != nil || len(details.RedirectURIs) != 2 || details.RedirectURIs[0].ID != first.ID {
		t.Errorf("LoadAppDetails redirect URIs = %+v, %v", details.RedirectURIs, err)
	}

	added := auditEntries(t, db, a.Org.ID, "redirect_uri.add")
	if len(added) != 2 {
		t.Fatalf("%d redirect_uri.add audit entries, want 2", len(added))
	}
	if added[0].Target != second.URI || added[1].Target != first.URI || added[1].AppID != app.ID || added[1].ActorID != a.User.ID {
		t.Errorf("redirect_uri.add audit entries = %+v", added)
	}

	if err := models.RemoveRedirectURI(db, a.Actor, a.Org.ID, app.ID, first.ID); err != nil {
		t.Fatalf("RemoveRedirectURI: %v", err)
	}
	if n := countRows(t, db, "redirect_uris", "id = ?", first.ID); n != 0 {
		t.Error("removed redirect URI is still stored")
	}
	removed := auditEntries(t, db, a.Org.ID, "redirect_uri.remove")
	if len(removed) != 1 || removed[0].Target != first.URI || removed[0].AppID != app.ID {
		t.Errorf("redirect_uri.remove audit entries = %+v", removed)
	}
	wantErrorIs(t, models.RemoveRedirectURI(db, a.Actor, a.Org.ID, app.ID, first.ID), models.ErrNotFound)

	// Added again after removal, it goes last.
	again, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, app.ID, "https://app.example.com/cb")
	if err != nil || again.Position != 2 {
		t.Errorf("re-added redirect URI = %+v, %v; want position 2", again, err)
	}
	listed, _ = models.ListRedirectURIs(db, a.Org.ID, app.ID)
	if len(listed) != 2 || listed[0].ID != second.ID {
		t.Errorf("after removing the default, the list starts with %+v", listed)
	}
}

func TestRedirectURIsStayInsideTheirOrganisation(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	appA, _ := newApp(t, db, a, "A's app")
	otherA, _ := newApp(t, db, a, "A's other app")
	appB, _ := newApp(t, db, b, "B's app")
	uriA, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, appA.ID, "https://a.example.com/cb")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		call  func() error
		wantN int64 // redirect URIs of app A afterwards
	}{
		{"remove through B's organisation", func() error { return models.RemoveRedirectURI(db, b.Actor, b.Org.ID, appA.ID, uriA.ID) }, 1},
		{"remove as B's app's URI", func() error { return models.RemoveRedirectURI(db, b.Actor, b.Org.ID, appB.ID, uriA.ID) }, 1},
		{"remove as another app's URI", func() error { return models.RemoveRedirectURI(db, a.Actor, a.Org.ID, otherA.ID, uriA.ID) }, 1},
		{"add through B's organisation", func() error {
			_, err := models.AddRedirectURI(db, b.Actor, b.Org.ID, appA.ID, "https://evil.example.com/cb")
			return err
		}, 1},
		{"list through B's organisation", func() error { _, err := models.ListRedirectURIs(db, b.Org.ID, appA.ID); return err }, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErrorIs(t, tc.call(), models.ErrNotFound)
			if n := countRows(t, db, "redirect_uris", "app_id = ?", appA.ID); n != tc.wantN {
				t.Errorf("app A has %d redirect URIs, want %d", n, tc.wantN)
			}
		})
	}
	if n := countRows(t, db, "redirect_uris", "uri = ?", "https://evil.example.com/cb"); n != 0 {
		t.Error("a redirect URI was added through another organisation")
	}
	if n := len(auditEntries(t, db, b.Org.ID, "")); n != 1 {
		t.Errorf("B's audit log has %d entries, want only app.create", n)
	}
}

func TestCustomSchemeUsesTheAppsClientID(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, _ := newApp(t, db, a, "Mobile")
	other, _ := newApp(t, db, a, "Other")

	r, err := models.AddRedirectURI(db, a.Actor, a.Org.ID, app.ID, "sc"+app.ID+"://callback")
	if err != nil || r.Kind != models.RedirectCustomScheme {
		t.Fatalf("sc<own client_id> = %+v, %v", r, err)
	}
	_, err = models.AddRedirectURI(db, a.Actor, a.Org.ID, other.ID, "sc"+app.ID+"://callback")
	wantValidation(t, err, "uri", "invalid_redirect_uri")
	if n := countRows(t, db, "redirect_uris", "app_id = ?", other.ID); n != 0 {
		t.Errorf("another app's sc<client_id> scheme was stored")
	}
}

func TestRedirectURIStoredVerbatimExceptSchemeAndHost(t *testing.T) {
	for raw, want := range map[string]string{
		"HTTPS://App.Example.COM:8443/Call%2Fback?Q=Ü": "https://app.example.com:8443/Call%2Fback?Q=Ü",
		"https://app.example.com/café":                 "https://app.example.com/café",
		"Com.Example.App:/OAuth":                       "com.example.app:/OAuth",
		"http://LOCALHOST:3000":                        "http://localhost:3000",
	} {
		got, _, err := models.ValidateRedirectURI(raw, "00000000-0000-4000-8000-000000000000")
		if err != nil || got != want {
			t.Errorf("ValidateRedirectURI(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"https://app.example.com:99999/cb", "https://app.example.com:0/cb", "https://app.example.com/cb?x=%zz"} {
		if _, _, err := models.ValidateRedirectURI(raw, "00000000-0000-4000-8000-000000000000"); err == nil {
			t.Errorf("%q must be rejected", raw)
		}
	}
}
