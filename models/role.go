package models

// Role is a member's role in an organisation.
type Role string

// The four roles of product.md.
const (
	RoleOwner     Role = "owner"
	RoleDeveloper Role = "developer"
	RoleDesigner  Role = "designer"
	RoleAnalyst   Role = "analyst"
)

// Roles lists the roles in the order the console offers them.
var Roles = []Role{RoleOwner, RoleDeveloper, RoleDesigner, RoleAnalyst}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}

// Action is something a role may or may not do.
type Action string

// Actions checked by the console and the API.
const (
	ActionReadApps        Action = "read_apps"
	ActionManageApps      Action = "manage_apps" // apps, secrets, redirect URIs, API keys
	ActionManageMembers   Action = "manage_members"
	ActionReadAudit       Action = "read_audit"
	ActionEditBranding    Action = "edit_branding"
	ActionPublishBranding Action = "publish_branding"
	ActionReadAnalytics   Action = "read_analytics"
)

// permissions is the one place that says who may do what (product.md §Capabilities 1).
var permissions = map[Action][]Role{
	ActionReadApps:        {RoleOwner, RoleDeveloper, RoleDesigner, RoleAnalyst},
	ActionManageApps:      {RoleOwner, RoleDeveloper},
	ActionManageMembers:   {RoleOwner},
	ActionReadAudit:       {RoleOwner, RoleDeveloper},
	ActionEditBranding:    {RoleOwner, RoleDesigner, RoleDeveloper},
	ActionPublishBranding: {RoleOwner, RoleDesigner},
	ActionReadAnalytics:   {RoleOwner, RoleDeveloper, RoleDesigner, RoleAnalyst},
}

// Can reports whether role r may perform action a.
func (r Role) Can(a Action) bool {
	for _, allowed := range permissions[a] {
		if r == allowed {
			return true
		}
	}
	return false
}

// Authorize returns ErrForbidden unless r may perform a.
func (r Role) Authorize(a Action) error {
	if r.Can(a) {
		return nil
	}
	return ErrForbidden
}
