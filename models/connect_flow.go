package models

import (
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SelectBrand records the make the owner picked and moves to sign-in.
func SelectBrand(db *gorm.DB, s ConnectSession, make string) (ConnectSession, error) {
	m, ok := FindMake(make)
	if !ok || s.Step != PageBrand {
		return s, Invalid("make", "unknown_make", "Choose a brand from the list.")
	}
	if allowed, err := ConnectBranding(db, s.AppID); err != nil {
		return s, err
	} else if len(allowed.Makes) > 0 && !slices.Contains(allowed.Makes, m.ID) {
		return s, Invalid("make", "unknown_make", "Choose a brand from the list.")
	}
	s.Make, s.Step = m.ID, PageSignIn
	return s, db.Transaction(func(tx *gorm.DB) error {
		if err := claimStep(tx, &s, PageBrand); err != nil {
			return err
		}
		return advance(tx, &s, StepBrandSelected)
	})
}

// SignIn signs the owner in to the make's (simulated) account. In test mode any credentials work;
// scenario emails end the flow with their error. OAuth makes sign in on the provider page instead.
func SignIn(db *gorm.DB, s ConnectSession, email, password string) (ConnectSession, error) {
	m, _ := FindMake(s.Make)
	if s.Step != PageSignIn && s.Step != PageProvider {
		return s, ErrConnectSessionGone
	}
	email = strings.TrimSpace(email)
	if _, err := NormalizeEmail(email); err != nil && !strings.Contains(email, "@") {
		return s, Invalid("email", "invalid_email", "Enter the email of your "+m.Name+" account.")
	}
	if m.Auth == AuthEmailPassword && password == "" && s.Step == PageSignIn {
		return s, Invalid("password", "required", "Enter your "+m.Name+" password.")
	}
	s.AccountEmail = email
	page := s.Step
	return s, db.Transaction(func(tx *gorm.DB) error {
		if err := claimStep(tx, &s, page); err != nil {
			return err
		}
		switch ScenarioFor(email, s.Make).Outcome {
		case "invalid_subscription", "no_vehicles":
			if err := advance(tx, &s, StepSignedIn); err != nil {
				return err
			}
			return failSession(tx, &s, ScenarioFor(email, s.Make).Outcome)
		}
		s.Step = PageVehicles
		return advance(tx, &s, StepSignedIn)
	})
}

// AvailableVehicles lists what the vehicle step offers: the account's vehicles, or only the VIN the
// app asked for with single_select_vin.
func (s ConnectSession) AvailableVehicles() []Vehicle {
	req := s.AuthorizeRequest()
	if req.SingleSelectVIN != "" {
		if v := ScenarioFor(req.SingleSelectVIN+"@compatible", s.Make).Pinned; v != nil {
			return []Vehicle{*v}
		}
	}
	if pinned := ScenarioFor(s.AccountEmail, s.Make).Pinned; pinned != nil {
		return []Vehicle{*pinned}
	}
	return SimulatedVehicles(s.Owner, s.Make)
}

// ChooseVehicles records the owner's choice. A vehicle that cannot serve a required permission ends
// the flow with vehicle_incompatible (its details go back to the app); approval_prompt=auto with a
// remembered grant of the same scope skips the permissions page.
func ChooseVehicles(db *gorm.DB, s ConnectSession, ids []string) (ConnectSession, ConnectOutcome, error) {
	req := s.AuthorizeRequest()
	available := s.AvailableVehicles()
	var chosen []Vehicle
	for _, id := range ids {
		i := slices.IndexFunc(available, func(v Vehicle) bool { return v.ID == id })
		if i < 0 {
			return s, ConnectOutcome{}, Invalid("vehicle", "unknown_vehicle", "Choose one of the vehicles shown.")
		}
		if !slices.ContainsFunc(chosen, func(v Vehicle) bool { return v.ID == id }) {
			chosen = append(chosen, available[i])
		}
	}
	switch {
	case s.Step != PageVehicles:
		return s, ConnectOutcome{}, ErrConnectSessionGone
	case len(chosen) == 0:
		return s, ConnectOutcome{}, Invalid("vehicle", "no_vehicle", "Choose at least one vehicle.")
	case req.SingleSelect && len(chosen) > 1:
		return s, ConnectOutcome{}, Invalid("vehicle", "single_select", "This app connects one vehicle: choose one.")
	}
	chosenIDs := make([]string, len(chosen))
	for i, v := range chosen {
		chosenIDs[i] = v.ID
	}
	raw, _ := json.Marshal(chosenIDs)
	s.Vehicles = string(raw)
	var outcome ConnectOutcome
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := claimStep(tx, &s, PageVehicles); err != nil {
			return err
		}
		if err := advance(tx, &s, StepVehiclesSelected); err != nil {
			return err
		}
		if bad, ok := incompatibleVehicle(s, chosen, req); ok {
			if err := finish(tx, &s, StepError, "vehicle_incompatible"); err != nil {
				return err
			}
			outcome.Redirect = s.ErrorRedirect(url.Values{"vin": {bad.VIN}, "make": {bad.Make}, "model": {bad.Model}, "year": {strconv.Itoa(bad.Year)}})
			return nil
		}
		s.Step = PagePermissions
		if err := tx.Save(&s).Error; err != nil {
			return err
		}
		if req.ApprovalPrompt != "auto" || req.Flags["remember_grant"] == "false" && req.TestMode() {
			return nil
		}
		var remembered []string
		if err := tx.Table("connect_grants").Where("app_id = ? AND owner = ? AND scope = ?", s.AppID, s.Owner, rememberKey(s, req)).
			Pluck("granted", &remembered).Error; err != nil || len(remembered) == 0 {
			return err
		}
		// The owner approved this very request before: grant exactly what they granted then.
		var err error
		outcome.Redirect, err = complete(tx, &s, req, strings.Fields(remembered[0]))
		return err
	})
	return s, outcome, err
}

