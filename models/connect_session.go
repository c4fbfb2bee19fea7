package models

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// ConnectSession is one owner's run through Connect. The row holds the flow's state (never the URL)
// and doubles as the session's summary for analytics: last step, outcome, error and timings.
type ConnectSession struct {
	ID           string
	AppID        string
	BrowserHash  string // SHA-256 of the cookie of the browser that started the flow
	CSRFToken    string
	Owner        string
	Mode         string
	Request      string // JSON of the AuthorizeRequest
	Step         string // the page to show next
	Make         string
	AccountEmail string
	Vehicles     string // JSON ids chosen
	LastStep     string
	Outcome      string
	ErrorCode    string
	Sandbox      bool
	StartedAt    time.Time
	UpdatedAt    time.Time
	CompletedAt  *time.Time
	ExpiresAt    time.Time
}

// Connect pages and funnel steps.
const (
	PageBrand       = "brand"
	PageSignIn      = "signin"
	PageProvider    = "provider"
	PageVehicles    = "vehicles"
	PagePermissions = "permissions"
	PageError       = "error"
	PageDone        = "done"

	StepLaunched            = "launched"
	StepBrandSelected       = "brand_selected"
	StepSignedIn            = "signed_in"
	StepVehiclesSelected    = "vehicles_selected"
	StepPermissionsApproved = "permissions_approved"
	StepCompleted           = "completed"
	StepError               = "error"
	StepExited              = "exited"

	connectSessionLifetime = 30 * time.Minute
)

// ErrConnectSessionGone is a session that ended, expired, or belongs to another browser.
var ErrConnectSessionGone = errors.New("this Connect session has ended or belongs to another browser")

// ConnectOutcome is how a step ends: the next page to show, or a final redirect to the app.
type ConnectOutcome struct {
	Redirect string // set when the flow is over
}

// AuthorizeRequest decodes the request the session runs.
func (s ConnectSession) AuthorizeRequest() AuthorizeRequest {
	var req AuthorizeRequest
	json.Unmarshal([]byte(s.Request), &req)
	return req
}

// ChosenVehicles decodes the chosen vehicle ids.
func (s ConnectSession) ChosenVehicles() []string {
	var ids []string
	json.Unmarshal([]byte(s.Vehicles), &ids)
	return ids
}

// StartConnectSession opens a session for a validated request and records "launched" (and
// "brand_selected" when the URL chose the make). It returns the browser secret for the cookie.
func StartConnectSession(db *gorm.DB, req AuthorizeRequest) (ConnectSession, string, error) {
	raw, _ := json.Marshal(req)
	secret := NewToken("")
	now := time.Now().UTC()
	s := ConnectSession{ID: newID(), AppID: req.AppID, BrowserHash: HashToken(secret), CSRFToken: NewToken(""),
		Owner: req.User, Mode: req.Mode, Request: string(raw), Step: PageBrand, LastStep: StepLaunched,
		StartedAt: now, UpdatedAt: now, ExpiresAt: now.Add(connectSessionLifetime)}
	if s.Owner == "" {
		s.Owner = "anonymous-" + s.ID[:8] // analytics still counts the session, under an id of its own
	}
	if req.SingleSelectVIN != "" {
		s.Make = makeOfVIN(req)
	} else if req.Make != "" {
		s.Make = req.Make
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&s).Error; err != nil {
			return err
		}
		if err := recordEvent(tx, &s, StepLaunched, ""); err != nil {
			return err
		}
		if req.Mode == ModeLive {
			return failSession(tx, &s, "configuration_error")
		}
		if s.Make != "" {
			s.Step = PageSignIn
			return advance(tx, &s, StepBrandSelected)
		}
		return nil
	})
	return s, secret, err
}

// makeOfVIN: a single_select_vin flow skips brand select but still signs in to a make: the one the
// URL named, else the VIN's own (MakeOfVIN), else one derived from the VIN's hash.
func makeOfVIN(req AuthorizeRequest) string {
	if req.Make != "" {
		return req.Make
	}
	if m, ok := MakeOfVIN(req.SingleSelectVIN); ok {
		return m.ID
	}
	sum := HashToken(req.SingleSelectVIN)
	n, _ := strconv.ParseUint(sum[:8], 16, 32)
	return Makes[int(n)%len(Makes)].ID
}

// FindConnectSession loads a live session for the browser holding secret.
func FindConnectSession(db *gorm.DB, id, secret string) (ConnectSession, error) {
	if !IsUUID(id) {
		return ConnectSession{}, ErrNotFound
	}
	var s ConnectSession
	err := db.Where("id = ?", id).Take(&s).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ConnectSession{}, ErrNotFound
	}
	if err != nil {
		return ConnectSession{}, err
	}
	if subtle.ConstantTimeCompare([]byte(HashToken(secret)), []byte(s.BrowserHash)) != 1 {
		return ConnectSession{}, ErrConnectSessionGone
	}
	if s.Outcome != "" && s.Step != PageError || time.Now().UTC().After(s.ExpiresAt) {
		return ConnectSession{}, ErrConnectSessionGone
	}
	return s, nil
}

