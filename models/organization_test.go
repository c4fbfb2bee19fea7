package models_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// Helpers shared by the tests of this package.

// testPassword is the password of every account made by newAccount.
const testPassword = "correct-horse-battery"

type account struct {
	User  models.User
	Org   models.Organization
	Actor models.Actor
}

// newAccount signs up email with testPassword and its own organisation.
func newAccount(t *testing.T, db *gorm.DB, email string) account {
	t.Helper()
	user, org, err := models.CreateAccount(db, models.SignUp{Email: email, Password: testPassword,
		Name: "Person " + email, Organization: "Org of " + email})
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return account{User: user, Org: org, Actor: models.Actor{ID: user.ID, Email: user.Email}}
}

// newApp creates an app in a's organisation and returns it with its first secret.
func newApp(t *testing.T, db *gorm.DB, a account, name string) (models.App, models.NewSecret) {
	t.Helper()
	app, secret, err := models.CreateApp(db, a.Actor, a.Org.ID, models.AppInput{Name: &name})
	if err != nil {
		t.Fatalf("CreateApp(%s): %v", name, err)
	}
	return app, secret
}

// countRows counts the rows of table matching where (all rows when where is empty).
func countRows(t *testing.T, db *gorm.DB, table, where string, args ...any) int64 {
	t.Helper()
	q := db.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// roleInDB reads a membership's role straight from the table ("" when there is none).
func roleInDB(t *testing.T, db *gorm.DB, orgID, userID string) string {
	t.Helper()
	var roles []string
	if err := db.Table("memberships").Where("org_id = ? AND user_id = ?", orgID, userID).Pluck("role", &roles).Error; err != nil {
		t.Fatalf("read role: %v", err)
	}
	if len(roles) == 0 {
		return ""
	}
	return roles[0]
}

// auditEntries lists an organisation's audit entries with action (all actions when empty), newest first.
func auditEntries(t *testing.T, db *gorm.DB, orgID, action string) []models.AuditEntry {
	t.Helper()
	entries, _, err := models.ListAudit(db, orgID, models.AuditFilter{Action: action, Limit: 200})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return entries
}

// wantValidation fails unless err is a *models.ValidationError with field and code (when given)
// and a message.
func wantValidation(t *testing.T, err error, field, code string) *models.ValidationError {
	t.Helper()
	var v *models.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v (%T), want *models.ValidationError", err, err)
	}
	if field != "" && v.Field != field {
		t.Errorf("ValidationError.Field = %q, want %q", v.Field, field)
	}
	if code != "" && v.Code != code {
		t.Errorf("ValidationError.Code = %q, want %q", v.Code, code)
	}
	if strings.TrimSpace(v.Message) == "" {
		t.Errorf("ValidationError %q/%q has no message", v.Field, v.Code)
	}
	return v
}

// wantConflict fails unless err is a *models.ConflictError with code (when given) and a message.
func wantConflict(t *testing.T, err error, code string) *models.ConflictError {
	t.Helper()
	var c *models.ConflictError
	if !errors.As(err, &c) {
		t.Fatalf("err = %v (%T), want *models.ConflictError", err, err)
	}
	if code != "" && c.Code != code {
		t.Errorf("ConflictError.Code = %q, want %q", c.Code, code)
	}
	if strings.TrimSpace(c.Message) == "" {
		t.Errorf("ConflictError %q has no message", c.Code)
	}
	return c
}

func wantErrorIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v (%T), want %v", err, err, target)
	}
}

// Organisations and members.

