package handlers

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// brandingData is what the Branding tab shows: the draft (or what was typed), the published
// version, the history and the preview controls.
func (h *Handler) brandingData(c *fiber.Ctx, cc *consoleContext, d models.AppDetails, draft models.Branding, extra fiber.Map) (fiber.Map, error) {
	published, err := models.LoadPublished(h.DB, cc.Org.ID, d.ID)
	if err != nil {
		return nil, err
	}
	versions, err := models.ListVersions(h.DB, cc.Org.ID, d.ID)
	if err != nil {
		return nil, err
	}
	var unselected []models.Make
	for _, m := range models.Makes {
		if !slices.Contains(draft.Makes, m.ID) {
			unselected = append(unselected, m)
		}
	}
	step := c.Query("step", stepBrand)
	if _, ok := connectTemplates[step]; !ok {
		step = stepBrand
	}
	data := h.appData(d, "branding", fiber.Map{"Draft": draft, "Colors": draft.Colors(), "Published": published,
		"Versions": versions, "SelectedMakes": models.MakesInOrder(draft.Makes), "OtherMakes": unselected,
		"Unpublished": published == nil || !published.SameAs(draft), "Step": step, "Steps": []string{stepBrand, stepSignIn, stepVehicles, stepPermissions, stepError},
		"Phone": c.Query("width") != "desktop", "Title": "Branding · " + d.Name})
	for k, v := range extra {
		data[k] = v
	}
	return data, nil
}

func (h *Handler) brandingPage(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	draft, err := models.LoadDraft(h.DB, cc.Org.ID, d.ID)
	if err != nil {
		return err
	}
	data, err := h.brandingData(c, cc, d, draft, nil)
	if err != nil {
		return err
	}
	return h.render(c, "console/app_branding", data)
}

// saveBranding saves the whole form to the draft. The op field also carries the make-list buttons
// (add, up:ID, down:ID, remove:ID), so reordering works without JavaScript.
func (h *Handler) saveBranding(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionEditBranding)
	if err != nil {
		return err
	}
	color := bodyValue(c, "button_color")
	makes := models.ApplyMakeOp(formValues(c, "makes"), bodyValue(c, "op"), bodyValue(c, "add_make"))
	accountSelect := bodyValue(c, "account_select") == "on"
	_, err = models.UpdateDraft(h.DB, cc.Actor(), cc.Org.ID, d.ID, models.BrandingPatch{ButtonColor: &color, Makes: &makes, AccountSelect: &accountSelect})
	if err != nil {
		if models.FieldErrors(err) == nil {
			return err
		}
		typed, loadErr := models.LoadDraft(h.DB, cc.Org.ID, d.ID)
		if loadErr != nil {
			return loadErr
		}
		typed.ButtonColorInput, typed.AccountSelect = color, accountSelect
		if ms, mErr := models.NormalizeMakes(makes); mErr == nil {
			typed.Makes = ms
		}
		data, dErr := h.brandingData(c, cc, d, typed, fiber.Map{"Errors": models.FieldErrors(err)})
		if dErr != nil {
			return dErr
		}
		status, _ := classify(err)
		return h.render(c.Status(status), "console/app_branding", data)
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/branding", "Draft saved. Publish to show it in Connect.")
}

// formValues returns every value of a repeated form field, in order.
func formValues(c *fiber.Ctx, name string) []string {
	var out []string
	if form, err := c.MultipartForm(); err == nil {
		return form.Value[name]
	}
	c.Context().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == name {
			out = append(out, string(v))
		}
	})
	return out
}

// uploadLogo processes and stores a logo in the draft. Scripts (Accept: application/json) get the
// draft as JSON so the preview can refresh; forms get a redirect.
func (h *Handler) uploadLogo(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionEditBranding)
	if err != nil {
		return err
	}
	draft, err := h.storeUploadedLogo(c, cc.Actor(), cc.Org.ID, d.ID)
	if err != nil {
		if wantsJSON(c) {
			status, body := classify(err)
			return c.Status(status).JSON(fiber.Map{"error": body})
		}
		return err
	}
	if wantsJSON(c) {
		return c.JSON(toBrandingJSON(draft))
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/branding", "Logo added to the draft.")
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON)
}

// storeUploadedLogo reads the multipart field "logo" through the logo pipeline into the draft.
func (h *Handler) storeUploadedLogo(c *fiber.Ctx, actor models.Actor, orgID, appID string) (models.Branding, error) {
	header, err := c.FormFile("logo")
	if err != nil {
		return models.Branding{}, models.Invalid("logo", "logo_required", "Choose a PNG or JPG file to upload.")
	}
	file, err := header.Open()
	if err != nil {
		return models.Branding{}, err
	}
	defer file.Close()
	logo, err := models.ProcessNamedLogo(file, header.Filename)
	if err != nil {
		return models.Branding{}, err
	}
	return models.SetDraftLogo(h.DB, actor, orgID, appID, logo)
}

func (h *Handler) removeLogo(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionEditBranding)
	if err != nil {
		return err
	}
	if _, err := models.RemoveDraftLogo(h.DB, cc.Actor(), cc.Org.ID, d.ID); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/branding", "Logo removed from the draft.")
}

func (h *Handler) publishBranding(c *fiber.Ctx) error {
	cc, d, err := h.consoleApp(c, models.ActionPublishBranding)
	if err != nil {
		return err
	}
	v, err := models.Publish(h.DB, cc.Actor(), cc.Org.ID, d.ID)
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/branding", "Published version "+strconv.Itoa(v.Version)+". Connect shows it now.")
}

// restoreBranding copies a version into the draft; with op=rollback it also publishes it.
func (h *Handler) restoreBranding(c *fiber.Ctx) error {
	rollback := bodyValue(c, "op") == "rollback"
	action := models.ActionEditBranding
	if rollback {
		action = models.ActionPublishBranding
	}
	cc, d, err := h.consoleApp(c, action)
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(c.Params("version"))
	if err != nil {
		return models.ErrNotFound
	}
	if rollback {
		v, err := models.RollBack(h.DB, cc.Actor(), cc.Org.ID, d.ID, version)
		if err != nil {
			return err
		}
		return h.redirectWithFlash(c, "/apps/"+d.ID+"/branding", "Rolled back: version "+c.Params("version")+" is live again as version "+strconv.Itoa(v.Version)+".")
	}
	if _, err := models.RestoreVersion(h.DB, cc.Actor(), cc.Org.ID, d.ID, version); err != nil {
		return err
	}
	message := "Version " + c.Params("version") + " restored into the draft. Publish it to make it live."
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/branding", message)
}

// checkColor answers the live preview's question "what would this colour look like?" with the one
// server-side parser, so the browser never parses colours itself.
func (h *Handler) checkColor(c *fiber.Ctx) error {
	if _, _, err := h.consoleApp(c, models.ActionReadApps); err != nil {
		return err
	}
	color, err := models.ParseColor(c.Query("button_color"))
	if err != nil {
		_, body := classify(err)
		return c.JSON(fiber.Map{"valid": false, "error": body.Message})
	}
	colors := models.ButtonColorsFor(color)
	return c.JSON(fiber.Map{"valid": true, "button_color": colors.Background, "button_text_color": colors.Text,
		"contrast_ratio": colors.Contrast, "warning": colors.Warning, "suggestion": colors.Suggestion})
}
