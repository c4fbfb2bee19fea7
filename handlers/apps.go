package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// consoleApp finds the app in the path within the current organisation and checks the role. Its
// redirect URIs and secrets are left empty: only the tabs that show them load them
// (consoleAppDetails), so the other tabs cost one query for the app.
func (h *Handler) consoleApp(c *fiber.Ctx, action models.Action) (*consoleContext, models.AppDetails, error) {
	cc, err := h.consoleOrg(c, models.ActionReadApps)
	if err != nil {
		return nil, models.AppDetails{}, err
	}
	app, err := models.FindApp(h.DB, cc.Org.ID, c.Params("app"))
	if err != nil {
		return nil, models.AppDetails{}, err
	}
	return cc, models.AppDetails{App: app}, cc.Org.Role.Authorize(action)
}

// consoleAppDetails is consoleApp with the app's redirect URIs and secrets, for the tabs that show them.
func (h *Handler) consoleAppDetails(c *fiber.Ctx, action models.Action) (*consoleContext, models.AppDetails, error) {
	cc, err := h.consoleOrg(c, models.ActionReadApps)
	if err != nil {
		return nil, models.AppDetails{}, err
	}
	d, err := models.LoadAppDetails(h.DB, cc.Org.ID, c.Params("app"))
	if err != nil {
		return nil, models.AppDetails{}, err
	}
	return cc, d, cc.Org.Role.Authorize(action)
}

// appData is what every app tab shows: the app, its tabs, and the active one.
func (h *Handler) appData(d models.AppDetails, tab string, extra fiber.Map) fiber.Map {
	data := fiber.Map{"Title": d.Name, "App": d, "Tab": tab, "Active": "apps"}
	for k, v := range extra {
		data[k] = v
	}
	return data
}

func (h *Handler) appsPage(c *fiber.Ctx) error {
	cc, err := h.console(c)
	if err != nil {
		return err
	}
	if cc.Org.ID == "" {
		return c.Redirect("/orgs/new", fiber.StatusSeeOther)
	}
	apps, err := models.ListApps(h.DB, cc.Org.ID)
	if err != nil {
		return err
	}
	return h.render(c, "console/apps", fiber.Map{"Title": "Applications", "Apps": apps, "Active": "apps"})
}

func (h *Handler) newAppPage(c *fiber.Ctx) error {
	if _, err := h.consoleOrg(c, models.ActionManageApps); err != nil {
		return err
	}
	return h.render(c, "console/app_new", fiber.Map{"Title": "New application", "Active": "apps"})
}

// createApp creates the app and shows its first client secret, once, on the answer to this POST
// (a redirect would need the secret stored somewhere in clear).
func (h *Handler) createApp(c *fiber.Ctx) error {
	cc, err := h.consoleOrg(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	name, desc := bodyValue(c, "name"), bodyValue(c, "description")
	app, secret, err := models.CreateApp(h.DB, cc.Actor(), cc.Org.ID, models.AppInput{Name: &name, Description: &desc})
	if err != nil {
		return h.formFailure(c, err, "console/app_new", fiber.Map{"Title": "New application", "Active": "apps", "Name": name, "Description": desc})
	}
	d, err := models.LoadAppDetails(h.DB, cc.Org.ID, app.ID)
	if err != nil {
		return err
	}
	return h.render(c.Status(fiber.StatusCreated), "console/app_credentials", h.appData(d, "credentials", fiber.Map{"NewSecret": secret.Secret, "Created": true}))
}

func (h *Handler) appPage(c *fiber.Ctx) error {
	_, d, err := h.consoleAppDetails(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	return h.render(c, "console/app_overview", h.appData(d, "overview", fiber.Map{"ConnectURL": h.connectURL(d)}))
}

func (h *Handler) connectURL(d models.AppDetails) string {
	redirect := ""
	if len(d.RedirectURIs) > 0 {
		redirect = d.RedirectURIs[0].URI
	}
	return models.ConnectURL(h.Cfg.BaseURL, d.ID, redirect)
}

func (h *Handler) updateApp(c *fiber.Ctx) error {
	cc, d, err := h.consoleAppDetails(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	name, desc := bodyValue(c, "name"), bodyValue(c, "description")
	if _, err := models.UpdateApp(h.DB, cc.Actor(), cc.Org.ID, d.ID, models.AppInput{Name: &name, Description: &desc}); err != nil {
		d.Name, d.Description = name, desc // keep what was typed
		return h.formFailure(c, err, "console/app_overview", h.appData(d, "overview", fiber.Map{"ConnectURL": h.connectURL(d)}))
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID, "Saved.")
}

func (h *Handler) deleteAppPage(c *fiber.Ctx) error {
	_, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	return h.render(c, "console/app_delete", h.appData(d, "overview", nil))
}

// deleteApp requires the app's name typed back, so a slip of the mouse cannot delete an app.
func (h *Handler) deleteApp(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	if strings.TrimSpace(bodyValue(c, "confirm")) != d.Name {
		return h.render(c.Status(fiber.StatusUnprocessableEntity), "console/app_delete", h.appData(d, "overview", fiber.Map{
			"Confirm": bodyValue(c, "confirm"), "Errors": map[string]string{"confirm": "Type the app's name exactly to confirm."}}))
	}
	if err := models.DeleteApp(h.DB, cc.Actor(), cc.Org.ID, d.ID); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/apps", "Deleted "+d.Name+".")
}