func TestCreateAccountMakesUserOrganisationAndOwner(t *testing.T) {
	db := modelstest.Open(t)
	user, org, err := models.CreateAccount(db, models.SignUp{Email: "  Ada@Example.COM ", Password: testPassword,
		Name: " Ada Lovelace ", Organization: " Analytical Engines "})
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}

	var stored models.User
	if err := db.Where("id = ?", user.ID).Take(&stored).Error; err != nil {
		t.Fatalf("read user: %v", err)
	}
	if stored.Email != "ada@example.com" || stored.Name != "Ada Lovelace" {
		t.Errorf("stored user = %q %q, want ada@example.com, Ada Lovelace", stored.Email, stored.Name)
	}
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") || strings.Contains(stored.PasswordHash, testPassword) {
		t.Errorf("stored password hash %q is not an argon2id hash", stored.PasswordHash)
	}
	if stored.Disabled {
		t.Errorf("new user is disabled")
	}

	var storedOrg models.Organization
	if err := db.Where("id = ?", org.ID).Take(&storedOrg).Error; err != nil {
		t.Fatalf("read organisation: %v", err)
	}
	if storedOrg.Name != "Analytical Engines" {
		t.Errorf("organisation name = %q", storedOrg.Name)
	}
	if got := roleInDB(t, db, org.ID, user.ID); got != string(models.RoleOwner) {
		t.Errorf("membership role = %q, want owner", got)
	}
	if n := countRows(t, db, "memberships", "org_id = ?", org.ID); n != 1 {
		t.Errorf("organisation has %d memberships, want 1", n)
	}

	m, err := models.FindMembership(db, org.ID, user.ID)
	if err != nil || m.Role != models.RoleOwner || m.ID != org.ID {
		t.Errorf("FindMembership = %+v, %v; want owner of %s", m, err, org.ID)
	}
	orgs, err := models.UserOrganizations(db, user.ID)
	if err != nil || len(orgs) != 1 || orgs[0].ID != org.ID || orgs[0].Role != models.RoleOwner {
		t.Errorf("UserOrganizations = %+v, %v", orgs, err)
	}
}

func TestCreateAccountDuplicateEmailInAnyCase(t *testing.T) {
	db := modelstest.Open(t)
	newAccount(t, db, "ada@example.com")
	for _, email := range []string{"ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com", "  ada@example.com  "} {
		t.Run(email, func(t *testing.T) {
			_, _, err := models.CreateAccount(db, models.SignUp{Email: email, Password: testPassword, Name: "Other", Organization: "Other org"})
			c := wantConflict(t, err, "email_taken")
			if c.Field != "email" {
				t.Errorf("ConflictError.Field = %q, want email", c.Field)
			}
			// The transaction rolled back: no second user, organisation or membership.
			for table, want := range map[string]int64{"users": 1, "organizations": 1, "memberships": 1} {
				if n := countRows(t, db, table, ""); n != want {
					t.Errorf("%s has %d rows, want %d", table, n, want)
				}
			}
		})
	}
}

func TestCreateAccountValidation(t *testing.T) {
	db := modelstest.Open(t)
	good := models.SignUp{Email: "ada@example.com", Password: testPassword, Name: "Ada", Organization: "Engines"}
	cases := []struct {
		name  string
		edit  func(*models.SignUp)
		field string
	}{
		{"not an email", func(s *models.SignUp) { s.Email = "not-an-email" }, "email"},
		{"display name form", func(s *models.SignUp) { s.Email = "Ada <ada@example.com>" }, "email"},
		{"empty email", func(s *models.SignUp) { s.Email = "" }, "email"},
		{"empty name", func(s *models.SignUp) { s.Name = "   " }, "name"},
		{"short password", func(s *models.SignUp) { s.Password = "123456789" }, "password"},
		{"empty organisation", func(s *models.SignUp) { s.Organization = " " }, "organization"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			_, _, err := models.CreateAccount(db, s)
			wantValidation(t, err, tc.field, "")
			if n := countRows(t, db, "users", ""); n != 0 {
				t.Errorf("users has %d rows after a refused sign-up", n)
			}
			if n := countRows(t, db, "organizations", ""); n != 0 {
				t.Errorf("organizations has %d rows after a refused sign-up", n)
			}
		})
	}
}

