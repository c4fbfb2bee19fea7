package models

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Domain errors. Handlers map them to status codes in one place; models never know about HTTP.
var (
	// ErrNotFound covers both "missing" and "belongs to another organisation", so the two are indistinguishable.
	ErrNotFound = errors.New("not found")
	// ErrForbidden means the caller is known but their role may not do this.
	ErrForbidden = errors.New("your role does not allow this")
	// ErrUnauthenticated means the credentials are missing, wrong or expired.
	ErrUnauthenticated = errors.New("not signed in")
	// ErrNoOrganization guards against unscoped queries (GORM drops zero-valued conditions).
	ErrNoOrganization = errors.New("models: organisation id is required")
)

// ValidationError is a well-formed request with an invalid field: 422, shown beside the field.
type ValidationError struct {
	Field   string
	Code    string
	Message string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Invalid builds a ValidationError.
func Invalid(field, code, message string) *ValidationError {
	return &ValidationError{Field: field, Code: code, Message: message}
}

// ConflictError is a request that clashes with existing state (a duplicate, the last owner): 409.
type ConflictError struct {
	Code    string
	Field   string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// Conflict builds a ConflictError.
func Conflict(code, field, message string) *ConflictError {
	return &ConflictError{Code: code, Field: field, Message: message}
}

// RateLimitedError says too many attempts were made; RetryAfter is in whole seconds. Code and
// Message, when set, replace the generic "too_many_attempts" answer.
type RateLimitedError struct {
	RetryAfter int
	Code       string
	Message    string
}

func (e *RateLimitedError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if e.RetryAfter >= 120 {
		return fmt.Sprintf("Too many attempts. Try again in %d minutes.", (e.RetryAfter+59)/60)
	}
	return fmt.Sprintf("Too many attempts. Try again in %d seconds.", e.RetryAfter)
}

// FieldErrors gathers ValidationErrors by field for re-rendering a form.
func FieldErrors(err error) map[string]string {
	var v *ValidationError
	if errors.As(err, &v) {
		return map[string]string{v.Field: v.Message}
	}
	var c *ConflictError
	if errors.As(err, &c) && c.Field != "" {
		return map[string]string{c.Field: c.Message}
	}
	return nil
}

// TooLargeError is an upload over its size limit: 413.
type TooLargeError struct{ Message string }

func (e *TooLargeError) Error() string { return e.Message }

// UnsupportedTypeError is content of a type we do not accept (judged by its bytes): 415.
type UnsupportedTypeError struct{ Message string }

func (e *UnsupportedTypeError) Error() string { return e.Message }

// validLabel reports whether s is a usable name of at most max characters: not empty, and free of
// control characters.
func validLabel(s string, max int) bool {
	return s != "" && utf8.RuneCountInString(s) <= max && !hasControl(s)
}

// hasControl reports whether s holds a control character (a newline in a name could end up in a
// header, a log line or a CSV cell).
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return true
		}
	}
	return false
}

// BusyError says the server is at capacity for this kind of work right now (not the caller's fault):
// 503 with Retry-After in whole seconds.
type BusyError struct {
	RetryAfter int
	Message    string
}

func (e *BusyError) Error() string { return e.Message }
