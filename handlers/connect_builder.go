package handlers

import (
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// builderForm is the URL builder's state: the parameters and the permission checklist.
type builderForm struct {
	Params   models.AuthorizeParams
	Checked  map[string]bool
	Required map[string]bool
}

// defaultBuilderScope is what a fresh builder asks for.
var defaultBuilderScope = []string{"read_vehicle_info", "read_odometer"}

// readBuilderForm reads the builder's query: scope from the checklist with a "required" toggle per
// permission, single_select implied by a VIN.
func readBuilderForm(c *fiber.Ctx, appID string) builderForm {
	fresh := len(c.Queries()) == 0
	f := builderForm{Checked: map[string]bool{}, Required: map[string]bool{}}
	var scope []string
	for _, p := range models.Permissions {
		f.Checked[p.Name] = c.Query("perm_"+p.Name) != "" || fresh && slices.Contains(defaultBuilderScope, p.Name)
		f.Required[p.Name] = c.Query("req_"+p.Name) != ""
		switch {
		case f.Checked[p.Name] && f.Required[p.Name]:
			scope = append(scope, "required:"+p.Name)
		case f.Checked[p.Name]:
			scope = append(scope, p.Name)
		}
	}
	singleSelect := ""
	if c.Query("single_select") != "" || strings.TrimSpace(c.Query("single_select_vin")) != "" {
		singleSelect = "true"
	}
	f.Params = models.AuthorizeParams{ResponseType: "code", ClientID: appID, RedirectURI: c.Query("redirect_uri"),
		Scope: strings.Join(scope, " "), State: c.Query("state"), ApprovalPrompt: c.Query("approval_prompt"),
		Mode: c.Query("mode", models.ModeTest), Make: c.Query("make"), SingleSelect: singleSelect,
		SingleSelectVIN: strings.TrimSpace(c.Query("single_select_vin")), Flags: c.Query("flags"), User: c.Query("user")}
	return f
}

// connectBuilder is the Connect tab: a form that builds the authorize URL and checks it with the
// rules of /oauth/authorize. With format=json it answers the page's script; without JavaScript the
// form reloads the page.
func (h *Handler) connectBuilder(c *fiber.Ctx) error {
	_, d, err := h.consoleAppDetails(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	form := readBuilderForm(c, d.ID)
	problem := ""
	if _, err := models.ParseAuthorize(h.DB, form.Params); err != nil {
		var refused *models.AuthorizeError
		if !errors.As(err, &refused) {
			return err
		}
		problem = refused.Description
	}
	built := models.BuildConnectURL(h.Cfg.BaseURL, form.Params)
	if c.Query("format") == "json" {
		return c.JSON(fiber.Map{"url": built, "valid": problem == "", "error": problem})
	}
	return h.render(c, "console/app_connect", h.appData(d, "connect", fiber.Map{"URL": built, "Problem": problem,
		"Permissions": models.Permissions, "Makes": models.Makes, "Form": form}))
}
