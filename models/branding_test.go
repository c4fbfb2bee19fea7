package models_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// brandingFixture is an organisation with one app and a designer who edits its branding.
type brandingFixture struct {
	db       *gorm.DB
	owner    account
	designer models.Actor
	app      models.App
}

func newBrandingFixture(t *testing.T) brandingFixture {
	t.Helper()
	db := modelstest.Open(t)
	owner := newAccount(t, db, "owner@example.com")
	d := newAccount(t, db, "designer@example.com")
	if _, err := models.AddMember(db, owner.Actor, owner.Org.ID, d.User.Email, models.RoleDesigner); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	app, _ := newApp(t, db, owner, "Fleet")
	return brandingFixture{db: db, owner: owner, designer: d.Actor, app: app}
}

func (f brandingFixture) update(t *testing.T, patch models.BrandingPatch) models.Branding {
	t.Helper()
	b, err := models.UpdateDraft(f.db, f.designer, f.owner.Org.ID, f.app.ID, patch)
	if err != nil {
		t.Fatalf("UpdateDraft: %v", err)
	}
	return b
}

func (f brandingFixture) draft(t *testing.T) models.Branding {
	t.Helper()
	b, err := models.LoadDraft(f.db, f.owner.Org.ID, f.app.ID)
	if err != nil {
		t.Fatalf("LoadDraft: %v", err)
	}
	return b
}

func (f brandingFixture) publish(t *testing.T) models.BrandingVersion {
	t.Helper()
	v, err := models.Publish(f.db, f.designer, f.owner.Org.ID, f.app.ID)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return v
}

func (f brandingFixture) versions(t *testing.T) []models.BrandingVersion {
	t.Helper()
	vs, err := models.ListVersions(f.db, f.owner.Org.ID, f.app.ID)
	if err != nil {
		t.Fatalf("ListVersions: %v", err)
	}
	return vs
}

// draftColumns reads the stored draft row as text ("" when there is none).
func draftColumns(t *testing.T, db *gorm.DB, appID string) string {
	t.Helper()
	var rows []struct {
		ButtonColor, ButtonColorInput, LogoHash, LogoType, Makes string
		AccountSelect                                            bool
	}
	if err := db.Table("branding_drafts").Where("app_id = ?", appID).Find(&rows).Error; err != nil {
		t.Fatalf("read branding_drafts: %v", err)
	}
	if len(rows) == 0 {
		return ""
	}
	return fmt.Sprintf("%+v", rows[0])
}

func bptr[T any](v T) *T { return &v }

func TestBrandingLoadDraftOfNewAppIsDefault(t *testing.T) {
	f := newBrandingFixture(t)
	got := f.draft(t)
	if !reflect.DeepEqual(got, models.DefaultBranding) {
		t.Fatalf("LoadDraft = %+v, want DefaultBranding %+v", got, models.DefaultBranding)
	}
	if n := countRows(t, f.db, "branding_drafts", ""); n != 0 {
		t.Fatalf("reading a draft must not write one, found %d rows", n)
	}
	if p, err := models.PublishedBranding(f.db, f.app.ID); err != nil || p != nil {
		t.Fatalf("PublishedBranding before any publish = %v, %v; want nil, nil", p, err)
	}
	if p, err := models.LoadPublished(f.db, f.owner.Org.ID, f.app.ID); err != nil || p != nil {
		t.Fatalf("LoadPublished before any publish = %v, %v; want nil, nil", p, err)
	}
	if b, err := models.ConnectBranding(f.db, f.app.ID); err != nil || !reflect.DeepEqual(b, models.DefaultBranding) {
		t.Fatalf("ConnectBranding before any publish = %+v, %v; want the default", b, err)
	}
}

func TestBrandingUpdateDraftNormalisesColours(t *testing.T) {
	f := newBrandingFixture(t)
	for _, tc := range []struct{ typed, hex string }{
		{"#0af", "#00AAFF"},
		{"#A1b2C3", "#A1B2C3"},
		{"rgb(1, 2, 3)", "#010203"},
		{"rgb(0 170 255)", "#00AAFF"},
		{"hsl(200, 100%, 50%)", "#00AAFF"},
		{"HSL(1, 2%, 3%)", "#080807"},
	} {
		got := f.update(t, models.BrandingPatch{ButtonColor: bptr(tc.typed)})
		if got.ButtonColor != tc.hex || got.ButtonColorInput != tc.typed {
			t.Fatalf("%q: returned %q / %q, want %q / %q", tc.typed, got.ButtonColor, got.ButtonColorInput, tc.hex, tc.typed)
		}
		stored := f.draft(t)
		if stored.ButtonColor != tc.hex || stored.ButtonColorInput != tc.typed {
			t.Fatalf("%q: stored %q / %q, want %q / %q", tc.typed, stored.ButtonColor, stored.ButtonColorInput, tc.hex, tc.typed)
		}
		row := draftColumns(t, f.db, f.app.ID)
		if !strings.Contains(row, "ButtonColor:"+tc.hex+" ") || !strings.Contains(row, "ButtonColorInput:"+tc.typed+" ") {
			t.Fatalf("%q: row %s", tc.typed, row)
		}
	}
}

