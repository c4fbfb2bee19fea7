package models_test

import (
	"testing"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// Migration 15: colours stored translucent before they were refused become the opaque colour Connect
// drew for them on its white page, in drafts and in published versions.
func TestOpaqueButtonColorsRewritesStoredTranslucentColours(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, _ := newApp(t, db, a, "Translucent")
	other, _ := newApp(t, db, a, "Opaque")
	colour := "#123456"
	for _, id := range []string{app.ID, other.ID} {
		if _, err := models.UpdateDraft(db, a.Actor, a.Org.ID, id, models.BrandingPatch{ButtonColor: &colour}); err != nil {
			t.Fatal(err)
		}
		if _, err := models.Publish(db, a.Actor, a.Org.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	for table, stored := range map[string]string{"branding_drafts": "#00000080", "branding_versions": "#ABCDEF00"} {
		if err := db.Exec("UPDATE "+table+" SET button_color = ? WHERE app_id = ?", stored, app.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := models.OpaqueButtonColors(db); err != nil {
		t.Fatal(err)
	}
	draft, err := models.LoadDraft(db, a.Org.ID, app.ID)
	if err != nil || draft.ButtonColor != "#7F7F7F" {
		t.Errorf("draft colour %q, %v; want #00000080 drawn over white, #7F7F7F", draft.ButtonColor, err)
	}
	published, err := models.LoadPublished(db, a.Org.ID, app.ID)
	if err != nil || published == nil || published.ButtonColor != "#FFFFFF" {
		t.Errorf("published colour %+v, %v; want #ABCDEF00 drawn over white, #FFFFFF", published, err)
	}
	if kept, _ := models.LoadDraft(db, a.Org.ID, other.ID); kept.ButtonColor != colour {
		t.Errorf("an opaque colour changed to %q", kept.ButtonColor)
	}
	if n := countRows(t, db, "branding_versions", "LENGTH(button_color) <> 7"); n != 0 {
		t.Errorf("%d versions still hold a colour that is not #RRGGBB", n)
	}
}