func TestCreateOrganization(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	cases := []struct {
		name, orgName string
		ok            bool
	}{
		{"plain", "  Second org  ", true},
		{"100 characters", strings.Repeat("o", 100), true},
		{"100 non-ASCII characters", strings.Repeat("é", 100), true},
		{"34 Japanese characters", strings.Repeat("日本語", 11) + "社", true},
		{"101 characters", strings.Repeat("o", 101), false},
		{"101 non-ASCII characters", strings.Repeat("é", 101), false},
		{"empty", "", false},
		{"blank", "   ", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := countRows(t, db, "organizations", "")
			org, err := models.CreateOrganization(db, a.Actor, tc.orgName)
			if !tc.ok {
				wantValidation(t, err, "name", "")
				if n := countRows(t, db, "organizations", ""); n != before {
					t.Errorf("organizations went from %d to %d rows", before, n)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateOrganization(%d characters): %v", len([]rune(tc.orgName)), err)
			}
			if n := countRows(t, db, "organizations", "id = ? AND name = ?", org.ID, strings.TrimSpace(tc.orgName)); n != 1 {
				t.Errorf("organisation %q not stored", tc.orgName)
			}
			if got := roleInDB(t, db, org.ID, a.User.ID); got != string(models.RoleOwner) {
				t.Errorf("creator's role = %q, want owner", got)
			}
			if entries := auditEntries(t, db, org.ID, "organization.create"); len(entries) != 1 || entries[0].ActorID != a.User.ID {
				t.Errorf("organization.create audit entries = %+v", entries)
			}
		})
	}
}

func TestAddMember(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")

	m, err := models.AddMember(db, a.Actor, a.Org.ID, "  BOB@Example.com ", models.RoleDeveloper)
	if err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	if m.UserID != b.User.ID || m.Email != "bob@example.com" || m.Role != models.RoleDeveloper {
		t.Errorf("AddMember = %+v", m)
	}
	if got := roleInDB(t, db, a.Org.ID, b.User.ID); got != string(models.RoleDeveloper) {
		t.Errorf("stored role = %q, want developer", got)
	}
	members, err := models.ListMembers(db, a.Org.ID)
	if err != nil || len(members) != 2 || members[0].Email != "ada@example.com" || members[1].Email != "bob@example.com" {
		t.Fatalf("ListMembers = %+v, %v", members, err)
	}
	if entries := auditEntries(t, db, a.Org.ID, "member.add"); len(entries) != 1 || entries[0].Target != "bob@example.com" || entries[0].ActorID != a.User.ID {
		t.Errorf("member.add audit entries = %+v", entries)
	}

	cases := []struct {
		name  string
		email string
		role  models.Role
		check func(t *testing.T, err error)
	}{
		{"twice", "bob@example.com", models.RoleAnalyst, func(t *testing.T, err error) { wantConflict(t, err, "already_member") }},
		{"twice in other case", "Bob@EXAMPLE.com", models.RoleOwner, func(t *testing.T, err error) { wantConflict(t, err, "already_member") }},
		{"unknown email", "nobody@example.com", models.RoleDeveloper, func(t *testing.T, err error) { wantValidation(t, err, "email", "unknown_user") }},
		{"empty email", "  ", models.RoleDeveloper, func(t *testing.T, err error) { wantValidation(t, err, "email", "") }},
		{"invalid role", "bob@example.com", models.Role("admin"), func(t *testing.T, err error) { wantValidation(t, err, "role", "invalid_role") }},
		{"empty role", "bob@example.com", models.Role(""), func(t *testing.T, err error) { wantValidation(t, err, "role", "invalid_role") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := models.AddMember(db, a.Actor, a.Org.ID, tc.email, tc.role)
			tc.check(t, err)
			if n := countRows(t, db, "memberships", "org_id = ?", a.Org.ID); n != 2 {
				t.Errorf("organisation has %d memberships, want 2", n)
			}
			if got := roleInDB(t, db, a.Org.ID, b.User.ID); got != string(models.RoleDeveloper) {
				t.Errorf("bob's role changed to %q", got)
			}
			if n := len(auditEntries(t, db, a.Org.ID, "member.add")); n != 1 {
				t.Errorf("%d member.add audit entries, want 1", n)
			}
		})
	}

	orgs, err := models.UserOrganizations(db, b.User.ID)
	if err != nil || len(orgs) != 2 {
		t.Errorf("bob's organisations = %+v, %v; want his own and ada's", orgs, err)
	}
}

