package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

type brandingJSON struct {
	ButtonColor      string   `json:"button_color"`
	ButtonColorInput string   `json:"button_color_input"`
	ButtonTextColor  string   `json:"button_text_color"`
	ContrastRatio    float64  `json:"contrast_ratio"`
	ContrastWarning  string   `json:"contrast_warning,omitempty"`
	SuggestedColor   string   `json:"suggested_color,omitempty"`
	LogoURL          *string  `json:"logo_url"`
	Makes            []string `json:"makes"`
	AccountSelect    bool     `json:"account_select"`
}

type brandingVersionJSON struct {
	brandingJSON
	Version     int      `json:"version"`
	PublishedAt string   `json:"published_at"`
	PublishedBy userJSON `json:"published_by"`
}

func toBrandingJSON(b models.Branding) brandingJSON {
	colors := b.Colors()
	out := brandingJSON{ButtonColor: b.ButtonColor, ButtonColorInput: b.ButtonColorInput, ButtonTextColor: colors.Text,
		ContrastRatio: colors.Contrast, ContrastWarning: colors.Warning, SuggestedColor: colors.Suggestion,
		Makes: append([]string{}, b.Makes...), AccountSelect: b.AccountSelect}
	if url := b.LogoURL(); url != "" {
		out.LogoURL = &url
	}
	return out
}

func toVersionJSON(v models.BrandingVersion) brandingVersionJSON {
	return brandingVersionJSON{brandingJSON: toBrandingJSON(v.Branding), Version: v.Version, PublishedAt: rfc3339(v.PublishedAt),
		PublishedBy: userJSON{ID: v.PublishedByID, Email: v.PublishedByEmail}}
}

func (h *Handler) apiBranding(c *fiber.Ctx) error {
	app, _, err := h.apiApp(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	draft, err := models.LoadDraft(h.DB, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	published, err := models.LoadPublished(h.DB, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	out := fiber.Map{"draft": toBrandingJSON(draft), "published": nil}
	if published != nil {
		out["published"] = toVersionJSON(*published)
	}
	return c.JSON(out)
}

func (h *Handler) apiUpdateDraft(c *fiber.Ctx) error {
	var in struct {
		ButtonColor   *string   `json:"button_color"`
		Makes         *[]string `json:"makes"`
		AccountSelect *bool     `json:"account_select"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, actor, err := h.apiApp(c, models.ActionEditBranding)
	if err != nil {
		return err
	}
	draft, err := models.UpdateDraft(h.DB, actor, app.OrgID, app.ID, models.BrandingPatch{ButtonColor: in.ButtonColor, Makes: in.Makes, AccountSelect: in.AccountSelect})
	if err != nil {
		return err
	}
	return c.JSON(toBrandingJSON(draft))
}

func (h *Handler) apiUploadLogo(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionEditBranding)
	if err != nil {
		return err
	}
	draft, err := h.storeUploadedLogo(c, actor, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	return c.JSON(toBrandingJSON(draft))
}

func (h *Handler) apiRemoveLogo(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionEditBranding)
	if err != nil {
		return err
	}
	draft, err := models.RemoveDraftLogo(h.DB, actor, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	return c.JSON(toBrandingJSON(draft))
}

func (h *Handler) apiPublish(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionPublishBranding)
	if err != nil {
		return err
	}
	v, err := models.Publish(h.DB, actor, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	return c.JSON(toVersionJSON(v))
}

func (h *Handler) apiVersions(c *fiber.Ctx) error {
	app, _, err := h.apiApp(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	versions, err := models.ListVersions(h.DB, app.OrgID, app.ID)
	if err != nil {
		return err
	}
	out := make([]brandingVersionJSON, 0, len(versions))
	for _, v := range versions {
		out = append(out, toVersionJSON(v))
	}
	return c.JSON(fiber.Map{"versions": out})
}

func (h *Handler) apiRestore(c *fiber.Ctx) error {
	app, actor, err := h.apiApp(c, models.ActionEditBranding)
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(c.Params("version"))
	if err != nil {
		return models.ErrNotFound
	}
	draft, err := models.RestoreVersion(h.DB, actor, app.OrgID, app.ID, version)
	if err != nil {
		return err
	}
	return c.JSON(toBrandingJSON(draft))
}
