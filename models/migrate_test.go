package models_test

import (
	"strings"
	"sync"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// wantMigrated checks that every step is recorded exactly once and none is pending; it returns the
// number of steps.
func wantMigrated(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var dups []int
	if err := db.Raw("SELECT version FROM schema_migrations GROUP BY version HAVING COUNT(*) > 1").Scan(&dups).Error; err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if len(dups) > 0 {
		t.Errorf("versions recorded more than once: %v", dups)
	}
	pending, err := models.MigrationsPending(db)
	if err != nil || pending != 0 {
		t.Errorf("MigrationsPending = %d, %v; want 0", pending, err)
	}
	n := countRows(t, db, "schema_migrations", "")
	if n == 0 {
		t.Error("schema_migrations is empty")
	}
	return n
}

func TestMigrateTwiceIsHarmless(t *testing.T) {
	db := modelstest.Open(t)
	a := newAccount(t, db, "ada@example.com")
	newApp(t, db, a, "Fleet")
	steps := wantMigrated(t, db)

	if err := models.Migrate(db); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if again := wantMigrated(t, db); again != steps {
		t.Errorf("schema_migrations has %d rows after a second Migrate, had %d", again, steps)
	}
	// The data survived and the schema still works.
	if n := countRows(t, db, "apps", ""); n != 1 {
		t.Errorf("apps has %d rows after a second Migrate, want 1", n)
	}
	newAccount(t, db, "bob@example.com")
}

func TestMigrateFreshDatabase(t *testing.T) {
	db := modelstest.OpenUnmigrated(t)
	pending, err := models.MigrationsPending(db)
	if pending <= 0 {
		t.Fatalf("MigrationsPending on an empty database = %d (%v); want every step pending", pending, err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if steps := wantMigrated(t, db); steps != int64(pending) {
		t.Errorf("%d steps recorded, %d were pending", steps, pending)
	}
	newAccount(t, db, "ada@example.com")
}

// security.md I65: replicas started together on an empty database each migrate, and each step is recorded once.
func TestMigrateConcurrentlyOnPostgres(t *testing.T) {
	if !modelstest.IsPostgres() {
		t.Skip("PostgreSQL only: set " + modelstest.EnvPostgres)
	}
	for round := 0; round < 3; round++ {
		db1 := modelstest.OpenUnmigrated(t)
		db2 := secondConnection(t, db1)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, db := range []*gorm.DB{db1, db2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = models.Migrate(db)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: Migrate on connection %d: %v", round, i+1, err)
			}
		}
		wantMigrated(t, db1)
		wantMigrated(t, db2)
	}
}

// secondConnection opens another pool to the PostgreSQL database of db, as a second replica would.
func secondConnection(t *testing.T, db *gorm.DB) *gorm.DB {
	t.Helper()
	dialector, ok := db.Dialector.(*postgres.Dialector)
	if !ok {
		t.Fatalf("dialector is %T, want *postgres.Dialector", db.Dialector)
	}
	other, err := models.Open(dialector.Config.DSN, "")
	if err != nil {
		t.Fatalf("open a second connection: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := other.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return other
}

// Demo seed.

func TestSeedDemoOnEmptyDatabase(t *testing.T) {
	db := modelstest.Open(t)
	demo, err := models.SeedDemo(db, "", "")
	if err != nil || demo == nil {
		t.Fatalf("SeedDemo = %+v, %v", demo, err)
	}
	if demo.Email != "admin@keyfob.local" || len(demo.Password) < models.MinPasswordLength || !models.IsUUID(demo.AppID) {
		t.Errorf("SeedDemo = %+v", demo)
	}
	counts := map[string]int64{"users": 1, "organizations": 1, "memberships": 1, "apps": 1, "redirect_uris": 1, "client_secrets": 1}
	for table, want := range counts {
		if n := countRows(t, db, table, ""); n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}

	user, err := models.Authenticate(db, demo.Email, demo.Password)
	if err != nil {
		t.Fatalf("the generated password does not sign in: %v", err)
	}
	var app models.App
	if err := db.Where("id = ?", demo.AppID).Take(&app).Error; err != nil {
		t.Fatalf("demo app: %v", err)
	}
	if got := roleInDB(t, db, app.OrgID, user.ID); got != string(models.RoleOwner) {
		t.Errorf("demo user's role in the demo organisation = %q, want owner", got)
	}
	uris, err := models.ListRedirectURIs(db, app.OrgID, app.ID)
	if err != nil || len(uris) != 1 || uris[0].Kind != models.RedirectLoopback || uris[0].Position != 0 {
		t.Errorf("demo redirect URIs = %+v, %v", uris, err)
	}

	// A second start changes nothing.
	for _, args := range [][2]string{{"", ""}, {"other@example.com", "another-password"}} {
		again, err := models.SeedDemo(db, args[0], args[1])
		if err != nil || again != nil {
			t.Errorf("SeedDemo(%q) on a seeded database = %+v, %v; want nil, nil", args[0], again, err)
		}
	}
	for table, want := range counts {
		if n := countRows(t, db, table, ""); n != want {
			t.Errorf("after a second SeedDemo, %s has %d rows, want %d", table, n, want)
		}
	}
}

func TestSeedDemoWithExplicitCredentials(t *testing.T) {
	db := modelstest.Open(t)
	demo, err := models.SeedDemo(db, "Owner@Example.com", "an-admin-password")
	if err != nil || demo == nil {
		t.Fatalf("SeedDemo = %+v, %v", demo, err)
	}
	if demo.Email != "owner@example.com" || demo.Password != "" {
		t.Errorf("SeedDemo = %+v; want owner@example.com and no password to print", demo)
	}
	if _, err := models.Authenticate(db, "owner@example.com", "an-admin-password"); err != nil {
		t.Errorf("the chosen password does not sign in: %v", err)
	}
	if n := countRows(t, db, "users", "email = ?", "admin@keyfob.local"); n != 0 {
		t.Error("the default admin was created despite an explicit email")
	}
}

func TestSeedDemoRefusesBadCredentials(t *testing.T) {
	cases := []struct {
		name, email, password, field string
	}{
		{"bad email", "not-an-email", "", "email"},
		{"short password", "owner@example.com", "short", "password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := modelstest.Open(t)
			demo, err := models.SeedDemo(db, tc.email, tc.password)
			if demo != nil {
				t.Errorf("SeedDemo = %+v", demo)
			}
			wantValidation(t, err, tc.field, "")
			for _, table := range []string{"users", "organizations", "apps"} {
				if n := countRows(t, db, table, ""); n != 0 {
					t.Errorf("%s has %d rows after a refused seed", table, n)
				}
			}
		})
	}
}

func TestSeedDemoSkipsADatabaseWithUsers(t *testing.T) {
	db := modelstest.Open(t)
	newAccount(t, db, "ada@example.com")
	demo, err := models.SeedDemo(db, "", "")
	if err != nil || demo != nil {
		t.Fatalf("SeedDemo = %+v, %v; want nil, nil", demo, err)
	}
	if n := countRows(t, db, "organizations", ""); n != 1 {
		t.Errorf("organizations has %d rows, want 1", n)
	}
}

// Replicas starting together seed once (PostgreSQL: two connection pools; SQLite: one file, one writer).
func TestSeedDemoConcurrently(t *testing.T) {
	db1 := modelstest.Open(t)
	db2 := db1
	if modelstest.IsPostgres() {
		db2 = secondConnection(t, db1)
	}
	start := make(chan struct{})
	results := make([]*models.DemoSignIn, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, db := range []*gorm.DB{db1, db2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = models.SeedDemo(db, "", "")
		}()
	}
	close(start)
	wg.Wait()
	seeded := 0
	for i := range results {
		if errs[i] != nil {
			t.Errorf("SeedDemo %d: %v", i+1, errs[i])
		}
		if results[i] != nil {
			seeded++
		}
	}
	if seeded != 1 {
		t.Errorf("%d SeedDemo calls seeded, want exactly 1", seeded)
	}
	for _, table := range []string{"users", "organizations", "apps"} {
		if n := countRows(t, db1, table, ""); n != 1 {
			t.Errorf("%s has %d rows, want 1", table, n)
		}
	}
}

// On PostgreSQL (where the test user may create extensions) the owner search gets its trigram index
// on app_owners (one row per owner), and the planner uses it for a substring search; the summaries
// carry no search index any more (every session's write paid for it).
func TestOwnerSearchIndexOnPostgres(t *testing.T) {
	if !modelstest.IsPostgres() {
		t.Skip("PostgreSQL only: set " + modelstest.EnvPostgres)
	}
	db := modelstest.Open(t)
	var n int64
	db.Raw("SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('app_owners_owner_search', 'session_summaries_owner_search')").Scan(&n)
	if n != 1 {
		t.Fatalf("want the trigram index on app_owners.owner alone, found %d of the two", n)
	}
	err := db.Exec(`INSERT INTO app_owners (app_id, owner)
		SELECT 'app', 'driver-' || i || '@example.com' FROM generate_series(1, 20000) AS i`).Error
	if err == nil {
		err = db.Exec("ANALYZE app_owners").Error
	}
	var plan []string
	if err == nil { // on 20,000 rows a scan is still cheap: rule it out to see what the search can use
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
				return err
			}
			return tx.Raw(`EXPLAIN SELECT owner FROM app_owners WHERE app_id = 'app' AND LOWER(owner) LIKE '%driver-12345@example%'`).Scan(&plan).Error
		})
	}
	if err != nil || len(plan) == 0 || !containsAny(plan, "app_owners_owner_search") {
		t.Fatalf("substring search does not use the trigram index: %v %v", err, plan)
	}
}

func containsAny(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
