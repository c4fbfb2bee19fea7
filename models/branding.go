package models

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Branding is how Connect looks for an app: the draft a designer edits, or a published version.
type Branding struct {
	ButtonColor      string // normalised #RRGGBB: the only form that reaches a page
	ButtonColorInput string // what the designer typed
	LogoHash         string
	LogoType         string
	Makes            []string // ordered make ids; empty = every make
	AccountSelect    bool
}

// BrandingVersion is an immutable published branding.
type BrandingVersion struct {
	Branding
	Version          int
	PublishedAt      time.Time
	PublishedByID    string
	PublishedByEmail string
}

// DefaultBranding is what Connect shows before anything is published.
var DefaultBranding = Branding{ButtonColor: "#0B5CAD", ButtonColorInput: "#0b5cad", Makes: []string{}}

// Colors is the button's colours with the text colour chosen for contrast.
func (b Branding) Colors() ButtonColors {
	c, err := ParseColor(b.ButtonColor)
	if err != nil {
		c, _ = ParseColor(DefaultBranding.ButtonColor)
	}
	return ButtonColorsFor(c)
}

// LogoURL is where the logo is served, or "" without one.
func (b Branding) LogoURL() string {
	if b.LogoHash == "" {
		return ""
	}
	return LogoURL(b.LogoHash, b.LogoType)
}

// SameAs reports whether two brandings look the same to an owner.
func (b Branding) SameAs(o Branding) bool {
	return b.ButtonColor == o.ButtonColor && b.LogoHash == o.LogoHash && b.AccountSelect == o.AccountSelect && slices.Equal(b.Makes, o.Makes)
}

// BrandingPatch is a partial edit of the draft; nil fields stay as they are.
type BrandingPatch struct {
	ButtonColor   *string
	Makes         *[]string
	AccountSelect *bool
}

// Apply validates the patch and returns b with it applied; nothing is half-applied on error.
func (p BrandingPatch) Apply(b Branding) (Branding, error) {
	out := b
	out.Makes = slices.Clone(b.Makes)
	if p.ButtonColor != nil {
		c, err := ParseColor(*p.ButtonColor)
		if err != nil {
			return b, err
		}
		out.ButtonColor, out.ButtonColorInput = c.Hex(), *p.ButtonColor
	}
	if p.Makes != nil {
		makes, err := NormalizeMakes(*p.Makes)
		if err != nil {
			return b, err
		}
		out.Makes = makes
	}
	if p.AccountSelect != nil {
		out.AccountSelect = *p.AccountSelect
	}
	return out, nil
}

// brandingRow is the shared column set of drafts and versions.
type brandingRow struct {
	AppID            string
	ButtonColor      string
	ButtonColorInput string
	LogoHash         string
	LogoType         string
	Makes            string
	AccountSelect    bool
}

type brandingDraft struct {
	Row       brandingRow `gorm:"embedded"`
	UpdatedAt time.Time
}

func (brandingDraft) TableName() string { return "branding_drafts" }

type brandingVersion struct {
	Row              brandingRow `gorm:"embedded"`
	Version          int
	PublishedAt      time.Time
	PublishedByID    string
	PublishedByEmail string
}

func (brandingVersion) TableName() string { return "branding_versions" }

func toRow(appID string, b Branding) brandingRow {
	makes, _ := json.Marshal(append([]string{}, b.Makes...))
	return brandingRow{AppID: appID, ButtonColor: b.ButtonColor, ButtonColorInput: b.ButtonColorInput,
		LogoHash: b.LogoHash, LogoType: b.LogoType, Makes: string(makes), AccountSelect: b.AccountSelect}
}

func (r brandingRow) branding() Branding {
	b := Branding{ButtonColor: r.ButtonColor, ButtonColorInput: r.ButtonColorInput, LogoHash: r.LogoHash,
		LogoType: r.LogoType, AccountSelect: r.AccountSelect, Makes: []string{}}
	json.Unmarshal([]byte(r.Makes), &b.Makes)
	return b
}

func (v brandingVersion) public() BrandingVersion {
	return BrandingVersion{Branding: v.Row.branding(), Version: v.Version, PublishedAt: v.PublishedAt,
		PublishedByID: v.PublishedByID, PublishedByEmail: v.PublishedByEmail}
}

