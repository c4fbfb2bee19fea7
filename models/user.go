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
	Disabled     bool
	CreatedAt    time.Time
}

// Login lockout: after this many failures for one email within LockoutWindow (a fixed window from
// the first failure), that email is soft-locked until the window ends, whether an account has it or not.
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
// A taken email costs the same argon2id run as a new one (on the dummy hash), and neither costs two.
func CreateAccount(db *gorm.DB, s SignUp) (User, Organization, error) {
	email, err := s.Validate()
	if err != nil {
		return User{}, Organization{}, err
	}
	if _, err := FindUserByEmail(db, email); err == nil {
		if _, err := CheckPassword(dummyPasswordHash, s.Password); err != nil {
			return User{}, Organization{}, err
		}
		return User{}, Organization{}, errEmailTaken
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, Organization{}, err
	}
	hash, err := HashPassword(s.Password)
	if err != nil {
		return User{}, Organization{}, err
	}
	now := time.Now().UTC()
	user := User{ID: newID(), Email: email, Name: strings.TrimSpace(s.Name), PasswordHash: hash, CreatedAt: now}
	org := Organization{ID: newID(), Name: strings.TrimSpace(s.Organization), CreatedAt: now}
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&user).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return errEmailTaken
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

var errEmailTaken = Conflict("email_taken", "email", "An account with this email already exists. Sign in instead.")

// Authenticate checks an email and password. Every attempt is counted against the email before the
// password is looked at (one atomic statement, so parallel attempts on any replica cannot all slip
// under the limit), and a success wipes the count. An unknown email and a wrong password take the
// same steps (a count, a user read, one argon2id run) and give the same answer, and both are locked
// alike after MaxFailedLogins attempts, so neither status nor timing tells which emails have
// accounts. A locked email is refused before any hashing: a lockout also stops an attacker from
// spending the server's memory on that email.
func Authenticate(db *gorm.DB, email, password string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	key := loginFailuresKey(email)
	attempts, err := CountAttempt(db, key, LockoutWindow)
	if err != nil {
		return User{}, err
	}
	if attempts > MaxFailedLogins {
		wait, err := AttemptsExceeded(db, key, MaxFailedLogins, LockoutWindow)
		if err != nil {
			return User{}, err
		}
		return User{}, &RateLimitedError{RetryAfter: max(wait, 1)}
	}
	user, err := FindUserByEmail(db, email)
	hash := user.PasswordHash
	if errors.Is(err, ErrNotFound) {
		hash = dummyPasswordHash
	} else if err != nil {
		return User{}, err
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return User{}, err
	}
	if !ok || user.ID == "" || user.Disabled {
		return User{}, ErrBadCredentials
	}
	if err := ResetAttempts(db, key); err != nil {
		return User{}, err
	}
	return user, nil
}

// loginFailuresKey names an email's failure counter; the email is hashed so the counters hold no
// addresses that have no account.
func loginFailuresKey(email string) string { return "login-email:" + HashToken(email) }

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
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	u := User{ID: newID(), Email: email, Name: name, PasswordHash: hash, CreatedAt: time.Now().UTC()}
	return u, tx.Create(&u).Error
}

// ChangePassword replaces a user's password after checking the current one, and ends every other
// session of theirs (keepSessionID stays signed in), in one transaction.
func ChangePassword(db *gorm.DB, userID, current, next, keepSessionID string) error {
	user, err := FindUser(db, userID)
	if err != nil {
		return err
	}
	if err := ValidatePassword(next); err != nil {
		return Invalid("new_password", "weak_password", err.(*ValidationError).Message)
	}
	if ok, err := CheckPassword(user.PasswordHash, current); err != nil {
		return err
	} else if !ok {
		return Invalid("current_password", "wrong_password", "This is not your current password.")
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("password_hash", hash).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ? AND id <> ?", userID, keepSessionID).Delete(&AuthSession{}).Error
	})
}