func TestBrandingUpdateDraftMakesAndAccountSelect(t *testing.T) {
	f := newBrandingFixture(t)
	got := f.update(t, models.BrandingPatch{Makes: bptr([]string{"tesla", " Ford ", "TESLA", "", "bmw", "ford"}), AccountSelect: bptr(true)})
	if want := []string{"TESLA", "FORD", "BMW"}; !reflect.DeepEqual(got.Makes, want) || !got.AccountSelect {
		t.Fatalf("makes %v account_select %v, want %v true", got.Makes, got.AccountSelect, want)
	}
	if row := draftColumns(t, f.db, f.app.ID); !strings.Contains(row, `Makes:["TESLA","FORD","BMW"]`) || !strings.Contains(row, "AccountSelect:true") {
		t.Fatalf("stored row %s", row)
	}
	// A patch without makes keeps them; the colour stays the default until changed.
	got = f.update(t, models.BrandingPatch{AccountSelect: bptr(false)})
	if !reflect.DeepEqual(got.Makes, []string{"TESLA", "FORD", "BMW"}) || got.AccountSelect || got.ButtonColor != models.DefaultBranding.ButtonColor {
		t.Fatalf("partial patch changed other fields: %+v", got)
	}
	names := []string{}
	for _, m := range got.Theme().Makes {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "Tesla,Ford,BMW" {
		t.Fatalf("Theme().Makes = %v", names)
	}
	got = f.update(t, models.BrandingPatch{Makes: bptr([]string{})})
	if len(got.Makes) != 0 || len(got.Theme().Makes) != len(models.Makes) {
		t.Fatalf("an empty list means every make: %v / %d", got.Makes, len(got.Theme().Makes))
	}
}

func TestBrandingInvalidPatchChangesNothing(t *testing.T) {
	f := newBrandingFixture(t)
	f.update(t, models.BrandingPatch{ButtonColor: bptr("#123456"), Makes: bptr([]string{"FORD"})})
	rowBefore, auditBefore := draftColumns(t, f.db, f.app.ID), len(auditEntries(t, f.db, f.owner.Org.ID, ""))
	for _, bad := range []string{"red;background:url(//evil)", `#fff"><script>`, "rgb(0,0,0)}body{x}", "expression(1)", "var(--x)", "red", ""} {
		_, err := models.UpdateDraft(f.db, f.designer, f.owner.Org.ID, f.app.ID,
			models.BrandingPatch{ButtonColor: bptr(bad), Makes: bptr([]string{"TESLA"}), AccountSelect: bptr(true)})
		v := wantValidation(t, err, "button_color", "invalid_color")
		if bad != "" && strings.Contains(v.Message, bad) {
			t.Fatalf("the message must not quote the input: %q", v.Message)
		}
	}
	_, err := models.UpdateDraft(f.db, f.designer, f.owner.Org.ID, f.app.ID,
		models.BrandingPatch{ButtonColor: bptr("#00ff00"), Makes: bptr([]string{"TESLA", "DELOREAN"}), AccountSelect: bptr(true)})
	wantValidation(t, err, "makes", "unknown_make")
	if row := draftColumns(t, f.db, f.app.ID); row != rowBefore {
		t.Fatalf("a refused patch changed the draft:\n%s\nwas\n%s", row, rowBefore)
	}
	if n := len(auditEntries(t, f.db, f.owner.Org.ID, "")); n != auditBefore {
		t.Fatalf("a refused patch wrote audit entries: %d -> %d", auditBefore, n)
	}
}

func TestBrandingPublishVersionsAreImmutable(t *testing.T) {
	f := newBrandingFixture(t)
	for i, typed := range []string{"#ff0000", "rgb(0, 128, 0)", "hsl(240, 100%, 25%)"} {
		f.update(t, models.BrandingPatch{ButtonColor: bptr(typed), Makes: bptr([]string{"TESLA"})})
		v := f.publish(t)
		want := []string{"#FF0000", "#008000", "#000080"}[i]
		if v.Version != i+1 || v.ButtonColor != want || v.ButtonColorInput != typed || v.PublishedByID != f.designer.ID ||
			v.PublishedByEmail != f.designer.Email || v.PublishedAt.IsZero() {
			t.Fatalf("publish %d: %+v", i+1, v)
		}
		p, err := models.PublishedBranding(f.db, f.app.ID)
		if err != nil || p == nil || p.Version != i+1 || p.ButtonColor != want {
			t.Fatalf("PublishedBranding after publish %d: %+v, %v", i+1, p, err)
		}
		if cb, err := models.ConnectBranding(f.db, f.app.ID); err != nil || cb.ButtonColor != want {
			t.Fatalf("ConnectBranding after publish %d: %+v, %v", i+1, cb, err)
		}
	}
	before := f.versions(t)
	if len(before) != 3 || before[0].Version != 3 || before[1].Version != 2 || before[2].Version != 1 {
		t.Fatalf("ListVersions is newest first: %+v", before)
	}
	f.update(t, models.BrandingPatch{ButtonColor: bptr("#abcdef"), Makes: bptr([]string{"FORD", "BMW"}), AccountSelect: bptr(true)})
	if after := f.versions(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("editing the draft changed published versions:\n%+v\nwas\n%+v", after, before)
	}
	if p, _ := models.LoadPublished(f.db, f.owner.Org.ID, f.app.ID); p == nil || p.ButtonColor != "#000080" || !reflect.DeepEqual(p.Makes, []string{"TESLA"}) {
		t.Fatalf("the live version must not follow the draft: %+v", p)
	}
	if n := countRows(t, f.db, "branding_versions", "app_id = ?", f.app.ID); n != 3 {
		t.Fatalf("want 3 version rows, got %d", n)
	}
}

func TestBrandingRestoreAndRollBack(t *testing.T) {
	f := newBrandingFixture(t)
	f.update(t, models.BrandingPatch{ButtonColor: bptr("#FF0000"), Makes: bptr([]string{"TESLA", "FORD"})})
	v1 := f.publish(t)
	f.update(t, models.BrandingPatch{ButtonColor: bptr("#0000ff"), Makes: bptr([]string{"BMW"}), AccountSelect: bptr(true)})
	v2 := f.publish(t)
	f.update(t, models.BrandingPatch{ButtonColor: bptr("#00ff00")})

	restored, err := models.RestoreVersion(f.db, f.designer, f.owner.Org.ID, f.app.ID, 1)
	if err != nil {
		t.Fatalf("RestoreVersion: %v", err)
	}
	if !reflect.DeepEqual(restored, v1.Branding) || !reflect.DeepEqual(f.draft(t), v1.Branding) {
		t.Fatalf("restore must copy version 1 into the draft: %+v, want %+v", f.draft(t), v1.Branding)
	}
	if vs := f.versions(t); len(vs) != 2 {
		t.Fatalf("restore must not publish: %d versions", len(vs))
	}
	if cb, _ := models.ConnectBranding(f.db, f.app.ID); !cb.SameAs(v2.Branding) {
		t.Fatalf("Connect keeps version 2 after a restore: %+v", cb)
	}

	rolled, err := models.RollBack(f.db, f.designer, f.owner.Org.ID, f.app.ID, 2)
	if err != nil {
		t.Fatalf("RollBack: %v", err)
	}
	if rolled.Version != 3 || !rolled.SameAs(v2.Branding) || !reflect.DeepEqual(rolled.Branding, v2.Branding) {
		t.Fatalf("rollback publishes version 3 equal to version 2: %+v", rolled)
	}
	if cb, _ := models.ConnectBranding(f.db, f.app.ID); !reflect.DeepEqual(cb, v2.Branding) || !reflect.DeepEqual(f.draft(t), v2.Branding) {
		t.Fatalf("after rollback Connect and the draft show version 2: %+v / %+v", cb, f.draft(t))
	}

	rowBefore := draftColumns(t, f.db, f.app.ID)
	_, err = models.RestoreVersion(f.db, f.designer, f.owner.Org.ID, f.app.ID, 99)
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.RollBack(f.db, f.designer, f.owner.Org.ID, f.app.ID, 99)
	wantErrorIs(t, err, models.ErrNotFound)
	if len(f.versions(t)) != 3 || draftColumns(t, f.db, f.app.ID) != rowBefore {
		t.Fatal("a missing version must change nothing")
	}
}

// brandingPNG is a small half-transparent PNG.
func brandingPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 6, 4))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBrandingAuditEntriesNameTheActor(t *testing.T) {
	f := newBrandingFixture(t)
	f.update(t, models.BrandingPatch{ButtonColor: bptr("#ff0000")})
	logo, err := models.ProcessLogo(bytes.NewReader(brandingPNG(t)))
	if err != nil {
		t.Fatalf("ProcessLogo: %v", err)
	}
	withLogo, err := models.SetDraftLogo(f.db, f.designer, f.owner.Org.ID, f.app.ID, logo)
	if err != nil || withLogo.LogoHash != logo.Hash || withLogo.LogoURL() != "/logos/"+logo.Hash+".png" {
		t.Fatalf("SetDraftLogo: %+v, %v", withLogo, err)
	}
	f.publish(t)
	withoutLogo, err := models.RemoveDraftLogo(f.db, f.designer, f.owner.Org.ID, f.app.ID)
	if err != nil || withoutLogo.LogoHash != "" || withoutLogo.LogoURL() != "" {
		t.Fatalf("RemoveDraftLogo: %+v, %v", withoutLogo, err)
	}
	if p, _ := models.PublishedBranding(f.db, f.app.ID); p == nil || p.LogoHash != logo.Hash {
		t.Fatalf("the published version keeps its logo: %+v", p)
	}
	if _, err := models.RestoreVersion(f.db, f.designer, f.owner.Org.ID, f.app.ID, 1); err != nil {
		t.Fatal(err)
	}
	for action, n := range map[string]int{"branding.update": 1, "branding.logo": 2, "branding.publish": 1, "branding.restore": 1} {
		entries := auditEntries(t, f.db, f.owner.Org.ID, action)
		if len(entries) != n {
			t.Fatalf("%s: %d entries, want %d", action, len(entries), n)
		}
		for _, e := range entries {
			if e.ActorID != f.designer.ID || e.ActorEmail != f.designer.Email || e.AppID != f.app.ID || e.OrgID != f.owner.Org.ID {
				t.Fatalf("%s entry does not name the designer and the app: %+v", action, e)
			}
		}
	}
	if d := auditEntries(t, f.db, f.owner.Org.ID, "branding.update")[0].Detail; !strings.Contains(d, "#FF0000") || !strings.Contains(d, models.DefaultBranding.ButtonColor) {
		t.Fatalf("the update entry records before and after: %s", d)
	}
	if d := auditEntries(t, f.db, f.owner.Org.ID, "branding.publish")[0].Detail; !strings.Contains(d, `"version":1`) {
		t.Fatalf("the publish entry records the version: %s", d)
	}
}