func TestChangeRoleKeepsAnOwner(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	outsider := newAccount(t, db, "eve@example.com")

	_, err := models.ChangeRole(db, a.Actor, a.Org.ID, a.User.ID, models.RoleDeveloper)
	wantConflict(t, err, "last_owner")
	if got := roleInDB(t, db, a.Org.ID, a.User.ID); got != string(models.RoleOwner) {
		t.Fatalf("last owner's role = %q after a refused demotion", got)
	}

	if _, err := models.AddMember(db, a.Actor, a.Org.ID, b.User.Email, models.RoleOwner); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	m, err := models.ChangeRole(db, a.Actor, a.Org.ID, a.User.ID, models.RoleDeveloper)
	if err != nil || m.Role != models.RoleDeveloper {
		t.Fatalf("demote one of two owners: %+v, %v", m, err)
	}
	if got := roleInDB(t, db, a.Org.ID, a.User.ID); got != string(models.RoleDeveloper) {
		t.Errorf("stored role = %q, want developer", got)
	}
	entries := auditEntries(t, db, a.Org.ID, "member.role")
	if len(entries) != 1 || entries[0].Target != a.User.Email || !strings.Contains(entries[0].Detail, "developer") {
		t.Errorf("member.role audit entries = %+v", entries)
	}

	// Bob is now the only owner.
	_, err = models.ChangeRole(db, a.Actor, a.Org.ID, b.User.ID, models.RoleAnalyst)
	wantConflict(t, err, "last_owner")
	if got := roleInDB(t, db, a.Org.ID, b.User.ID); got != string(models.RoleOwner) {
		t.Errorf("bob's role = %q, want owner", got)
	}

	_, err = models.ChangeRole(db, a.Actor, a.Org.ID, b.User.ID, models.Role("superuser"))
	wantValidation(t, err, "role", "invalid_role")
	_, err = models.ChangeRole(db, a.Actor, a.Org.ID, outsider.User.ID, models.RoleAnalyst)
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.ChangeRole(db, a.Actor, outsider.Org.ID, a.User.ID, models.RoleOwner)
	wantErrorIs(t, err, models.ErrNotFound)
	if got := roleInDB(t, db, outsider.Org.ID, a.User.ID); got != "" {
		t.Errorf("a membership appeared in another organisation: %q", got)
	}
	if n := len(auditEntries(t, db, a.Org.ID, "member.role")); n != 1 {
		t.Errorf("%d member.role audit entries after refused changes, want 1", n)
	}
}

