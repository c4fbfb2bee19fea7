package models

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// AuthorizeParams are the query parameters of GET /oauth/authorize as received. Duplicates names
// the parameters that appeared more than once.
type AuthorizeParams struct {
	ClientID, ApplicationID, RedirectURI, ResponseType, Scope, State, ApprovalPrompt, Mode, Make,
	SingleSelect, SingleSelectVIN, Flags, User, CodeChallenge, CodeChallengeMethod string
	Duplicates []string
	Issuer     string // the server's own origin (KEYFOB_BASE_URL), sent back as iss (RFC 9207)
}

// ScopeItem is one requested permission.
type ScopeItem struct {
	Name     string
	Required bool
}

// AuthorizeRequest is a validated authorization request: what the Connect session runs.
type AuthorizeRequest struct {
	AppID            string
	AppName          string
	RedirectURI      string // where the flow ends: a registered URI, exactly
	BoundRedirectURI string // the redirect_uri as sent ("" when omitted); /token must send the same
	Scope            []ScopeItem
	State            string
	ApprovalPrompt   string // auto or force
	Mode             string // test, simulated or live
	Make             string
	SingleSelect     bool
	SingleSelectVIN  string
	Flags            map[string]string
	User             string
	CodeChallenge    string
	Issuer           string // iss on every redirect back to the app ("" for flows that are not OAuth)
}

// AuthorizeError is a refused authorization request. Page errors are shown on Keyfob's own error
// page and never redirect (the client or redirect URI cannot be trusted); the others redirect to the
// registered URI with error, error_description and state.
type AuthorizeError struct {
	Page        bool
	Code        string
	Description string
	RedirectURI string
	State       string
	Issuer      string
}

func (e *AuthorizeError) Error() string { return e.Code + ": " + e.Description }

// RedirectURL is where a non-page error sends the owner.
func (e *AuthorizeError) RedirectURL() string {
	return authorizationResponse(e.RedirectURI, url.Values{"error": {e.Code}, "error_description": {e.Description}}, e.State, e.Issuer)
}

// authorizationResponse is a redirect back to the app ending an authorization request, success or error:
// params, state and the issuer as iss (RFC 9207), so a client can tell which server answered.
func authorizationResponse(uri string, params url.Values, state, issuer string) string {
	if issuer != "" {
		params.Set("iss", issuer)
	}
	return AppendQuery(uri, params, state)
}

// AppendQuery adds params (and state, when not empty) to a registered redirect URI, keeping its own query.
func AppendQuery(uri string, params url.Values, state string) string {
	if state != "" {
		params.Set("state", state)
	}
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + params.Encode()
}

var (
	pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	vinSyntax     = regexp.MustCompile(`^[0-9A-HJ-NPR-Z]{17}$`)
)

// Connect modes.
const (
	ModeTest      = "test"
	ModeSimulated = "simulated"
	ModeLive      = "live"
)

// ParseAuthorize validates p against the app it names. The order matters: until the client and the
// redirect URI are trusted, every problem is a page error.
func ParseAuthorize(db *gorm.DB, p AuthorizeParams) (AuthorizeRequest, error) {
	if slices.Contains(p.Duplicates, "client_id") || slices.Contains(p.Duplicates, "application_id") || slices.Contains(p.Duplicates, "redirect_uri") {
		return AuthorizeRequest{}, pageError("invalid_request", "client_id and redirect_uri may each be sent only once.")
	}
	clientID := p.ClientID
	if clientID == "" {
		clientID = p.ApplicationID
	} else if p.ApplicationID != "" && p.ApplicationID != clientID {
		return AuthorizeRequest{}, pageError("invalid_request", "client_id and application_id name different applications.")
	}
	app, err := findClient(db, clientID)
	if errors.Is(err, ErrNotFound) {
		return AuthorizeRequest{}, pageError("invalid_client", "Unknown client_id: this application is not registered with Keyfob.")
	}
	if err != nil {
		return AuthorizeRequest{}, err
	}
	var uris []RedirectURI
	if err := db.Where("app_id = ?", app.ID).Order("position, created_at").Find(&uris).Error; err != nil {
		return AuthorizeRequest{}, err
	}
	req := AuthorizeRequest{AppID: app.ID, AppName: app.Name, BoundRedirectURI: p.RedirectURI, State: p.State, Issuer: p.Issuer}
	switch {
	case p.RedirectURI != "" && !slices.ContainsFunc(uris, func(r RedirectURI) bool { return r.URI == p.RedirectURI }):
		return req, pageError("invalid_request", "400: Unauthorized redirect_uri. It must match a redirect URI registered for this application exactly.")
	case p.RedirectURI != "":
		req.RedirectURI = p.RedirectURI
	case len(uris) == 0:
		return req, pageError("invalid_request", "This application has no redirect URI registered yet.")
	default:
		req.RedirectURI = uris[0].URI
	}
	if p.ResponseType == "" {
		return req, pageError("invalid_request", "400: Missing response_type. Send response_type=code.")
	}
	fail := func(code, description string) (AuthorizeRequest, error) {
		return req, &AuthorizeError{Code: code, Description: description, RedirectURI: req.RedirectURI, State: p.State, Issuer: p.Issuer}
	}
	if len(p.Duplicates) > 0 {
		return fail("invalid_request", "Each parameter may be sent once; repeated: "+strings.Join(p.Duplicates, ", ")+".")
	}
	if p.ResponseType != "code" {
		return fail("unsupported_response_type", "Only response_type=code is supported.")
	}
	scope, err := parseScope(p.Scope)
	if err != nil {
		return fail("invalid_scope", err.Error())
	}
	req.Scope = scope
	if problem := req.applyOptions(p); problem != "" {
		return fail("invalid_request", problem)
	}
	return req, nil
}

