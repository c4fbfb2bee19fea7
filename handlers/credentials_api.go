package handlers

import (
	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

func (h *Handler) apiRotateSecret(c *fiber.Ctx) error {
	var in struct {
		ExpirePreviousIn *int64 `json:"expire_previous_in"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	s, err := models.RotateClientSecret(h.DB, actor, app.OrgID, app.ID, models.RotationOverlapOf(in.ExpirePreviousIn))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": s.ID, "secret": s.Secret, "prefix": s.Prefix, "created_at": rfc3339(s.CreatedAt)})
}

func (h *Handler) apiRevokeSecret(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if err := models.RevokeClientSecret(h.DB, actor, app.OrgID, app.ID, c.Params("secret")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) apiListRedirectURIs(c *fiber.Ctx) error {
	app, _, err := h.apiApp(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	uris, err := models.ListRedirectURIs(h.DB, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	out := make([]redirectURIJSON, 0, len(uris))
	for _, r := range uris {
		out = append(out, toRedirectURIJSON(r))
	}
	return c.JSON(fiber.Map{"redirect_uris": out})
}

func (h *Handler) apiAddRedirectURI(c *fiber.Ctx) error {
	var in struct {
		URI string `json:"uri"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	r, err := models.AddRedirectURI(h.DB, actor, app.OrgID, app.ID, in.URI)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toRedirectURIJSON(r))
}

func (h *Handler) apiRemoveRedirectURI(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if err := models.RemoveRedirectURI(h.DB, actor, app.OrgID, app.ID, c.Params("uri")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) apiListAPIKeys(c *fiber.Ctx) error {
	app, _, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	keys, err := models.ListAPIKeys(h.DB, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	out := make([]apiKeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, toAPIKeyJSON(k))
	}
	return c.JSON(fiber.Map{"api_keys": out})
}

func (h *Handler) apiCreateAPIKey(c *fiber.Ctx) error {
	var in struct {
		Name        string `json:"name"`
		Environment string `json:"environment"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	k, err := models.CreateAPIKey(h.DB, actor, app.OrgID, app.ID, in.Name, in.Environment)
	if err != nil {
		return err
	}
	out := toAPIKeyJSON(k.APIKey)
	out.Key = k.Key
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (h *Handler) apiRevokeAPIKey(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if err := models.RevokeAPIKey(h.DB, actor, app.OrgID, app.ID, c.Params("key")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