func TestRemoveMember(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	c := newAccount(t, db, "cy@example.com")

	err := models.RemoveMember(db, a.Actor, a.Org.ID, a.User.ID)
	wantConflict(t, err, "last_owner")
	if got := roleInDB(t, db, a.Org.ID, a.User.ID); got != string(models.RoleOwner) {
		t.Fatalf("last owner was removed (role %q)", got)
	}

	if _, err := models.AddMember(db, a.Actor, a.Org.ID, b.User.Email, models.RoleDeveloper); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	if err := models.RemoveMember(db, a.Actor, a.Org.ID, b.User.ID); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	if got := roleInDB(t, db, a.Org.ID, b.User.ID); got != "" {
		t.Errorf("removed member still has role %q", got)
	}
	_, err = models.FindMembership(db, a.Org.ID, b.User.ID)
	wantErrorIs(t, err, models.ErrNotFound)
	if n := countRows(t, db, "users", "id = ?", b.User.ID); n != 1 {
		t.Errorf("removing a member deleted the account")
	}
	if entries := auditEntries(t, db, a.Org.ID, "member.remove"); len(entries) != 1 || entries[0].Target != b.User.Email {
		t.Errorf("member.remove audit entries = %+v", entries)
	}
	wantErrorIs(t, models.RemoveMember(db, a.Actor, a.Org.ID, b.User.ID), models.ErrNotFound)

	// With a second owner, the first may leave.
	if _, err := models.AddMember(db, a.Actor, a.Org.ID, c.User.Email, models.RoleOwner); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	if err := models.RemoveMember(db, c.Actor, a.Org.ID, a.User.ID); err != nil {
		t.Fatalf("remove one of two owners: %v", err)
	}
	if got := roleInDB(t, db, a.Org.ID, c.User.ID); got != string(models.RoleOwner) {
		t.Errorf("remaining owner's role = %q", got)
	}
	wantConflict(t, models.RemoveMember(db, c.Actor, a.Org.ID, c.User.ID), "last_owner")
}

// Two owners demoting each other at the same moment must not leave the organisation without one.
func TestConcurrentDemotionsKeepAnOwner(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	if _, err := models.AddMember(db, a.Actor, a.Org.ID, b.User.Email, models.RoleOwner); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	for round := 0; round < 5; round++ {
		if err := db.Exec("UPDATE memberships SET role = 'owner' WHERE org_id = ?", a.Org.ID).Error; err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, userID := range []string{a.User.ID, b.User.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = models.ChangeRole(db, a.Actor, a.Org.ID, userID, models.RoleDeveloper)
			}()
		}
		close(start)
		wg.Wait()
		succeeded := 0
		for _, err := range errs {
			if err == nil {
				succeeded++
			} else {
				wantConflict(t, err, "last_owner")
			}
		}
		if succeeded != 1 {
			t.Errorf("round %d: %d demotions succeeded, want exactly 1 (%v)", round, succeeded, errs)
		}
		if n := countRows(t, db, "memberships", "org_id = ? AND role = ?", a.Org.ID, models.RoleOwner); n != 1 {
			t.Fatalf("round %d: %d owners left, want 1", round, n)
		}
	}
}

