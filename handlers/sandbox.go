package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// apiKeyAuth authenticates an app's server with its API key (Authorization: Bearer kf_test_… or
// kf_live_…); the key reaches only its own app.
func (h *Handler) apiKeyAuth(c *fiber.Ctx) error {
	token, ok := bearerToken(c)
	if !ok {
		return models.ErrUnauthenticated
	}
	key, app, err := models.AuthenticateAPIKey(h.DB, token)
	if err != nil {
		return err
	}
	c.Locals("api_key", key)
	c.Locals("api_app", app)
	return c.Next()
}

// sandboxPublicToken is POST /sandbox/public_token/create: a test key skips Connect and gets an
// authorization code as if the owner had completed it in test mode.
func (h *Handler) sandboxPublicToken(c *fiber.Ctx) error {
	var in struct {
		UserID      string   `json:"user_id"`
		Owner       string   `json:"owner"`
		Scope       []string `json:"scope"`
		Make        string   `json:"make"`
		RedirectURI string   `json:"redirect_uri"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	key, _ := c.Locals("api_key").(models.APIKey)
	app, _ := c.Locals("api_app").(models.App)
	owner := in.UserID
	if owner == "" {
		owner = in.Owner
	}
	code, expires, err := models.CreateSandboxGrant(h.DB, key, app, models.SandboxGrant{Owner: owner, Make: in.Make, Scope: in.Scope, RedirectURI: in.RedirectURI})
	if errors.Is(err, models.ErrForbidden) {
		return fiber.NewError(fiber.StatusForbidden, "The sandbox takes test keys only (kf_test_…); live keys cannot skip Connect.")
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"public_token": code, "expires_at": rfc3339(expires)})
}
