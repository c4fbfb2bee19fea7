package handlers

import (
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// consoleContext is who is signed in and in which organisation they are working.
type consoleContext struct {
	User    models.User
	Session models.AuthSession
	Org     models.OrgMembership // zero when the user belongs to no organisation
	Orgs    []models.OrgMembership
}

// Actor is the audit-log identity of the signed-in user.
func (cc *consoleContext) Actor() models.Actor {
	return models.Actor{ID: cc.User.ID, Email: cc.User.Email}
}

// console resolves the signed-in user's current organisation: the one chosen in the switcher if they
// still belong to it, else their first. Membership is re-read on every request, so a removed member
// loses access at once.
func (h *Handler) console(c *fiber.Ctx) (*consoleContext, error) {
	if cc, ok := c.Locals("console").(*consoleContext); ok {
		return cc, nil
	}
	user, ok := c.Locals(localUser).(models.User)
	if !ok {
		return nil, models.ErrUnauthenticated
	}
	cc := &consoleContext{User: user}
	cc.Session, _ = c.Locals(localSession).(models.AuthSession)
	orgs, err := models.UserOrganizations(h.DB, user.ID)
	if err != nil {
		return nil, err
	}
	cc.Orgs = orgs
	for _, o := range orgs {
		if cc.Session.CurrentOrgID != nil && o.ID == *cc.Session.CurrentOrgID {
			cc.Org = o
		}
	}
	if cc.Org.ID == "" && len(orgs) > 0 {
		cc.Org = orgs[0]
	}
	c.Locals("console", cc)
	return cc, nil
}

// consoleOrg is console() for pages that need an organisation; users without one are sent to create one.
func (h *Handler) consoleOrg(c *fiber.Ctx, action models.Action) (*consoleContext, error) {
	cc, err := h.console(c)
	if err != nil {
		return nil, err
	}
	if cc.Org.ID == "" {
		return nil, errNoOrganization
	}
	return cc, cc.Org.Role.Authorize(action)
}

var errNoOrganization = fiber.NewError(fiber.StatusConflict, "You do not belong to any organisation yet. Create one to start.")

// render fills in what every page needs (user, organisations, CSRF token, flash) and renders name.
func (h *Handler) render(c *fiber.Ctx, name string, data fiber.Map) error {
	return h.renderPage(c, name, data, false)
}

// renderPage is render; an error page (errorPage) renders even when the signed-in user's
// organisations cannot be read, since that may be the very error it reports.
func (h *Handler) renderPage(c *fiber.Ctx, name string, data fiber.Map, errorPage bool) error {
	if data == nil {
		data = fiber.Map{}
	}
	data["CSRF"] = c.Locals(localCSRF)
	data["Path"] = c.Path()
	data["BaseURL"] = h.Cfg.BaseURL
	if _, ok := c.Locals(localUser).(models.User); ok {
		cc, err := h.console(c)
		if err != nil && !errorPage {
			return err
		}
		if err == nil {
			data["Me"] = cc.User
			data["Org"] = cc.Org
			data["Orgs"] = cc.Orgs
		}
	}
	if flash, _ := url.QueryUnescape(c.Cookies("keyfob_flash")); flash != "" {
		data["Flash"] = flash
		c.Cookie(&fiber.Cookie{Name: "keyfob_flash", Value: "", Path: "/", Expires: time.Unix(0, 0), HTTPOnly: true})
	}
	if _, ok := data["Title"]; !ok {
		data["Title"] = "Keyfob"
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render(name, data)
}

// redirectWithFlash answers 303 See Other with a one-line message for the next page.
func (h *Handler) redirectWithFlash(c *fiber.Ctx, to, message string) error {
	c.Cookie(&fiber.Cookie{Name: "keyfob_flash", Value: url.QueryEscape(message), Path: "/", HTTPOnly: true,
		Secure: h.Cfg.SecureCookies(), SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().Add(time.Minute)})
	return c.Redirect(to, fiber.StatusSeeOther)
}

// formFailure re-renders a form with what was typed and the reason beside the field (422), or hands
// anything that is not a validation problem to the error handler.
func (h *Handler) formFailure(c *fiber.Ctx, err error, page string, data fiber.Map) error {
	fields := models.FieldErrors(err)
	if fields == nil {
		return err
	}
	status, _ := classify(err)
	data["Errors"] = fields
	return h.render(c.Status(status), page, data)
}

var templateFuncs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"query":   url.QueryEscape,
	"can":     func(role models.Role, action string) bool { return role.Can(models.Action(action)) },
	"changes": describeChanges,
	"list":    func(items ...string) []string { return items },
	"initial": func(name string) string {
		for _, r := range name {
			return strings.ToUpper(string(r))
		}
		return "?"
	},
	"eq":           func(a, b any) bool { return a == b },
	"overlaps":     func() any { return overlapChoices },
	"fieldOf":      fieldOf,
	"secretStatus": func(s models.ClientSecret) string { return s.Status(time.Now().UTC()) },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

// formField is what partials/field renders: a labelled input, its value and its error.
type formField struct {
	Name, Label, Type, Value, Error, Autocomplete string
}

func fieldOf(name, label, typ string, value any, errs any, autocomplete string) formField {
	f := formField{Name: name, Label: label, Type: typ, Autocomplete: autocomplete}
	if s, ok := value.(string); ok {
		f.Value = s
	}
	if m, ok := errs.(map[string]string); ok {
		f.Error = m[name]
	}
	return f
}

// describeChanges turns an audit entry's JSON detail into lines a person reads: "name: Old → New"
// for edits, "key: value" otherwise.
func describeChanges(raw string) []string {
	var detail map[string]any
	if json.Unmarshal([]byte(raw), &detail) != nil {
		return []string{raw}
	}
	before, hasBefore := detail["before"].(map[string]any)
	after, hasAfter := detail["after"].(map[string]any)
	var lines []string
	if hasBefore && hasAfter {
		for _, k := range slices.Sorted(maps.Keys(after)) {
			lines = append(lines, fmt.Sprintf("%s: %v → %v", k, before[k], after[k]))
		}
		return lines
	}
	for _, k := range slices.Sorted(maps.Keys(detail)) {
		lines = append(lines, fmt.Sprintf("%s: %v", k, detail[k]))
	}
	return lines
}
