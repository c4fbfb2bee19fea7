package models

import (
	"fmt"

	"gorm.io/gorm"
)

// DemoSignIn is what the first start prints so a newcomer can sign in.
type DemoSignIn struct {
	Email    string
	Password string // empty when it came from KEYFOB_ADMIN_PASSWORD: it is not printed then
	AppID    string
}

const demoLockKey = 7_243_002

// SeedDemo fills an empty database (no users) with a demo organisation, its owner and a demo app with
// a loopback redirect URI. It returns nil when the database already has users. When password is empty
// a random one is generated and returned for printing once.
func SeedDemo(db *gorm.DB, email, password string) (*DemoSignIn, error) {
	var out *DemoSignIn
	err := withAdvisoryLock(db, demoLockKey, func(conn *gorm.DB) error {
		return conn.Transaction(func(tx *gorm.DB) error {
			var users int64
			if err := tx.Model(&User{}).Count(&users).Error; err != nil {
				return err
			}
			if users > 0 {
				return nil
			}
			generated := password == ""
			if generated {
				password = NewToken("")[:20]
			}
			if email == "" {
				email = "admin@keyfob.local"
			}
			user, err := createUser(tx, email, "Demo Owner", password)
			if err != nil {
				return fmt.Errorf("KEYFOB_ADMIN_EMAIL/KEYFOB_ADMIN_PASSWORD: %w", err)
			}
			actor := Actor{ID: user.ID, Email: user.Email}
			org, err := CreateOrganization(tx, actor, "Demo organisation")
			if err != nil {
				return err
			}
			desc := "A sample app to try Connect in test mode."
			name := "Demo app"
			app, _, err := CreateApp(tx, actor, org.ID, AppInput{Name: &name, Description: &desc})
			if err != nil {
				return err
			}
			if _, err := AddRedirectURI(tx, actor, org.ID, app.ID, "http://localhost:8000/exchange"); err != nil {
				return err
			}
			out = &DemoSignIn{Email: user.Email, AppID: app.ID}
			if generated {
				out.Password = password
			}
			return nil
		})
	})
	return out, err
}

// withAdvisoryLock runs fn on one connection while holding a PostgreSQL advisory lock (SQLite has a
// single writer already).
func withAdvisoryLock(db *gorm.DB, key int64, fn func(conn *gorm.DB) error) error {
	return db.Connection(func(conn *gorm.DB) error {
		if IsPostgres(conn) {
			if err := conn.Exec("SELECT pg_advisory_lock(?)", key).Error; err != nil {
				return err
			}
			defer conn.Exec("SELECT pg_advisory_unlock(?)", key)
		}
		return fn(conn)
	})
}
