package handlers

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// connectPage is everything the Connect templates (views/connect) render: a theme and the content of
// one step. The same struct serves the designer's preview and the real flow; the templates cannot tell.
type connectPage struct {
	Title    string
	AppName  string
	Theme    models.Theme
	ThemeCSS string
	TestMode bool
	ExitURL  string
	CSRF     any
	Form     connectForm

	// brand select
	SearchAction string
	SearchHidden map[string]string
	Query        string
	Makes        []models.Make
	// sign-in and later steps
	Provider string // a single-sign-on provider (Google, Microsoft, GitHub) on the provider page
	Make     models.Make
	Email    string
	Errors   map[string]string
	// vehicle select
	Vehicles         []connectVehicle
	SingleSelect     bool
	SwitchAccountURL string
	// permissions
	Permissions      []connectPermission
	SelectedVehicles []string
	// error page
	ErrorTitle   string
	ErrorMessage string
}

// connectForm is where a step's form goes.
type connectForm struct {
	Method string
	Action string
	Hidden map[string]string
}

type connectVehicle struct {
	ID       string
	Year     int
	MakeName string
	Model    string
	VINTail  string
}

type connectPermission struct {
	Name        string
	Description string
	Required    bool
}

// Connect steps, in flow order.
const (
	stepBrand       = "brand"
	stepSignIn      = "signin"
	stepVehicles    = "vehicles"
	stepPermissions = "permissions"
	stepError       = "error"
	stepProvider    = "provider"
)

var connectTemplates = map[string]string{stepBrand: "connect/brands", stepSignIn: "connect/signin",
	stepVehicles: "connect/vehicles", stepPermissions: "connect/permissions", stepError: "connect/error", stepProvider: "connect/provider"}

// themeCSSURL is the stylesheet carrying the theme's colours; its query holds only a normalised colour.
func themeCSSURL(t models.Theme) string {
	return "/connect/theme.css?button=" + url.QueryEscape(strings.TrimPrefix(t.ButtonColor, "#"))
}

// filterMakes keeps the makes whose name or id contains q (the no-JavaScript search).
func filterMakes(makes []models.Make, q string) []models.Make {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return makes
	}
	var out []models.Make
	for _, m := range makes {
		if strings.Contains(strings.ToLower(m.Name), q) || strings.Contains(strings.ToLower(m.ID), q) {
			out = append(out, m)
		}
	}
	return out
}

// renderConnect renders one Connect step with the Connect layout. Connect pages are never cached and
// never framed (the preview relaxes framing to our own origin itself).
func (h *Handler) renderConnect(c *fiber.Ctx, step string, p connectPage) error {
	name, ok := connectTemplates[step]
	if !ok {
		return fiber.ErrNotFound
	}
	p.ThemeCSS = themeCSSURL(p.Theme)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Render(name, p, "layouts/connect")
}

// themeCSS serves the custom properties of a button colour. The colour goes through the one colour
// parser and out as its normalised form, so nothing a client sends reaches the stylesheet verbatim.
func (h *Handler) themeCSS(c *fiber.Ctx) error {
	color, err := models.ParseColor("#" + c.Query("button"))
	if err != nil {
		color, _ = models.ParseColor(models.DefaultBranding.ButtonColor)
	}
	colors := models.ButtonColorsFor(color)
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return c.SendString(":root{--kf-button:" + colors.Background + ";--kf-button-text:" + colors.Text + "}\n")
}