// LoadDraft returns an app's draft branding (the default until someone edits it).
func LoadDraft(db *gorm.DB, orgID, appID string) (Branding, error) {
	app, err := FindApp(db, orgID, appID)
	if err != nil {
		return Branding{}, err
	}
	return loadDraft(db, app.ID)
}

func loadDraft(db *gorm.DB, appID string) (Branding, error) {
	var row brandingDraft
	err := db.Where("app_id = ?", appID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return DefaultBranding, nil
	}
	return row.Row.branding(), err
}

// LoadPublished returns an app's newest published version, or nil when nothing was published.
func LoadPublished(db *gorm.DB, orgID, appID string) (*BrandingVersion, error) {
	app, err := FindApp(db, orgID, appID)
	if err != nil {
		return nil, err
	}
	return PublishedBranding(db, app.ID)
}

// PublishedBranding is what Connect shows for an app (found by its public client_id): the newest
// published version, or nil when nothing was published yet.
func PublishedBranding(db *gorm.DB, appID string) (*BrandingVersion, error) {
	var row brandingVersion
	err := db.Where("app_id = ?", appID).Order("version DESC").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := row.public()
	return &v, nil
}

// ConnectBranding is what Connect shows for an app: its newest published version, else the default.
func ConnectBranding(db *gorm.DB, appID string) (Branding, error) {
	published, err := PublishedBranding(db, appID)
	if err != nil || published == nil {
		return DefaultBranding, err
	}
	return published.Branding, nil
}

// saveDraft writes the draft and its audit entry in the caller's transaction.
func saveDraft(tx *gorm.DB, actor Actor, app App, before, after Branding, action string) error {
	row := brandingDraft{Row: toRow(app.ID, after), UpdatedAt: time.Now().UTC()}
	upsert := clause.OnConflict{Columns: []clause.Column{{Name: "app_id"}}, UpdateAll: true}
	if err := tx.Clauses(upsert).Create(&row).Error; err != nil {
		return err
	}
	return writeAudit(tx, app.OrgID, actor, action, app.ID, app.Name, map[string]any{"before": auditView(before), "after": auditView(after)})
}

func auditView(b Branding) map[string]any {
	return map[string]any{"button_color": b.ButtonColor, "logo": b.LogoHash, "makes": b.Makes, "account_select": b.AccountSelect}
}

// UpdateDraft applies a patch to the draft.
func UpdateDraft(db *gorm.DB, actor Actor, orgID, appID string, patch BrandingPatch) (Branding, error) {
	var after Branding
	err := db.Transaction(func(tx *gorm.DB) error {
		app, before, err := draftForUpdate(tx, orgID, appID)
		if err != nil {
			return err
		}
		if after, err = patch.Apply(before); err != nil {
			return err
		}
		return saveDraft(tx, actor, app, before, after, "branding.update")
	})
	return after, err
}

// SetDraftLogo stores a processed logo and puts it in the draft, in one transaction.
func SetDraftLogo(db *gorm.DB, actor Actor, orgID, appID string, logo ProcessedLogo) (Branding, error) {
	var after Branding
	err := db.Transaction(func(tx *gorm.DB) error {
		app, before, err := draftForUpdate(tx, orgID, appID)
		if err != nil {
			return err
		}
		if err := StoreLogo(tx, logo); err != nil {
			return err
		}
		after = before
		after.LogoHash, after.LogoType = logo.Hash, logo.ContentType
		return saveDraft(tx, actor, app, before, after, "branding.logo")
	})
	return after, err
}

// RemoveDraftLogo takes the logo out of the draft (published versions keep theirs).
func RemoveDraftLogo(db *gorm.DB, actor Actor, orgID, appID string) (Branding, error) {
	var after Branding
	err := db.Transaction(func(tx *gorm.DB) error {
		app, before, err := draftForUpdate(tx, orgID, appID)
		if err != nil {
			return err
		}
		after = before
		after.LogoHash, after.LogoType = "", ""
		return saveDraft(tx, actor, app, before, after, "branding.logo")
	})
	return after, err
}

func draftForUpdate(tx *gorm.DB, orgID, appID string) (App, Branding, error) {
	app, err := lockApp(tx, orgID, appID)
	if err != nil {
		return App{}, Branding{}, err
	}
	draft, err := loadDraft(tx, app.ID)
	return app, draft, err
}

