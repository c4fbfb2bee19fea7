package models

import (
	"errors"
	"net/mail"
	"strings"
	"time"

	"gorm.io/gorm"
)

// User is a console account. A user may belong to several organisations.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	FailedLogins int
	LastFailedAt *time.Time
	Disabled     bool
	CreatedAt    time.Time
}

// Login lockout: after this many consecutive failures the account is soft-locked for lockoutWindow.
const (
	MaxFailedLogins = 10
	LockoutWindow   = 15 * time.Minute
)

// ErrBadCredentials is the one answer for an unknown email and a wrong password.
var ErrBadCredentials = errors.New("Email or password is incorrect.")

// SignUp is what a new account needs.
type SignUp struct {
	Email        string
	Password     string
	Name         string
	Organization string
}

// NormalizeEmail lower-cases and trims an address, and checks it is one.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return "", Invalid("email", "invalid_email", "Enter an email address such as ada@example.com.")
	}
	return email, nil
}

// Validate checks a sign-up and returns the normalised email.
func (s SignUp) Validate() (string, error) {
	email, err := NormalizeEmail(s.Email)
	if err != nil {
		return "", err
	}
	if name := strings.TrimSpace(s.Name); !validLabel(name, 100) {
		return "", Invalid("name", "required", "Enter your name (1–100 characters).")
	}
	if err := ValidatePassword(s.Password); err != nil {
		return "", err
	}
	if org := strings.TrimSpace(s.Organization); !validLabel(org, 100) {
		return "", Invalid("organization", "required", "Name your organisation, e.g. your company (1–100 characters).")
	}
	return email, nil
}

// CreateAccount creates a user, their organisation and their owner membership in one transaction.
func CreateAccount(db *gorm.DB, s SignUp) (User, Organization, error) {
	email, err := s.Validate()
	if err != nil {
		return User{}, Organization{}, err
	}
	now := time.Now().UTC()
	user := User{ID: newID(), Email: email, Name: strings.TrimSpace(s.Name), PasswordHash: HashPassword(s.Password), CreatedAt: now}
	org := Organization{ID: newID(), Name: strings.TrimSpace(s.Organization), CreatedAt: now}
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&user).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Conflict("email_taken", "email", "An account with this email already exists. Sign in instead.")
			}
			return err
		}
		if err := tx.Create(&org).Error; err != nil {
			return err
		}
		return tx.Create(&Membership{OrgID: org.ID, UserID: user.ID, Role: RoleOwner, CreatedAt: now}).Error
	})
	return user, org, err
}

// Authenticate checks an email and password. Unknown email and wrong password give the same error
// and take the same time; an account with too many recent failures answers RateLimitedError.
func Authenticate(db *gorm.DB, email, password string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var user User
	err := db.Where("email = ?", email).Take(&user).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		CheckPassword(dummyPasswordHash, password)
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	now := time.Now().UTC()
	passwordOK := CheckPassword(user.PasswordHash, password) && !user.Disabled
	if !passwordOK {
		if err := recordFailedLogin(db, user.ID, now); err != nil {
			return User{}, err
		}
	}
	if wait := lockoutRemaining(user, now); wait > 0 {
		return User{}, &RateLimitedError{RetryAfter: int(wait.Seconds()) + 1}
	}
	if !passwordOK {
		return User{}, ErrBadCredentials
	}
	if user.FailedLogins > 0 {
		if err := db.Exec("UPDATE users SET failed_logins = 0 WHERE id = ?", user.ID).Error; err != nil {
			return User{}, err
		}
	}
	return user, nil
}

// recordFailedLogin counts a wrong password in one atomic statement, so parallel failures on several
// replicas are all counted. The count restarts when the previous failure is older than the window,
// and failures during a lockout are counted without extending it.
func recordFailedLogin(db *gorm.DB, userID string, now time.Time) error {
	windowStart := now.Add(-LockoutWindow)
	return db.Exec(`UPDATE users SET
		failed_logins = CASE WHEN last_failed_at IS NULL OR last_failed_at < ? THEN 1 ELSE failed_logins + 1 END,
		last_failed_at = CASE WHEN failed_logins >= ? AND last_failed_at >= ? THEN last_failed_at ELSE ? END
		WHERE id = ?`, windowStart, MaxFailedLogins, windowStart, now, userID).Error
}

func lockoutRemaining(u User, now time.Time) time.Duration {
	if u.FailedLogins < MaxFailedLogins || u.LastFailedAt == nil {
		return 0
	}
	return u.LastFailedAt.Add(LockoutWindow).Sub(now)
}

// FindUserByEmail finds an account for adding it to an organisation.
func FindUserByEmail(db *gorm.DB, email string) (User, error) {
	var u User
	err := db.Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, ErrNotFound
	}
	return u, err
}

// FindUser finds an account by id.
func FindUser(db *gorm.DB, id string) (User, error) {
	var u User
	err := db.Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, ErrNotFound
	}
	return u, err
}

// CreateUser adds an account without an organisation (used for the demo seed).
func createUser(tx *gorm.DB, email, name, password string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return User{}, err
	}
	u := User{ID: newID(), Email: email, Name: name, PasswordHash: HashPassword(password), CreatedAt: time.Now().UTC()}
	return u, tx.Create(&u).Error
}

// ChangePassword replaces a user's password after checking the current one, and ends every other
// session of theirs (keepSessionID stays signed in), in one transaction.
func ChangePassword(db *gorm.DB, userID, current, next, keepSessionID string) error {
	user, err := FindUser(db, userID)
	if err != nil {
		return err
	}
	if !CheckPassword(user.PasswordHash, current) {
		return Invalid("current_password", "wrong_password", "This is not your current password.")
	}
	if err := ValidatePassword(next); err != nil {
		return Invalid("new_password", "weak_password", err.(*ValidationError).Message)
	}
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("password_hash", HashPassword(next)).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ? AND id <> ?", userID, keepSessionID).Delete(&AuthSession{}).Error
	})
}
