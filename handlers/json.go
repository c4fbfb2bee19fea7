package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// decodeJSON reads a JSON body strictly: unknown fields are a 400, as api.md says, so fields such as
// org_id or client_secret_hash can never be mass-assigned.
func decodeJSON(c *fiber.Ctx, into any) error {
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) && len(c.Body()) > 0 {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Send a JSON body with Content-Type: application/json.")
	}
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "The JSON body is malformed: "+jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fiber.NewError(fiber.StatusBadRequest, "The JSON body has trailing data after the object.")
	}
	return nil
}

func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "syntax error"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "cannot be read"
}

// apiUser returns the bearer token's user and the audit identity.
func apiUser(c *fiber.Ctx) (models.User, models.Actor) {
	u, _ := c.Locals(localUser).(models.User)
	return u, models.Actor{ID: u.ID, Email: u.Email}
}

// bodyValue reads a field from the request body only (URL-encoded or multipart), never from the
// query string: credentials, codes and CSRF tokens must not be accepted from a URL.
func bodyValue(c *fiber.Ctx, key string) string {
	if v := c.Context().PostArgs().Peek(key); v != nil {
		return string(v)
	}
	if form, err := c.MultipartForm(); err == nil && len(form.Value[key]) > 0 {
		return form.Value[key][0]
	}
	return ""
}
