package models

import (
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Organization owns apps; every tenant query is scoped by its id.
type Organization struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Membership gives a user a role in an organisation.
type Membership struct {
	OrgID     string
	UserID    string
	Role      Role
	CreatedAt time.Time
}

// OrgMembership is an organisation seen by one of its members.
type OrgMembership struct {
	Organization
	Role Role
}

// Member is a membership with the user's details, for the member list.
type Member struct {
	UserID string
	Email  string
	Name   string
	Role   Role
}

// Actor is who makes a change; it is written into the audit log.
type Actor struct {
	ID    string
	Email string
}

// CreateOrganization makes a new organisation with the actor as its owner.
func CreateOrganization(db *gorm.DB, actor Actor, name string) (Organization, error) {
	name = strings.TrimSpace(name)
	if !validLabel(name, 100) {
		return Organization{}, Invalid("name", "required", "Name the organisation (1–100 characters, on one line).")
	}
	now := time.Now().UTC()
	org := Organization{ID: newID(), Name: name, CreatedAt: now}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&org).Error; err != nil {
			return err
		}
		if err := tx.Create(&Membership{OrgID: org.ID, UserID: actor.ID, Role: RoleOwner, CreatedAt: now}).Error; err != nil {
			return err
		}
		return writeAudit(tx, org.ID, actor, "organization.create", "", org.ID, map[string]any{"name": name})
	})
	return org, err
}

// UserOrganizations lists the organisations a user belongs to, by name.
func UserOrganizations(db *gorm.DB, userID string) ([]OrgMembership, error) {
	var out []OrgMembership
	err := db.Table("organizations o").Select("o.id, o.name, o.created_at, m.role").
		Joins("JOIN memberships m ON m.org_id = o.id").Where("m.user_id = ?", userID).
		Order("o.name, o.id").Scan(&out).Error
	return out, err
}

// FindMembership returns the user's role in orgID, or ErrNotFound when they are not a member
// (the organisation is then invisible to them).
func FindMembership(db *gorm.DB, orgID, userID string) (OrgMembership, error) {
	if orgID == "" {
		return OrgMembership{}, ErrNoOrganization
	}
	var out OrgMembership
	err := db.Table("organizations o").Select("o.id, o.name, o.created_at, m.role").
		Joins("JOIN memberships m ON m.org_id = o.id").Where("o.id = ? AND m.user_id = ?", orgID, userID).
		Take(&out).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return OrgMembership{}, ErrNotFound
	}
	return out, err
}

// ListMembers lists an organisation's members by email.
func ListMembers(db *gorm.DB, orgID string) ([]Member, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	var out []Member
	err := db.Table("memberships m").Select("m.user_id, u.email, u.name, m.role").
		Joins("JOIN users u ON u.id = m.user_id").Where("m.org_id = ?", orgID).Order("u.email").Scan(&out).Error
	return out, err
}

// AddMember adds an existing account to the organisation by email.
func AddMember(db *gorm.DB, actor Actor, orgID, email string, role Role) (Member, error) {
	if orgID == "" {
		return Member{}, ErrNoOrganization
	}
	if !role.Valid() {
		return Member{}, invalidRole()
	}
	if strings.TrimSpace(email) == "" {
		return Member{}, Invalid("email", "required", "Enter the email of an existing Keyfob account.")
	}
	user, err := FindUserByEmail(db, email)
	if errors.Is(err, ErrNotFound) {
		return Member{}, Invalid("email", "unknown_user", "No Keyfob account uses this email. Ask them to sign up first, then add them.")
	}
	if err != nil {
		return Member{}, err
	}
	err = db.Transaction(func(tx *gorm.DB) error {
		m := Membership{OrgID: orgID, UserID: user.ID, Role: role, CreatedAt: time.Now().UTC()}
		if err := tx.Create(&m).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Conflict("already_member", "email", "This person is already a member.")
			}
			return err
		}
		return writeAudit(tx, orgID, actor, "member.add", "", user.Email, map[string]any{"role": role})
	})
	return Member{UserID: user.ID, Email: user.Email, Name: user.Name, Role: role}, err
}

// ChangeRole sets a member's role; the last owner cannot be demoted.
func ChangeRole(db *gorm.DB, actor Actor, orgID, userID string, role Role) (Member, error) {
	if !role.Valid() {
		return Member{}, invalidRole()
	}
	var out Member
	err := db.Transaction(func(tx *gorm.DB) error {
		current, err := lockMember(tx, orgID, userID)
		if err != nil {
			return err
		}
		out = current
		if current.Role == role {
			return nil
		}
		if current.Role == RoleOwner {
			if err := ensureAnotherOwner(tx, orgID, userID, "demoted"); err != nil {
				return err
			}
		}
		if err := tx.Model(&Membership{}).Where("org_id = ? AND user_id = ?", orgID, userID).Update("role", role).Error; err != nil {
			return err
		}
		out.Role = role
		return writeAudit(tx, orgID, actor, "member.role", "", current.Email,
			map[string]any{"before": map[string]any{"role": current.Role}, "after": map[string]any{"role": role}})
	})
	return out, err
}

// RemovalAction is what removing userID asks of the actor's role: any member may remove themselves
// (leave), only owners may remove others.
func RemovalAction(actorID, userID string) Action {
	if actorID == userID {
		return ActionReadApps
	}
	return ActionManageMembers
}

// RemoveMember takes a member out of the organisation; their access stops at once because every
// request checks membership. The last owner cannot leave.
func RemoveMember(db *gorm.DB, actor Actor, orgID, userID string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		current, err := lockMember(tx, orgID, userID)
		if err != nil {
			return err
		}
		if current.Role == RoleOwner {
			if err := ensureAnotherOwner(tx, orgID, userID, "removed"); err != nil {
				return err
			}
		}
		if err := tx.Where("org_id = ? AND user_id = ?", orgID, userID).Delete(&Membership{}).Error; err != nil {
			return err
		}
		return writeAudit(tx, orgID, actor, "member.remove", "", current.Email, map[string]any{"role": current.Role})
	})
}

// lockMember locks the organisation row (PostgreSQL) so that concurrent demotions cannot both pass
// the last-owner check, then reads the member.
func lockMember(tx *gorm.DB, orgID, userID string) (Member, error) {
	if orgID == "" {
		return Member{}, ErrNoOrganization
	}
	var org Organization
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", orgID).Take(&org).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Member{}, ErrNotFound
		}
		return Member{}, err
	}
	var m Member
	err := tx.Table("memberships m").Select("m.user_id, u.email, u.name, m.role").
		Joins("JOIN users u ON u.id = m.user_id").Where("m.org_id = ? AND m.user_id = ?", orgID, userID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Member{}, ErrNotFound
	}
	return m, err
}

func ensureAnotherOwner(tx *gorm.DB, orgID, userID, verb string) error {
	var owners int64
	if err := tx.Model(&Membership{}).Where("org_id = ? AND role = ? AND user_id <> ?", orgID, RoleOwner, userID).Count(&owners).Error; err != nil {
		return err
	}
	if owners == 0 {
		return Conflict("last_owner", "role", "The last owner cannot be "+verb+". Make another member an owner first.")
	}
	return nil
}

func invalidRole() error {
	return Invalid("role", "invalid_role", "Choose a role: owner, developer, designer or analyst.")
}
