package models

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Link (Drivly-style): an app registers its end users, asks for a short-lived one-time link token
// per Connect launch, and its front end opens the hosted widget with it.

// LinkUser is an app's end user, identified in the app's own system by ClientUserID.
type LinkUser struct {
	ID           string
	AppID        string
	ClientUserID string
	CreatedAt    time.Time
}

// LinkToken is a stored (hashed) one-time token.
type LinkToken struct {
	Hash        string `gorm:"primaryKey"`
	AppID       string
	UserID      string
	RedirectURL string
	Make        string
	Scope       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
}

// Link token rules.
const (
	PrefixLinkToken   = "kf_link_"
	LinkTokenLifetime = 10 * time.Minute
	// LinkResultPath is where a Link session's Connect flow ends; the page reports to the opener.
	LinkResultPath = "/link/result"
)

// LinkError is why a link token cannot open the widget: token_consumed, token_expired, token_invalid.
type LinkError struct{ Type, Message string }

func (e *LinkError) Error() string { return e.Type + ": " + e.Message }

// CreateLinkUser registers clientUserID for app, or returns the existing user (created = false).
func CreateLinkUser(db *gorm.DB, app App, clientUserID string) (LinkUser, bool, error) {
	clientUserID = strings.TrimSpace(clientUserID)
	if !validLabel(clientUserID, 256) {
		return LinkUser{}, false, Invalid("client_user_id", "invalid_client_user_id", "Send client_user_id: your own id for this user (1–256 characters).")
	}
	u := LinkUser{ID: newID(), AppID: app.ID, ClientUserID: clientUserID, CreatedAt: time.Now().UTC()}
	err := db.Create(&u).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		var existing LinkUser
		err = db.Where("app_id = ? AND client_user_id = ?", app.ID, clientUserID).Take(&existing).Error
		return existing, false, err
	}
	return u, err == nil, err
}

// LinkTokenRequest is what POST /link/token asks for.
type LinkTokenRequest struct {
	UserID      string
	RedirectURL string
	Make        string
	Scope       []string
}

// CreateLinkToken issues a 10-minute, single-use token for one of app's users. A redirect_url must
// be one of the app's registered redirect URIs, exactly, so the widget never redirects elsewhere.
func CreateLinkToken(db *gorm.DB, app App, r LinkTokenRequest) (string, time.Time, error) {
	if !IsUUID(r.UserID) {
		return "", time.Time{}, ErrNotFound
	}
	var user LinkUser
	err := db.Where("app_id = ? AND id = ?", app.ID, r.UserID).Take(&user).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", time.Time{}, ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, err
	}
	if r.RedirectURL != "" {
		if err := checkRegisteredURI(db, app.ID, r.RedirectURL, "redirect_url"); err != nil {
			return "", time.Time{}, err
		}
	}
	if r.Make != "" {
		m, err := resolveMake(r.Make)
		if err != nil {
			return "", time.Time{}, err
		}
		r.Make = m.ID
	}
	if len(r.Scope) == 0 {
		r.Scope = []string{"read_vehicle_info"}
	}
	if err := checkPermissionNames(r.Scope); err != nil {
		return "", time.Time{}, err
	}
	token := NewToken(PrefixLinkToken)
	now := time.Now().UTC()
	row := LinkToken{Hash: HashToken(token), AppID: app.ID, UserID: user.ID, RedirectURL: r.RedirectURL, Make: r.Make,
		Scope: strings.Join(slices.Compact(r.Scope), " "), CreatedAt: now, ExpiresAt: now.Add(LinkTokenLifetime)}
	return token, row.ExpiresAt, db.Create(&row).Error
}

