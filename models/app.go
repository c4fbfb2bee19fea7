package models

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// App is a developer's application. Its id is also its OAuth client_id.
type App struct {
	ID          string
	OrgID       string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AppInput is what a person may set on an app; anything else in a request is ignored.
type AppInput struct {
	Name        *string
	Description *string
}

// Validate checks the fields that are set.
func (in AppInput) Validate() error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if !validLabel(name, 100) {
			return Invalid("name", "invalid_name", "Name the app (1–100 characters, on one line).")
		}
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 500 {
		return Invalid("description", "invalid_description", "Keep the description under 500 characters.")
	}
	return nil
}

// patch applies the set fields to a and reports what changed, as before/after maps for the audit log.
func (in AppInput) patch(a *App) (before, after map[string]any) {
	before, after = map[string]any{}, map[string]any{}
	if in.Name != nil && strings.TrimSpace(*in.Name) != a.Name {
		before["name"], after["name"] = a.Name, strings.TrimSpace(*in.Name)
		a.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil && strings.TrimSpace(*in.Description) != a.Description {
		before["description"], after["description"] = a.Description, strings.TrimSpace(*in.Description)
		a.Description = strings.TrimSpace(*in.Description)
	}
	return before, after
}

// CreateApp creates an app with its first client secret, in one transaction. The secret's value is
// returned once, here, and never again.
func CreateApp(db *gorm.DB, actor Actor, orgID string, in AppInput) (App, NewSecret, error) {
	if orgID == "" {
		return App{}, NewSecret{}, ErrNoOrganization
	}
	if in.Name == nil {
		return App{}, NewSecret{}, Invalid("name", "invalid_name", "Name the app (1–100 characters).")
	}
	if err := in.Validate(); err != nil {
		return App{}, NewSecret{}, err
	}
	now := time.Now().UTC()
	app := App{ID: newID(), OrgID: orgID, CreatedAt: now, UpdatedAt: now}
	in.patch(&app)
	var secret NewSecret
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&app).Error; err != nil {
			return err
		}
		var err error
		if secret, err = insertClientSecret(tx, app.ID, now); err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "app.create", app.ID, app.Name,
			map[string]any{"name": app.Name, "description": app.Description, "secret_prefix": secret.Prefix})
	})
	return app, secret, err
}

// FindApp finds an app of orgID; another organisation's app is ErrNotFound, like a missing one.
func FindApp(db *gorm.DB, orgID, appID string) (App, error) {
	if orgID == "" {
		return App{}, ErrNoOrganization
	}
	if !IsUUID(appID) {
		return App{}, ErrNotFound
	}
	var app App
	err := db.Where("org_id = ? AND id = ?", orgID, appID).Take(&app).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return App{}, ErrNotFound
	}
	return app, err
}

// FindAppForOperator finds an app in any organisation. It is for the command line (keyfob demo-events),
// whose user already holds the database; no request path may call it.
func FindAppForOperator(db *gorm.DB, appID string) (App, error) {
	if !IsUUID(appID) {
		return App{}, ErrNotFound
	}
	var app App
	err := db.Where("id = ?", appID).Take(&app).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return App{}, ErrNotFound
	}
	return app, err
}

// FindAppForUser finds an app in any organisation the user belongs to, with the user's role there.
func FindAppForUser(db *gorm.DB, userID, appID string) (App, Role, error) {
	if !IsUUID(appID) || userID == "" {
		return App{}, "", ErrNotFound
	}
	var row struct {
		App
		Role Role
	}
	err := db.Table("apps a").Select("a.*, m.role").Joins("JOIN memberships m ON m.org_id = a.org_id").
		Where("a.id = ? AND m.user_id = ?", appID, userID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return App{}, "", ErrNotFound
	}
	return row.App, row.Role, err
}

// ListApps lists an organisation's apps, newest first.
func ListApps(db *gorm.DB, orgID string) ([]App, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	var apps []App
	err := db.Where("org_id = ?", orgID).Order("created_at DESC, id").Find(&apps).Error
	return apps, err
}

// ListAppsForUser lists the apps of every organisation the user belongs to.
func ListAppsForUser(db *gorm.DB, userID string) ([]App, error) {
	var apps []App
	err := db.Table("apps a").Select("a.*").Joins("JOIN memberships m ON m.org_id = a.org_id").
		Where("m.user_id = ?", userID).Order("a.created_at DESC, a.id").Find(&apps).Error
	return apps, err
}