// Every tenant function refuses an empty organisation id instead of running an unscoped query.
func TestTenantFunctionsRequireOrganisation(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	app, _ := newApp(t, db, a, "Fleet")
	name := "Renamed"
	calls := []struct {
		name string
		call func() error
	}{
		{"FindApp", func() error { _, err := models.FindApp(db, "", app.ID); return err }},
		{"ListApps", func() error { _, err := models.ListApps(db, ""); return err }},
		{"ListMembers", func() error { _, err := models.ListMembers(db, ""); return err }},
		{"ListAudit", func() error { _, _, err := models.ListAudit(db, "", models.AuditFilter{}); return err }},
		{"AuditActions", func() error { _, err := models.AuditActions(db, ""); return err }},
		{"FindMembership", func() error { _, err := models.FindMembership(db, "", a.User.ID); return err }},
		{"CreateApp", func() error { _, _, err := models.CreateApp(db, a.Actor, "", models.AppInput{Name: &name}); return err }},
		{"UpdateApp", func() error {
			_, err := models.UpdateApp(db, a.Actor, "", app.ID, models.AppInput{Name: &name})
			return err
		}},
		{"DeleteApp", func() error { return models.DeleteApp(db, a.Actor, "", app.ID) }},
		{"LoadAppDetails", func() error { _, err := models.LoadAppDetails(db, "", app.ID); return err }},
		{"AddMember", func() error {
			_, err := models.AddMember(db, a.Actor, "", a.User.Email, models.RoleDeveloper)
			return err
		}},
		{"ChangeRole", func() error {
			_, err := models.ChangeRole(db, a.Actor, "", a.User.ID, models.RoleDeveloper)
			return err
		}},
		{"RemoveMember", func() error { return models.RemoveMember(db, a.Actor, "", a.User.ID) }},
		{"ListRedirectURIs", func() error { _, err := models.ListRedirectURIs(db, "", app.ID); return err }},
		{"AddRedirectURI", func() error {
			_, err := models.AddRedirectURI(db, a.Actor, "", app.ID, "https://app.example.com/cb")
			return err
		}},
		{"ListClientSecrets", func() error { _, err := models.ListClientSecrets(db, "", app.ID); return err }},
		{"RotateClientSecret", func() error { _, err := models.RotateClientSecret(db, a.Actor, "", app.ID, 0); return err }},
		{"CreateAPIKey", func() error {
			_, err := models.CreateAPIKey(db, a.Actor, "", app.ID, "server", models.EnvTest)
			return err
		}},
		{"ListAPIKeys", func() error { _, err := models.ListAPIKeys(db, "", app.ID); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			wantErrorIs(t, c.call(), models.ErrNoOrganization)
		})
	}
	// Nothing was written or changed.
	for table, want := range map[string]int64{"apps": 1, "memberships": 1, "client_secrets": 1, "redirect_uris": 0,
		"api_keys": 0, "audit_entries": 1} {
		if n := countRows(t, db, table, ""); n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	if got := roleInDB(t, db, a.Org.ID, a.User.ID); got != string(models.RoleOwner) {
		t.Errorf("role changed to %q", got)
	}
	if n := countRows(t, db, "apps", "name = ?", "Fleet"); n != 1 {
		t.Errorf("the app was renamed or deleted")
	}
}

func TestFindAppStaysInsideItsOrganisation(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	b := newAccount(t, db, "bob@example.com")
	appA, _ := newApp(t, db, a, "A's app")
	appB, secretB := newApp(t, db, b, "B's app")

	got, err := models.FindApp(db, a.Org.ID, appA.ID)
	if err != nil || got.ID != appA.ID || got.OrgID != a.Org.ID || got.Name != "A's app" {
		t.Fatalf("FindApp own app = %+v, %v", got, err)
	}
	for _, id := range []string{appB.ID, uuid.NewString(), "not-a-uuid", "", strings.ToUpper(appA.ID),
		"{" + appA.ID + "}", "urn:uuid:" + appA.ID, appA.ID + "' OR '1'='1", "1"} {
		t.Run(id, func(t *testing.T) {
			_, err := models.FindApp(db, a.Org.ID, id)
			wantErrorIs(t, err, models.ErrNotFound)
		})
	}

	apps, err := models.ListApps(db, a.Org.ID)
	if err != nil || len(apps) != 1 || apps[0].ID != appA.ID {
		t.Errorf("ListApps(A) = %+v, %v; want only A's app", apps, err)
	}

	// Writes through org A's id to org B's app change nothing.
	name := "hijacked"
	_, err = models.UpdateApp(db, a.Actor, a.Org.ID, appB.ID, models.AppInput{Name: &name})
	wantErrorIs(t, err, models.ErrNotFound)
	wantErrorIs(t, models.DeleteApp(db, a.Actor, a.Org.ID, appB.ID), models.ErrNotFound)
	_, err = models.LoadAppDetails(db, a.Org.ID, appB.ID)
	wantErrorIs(t, err, models.ErrNotFound)
	if n := countRows(t, db, "apps", "id = ? AND name = ?", appB.ID, "B's app"); n != 1 {
		t.Errorf("B's app was changed through A's organisation")
	}
	if _, err := models.AuthenticateClient(db, appB.ID, secretB.Secret); err != nil {
		t.Errorf("B's secret stopped working: %v", err)
	}
	if n := len(auditEntries(t, db, a.Org.ID, "")); n != 1 {
		t.Errorf("A's audit log has %d entries, want only app.create", n)
	}
}
