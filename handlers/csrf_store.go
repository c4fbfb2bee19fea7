package handlers

import (
	"errors"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"

	"keyfob/models"
)

// csrfStore is the CSRF middleware's storage. Fiber's middleware ignores storage errors: a token it
// could not read is "not found" (403) and one it could not write is handed out anyway, so a database
// outage would look like an expired form, and the page would carry a token no submit can pass.
// csrfStore remembers failed writes per token for stored to refuse, and explain turns a failed read
// into the database error it was.
type csrfStore struct {
	models.KVStore
	failed *sync.Map // token → the error of its failed write, until stored runs (same request)
}

func newCSRFStore(kv models.KVStore) csrfStore { return csrfStore{KVStore: kv, failed: &sync.Map{}} }

// Set stores a token, remembering a failure for stored.
func (s csrfStore) Set(key string, val []byte, exp time.Duration) error {
	err := s.KVStore.Set(key, val, exp)
	if err != nil {
		s.failed.Store(key, err)
	}
	return err
}

// stored runs right after the CSRF middleware: a request whose token could not be saved stops here
// with the database error.
func (s csrfStore) stored(c *fiber.Ctx) error {
	token, _ := c.Locals(localCSRF).(string)
	if err, ok := s.failed.LoadAndDelete(token); ok {
		return err.(error)
	}
	return c.Next()
}

// explain is the middleware's error handler. A submitted token the middleware did not find is read
// once more: if the database cannot answer, that is the error, not a stale form.
func (s csrfStore) explain(c *fiber.Ctx, err error, extract func(*fiber.Ctx) (string, error)) error {
	if !errors.Is(err, csrf.ErrTokenNotFound) {
		return err
	}
	if token, _ := extract(c); token != "" {
		if _, readErr := s.KVStore.Get(token); readErr != nil {
			return readErr
		}
	}
	return err
}