func pageError(code, description string) *AuthorizeError {
	return &AuthorizeError{Page: true, Code: code, Description: description}
}

type scopeError string

func (e scopeError) Error() string { return string(e) }

// parseScope reads "read_odometer required:read_vehicle_info ..." into known permissions.
func parseScope(raw string) ([]ScopeItem, error) {
	var out []ScopeItem
	for _, word := range strings.Fields(raw) {
		name, required := strings.CutPrefix(word, "required:")
		if _, ok := FindPermission(name); !ok {
			return nil, scopeError("Unknown permission in scope: " + word + ".")
		}
		if slices.ContainsFunc(out, func(s ScopeItem) bool { return s.Name == name }) {
			continue
		}
		out = append(out, ScopeItem{Name: name, Required: required})
	}
	if len(out) == 0 {
		return nil, scopeError("Ask for at least one permission, e.g. scope=read_vehicle_info.")
	}
	return out, nil
}

// applyOptions validates the optional parameters; it returns a problem description or "".
func (req *AuthorizeRequest) applyOptions(p AuthorizeParams) string {
	req.ApprovalPrompt = p.ApprovalPrompt
	switch p.ApprovalPrompt {
	case "":
		req.ApprovalPrompt = "auto"
	case "auto", "force":
	default:
		return "approval_prompt must be auto or force."
	}
	req.Mode = p.Mode
	switch p.Mode {
	case "":
		req.Mode = ModeTest
	case ModeTest, ModeSimulated, ModeLive:
	default:
		return "mode must be test, simulated or live."
	}
	if p.Make != "" {
		m, ok := FindMake(p.Make)
		if !ok {
			return "Unknown make: " + p.Make + "."
		}
		req.Make = m.ID
	}
	switch p.SingleSelect {
	case "", "false":
	case "true":
		req.SingleSelect = true
	default:
		return "single_select must be true or false."
	}
	if p.SingleSelectVIN != "" {
		if !req.SingleSelect {
			return "single_select_vin needs single_select=true."
		}
		if !vinSyntax.MatchString(strings.ToUpper(p.SingleSelectVIN)) {
			return "single_select_vin must be a 17-character VIN."
		}
		req.SingleSelectVIN = strings.ToUpper(p.SingleSelectVIN)
	}
	req.Flags = map[string]string{}
	for _, flag := range strings.Fields(p.Flags) {
		name, value, ok := strings.Cut(flag, ":")
		if !ok || name == "" {
			return "flags are name:value pairs separated by spaces."
		}
		req.Flags[name] = value
	}
	if utf8.RuneCountInString(p.User) > 256 {
		return "user is limited to 256 characters."
	}
	req.User = p.User
	return req.applyPKCE(p)
}

func (req *AuthorizeRequest) applyPKCE(p AuthorizeParams) string {
	switch {
	case p.CodeChallenge == "" && p.CodeChallengeMethod == "":
		return ""
	case p.CodeChallengeMethod != "S256":
		return "PKCE needs code_challenge_method=S256 (plain is not accepted)."
	case !pkceChallenge.MatchString(p.CodeChallenge):
		return "code_challenge must be the base64url SHA-256 of the verifier (43 characters)."
	}
	req.CodeChallenge = p.CodeChallenge
	return ""
}

// Required lists the required permission names; Names lists all.
func (req AuthorizeRequest) Required() []string {
	var out []string
	for _, s := range req.Scope {
		if s.Required {
			out = append(out, s.Name)
		}
	}
	return out
}

// TestMode reports whether the flow uses simulated vehicles and accepts any credentials.
func (req AuthorizeRequest) TestMode() bool { return req.Mode == ModeTest || req.Mode == ModeSimulated }
