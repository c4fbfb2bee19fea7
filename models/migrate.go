package models

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one step of the schema's history. Steps are never edited once released; a change is a new step.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// backfills run after a step's SQL, in its transaction, for data SQL cannot compute portably.
var backfills = map[int]func(tx *gorm.DB) error{
	11: backfillCompletions, 12: ownerSearchIndex, 13: rollupStorage, 14: backfillFamilyStarts, 15: opaqueButtonColors,
	17: ownerDailyStorage,
}

// ownerDailyStorage fills owner_daily and app_owners from the session summaries that existed before
// them and gives owner_daily what the other rollups have on PostgreSQL: room for HOT updates and
// frequent autovacuum. Owner search goes through app_owners' trigram index (one row per owner, written
// once), not through one on owner_daily, whose every write would update it.
func ownerDailyStorage(tx *gorm.DB) error {
	if err := backfillOwnerDaily(tx); err != nil {
		return err
	}
	if err := tx.Exec("INSERT INTO app_owners (app_id, owner) SELECT DISTINCT app_id, owner FROM owner_daily").Error; err != nil || !IsPostgres(tx) {
		return err
	}
	if err := tx.Exec("ALTER TABLE owner_daily SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02, " +
		"autovacuum_analyze_scale_factor = 0.05)").Error; err != nil {
		return err
	}
	return trigramIndex(tx, "app_owners")
}

// backfillOwnerDaily counts the existing session summaries into owner_daily: under their make and mode,
// and under "*" for both, each row with its latest session (ties on the instant to the greater id).
func backfillOwnerDaily(tx *gorm.DB) error {
	const counts = `COUNT(*), SUM(CASE WHEN outcome = 'completed' THEN 1 ELSE 0 END), MAX(last_event_at)
		FROM session_summaries WHERE owner <> ''`
	for _, sql := range []string{
		`INSERT INTO owner_daily (app_id, day, owner, make, mode, sandbox, sessions, completed, last_event_at)
		SELECT app_id, day, owner, make, mode, sandbox, ` + counts + ` GROUP BY app_id, day, owner, make, mode, sandbox`,
		`INSERT INTO owner_daily (app_id, day, owner, make, mode, sandbox, sessions, completed, last_event_at)
		SELECT app_id, day, owner, '*', '*', sandbox, ` + counts + ` GROUP BY app_id, day, owner, sandbox`,
		`UPDATE owner_daily SET last_session = (` + latestSessionOf("session_id") + `)`,
		`UPDATE owner_daily SET last_event_at = (SELECT s.last_event_at FROM session_summaries s
		WHERE s.app_id = owner_daily.app_id AND s.session_id = owner_daily.last_session),
		last_outcome = (SELECT s.outcome FROM session_summaries s WHERE s.app_id = owner_daily.app_id AND s.session_id = owner_daily.last_session)`,
	} {
		if err := tx.Exec(sql).Error; err != nil {
			return err
		}
	}
	return nil
}

// backfillFamilyStarts dates each existing token family from its code's issue, as new families are,
// or, should the code be gone, from the family's first token: never later than the grant really began.
func backfillFamilyStarts(tx *gorm.DB) error {
	return tx.Exec(`UPDATE oauth_tokens SET family_started_at = COALESCE(
		(SELECT c.created_at FROM oauth_codes c WHERE c.hash = oauth_tokens.family_id),
		(SELECT MIN(f.created_at) FROM oauth_tokens f WHERE f.family_id = oauth_tokens.family_id))
		WHERE family_started_at IS NULL`).Error
}

// rollupStorage leaves room in every page of the rollup tables (each row is updated over and over,
// and an update that fits on its page is a HOT update: no index entry, and the old version is pruned
// on the next visit instead of bloating the table), and has autovacuum visit them often.
func rollupStorage(tx *gorm.DB) error {
	if !IsPostgres(tx) {
		return nil
	}
	for _, table := range []string{"funnel_daily", "error_daily", "completion_daily"} {
		if err := tx.Exec("ALTER TABLE " + table + " SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02, " +
			"autovacuum_vacuum_threshold = 500, autovacuum_analyze_scale_factor = 0.05)").Error; err != nil {
			return err
		}
	}
	return nil
}

// ownerSearchIndex speeds up the owners page's substring search on PostgreSQL with a trigram index.
// pg_trgm ships with PostgreSQL but creating it needs the CREATE privilege on the database; without
// it the search still works, by scanning, so a refusal is not an error.
func ownerSearchIndex(tx *gorm.DB) error { return trigramIndex(tx, "session_summaries") }

// trigramIndex indexes table's LOWER(owner) for substring search, when pg_trgm can be created.
func trigramIndex(tx *gorm.DB, table string) error {
	if !IsPostgres(tx) {
		return nil
	}
	if err := tx.SavePoint("trgm").Error; err != nil {
		return err
	}
	err := tx.Exec("CREATE EXTENSION IF NOT EXISTS pg_trgm").Error
	if err == nil {
		err = tx.Exec("CREATE INDEX " + table + "_owner_search ON " + table + " USING gin (LOWER(owner) gin_trgm_ops)").Error
	}
	if err != nil {
		return tx.RollbackTo("trgm").Error
	}
	return nil
}

// migrationLockKey is the PostgreSQL advisory-lock key that serialises replicas migrating at once.
const migrationLockKey = 7_243_001

// dialectTypes maps the placeholders in migration SQL to each database's types.
func dialectTypes(db *gorm.DB) *strings.Replacer {
	if IsPostgres(db) {
		return strings.NewReplacer("{ts}", "TIMESTAMPTZ", "{serial}", "BIGSERIAL PRIMARY KEY", "{bool}", "BOOLEAN", "{blob}", "BYTEA")
	}
	return strings.NewReplacer("{ts}", "DATETIME", "{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{bool}", "BOOLEAN", "{blob}", "BLOB")
}

// Migrate applies every step not yet recorded in schema_migrations, each in its own transaction.
// On PostgreSQL it holds an advisory lock so that replicas starting together migrate once.
func Migrate(db *gorm.DB) error {
	return withAdvisoryLock(db, migrationLockKey, func(conn *gorm.DB) error {
		if err := conn.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ` + dialectTypes(conn).Replace("{ts}") + ` NOT NULL)`).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		types := dialectTypes(conn)
		for _, m := range migrations {
			if err := applyMigration(conn, types, m); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		return nil
	})
}

func applyMigration(conn *gorm.DB, types *strings.Replacer, m migration) error {
	return conn.Transaction(func(tx *gorm.DB) error {
		var applied int64
		if err := tx.Table("schema_migrations").Where("version = ?", m.Version).Count(&applied).Error; err != nil {
			return err
		}
		if applied > 0 {
			return nil
		}
		for _, stmt := range strings.Split(types.Replace(m.SQL), ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		if backfill := backfills[m.Version]; backfill != nil {
			if err := backfill(tx); err != nil {
				return err
			}
		}
		return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UTC()).Error
	})
}

// MigrationsPending reports how many known steps are not yet applied; readiness requires zero.
func MigrationsPending(db *gorm.DB) (int, error) {
	var applied int64
	if err := db.Table("schema_migrations").Count(&applied).Error; err != nil {
		return len(migrations), err
	}
	return len(migrations) - int(applied), nil
}