// Publish copies the draft into a new immutable version, which Connect uses at once.
func Publish(db *gorm.DB, actor Actor, orgID, appID string) (BrandingVersion, error) {
	var out BrandingVersion
	err := db.Transaction(func(tx *gorm.DB) error {
		app, draft, err := draftForUpdate(tx, orgID, appID)
		if err != nil {
			return err
		}
		var last struct{ Max *int }
		if err := tx.Model(&brandingVersion{}).Select("MAX(version) AS max").Where("app_id = ?", app.ID).Scan(&last).Error; err != nil {
			return err
		}
		next := 1
		if last.Max != nil {
			next = *last.Max + 1
		}
		row := brandingVersion{Row: toRow(app.ID, draft), Version: next, PublishedAt: time.Now().UTC(),
			PublishedByID: actor.ID, PublishedByEmail: actor.Email}
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Conflict("publish_race", "", "Someone else published at the same moment. Reload and publish again.")
			}
			return err
		}
		out = row.public()
		return writeAudit(tx, orgID, actor, "branding.publish", app.ID, app.Name,
			map[string]any{"version": next, "branding": auditView(draft)})
	})
	return out, err
}

// ListVersions lists an app's published versions, newest first.
func ListVersions(db *gorm.DB, orgID, appID string) ([]BrandingVersion, error) {
	app, err := FindApp(db, orgID, appID)
	if err != nil {
		return nil, err
	}
	var rows []brandingVersion
	if err := db.Where("app_id = ?", app.ID).Order("version DESC").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]BrandingVersion, len(rows))
	for i, r := range rows {
		out[i] = r.public()
	}
	return out, nil
}

// RestoreVersion copies a published version into the draft.
func RestoreVersion(db *gorm.DB, actor Actor, orgID, appID string, version int) (Branding, error) {
	var after Branding
	err := db.Transaction(func(tx *gorm.DB) error {
		app, before, err := draftForUpdate(tx, orgID, appID)
		if err != nil {
			return err
		}
		var row brandingVersion
		if err := tx.Where("app_id = ? AND version = ?", app.ID, version).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		after = row.Row.branding()
		return saveDraft(tx, actor, app, before, after, "branding.restore")
	})
	return after, err
}

// Theme is what the Connect templates need to look like an app's branding.
type Theme struct {
	ButtonColor     string
	ButtonTextColor string
	LogoURL         string
	Makes           []Make
	AccountSelect   bool
}

// Theme turns a branding into template input; only normalised values are in it.
func (b Branding) Theme() Theme {
	colors := b.Colors()
	return Theme{ButtonColor: colors.Background, ButtonTextColor: colors.Text, LogoURL: b.LogoURL(),
		Makes: MakesInOrder(b.Makes), AccountSelect: b.AccountSelect}
}

// RollBack restores a version into the draft and publishes it, in one transaction.
func RollBack(db *gorm.DB, actor Actor, orgID, appID string, version int) (BrandingVersion, error) {
	var out BrandingVersion
	err := db.Transaction(func(tx *gorm.DB) error {
		if _, err := RestoreVersion(tx, actor, orgID, appID, version); err != nil {
			return err
		}
		var err error
		out, err = Publish(tx, actor, orgID, appID)
		return err
	})
	return out, err
}

// opaqueButtonColors rewrites the translucent colours stored before they were refused (#RRGGBBAA)
// as the opaque colour Connect drew for them: the colour over its white page. Published versions
// are rewritten too; they look exactly as they did.
func opaqueButtonColors(tx *gorm.DB) error {
	for _, table := range []string{"branding_drafts", "branding_versions"} {
		var stored []string
		if err := tx.Table(table).Where("LENGTH(button_color) = 9").Pluck("button_color", &stored).Error; err != nil {
			return err
		}
		for _, old := range stored {
			if err := tx.Table(table).Where("button_color = ?", old).Update("button_color", colorOverWhite(old)).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// colorOverWhite is the #RRGGBB a browser draws for "#RRGGBBAA" on white; anything else is the default.
func colorOverWhite(hex string) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil || len(hex) != 9 || hex[0] != '#' {
		return DefaultBranding.ButtonColor
	}
	a := float64(v&0xFF) / 255
	mix := func(channel uint64) uint8 { return colorByte(float64(channel&0xFF)*a + 255*(1-a)) }
	return Color{R: mix(v >> 24), G: mix(v >> 16), B: mix(v >> 8)}.Hex()
}
