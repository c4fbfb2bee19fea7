package handlers

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// basicChallenge answers a failed client authentication on the compatibility API: these routes take
// HTTP Basic client credentials, so a bearer challenge would point clients at the wrong scheme.
const basicChallenge = `Basic realm="keyfob", charset="UTF-8"`

// clientAuth authenticates the app by HTTP Basic client_id:client_secret (the compatibility API).
// Failures count against the same per-client budget as /oauth/token's.
func (h *Handler) clientAuth(c *fiber.Ctx) error {
	scRequestID(c)
	id, secret, ok := basicCredentials(c)
	app, err := models.AuthenticateClient(h.DB, id, secret)
	if !ok || errors.Is(err, models.ErrUnauthenticated) {
		wait, err := h.countClientFailure(id)
		if err != nil {
			return err
		}
		if wait > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(wait))
			return vehicleError(c, fiber.StatusTooManyRequests, "RATE_LIMIT", "", "RETRY_LATER",
				"Too many failed authentications for this client; wait a minute.", "")
		}
		f := vehicleError(c, fiber.StatusUnauthorized, "AUTHENTICATION", "", "",
			"Send the application's client_id and client_secret with HTTP Basic authentication.", "").(*vehicleFailure)
		f.challenge = basicChallenge
		return f
	}
	if err != nil {
		return err
	}
	c.Locals("client", app)
	return c.Next()
}

// basicCredentials reads Authorization: Basic base64(client_id:client_secret), each part form-encoded.
func basicCredentials(c *fiber.Ctx) (id, secret string, ok bool) {
	auth := c.Get(fiber.HeaderAuthorization)
	if len(auth) < 6 || !strings.EqualFold(auth[:6], "basic ") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(auth[6:]))
	user, pass, found := strings.Cut(string(raw), ":")
	if err != nil || !found {
		return "", "", false
	}
	id, _ = url.QueryUnescape(user)
	secret, _ = url.QueryUnescape(pass)
	return id, secret, true
}

// scCompatibility is GET /v2.0/compatibility?vin&scope&country: whether the vehicle can connect and what
// each permission would serve, from the simulator's catalogue (models.CheckCompatibility). Test mode
// (mode=test, as the SDKs send it with a level) needs test_mode_compatibility_level.
func (h *Handler) scCompatibility(c *fiber.Ctx) error {
	app, _ := c.Locals("client").(models.App)
	q := models.CompatibilityQuery{AppID: app.ID, VIN: c.Query("vin"), Scope: strings.Fields(c.Query("scope")),
		Country: c.Query("country"), Level: c.Query("test_mode_compatibility_level")}
	if c.Query("mode") == models.ModeTest && q.Level == "" {
		return errInvalidField(c, "test_mode_compatibility_level", "Field must be one of: ["+
			strings.Join(models.TestCompatibilityLevels, ",")+"]")
	}
	answer, err := models.CheckCompatibility(h.DB, q)
	if err != nil {
		return compatibilityRefusal(c, err)
	}
	capabilities := make([]fiber.Map, 0, len(answer.Capabilities))
	for _, cp := range answer.Capabilities {
		capabilities = append(capabilities, fiber.Map{"permission": cp.Permission, "endpoint": cp.Endpoint,
			"capable": cp.Capable, "reason": nullable(cp.Reason)})
	}
	return c.JSON(fiber.Map{"compatible": answer.Compatible, "reason": nullable(answer.Reason), "capabilities": capabilities})
}

// scCompatibilityMatrix is GET /v2.0/compatibility/matrix?region&make&type&scope: the catalogue's models
// by make with what each serves.
func (h *Handler) scCompatibilityMatrix(c *fiber.Ctx) error {
	matrix, err := models.CompatibilityMatrix(models.MatrixQuery{Region: c.Query("region"),
		Makes: strings.Fields(c.Query("make")), Types: strings.Fields(strings.ToUpper(c.Query("type"))),
		Scope: strings.Fields(c.Query("scope"))})
	if err != nil {
		return compatibilityRefusal(c, err)
	}
	out := make(map[string][]fiber.Map, len(matrix))
	for makeID, entries := range matrix {
		for _, e := range entries {
			out[makeID] = append(out[makeID], fiber.Map{"model": e.Model, "startYear": e.StartYear, "endYear": e.EndYear,
				"type": e.Type, "endpoints": e.Endpoints, "permissions": e.Permissions})
		}
	}
	return c.JSON(out)
}

// compatibilityRefusal answers a query the models refused as Smartcar's VALIDATION 400, naming the field.
func compatibilityRefusal(c *fiber.Ctx, err error) error {
	var invalid *models.ValidationError
	if errors.As(err, &invalid) {
		return errInvalidField(c, invalid.Field, invalid.Message)
	}
	return err
}

// nullable is a reason on the wire: null when there is none.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
