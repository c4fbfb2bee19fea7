package models_test

import (
	"errors"
	"testing"

	"keyfob/models"
)

// TestRoleMatrix is product.md §Capabilities 1 as a table: owner does everything; developer manages
// apps and credentials, reads the audit log and edits (not publishes) branding; designer edits and
// publishes branding; analyst reads apps and analytics. Everyone reads the app list.
func TestRoleMatrix(t *testing.T) {
	actions := []models.Action{models.ActionReadApps, models.ActionManageApps, models.ActionManageMembers,
		models.ActionReadAudit, models.ActionEditBranding, models.ActionPublishBranding, models.ActionReadAnalytics}
	allowed := map[models.Role][]models.Action{
		models.RoleOwner: actions,
		models.RoleDeveloper: {models.ActionReadApps, models.ActionManageApps, models.ActionReadAudit,
			models.ActionEditBranding, models.ActionReadAnalytics},
		models.RoleDesigner: {models.ActionReadApps, models.ActionEditBranding, models.ActionPublishBranding,
			models.ActionReadAnalytics},
		models.RoleAnalyst:   {models.ActionReadApps, models.ActionReadAnalytics},
		models.Role("admin"): nil,
		models.Role("Owner"): nil,
		models.Role(""):      nil,
	}
	for role, may := range allowed {
		for _, action := range actions {
			want := false
			for _, a := range may {
				want = want || a == action
			}
			t.Run(string(role)+"/"+string(action), func(t *testing.T) {
				if got := role.Can(action); got != want {
					t.Errorf("%q.Can(%s) = %v, want %v", role, action, got, want)
				}
				err := role.Authorize(action)
				if want && err != nil {
					t.Errorf("Authorize = %v, want nil", err)
				}
				if !want && !errors.Is(err, models.ErrForbidden) {
					t.Errorf("Authorize = %v, want ErrForbidden", err)
				}
			})
		}
	}
	if models.RoleOwner.Can(models.Action("delete_everything")) {
		t.Error("an unknown action is allowed")
	}
}

func TestRoleValid(t *testing.T) {
	cases := map[models.Role]bool{
		models.RoleOwner: true, models.RoleDeveloper: true, models.RoleDesigner: true, models.RoleAnalyst: true,
		"admin": false, "": false, "OWNER": false, " owner": false,
	}
	for role, want := range cases {
		if got := role.Valid(); got != want {
			t.Errorf("Role(%q).Valid() = %v, want %v", role, got, want)
		}
	}
	if len(models.Roles) != 4 {
		t.Errorf("Roles = %v, want the four roles", models.Roles)
	}
	for _, r := range models.Roles {
		if !r.Valid() {
			t.Errorf("Roles lists invalid %q", r)
		}
	}
}