// OpenLinkToken spends a link token (once, atomically) and returns the authorization request its
// Connect session runs: test mode, owner = the Link user, ending at the Link result page.
func OpenLinkToken(db *gorm.DB, token string) (AuthorizeRequest, LinkToken, error) {
	if !TokenWellFormed(token, PrefixLinkToken) {
		return AuthorizeRequest{}, LinkToken{}, &LinkError{"token_invalid", "This link is not valid."}
	}
	now := time.Now().UTC()
	var row LinkToken
	res := db.Raw("UPDATE link_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *",
		now, HashToken(token), now).Scan(&row)
	if res.Error != nil {
		return AuthorizeRequest{}, LinkToken{}, res.Error
	}
	if res.RowsAffected == 0 {
		return AuthorizeRequest{}, LinkToken{}, spentLinkToken(db, HashToken(token))
	}
	var app App
	if err := db.Where("id = ?", row.AppID).Take(&app).Error; err != nil {
		return AuthorizeRequest{}, LinkToken{}, err
	}
	scope, err := parseScope(row.Scope)
	if err != nil {
		return AuthorizeRequest{}, LinkToken{}, err
	}
	req := AuthorizeRequest{AppID: app.ID, AppName: app.Name, RedirectURI: LinkResultPath, Scope: scope,
		State: row.Hash, ApprovalPrompt: "force", Mode: ModeTest, Make: row.Make, Flags: map[string]string{}, User: row.UserID}
	return req, row, nil
}

func spentLinkToken(db *gorm.DB, hash string) error {
	var row LinkToken
	err := db.Where("hash = ?", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &LinkError{"token_invalid", "This link is not valid."}
	}
	if err != nil {
		return err
	}
	if row.UsedAt != nil {
		return &LinkError{"token_consumed", "This link was already used. Ask the app for a new one."}
	}
	return &LinkError{"token_expired", "This link has expired (links last 10 minutes). Ask the app for a new one."}
}

// FindLinkTokenByHash loads the token row a Link result refers to (its state).
func FindLinkTokenByHash(db *gorm.DB, hash string) (LinkToken, error) {
	if len(hash) != 64 {
		return LinkToken{}, ErrNotFound
	}
	var row LinkToken
	err := db.Where("hash = ?", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return LinkToken{}, ErrNotFound
	}
	return row, err
}

// LinkOrigins are the web origins an app registered (from its http/https redirect URIs): the only
// pages the Link widget reports to and the only ones that may frame it.
func LinkOrigins(db *gorm.DB, appID string) ([]string, error) {
	var uris []string
	if err := db.Model(&RedirectURI{}).Where("app_id = ? AND kind IN ?", appID, []string{RedirectWeb, RedirectLoopback}).Pluck("uri", &uris).Error; err != nil {
		return nil, err
	}
	var origins []string
	for _, u := range uris {
		scheme, rest, _ := strings.Cut(u, "://")
		host, _, _ := strings.Cut(rest, "/")
		host, _, _ = strings.Cut(host, "?")
		if o := scheme + "://" + host; !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return origins, nil
}

// LinkOutcome is how a Link session ended, as the widget reports it (api.md §Link).
type LinkOutcome struct {
	Event        string // success, error or exit
	PublicToken  string
	ErrorType    string
	ErrorMessage string
	Redirect     string // the app's redirect_url with public_token or error_type, "" without one
}

// LinkOutcomeOf turns the end of a Link session's Connect flow (a code, or an error with its
// description) into the widget's report; leaving before granting is "exit" (user_cancelled).
func LinkOutcomeOf(token LinkToken, code, errorCode, description string) LinkOutcome {
	out := LinkOutcome{Event: "error", ErrorType: errorCode, ErrorMessage: description}
	params := url.Values{"error_type": {errorCode}}
	switch {
	case code != "":
		out = LinkOutcome{Event: "success", PublicToken: code}
		params = url.Values{"public_token": {code}}
	case errorCode == "user_manually_returned_to_application":
		out = LinkOutcome{Event: "exit"}
		params = url.Values{"error_type": {"user_cancelled"}}
	}
	if token.RedirectURL != "" {
		out.Redirect = AppendQuery(token.RedirectURL, params, "")
	}
	return out
}