func TestBrandingStaysInsideItsOrganisation(t *testing.T) {
	f := newBrandingFixture(t)
	f.update(t, models.BrandingPatch{ButtonColor: bptr("#ff0000")})
	f.publish(t)
	other := newAccount(t, f.db, "other@example.com")
	logo, err := models.ProcessLogo(bytes.NewReader(brandingPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	rowBefore, auditBefore := draftColumns(t, f.db, f.app.ID), countRows(t, f.db, "audit_entries", "")
	calls := map[string]func(orgID string) error{
		"LoadDraft": func(o string) error { _, err := models.LoadDraft(f.db, o, f.app.ID); return err },
		"LoadPublished": func(o string) error {
			_, err := models.LoadPublished(f.db, o, f.app.ID)
			return err
		},
		"UpdateDraft": func(o string) error {
			_, err := models.UpdateDraft(f.db, other.Actor, o, f.app.ID, models.BrandingPatch{ButtonColor: bptr("#000000")})
			return err
		},
		"SetDraftLogo":    func(o string) error { _, err := models.SetDraftLogo(f.db, other.Actor, o, f.app.ID, logo); return err },
		"RemoveDraftLogo": func(o string) error { _, err := models.RemoveDraftLogo(f.db, other.Actor, o, f.app.ID); return err },
		"Publish":         func(o string) error { _, err := models.Publish(f.db, other.Actor, o, f.app.ID); return err },
		"ListVersions":    func(o string) error { _, err := models.ListVersions(f.db, o, f.app.ID); return err },
		"RestoreVersion":  func(o string) error { _, err := models.RestoreVersion(f.db, other.Actor, o, f.app.ID, 1); return err },
		"RollBack":        func(o string) error { _, err := models.RollBack(f.db, other.Actor, o, f.app.ID, 1); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantErrorIs(t, call(other.Org.ID), models.ErrNotFound)
			wantErrorIs(t, call(""), models.ErrNoOrganization)
		})
	}
	if draftColumns(t, f.db, f.app.ID) != rowBefore || countRows(t, f.db, "audit_entries", "") != auditBefore {
		t.Fatal("calls from another organisation changed the draft or the audit log")
	}
	if n := countRows(t, f.db, "branding_versions", ""); n != 1 {
		t.Fatalf("calls from another organisation published: %d versions", n)
	}
	if n := countRows(t, f.db, "logos", ""); n != 0 {
		t.Fatalf("a refused SetDraftLogo stored the logo: %d rows", n)
	}
}
