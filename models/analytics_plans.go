package models

import "gorm.io/gorm"

// withCustomPlans runs the reads in fn, on PostgreSQL, in a transaction that plans each statement for
// its own parameters. Statements are prepared once per connection (Open's PrepareStmt), and after a
// few runs PostgreSQL may switch a prepared statement to a generic plan made without knowing the app,
// the range or the filters: for the analytics reads that plan can be catastrophically wrong (an
// owners page of one app measured 17 ms planned for its values and 15 s with the generic plan, which
// anti-joined every row with every row). The OAuth and vehicle paths keep generic plans: their
// statements look up one row by key, and planning them afresh would cost them throughput.
func withCustomPlans(db *gorm.DB, fn func(db *gorm.DB) error) error {
	if !IsPostgres(db) {
		return fn(db)
	}
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL plan_cache_mode = force_custom_plan").Error; err != nil {
			return err
		}
		return fn(tx)
	})
}