func incompatibleVehicle(s ConnectSession, chosen []Vehicle, req AuthorizeRequest) (Vehicle, bool) {
	if ScenarioFor(s.AccountEmail, s.Make).Outcome == "vehicle_incompatible" {
		return chosen[0], true
	}
	for _, v := range chosen {
		if len(v.Unsupported(req.Required())) > 0 {
			return v, true
		}
	}
	return Vehicle{}, false
}

// Decide ends the permissions step: deny sends access_denied back; allow grants the required
// permissions plus the optional ones the owner left ticked, issues the code and redirects.
func Decide(db *gorm.DB, s ConnectSession, allow bool, ticked []string) (ConnectSession, string, error) {
	if s.Step != PagePermissions {
		return s, "", ErrConnectSessionGone
	}
	req := s.AuthorizeRequest()
	var redirect string
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := claimStep(tx, &s, PagePermissions); err != nil {
			return err
		}
		if !allow {
			if err := finish(tx, &s, StepError, "access_denied"); err != nil {
				return err
			}
			redirect = s.ErrorRedirect(nil)
			return nil
		}
		granted := req.Required()
		for _, item := range req.Scope {
			if !item.Required && slices.Contains(ticked, item.Name) {
				granted = append(granted, item.Name)
			}
		}
		s.LastStep = StepPermissionsApproved
		if err := recordEvent(tx, &s, StepPermissionsApproved, ""); err != nil {
			return err
		}
		if req.Flags["remember_grant"] != "false" || !req.TestMode() {
			grant := map[string]any{"app_id": s.AppID, "owner": s.Owner, "scope": rememberKey(s, req),
				"granted": strings.Join(granted, " "), "granted_at": time.Now().UTC()}
			if err := tx.Table("connect_grants").Where("app_id = ? AND owner = ? AND scope = ?", s.AppID, s.Owner, rememberKey(s, req)).
				Delete(nil).Error; err != nil {
				return err
			}
			if err := tx.Table("connect_grants").Create(grant).Error; err != nil {
				return err
			}
		}
		var err error
		redirect, err = complete(tx, &s, req, granted)
		return err
	})
	return s, redirect, err
}

