package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

func toAppJSON(d models.AppDetails) appJSON {
	now := time.Now().UTC()
	out := appJSON{ID: d.ID, ClientID: d.ID, OrganizationID: d.OrgID, Name: d.Name, Description: d.Description,
		CreatedAt: rfc3339(d.CreatedAt), RedirectURIs: []redirectURIJSON{}, Secrets: []secretJSON{}}
	for _, r := range d.RedirectURIs {
		out.RedirectURIs = append(out.RedirectURIs, toRedirectURIJSON(r))
	}
	for _, s := range d.Secrets {
		out.Secrets = append(out.Secrets, toSecretJSON(s, now))
	}
	return out
}

// apiApp finds the app named in the path among the caller's organisations and checks the caller's
// role there. Another organisation's app is a 404, exactly like a missing one.
func (h *Handler) apiApp(c *fiber.Ctx, action models.Action) (models.App, models.Actor, error) {
	user, actor := apiUser(c)
	app, role, err := models.FindAppForUser(h.DB, user.ID, c.Params("app"))
	if err != nil {
		return models.App{}, actor, err
	}
	return app, actor, role.Authorize(action)
}

func (h *Handler) apiListApps(c *fiber.Ctx) error {
	user, _ := apiUser(c)
	apps, err := models.ListAppDetailsForUser(h.DB, user.ID)
	if err != nil {
		return err
	}
	out := make([]appJSON, 0, len(apps))
	for _, d := range apps {
		out = append(out, toAppJSON(d))
	}
	return c.JSON(fiber.Map{"apps": out})
}

func (h *Handler) apiCreateApp(c *fiber.Ctx) error {
	var in struct {
		Name           *string `json:"name"`
		Description    *string `json:"description"`
		OrganizationID string  `json:"organization_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	user, actor := apiUser(c)
	orgID, err := h.apiDefaultOrg(user, in.OrganizationID)
	if err != nil {
		return err
	}
	m, err := models.FindMembership(h.DB, orgID, user.ID)
	if err != nil {
		return err
	}
	if err := m.Role.Authorize(models.ActionManageApps); err != nil {
		return err
	}
	app, secret, err := models.CreateApp(h.DB, actor, orgID, models.AppInput{Name: in.Name, Description: in.Description})
	if err != nil {
		return err
	}
	d, err := models.LoadAppDetails(h.DB, orgID, app.ID)
	if err != nil {
		return err
	}
	out := toAppJSON(d)
	out.ClientSecret = secret.Secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(out)
}

// apiDefaultOrg picks the organisation for a new app: the one named, or the caller's only one.
func (h *Handler) apiDefaultOrg(user models.User, named string) (string, error) {
	if named != "" {
		return named, nil
	}
	orgs, err := models.UserOrganizations(h.DB, user.ID)
	if err != nil {
		return "", err
	}
	if len(orgs) != 1 {
		return "", models.Invalid("organization_id", "organization_required", "You belong to several organisations (or none): name one with organization_id.")
	}
	return orgs[0].ID, nil
}

func (h *Handler) apiShowApp(c *fiber.Ctx) error {
	app, _, err := h.apiApp(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	d, err := models.LoadAppDetails(h.DB, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	return c.JSON(toAppJSON(d))
}

func (h *Handler) apiUpdateApp(c *fiber.Ctx) error {
	var in struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if _, err := models.UpdateApp(h.DB, actor, app.OrgID, app.ID, models.AppInput{Name: in.Name, Description: in.Description}); err != nil {
		return err
	}
	d, err := models.LoadAppDetails(h.DB, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	return c.JSON(toAppJSON(d))
}

func (h *Handler) apiDeleteApp(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if err := models.DeleteApp(h.DB, actor, app.OrgID, app.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