// UpdateApp renames or describes an app and records the before/after in the audit log.
func UpdateApp(db *gorm.DB, actor Actor, orgID, appID string, in AppInput) (App, error) {
	if err := in.Validate(); err != nil {
		return App{}, err
	}
	var app App
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		if app, err = FindApp(tx, orgID, appID); err != nil {
			return err
		}
		before, after := in.patch(&app)
		if len(after) == 0 {
			return nil
		}
		app.UpdatedAt = time.Now().UTC()
		if err := tx.Model(&App{}).Where("org_id = ? AND id = ?", orgID, appID).
			Updates(map[string]any{"name": app.Name, "description": app.Description, "updated_at": app.UpdatedAt}).Error; err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "app.update", app.ID, app.Name, map[string]any{"before": before, "after": after})
	})
	return app, err
}

// DeleteApp deletes an app; its secrets, redirect URIs and keys go with it (ON DELETE CASCADE), so
// they stop working at once. The audit log keeps the history.
func DeleteApp(db *gorm.DB, actor Actor, orgID, appID string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		app, err := FindApp(tx, orgID, appID)
		if err != nil {
			return err
		}
		if err := tx.Where("org_id = ? AND id = ?", orgID, app.ID).Delete(&App{}).Error; err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "app.delete", app.ID, app.Name, map[string]any{"name": app.Name})
	})
}

// AppDetails is an app with its redirect URIs and client secrets, as the app page and API show it.
type AppDetails struct {
	App
	RedirectURIs []RedirectURI
	Secrets      []ClientSecret
}

// LoadAppDetails reads an app of orgID with its redirect URIs (default first) and secrets (newest first).
func LoadAppDetails(db *gorm.DB, orgID, appID string) (AppDetails, error) {
	app, err := FindApp(db, orgID, appID)
	if err != nil {
		return AppDetails{}, err
	}
	details, err := withDetails(db, []App{app})
	if err != nil {
		return AppDetails{}, err
	}
	return details[0], nil
}

// ListAppDetailsForUser is ListAppsForUser with each app's redirect URIs and secrets, in three queries.
func ListAppDetailsForUser(db *gorm.DB, userID string) ([]AppDetails, error) {
	apps, err := ListAppsForUser(db, userID)
	if err != nil {
		return nil, err
	}
	return withDetails(db, apps)
}

func withDetails(db *gorm.DB, apps []App) ([]AppDetails, error) {
	out := make([]AppDetails, len(apps))
	index := map[string]*AppDetails{}
	ids := make([]string, len(apps))
	for i, a := range apps {
		out[i] = AppDetails{App: a, RedirectURIs: []RedirectURI{}, Secrets: []ClientSecret{}}
		index[a.ID], ids[i] = &out[i], a.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var uris []RedirectURI
	if err := db.Where("app_id IN ?", ids).Order("position, created_at").Find(&uris).Error; err != nil {
		return nil, err
	}
	for _, r := range uris {
		index[r.AppID].RedirectURIs = append(index[r.AppID].RedirectURIs, r)
	}
	var secrets []ClientSecret
	if err := db.Where("app_id IN ?", ids).Order("created_at DESC, id").Find(&secrets).Error; err != nil {
		return nil, err
	}
	for _, s := range secrets {
		index[s.AppID].Secrets = append(index[s.AppID].Secrets, s)
	}
	return out, nil
}

// lockApp finds an app of orgID and locks its row until tx ends (PostgreSQL; SQLite has one writer),
// so check-then-write rules on its children (the last active secret, the draft) cannot race.
func lockApp(tx *gorm.DB, orgID, appID string) (App, error) {
	return FindApp(tx.Clauses(clause.Locking{Strength: "UPDATE"}), orgID, appID)
}

// findClient finds the app behind a public client_id (in any organisation: client ids are public).
// ErrNotFound only when there is none; a failed lookup is returned as it is.
func findClient(db *gorm.DB, clientID string) (App, error) {
	if !IsUUID(clientID) {
		return App{}, ErrNotFound
	}
	var app App
	err := db.Where("id = ?", clientID).Take(&app).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return App{}, ErrNotFound
	}
	return app, err
}

// ClientExists reports whether clientID names a registered app (client ids are public).
func ClientExists(db *gorm.DB, clientID string) (bool, error) {
	if !IsUUID(clientID) {
		return false, nil
	}
	var n int64
	err := db.Model(&App{}).Where("id = ?", clientID).Count(&n).Error
	return n > 0, err
}
