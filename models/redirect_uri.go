package models

import (
	"errors"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// RedirectURI is where Connect may send an owner back. The first (lowest position) is the default.
type RedirectURI struct {
	ID        string
	AppID     string
	URI       string
	Kind      string
	Position  int
	CreatedAt time.Time
}

// Kinds of redirect URI.
const (
	RedirectWeb          = "web"
	RedirectLoopback     = "loopback"
	RedirectCustomScheme = "custom_scheme"
	maxRedirectURILength = 2048
)

var (
	schemeSyntax     = regexp.MustCompile(`^[a-z][a-z0-9+.\-]*$`)
	dangerousSchemes = map[string]bool{"javascript": true, "data": true, "file": true, "vbscript": true,
		"about": true, "blob": true, "filesystem": true, "view-source": true, "chrome": true, "ftp": true, "ws": true, "wss": true}
)

func redirectRule(message string) error {
	return Invalid("uri", "invalid_redirect_uri", message)
}

// ValidateRedirectURI applies product.md §4 to raw, for the app clientID, and returns the stored
// form (scheme and host lower-cased) and its kind. Each rejection names the rule and the fix.
func ValidateRedirectURI(raw, clientID string) (normalized, kind string, err error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", "", redirectRule("Enter a redirect URI, e.g. https://app.example.com/callback.")
	case len(raw) > maxRedirectURILength:
		return "", "", redirectRule("Redirect URIs are limited to 2,048 characters; use a shorter path.")
	case strings.ContainsAny(raw, " \t\r\n\\"):
		return "", "", redirectRule("Spaces and backslashes are not allowed; percent-encode them (%20) or remove them.")
	case !utf8.ValidString(raw) || hasControl(raw):
		// A stored URI is text (PostgreSQL refuses anything else) and is shown and matched as typed.
		return "", "", redirectRule("Only UTF-8 text without control characters is allowed; percent-encode any other byte (%FF).")
	case strings.Contains(raw, "#"):
		return "", "", redirectRule("Fragments (#...) are not allowed: the code is added to the query. Remove the # part.")
	case strings.Contains(raw, "*"):
		return "", "", redirectRule("Wildcards are not allowed: register each exact URI.")
	}
	colon := strings.Index(raw, ":")
	if colon <= 0 {
		return "", "", redirectRule("Use an absolute URI with a scheme, e.g. https://app.example.com/callback.")
	}
	scheme := strings.ToLower(raw[:colon])
	if !schemeSyntax.MatchString(scheme) {
		return "", "", redirectRule("The scheme is not valid; start with https://, http://localhost or your app's scheme.")
	}
	if dangerousSchemes[scheme] {
		return "", "", redirectRule("The " + scheme + ": scheme is not allowed; use https:// (or a mobile app scheme).")
	}
	u, perr := url.Parse(raw)
	if perr != nil {
		return "", "", redirectRule("This is not a valid URI; check percent-encoding and the host.")
	}
	if u.User != nil {
		return "", "", redirectRule("User names and passwords in the URI (user@host) are not allowed; remove them.")
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return "", "", redirectRule("The query string has a malformed percent-escape; encode % as %25.")
	}
	u.Scheme, u.Host = scheme, strings.ToLower(u.Host)
	switch scheme {
	case "https", "http":
		kind, err = checkWebHost(u)
	default:
		kind, err = RedirectCustomScheme, checkCustomScheme(u, scheme, clientID)
	}
	if err != nil {
		return "", "", err
	}
	return normalizeRedirectURI(raw, scheme), kind, nil
}

// normalizeRedirectURI lower-cases the scheme and the authority (host and port) and keeps every other
// character exactly as registered, so authorize-time matching compares what the developer typed.
func normalizeRedirectURI(raw, scheme string) string {
	rest := raw[len(scheme)+1:]
	if !strings.HasPrefix(rest, "//") {
		return scheme + ":" + rest
	}
	authority := rest[2:]
	end := strings.IndexAny(authority, "/?")
	if end < 0 {
		end = len(authority)
	}
	return scheme + "://" + strings.ToLower(authority[:end]) + authority[end:]
}

