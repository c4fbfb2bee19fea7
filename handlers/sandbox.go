package handlers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

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

// apiKeyLimiter bounds each key to perMinute calls a minute of one kind on each replica (in memory: a
// counter in the database would cost a write per call).
func apiKeyLimiter(kind string, perMinute int) fiber.Handler {
	return limiter.New(limiter.Config{
		Max:        perMinute,
		Expiration: time.Minute,
		KeyGenerator: func(c *fiber.Ctx) string {
			key, _ := c.Locals("api_key").(models.APIKey)
			return kind + ":" + key.ID
		},
		LimitReached: func(c *fiber.Ctx) error {
			return c.Status(fiber.StatusTooManyRequests).JSON(fiber.Map{"error": apiError{"rate_limited", "Too many calls with this API key; wait until the minute is over (see Retry-After).", ""}})
		},
	})
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
