package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// renderSessionStep renders the page a Connect session is on, with the app's published branding.
func (h *Handler) renderSessionStep(c *fiber.Ctx, s models.ConnectSession, errs map[string]string, email string) error {
	req := s.AuthorizeRequest()
	branding, err := models.ConnectBranding(h.DB, s.AppID)
	if err != nil {
		return err
	}
	base := "/connect/" + s.ID
	theme := branding.Theme()
	m, _ := models.FindMake(s.Make)
	if email == "" {
		email = s.AccountEmail
	}
	p := connectPage{Title: "Connect your vehicle", AppName: req.AppName, Theme: theme, TestMode: req.TestMode(),
		ExitURL: base + "/exit", CSRF: s.CSRFToken, Make: m, Email: email, Errors: errs, SingleSelect: req.SingleSelect}
	post := func(action string) connectForm { return connectForm{Method: "post", Action: base + "/" + action} }
	step := s.Step
	switch s.Step {
	case models.PageBrand:
		p.Form, p.SearchAction, p.Query = post("brand"), base, c.Query("q")
		p.Makes = filterMakes(theme.Makes, p.Query)
	case models.PageSignIn, models.PageProvider:
		p.Form = post("signin")
		if s.Step == models.PageProvider {
			p.Provider = ssoProviders[c.Query("via")]
		}
	case models.PageVehicles:
		p.Form, p.SwitchAccountURL = post("vehicles"), base+"/switch-account"
		for _, v := range s.AvailableVehicles() {
			p.Vehicles = append(p.Vehicles, connectVehicle{ID: v.ID, Year: v.Year, MakeName: m.Name, Model: v.Model, VINTail: v.VIN[len(v.VIN)-4:]})
		}
	case models.PagePermissions:
		p.Form = post("permissions")
		p.Permissions, p.SelectedVehicles = sessionPermissions(s, req, m)
	case models.PageError:
		p.ErrorTitle, p.ErrorMessage = s.ErrorMessage()
		step = stepError
	default:
		return h.connectGone(c, models.ErrConnectSessionGone)
	}
	connectHeaders(c, req.RedirectURI)
	if req.RedirectURI == models.LinkResultPath {
		// The Link widget: framable by the app's own origins, and it keeps its opener.
		origins, err := models.LinkOrigins(h.DB, s.AppID)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentSecurityPolicy, strings.Replace(c.GetRespHeader(fiber.HeaderContentSecurityPolicy),
			"frame-ancestors 'none'", "frame-ancestors "+linkFrameAncestors(origins), 1))
		c.Response().Header.Del(fiber.HeaderXFrameOptions) // connectSession already kept the opener (COOP)
	}
	return h.renderConnect(c, step, p)
}

func sessionPermissions(s models.ConnectSession, req models.AuthorizeRequest, m models.Make) ([]connectPermission, []string) {
	var perms []connectPermission
	for _, item := range req.Scope {
		p, _ := models.FindPermission(item.Name)
		perms = append(perms, connectPermission{Name: p.Name, Description: p.Description, Required: item.Required})
	}
	var labels []string
	chosen := s.ChosenVehicles()
	for _, v := range s.AvailableVehicles() {
		for _, id := range chosen {
			if v.ID == id {
				labels = append(labels, strconv.Itoa(v.Year)+" "+m.Name+" "+v.Model)
			}
		}
	}
	return perms, labels
}