// CheckCSRF compares a posted token with the session's, in constant time.
func (s ConnectSession) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRFToken)) == 1
}

// recordEvent writes a session event through RecordEvent, so the session's summary and the analytics
// rollups (analytics_ingest.go) are kept in the caller's transaction. The rollup rows are sharded by
// session (rollupShards) to avoid a hot row: unsharded, every launch of an app on a day updated one
// (app, day, launched) row under a lock held until commit, and authorize fell from ~2,200/s to 640/s
// at 32 concurrent clients. Sharded, and with a launch's summary inserted whole, it runs at ~1,500-
// 1,650/s against ~2,000-2,200/s without analytics (bench/oauthload, PostgreSQL, this 2-core machine).
func recordEvent(tx *gorm.DB, s *ConnectSession, step, errorCode string) error {
	now := time.Now().UTC()
	event := SessionEvent{ID: newID(), SessionID: s.ID, AppID: s.AppID, Owner: s.Owner, Step: step,
		Make: s.Make, Mode: s.Mode, ErrorCode: errorCode, OccurredAt: now, ReceivedAt: now}
	_, err := RecordEvent(tx, event, s.Sandbox)
	return err
}

// advance records a funnel step and saves the session's new state, together.
func advance(tx *gorm.DB, s *ConnectSession, step string) error {
	s.LastStep, s.UpdatedAt = step, time.Now().UTC()
	if err := recordEvent(tx, s, step, ""); err != nil {
		return err
	}
	return tx.Save(s).Error
}

// failSession ends the flow with an error the owner sees on Connect's error page; leaving it sends
// them back to the app with the error.
func failSession(tx *gorm.DB, s *ConnectSession, code string) error {
	now := time.Now().UTC()
	s.Step, s.Outcome, s.ErrorCode, s.UpdatedAt, s.CompletedAt = PageError, StepError, code, now, &now
	if err := recordEvent(tx, s, StepError, code); err != nil {
		return err
	}
	return tx.Save(s).Error
}

// finish ends the flow with a redirect to the app and records its last event.
func finish(tx *gorm.DB, s *ConnectSession, outcome, errorCode string) error {
	now := time.Now().UTC()
	s.Step, s.Outcome, s.ErrorCode, s.UpdatedAt, s.CompletedAt = PageDone, outcome, errorCode, now, &now
	if outcome == StepCompleted {
		s.LastStep = StepCompleted
	}
	if err := recordEvent(tx, s, outcome, errorCode); err != nil {
		return err
	}
	return tx.Save(s).Error
}

// ErrorRedirect is where an ended-with-error session sends the owner.
func (s ConnectSession) ErrorRedirect(extra url.Values) string {
	req := s.AuthorizeRequest()
	params := url.Values{"error": {s.ErrorCode}, "error_description": {errorDescriptions[s.ErrorCode]}}
	for k, v := range extra {
		params[k] = v
	}
	if s.ErrorCode == "configuration_error" {
		params.Set("status_code", strconv.Itoa(400))
		params.Set("error_message", errorDescriptions["configuration_error"])
	}
	return authorizationResponse(req.RedirectURI, params, req.State, req.Issuer)
}

var errorDescriptions = map[string]string{
	"access_denied":                         "The vehicle owner denied access to their vehicle.",
	"vehicle_incompatible":                  "The vehicle cannot share a permission the application requires.",
	"no_vehicles":                           "The account has no vehicles.",
	"invalid_subscription":                  "The vehicle's connected-services subscription is inactive.",
	"user_manually_returned_to_application": "The vehicle owner left Connect before granting access.",
	"configuration_error":                   "Live mode is not available in Keyfob: use mode=test or mode=simulated.",
	"server_error":                          "Connect hit an unexpected error.",
}

// ErrorTitle and ErrorMessage are what the Connect error page tells the owner.
func (s ConnectSession) ErrorMessage() (title, message string) {
	switch s.ErrorCode {
	case "configuration_error":
		return "Live mode is not available", "This app asked Keyfob to connect a real vehicle, but Keyfob only simulates vehicles (test mode). Go back to the app and let its developer know."
	case "no_vehicles":
		return "No vehicles found", "This account has no vehicles that can be connected."
	case "invalid_subscription":
		return "Subscription inactive", "Your vehicle's connected-services subscription is not active. Renew it with the manufacturer, then try again."
	case "vehicle_incompatible":
		return "Vehicle not compatible", "Your vehicle cannot share what this app requires."
	}
	return "Something went wrong", "Connect could not finish. Go back to the app and try again."
}

// claimStep makes a step's transaction the only one to act on the session's current page: the
// conditional UPDATE takes the row (PostgreSQL makes a concurrent second POST wait, then find the
// page changed), so a double-click or Allow racing Deny acts once.
func claimStep(tx *gorm.DB, s *ConnectSession, page string) error {
	res := tx.Exec("UPDATE connect_sessions SET updated_at = ? WHERE id = ? AND step = ? AND outcome = ''", time.Now().UTC(), s.ID, page)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrConnectSessionGone
	}
	return nil
}
