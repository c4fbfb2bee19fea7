package models

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SandboxGrant is what POST /sandbox/public_token/create asks for: a completed test-mode Connect.
type SandboxGrant struct {
	Owner       string
	Make        string
	Scope       []string
	RedirectURI string // optional; when set it must be registered and /token must send it too
}

// CreateSandboxGrant records a test-mode session that went straight from launched to completed
// (marked sandbox, so analytics can leave it out), gives the owner all their simulated vehicles of
// the make, and returns an authorization code for them. Only test API keys may call it.
func CreateSandboxGrant(db *gorm.DB, key APIKey, app App, g SandboxGrant) (string, time.Time, error) {
	if key.Environment != EnvTest {
		return "", time.Time{}, ErrForbidden
	}
	g.Owner = strings.TrimSpace(g.Owner)
	if g.Owner == "" {
		return "", time.Time{}, Invalid("user_id", "required", "Send user_id (or owner): the vehicle owner this grant is for.")
	}
	m := Makes[0]
	if g.Make != "" {
		var err error
		if m, err = resolveMake(g.Make); err != nil {
			return "", time.Time{}, err
		}
	}
	if len(g.Scope) == 0 {
		return "", time.Time{}, Invalid("scope", "invalid_scope", "Send scope: a list of permissions such as read_vehicle_info.")
	}
	if slices.ContainsFunc(g.Scope, func(p string) bool { return strings.HasPrefix(p, "required:") }) {
		return "", time.Time{}, Invalid("scope", "invalid_scope", "The sandbox grants permissions directly: send names without required:.")
	}
	if err := checkPermissionNames(g.Scope); err != nil {
		return "", time.Time{}, err
	}
	if g.RedirectURI != "" {
		if err := checkRegisteredURI(db, app.ID, g.RedirectURI, "redirect_uri"); err != nil {
			return "", time.Time{}, err
		}
	}
	vehicles := SimulatedVehicles(g.Owner, m.ID)
	ids := make([]string, len(vehicles))
	for i, v := range vehicles {
		ids[i] = v.ID
	}
	scope := slices.Compact(slices.Clone(g.Scope))
	req := AuthorizeRequest{AppID: app.ID, AppName: app.Name, RedirectURI: g.RedirectURI, BoundRedirectURI: g.RedirectURI,
		Mode: ModeTest, Make: m.ID, User: g.Owner}
	raw, _ := json.Marshal(req)
	idsJSON, _ := json.Marshal(ids)
	now := time.Now().UTC()
	s := ConnectSession{ID: newID(), AppID: app.ID, BrowserHash: HashToken(NewToken("")), CSRFToken: NewToken(""), Owner: g.Owner,
		Mode: ModeTest, Request: string(raw), Step: PageDone, Make: m.ID, Vehicles: string(idsJSON), LastStep: StepLaunched,
		Sandbox: true, StartedAt: now, UpdatedAt: now, ExpiresAt: now}
	var code string
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&s).Error; err != nil {
			return err
		}
		if err := recordEvent(tx, &s, StepLaunched, ""); err != nil {
			return err
		}
		if err := EnsureVehicleStates(tx, app.ID, g.Owner, vehicles); err != nil {
			return err
		}
		var err error
		code, err = IssueCode(tx, CodeGrant{AppID: app.ID, RedirectURI: g.RedirectURI, Owner: g.Owner, SessionID: s.ID,
			Mode: ModeTest, Vehicles: ids, Scope: scope})
		if err != nil {
			return err
		}
		return finish(tx, &s, StepCompleted, "")
	})
	return code, now.Add(CodeLifetime), err
}
