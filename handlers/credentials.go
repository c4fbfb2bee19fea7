package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// overlapLabels name the rotation delays the console offers (models.RotationOverlaps).
var overlapLabels = map[time.Duration]string{0: "now", time.Hour: "in 1 hour", 24 * time.Hour: "in 24 hours",
	7 * 24 * time.Hour: "in 7 days"}

type overlapChoice struct {
	Seconds int
	Label   string
}

// overlapChoices are the rotation delays the console offers.
var overlapChoices = func() []overlapChoice {
	out := make([]overlapChoice, len(models.RotationOverlaps))
	for i, d := range models.RotationOverlaps {
		out[i] = overlapChoice{Seconds: int(d / time.Second), Label: overlapLabels[d]}
	}
	return out
}()

func (h *Handler) credentialsPage(c *fiber.Ctx) error {
	_, d, err := h.consoleAppDetails(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	return h.render(c, "console/app_credentials", h.appData(d, "credentials", nil))
}

// rotateSecret adds a secret and shows it once on this response.
func (h *Handler) rotateSecret(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	var seconds *int64
	if raw := bodyValue(c, "expire_previous_in"); raw != "" {
		n, convErr := strconv.ParseInt(raw, 10, 64)
		if convErr != nil {
			n = -1
		}
		seconds = &n
	}
	secret, err := models.RotateClientSecret(h.DB, cc.Actor(), cc.Org.ID, d.ID, models.RotationOverlapOf(seconds))
	if err != nil {
		return err
	}
	if d, err = models.LoadAppDetails(h.DB, cc.Org.ID, d.ID); err != nil {
		return err
	}
	return h.render(c.Status(fiber.StatusCreated), "console/app_credentials", h.appData(d, "credentials", fiber.Map{"NewSecret": secret.Secret}))
}

func (h *Handler) revokeSecret(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if err := models.RevokeClientSecret(h.DB, cc.Actor(), cc.Org.ID, d.ID, c.Params("secret")); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/credentials", "Secret revoked. It stopped working now.")
}

func (h *Handler) redirectURIsPage(c *fiber.Ctx) error {
	_, d, err := h.consoleAppDetails(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	return h.render(c, "console/app_redirect_uris", h.appData(d, "redirect-uris", nil))
}

func (h *Handler) addRedirectURI(c *fiber.Ctx) error {
	cc, d, err := h.consoleAppDetails(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	raw := bodyValue(c, "uri")
	if _, err := models.AddRedirectURI(h.DB, cc.Actor(), cc.Org.ID, d.ID, raw); err != nil {
		return h.formFailure(c, err, "console/app_redirect_uris", h.appData(d, "redirect-uris", fiber.Map{"URI": raw}))
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/redirect-uris", "Redirect URI added.")
}

func (h *Handler) removeRedirectURI(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if err := models.RemoveRedirectURI(h.DB, cc.Actor(), cc.Org.ID, d.ID, c.Params("uri")); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/redirect-uris", "Redirect URI removed.")
}

func (h *Handler) apiKeysPage(c *fiber.Ctx) error {
	return h.renderAPIKeys(c, fiber.StatusOK, fiber.Map{})
}

func (h *Handler) renderAPIKeys(c *fiber.Ctx, status int, extra fiber.Map) error {
	cc, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	keys, err := models.ListAPIKeys(h.DB, cc.Org.ID, d.ID)
	if err != nil {
		return err
	}
	extra["Keys"] = keys
	return h.render(c.Status(status), "console/app_api_keys", h.appData(d, "api-keys", extra))
}

// createAPIKey makes a key and shows it once on this response.
func (h *Handler) createAPIKey(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	name, env := bodyValue(c, "name"), bodyValue(c, "environment")
	key, err := models.CreateAPIKey(h.DB, cc.Actor(), cc.Org.ID, d.ID, name, env)
	if err != nil {
		if models.FieldErrors(err) == nil {
			return err
		}
		status, _ := classify(err)
		return h.renderAPIKeys(c, status, fiber.Map{"Errors": models.FieldErrors(err), "Name": name, "Environment": env})
	}
	return h.renderAPIKeys(c, fiber.StatusCreated, fiber.Map{"NewKey": key.Key, "NewKeyName": key.Name})
}

func (h *Handler) revokeAPIKey(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if err := models.RevokeAPIKey(h.DB, cc.Actor(), cc.Org.ID, d.ID, c.Params("key")); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/api-keys", "API key revoked.")
}