// complete issues the code bound to this session's grant and ends the flow. The chosen vehicles get
// their simulated state now, so the vehicle API can answer for them on any replica.
func complete(tx *gorm.DB, s *ConnectSession, req AuthorizeRequest, granted []string) (string, error) {
	var chosen []Vehicle
	for _, v := range s.AvailableVehicles() {
		if slices.Contains(s.ChosenVehicles(), v.ID) {
			chosen = append(chosen, v)
		}
	}
	if err := EnsureVehicleStates(tx, s.AppID, s.Owner, chosen); err != nil {
		return "", err
	}
	code, err := IssueCode(tx, CodeGrant{AppID: s.AppID, RedirectURI: req.BoundRedirectURI, CodeChallenge: req.CodeChallenge,
		Owner: s.Owner, SessionID: s.ID, Mode: s.Mode, Vehicles: s.ChosenVehicles(), Scope: granted})
	if err != nil {
		return "", err
	}
	if err := finish(tx, s, StepCompleted, ""); err != nil {
		return "", err
	}
	return authorizationResponse(req.RedirectURI, url.Values{"code": {code}}, req.State, req.Issuer), nil
}

// Exit ends a session the owner leaves: before the end it is user_manually_returned_to_application;
// from an error page it carries that page's error back.
func Exit(db *gorm.DB, s ConnectSession) (string, error) {
	if s.Step == PageError {
		res := db.Exec("UPDATE connect_sessions SET step = ?, updated_at = ? WHERE id = ? AND step = ?", PageDone, time.Now().UTC(), s.ID, PageError)
		if res.Error == nil && res.RowsAffected != 1 {
			return "", ErrConnectSessionGone
		}
		return s.ErrorRedirect(nil), res.Error
	}
	page := s.Step
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := claimStep(tx, &s, page); err != nil {
			return err
		}
		return finish(tx, &s, StepExited, "user_manually_returned_to_application")
	})
	s.ErrorCode = "user_manually_returned_to_application"
	return s.ErrorRedirect(nil), err
}

// rememberKey identifies a consent worth remembering: the same signed-in account of the same make,
// the same vehicles and the same requested scope. The app's user parameter alone is not enough: a
// different person could arrive under the same user value.
func rememberKey(s ConnectSession, req AuthorizeRequest) string {
	vehicles := slices.Clone(s.ChosenVehicles())
	slices.Sort(vehicles)
	return s.Make + "|" + strings.ToLower(s.AccountEmail) + "|" + strings.Join(vehicles, ",") + "|" + scopeKey(req.Scope)
}

// scopeKey is the canonical form of a scope for remembering grants: sorted, with required marks.
func scopeKey(scope []ScopeItem) string {
	words := make([]string, len(scope))
	for i, s := range scope {
		words[i] = s.Name
		if s.Required {
			words[i] = "required:" + s.Name
		}
	}
	sort.Strings(words)
	return strings.Join(words, " ")
}

// SwitchAccount sends the owner back to sign in with another account (the Account Select view's link).
func SwitchAccount(db *gorm.DB, s ConnectSession) (ConnectSession, error) {
	if s.Step != PageVehicles {
		return s, ErrConnectSessionGone
	}
	s.Step, s.AccountEmail, s.UpdatedAt = PageSignIn, "", time.Now().UTC()
	return s, db.Transaction(func(tx *gorm.DB) error {
		if err := claimStep(tx, &s, PageVehicles); err != nil {
			return err
		}
		return tx.Save(&s).Error
	})
}

// StartProviderSignIn moves an OAuth make's sign-in to the provider's (simulated) page.
func StartProviderSignIn(db *gorm.DB, s ConnectSession) (ConnectSession, error) {
	s.Step, s.UpdatedAt = PageProvider, time.Now().UTC()
	return s, db.Transaction(func(tx *gorm.DB) error {
		if err := claimStep(tx, &s, PageSignIn); err != nil {
			return err
		}
		return tx.Save(&s).Error
	})
}
