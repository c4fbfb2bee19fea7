package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// previewNext is where each step's button leads in the preview, so a designer can click through.
var previewNext = map[string]string{stepBrand: stepSignIn, stepSignIn: stepVehicles, stepVehicles: stepPermissions,
	stepPermissions: stepBrand, stepError: stepBrand}

// connectPreview renders a Connect step with an app's draft branding (or, with version=published, what
// Connect shows now) for a member of its organisation (console cookie or API bearer token). Query parameters button_color, makes and account_select
// override the draft without saving, which is how the live preview shows unsaved edits; an invalid
// override is ignored, so the preview keeps the last valid look.
func (h *Handler) connectPreview(c *fiber.Ctx) error {
	user, err := h.previewUser(c)
	if err != nil {
		return err
	}
	app, _, err := models.FindAppForUser(h.DB, user.ID, c.Params("app"))
	if err != nil {
		return err
	}
	keep := map[string]string{}
	var branding models.Branding
	if c.Query("version") == "published" {
		// What Connect shows owners right now, for comparing with the draft.
		keep["version"] = "published"
		if branding, err = models.ConnectBranding(h.DB, app.ID); err != nil {
			return err
		}
	} else if branding, err = models.LoadDraft(h.DB, app.OrgID, app.ID); err != nil {
		return err
	} else {
		branding = applyPreviewOverrides(c, branding, keep)
	}
	step := c.Query("step", stepBrand)
	if _, ok := connectTemplates[step]; !ok {
		step = stepBrand
	}
	page := previewPage(app, branding.Theme(), step, "/connect/preview/"+app.ID, keep, c.Query("q"))
	// The console shows this page in an iframe: allow framing by our own origin only.
	c.Set("X-Frame-Options", "SAMEORIGIN")
	c.Set("Content-Security-Policy", strings.Replace(contentSecurityPolicy, "frame-ancestors 'none'", "frame-ancestors 'self'", 1))
	return h.renderConnect(c, step, page)
}

// previewUser accepts a console session or a management-API bearer token.
func (h *Handler) previewUser(c *fiber.Ctx) (models.User, error) {
	if u, ok := c.Locals(localUser).(models.User); ok {
		return u, nil
	}
	token, ok := bearerToken(c)
	if !ok {
		return models.User{}, models.ErrUnauthenticated
	}
	_, user, err := models.ResumeSession(h.DB, token, models.SessionKindAPI)
	return user, err
}

// previewPage fills a Connect step with sample content: the theme's first make, two of its models,
// a few permissions.
func previewPage(app models.App, theme models.Theme, step, action string, keep map[string]string, query string) connectPage {
	hidden := func(step string) map[string]string {
		m := map[string]string{"step": step}
		for k, v := range keep {
			m[k] = v
		}
		return m
	}
	p := connectPage{Title: "Connect preview", AppName: app.Name, Theme: theme, TestMode: true, ExitURL: action,
		Form:         connectForm{Method: "get", Action: action, Hidden: hidden(previewNext[step])},
		SearchAction: action, SearchHidden: hidden(stepBrand), Query: query, Makes: filterMakes(theme.Makes, query),
		Email: "owner@example.com",
		Permissions: []connectPermission{{Name: "read_vehicle_info", Description: "Know make, model and year", Required: true},
			{Name: "read_odometer", Description: "Read the odometer"}, {Name: "read_location", Description: "Access the vehicle's location"}},
		ErrorTitle:   "We could not connect your vehicle",
		ErrorMessage: "This is how Connect explains a problem, for example a vehicle that cannot share what the app needs.",
	}
	if len(theme.Makes) > 0 {
		p.Make = theme.Makes[0]
	}
	for i, m := range p.Make.Models {
		if i == 2 {
			break
		}
		v := connectVehicle{ID: "sample-" + m.Name, Year: m.ToYear, MakeName: p.Make.Name, Model: m.Name, VINTail: []string{"4821", "7305"}[i]}
		p.Vehicles = append(p.Vehicles, v)
		if i == 0 {
			p.SelectedVehicles = append(p.SelectedVehicles, v.MakeName+" "+v.Model)
		}
	}
	return p
}

// applyPreviewOverrides applies the unsaved edits in the query (button_color, makes, account_select);
// an invalid one is ignored so the preview keeps the last valid look. Applied ones go into keep, so
// clicking through the preview's steps keeps them.
func applyPreviewOverrides(c *fiber.Ctx, b models.Branding, keep map[string]string) models.Branding {
	if v := c.Query("button_color"); v != "" {
		if next, err := (models.BrandingPatch{ButtonColor: &v}).Apply(b); err == nil {
			b, keep["button_color"] = next, v
		}
	}
	if v, ok := c.Queries()["makes"]; ok {
		ids := strings.Split(v, ",")
		if next, err := (models.BrandingPatch{Makes: &ids}).Apply(b); err == nil {
			b, keep["makes"] = next, v
		}
	}
	if v := c.Query("account_select"); v == "1" || v == "0" {
		b.AccountSelect, keep["account_select"] = v == "1", v
	}
	return b
}