func checkWebHost(u *url.URL) (string, error) {
	host := u.Hostname()
	if host == "" || u.Opaque != "" {
		return "", redirectRule("Add a host after " + u.Scheme + "://, e.g. " + u.Scheme + "://app.example.com/callback.")
	}
	if port := u.Port(); port == "" && strings.HasSuffix(u.Host, ":") {
		return "", redirectRule("The port is empty; remove the colon or add a port number.")
	} else if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return "", redirectRule("The port must be a number from 1 to 65535.")
	}
	loopback := host == "localhost" || host == "127.0.0.1" || host == "::1"
	if u.Scheme == "http" && !loopback {
		return "", redirectRule("http is allowed only for localhost, 127.0.0.1 and [::1]; use https.")
	}
	if !loopback && net.ParseIP(host) == nil && !strings.Contains(host, ".") {
		return "", redirectRule("Use a fully qualified host name such as app.example.com.")
	}
	if loopback {
		return RedirectLoopback, nil
	}
	return RedirectWeb, nil
}

func checkCustomScheme(u *url.URL, scheme, clientID string) error {
	if scheme != "sc"+strings.ToLower(clientID) && !strings.Contains(scheme, ".") {
		return redirectRule("Custom schemes must be sc" + clientID + "://... or reverse-DNS like com.example.app://...; use https for web apps.")
	}
	if u.Host == "" && u.Path == "" && u.Opaque == "" {
		return redirectRule("Add a path after the scheme, e.g. " + scheme + "://callback.")
	}
	return nil
}

// ListRedirectURIs lists an app's redirect URIs, default first.
func ListRedirectURIs(db *gorm.DB, orgID, appID string) ([]RedirectURI, error) {
	if _, err := FindApp(db, orgID, appID); err != nil {
		return nil, err
	}
	var out []RedirectURI
	err := db.Where("app_id = ?", appID).Order("position, created_at").Find(&out).Error
	return out, err
}

// AddRedirectURI validates and stores a redirect URI; an equal (normalised) one is a conflict.
func AddRedirectURI(db *gorm.DB, actor Actor, orgID, appID, raw string) (RedirectURI, error) {
	app, err := FindApp(db, orgID, appID)
	if err != nil {
		return RedirectURI{}, err
	}
	uri, kind, err := ValidateRedirectURI(raw, app.ID)
	if err != nil {
		return RedirectURI{}, err
	}
	r := RedirectURI{ID: newID(), AppID: app.ID, URI: uri, Kind: kind, CreatedAt: time.Now().UTC()}
	err = db.Transaction(func(tx *gorm.DB) error {
		var last struct{ Max *int }
		if err := tx.Model(&RedirectURI{}).Select("MAX(position) AS max").Where("app_id = ?", app.ID).Scan(&last).Error; err != nil {
			return err
		}
		if last.Max != nil {
			r.Position = *last.Max + 1
		}
		if err := tx.Create(&r).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Conflict("duplicate_redirect_uri", "uri", "This redirect URI is already registered.")
			}
			return err
		}
		return writeAudit(tx, orgID, actor, "redirect_uri.add", app.ID, uri, map[string]any{"uri": uri, "kind": kind})
	})
	return r, err
}

// RemoveRedirectURI deletes one of an app's redirect URIs.
func RemoveRedirectURI(db *gorm.DB, actor Actor, orgID, appID, uriID string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		app, err := FindApp(tx, orgID, appID)
		if err != nil {
			return err
		}
		var r RedirectURI
		if err := tx.Where("app_id = ? AND id = ?", app.ID, uriID).Take(&r).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		if err := tx.Where("id = ?", r.ID).Delete(&RedirectURI{}).Error; err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "redirect_uri.remove", app.ID, r.URI, map[string]any{"uri": r.URI})
	})
}

// checkRegisteredURI refuses uri unless it is one of the app's registered redirect URIs, exactly;
// field names the request field for the error.
func checkRegisteredURI(db *gorm.DB, appID, uri, field string) error {
	var n int64
	if err := db.Model(&RedirectURI{}).Where("app_id = ? AND uri = ?", appID, uri).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return Invalid(field, "invalid_"+field, field+" must be one of the app's registered redirect URIs, exactly.")
	}
	return nil
}
