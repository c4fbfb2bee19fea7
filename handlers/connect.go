package handlers

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// ssoProviders are the single-sign-on buttons the sign-in step offers (Drivly's provider types).
var ssoProviders = map[string]string{"Google": "Google", "Microsoft": "Microsoft", "GitHub": "GitHub"}

// connectCookie binds a Connect session to the browser that started it; the cookie's path
// (/connect/<session>) keeps flows in several tabs apart.
const connectCookie = "keyfob_connect"

// authorize validates /oauth/authorize, starts a Connect session and sends the browser to its first step.
func (h *Handler) authorize(c *fiber.Ctx) error {
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	params := authorizeParams(c)
	params.Issuer = h.Cfg.BaseURL
	req, err := models.ParseAuthorize(h.DB, params)
	var refused *models.AuthorizeError
	if errors.As(err, &refused) {
		if refused.Page {
			return h.connectErrorPage(c, fiber.StatusBadRequest, "This link cannot open Connect", refused.Description)
		}
		return c.Redirect(refused.RedirectURL(), fiber.StatusFound)
	}
	if err != nil {
		return err
	}
	return h.launchConnect(c, req)
}

// launchConnect starts a Connect session for a validated request, binds it to this browser and
// sends the browser to its first step.
func (h *Handler) launchConnect(c *fiber.Ctx, req models.AuthorizeRequest) error {
	s, secret, err := models.StartConnectSession(h.DB, req)
	if err != nil {
		return err
	}
	h.setConnectCookie(c, s, secret)
	return c.Redirect("/connect/"+s.ID, fiber.StatusFound)
}

// setConnectCookie binds the session to this browser. Link sessions on https use SameSite=None so
// the widget also works framed by the app's page (link.js overlay); everything else stays Lax.
func (h *Handler) setConnectCookie(c *fiber.Ctx, s models.ConnectSession, secret string) {
	sameSite := fiber.CookieSameSiteLaxMode
	if s.AuthorizeRequest().RedirectURI == models.LinkResultPath && h.Cfg.SecureCookies() {
		sameSite = fiber.CookieSameSiteNoneMode
	}
	c.Cookie(&fiber.Cookie{Name: connectCookie, Value: secret, Path: "/connect/" + s.ID, HTTPOnly: true,
		Secure: h.Cfg.SecureCookies(), SameSite: sameSite, Expires: s.ExpiresAt})
}

// authorizeParams reads the query, noting parameters that appear more than once.
func authorizeParams(c *fiber.Ctx) models.AuthorizeParams {
	seen := map[string]int{}
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) { seen[string(k)]++ })
	var dup []string
	for name, n := range seen {
		if n > 1 {
			dup = append(dup, name)
		}
	}
	return models.AuthorizeParams{ClientID: c.Query("client_id"), ApplicationID: c.Query("application_id"),
		RedirectURI: c.Query("redirect_uri"), ResponseType: c.Query("response_type"), Scope: c.Query("scope"),
		State: c.Query("state"), ApprovalPrompt: c.Query("approval_prompt"), Mode: c.Query("mode"), Make: c.Query("make"),
		SingleSelect: c.Query("single_select"), SingleSelectVIN: c.Query("single_select_vin"), Flags: c.Query("flags"),
		User: c.Query("user"), CodeChallenge: c.Query("code_challenge"), CodeChallengeMethod: c.Query("code_challenge_method"),
		Duplicates: dup}
}

// connectSession loads the session in the path for this browser; a POST must carry its CSRF token.
func (h *Handler) connectSession(c *fiber.Ctx) (models.ConnectSession, error) {
	s, err := models.FindConnectSession(h.DB, c.Params("session"), c.Cookies(connectCookie))
	if err != nil {
		return s, err
	}
	if s.AuthorizeRequest().RedirectURI == models.LinkResultPath {
		// Every page and redirect of a Link widget keeps window.opener, so the result can report back.
		c.Set("Cross-Origin-Opener-Policy", "unsafe-none")
	}
	if c.Method() == fiber.MethodPost && !s.CheckCSRF(bodyValue(c, "_csrf")) {
		return s, errCrossSite
	}
	return s, nil
}

// connectStep shows the page the session is on.
func (h *Handler) connectStep(c *fiber.Ctx) error {
	s, err := h.connectSession(c)
	if err != nil {
		return h.connectGone(c, err)
	}
	return h.renderSessionStep(c, s, nil, "")
}

// connectGone explains a session that cannot continue instead of a bare status.
func (h *Handler) connectGone(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, models.ErrNotFound):
		return h.connectErrorPage(c, fiber.StatusNotFound, "This Connect link is not valid", "Go back to the app and start again.")
	case errors.Is(err, models.ErrConnectSessionGone):
		return h.connectErrorPage(c, fiber.StatusForbidden, "This Connect session has ended", "It finished, expired, or was opened in another browser. Go back to the app and start again.")
	case errors.Is(err, errCrossSite):
		return h.connectErrorPage(c, fiber.StatusForbidden, "This form has expired", "Reload the page and try again.")
	}
	return err
}

// connectErrorPage is Keyfob's own error page, for links that cannot be trusted: no app branding,
// no link back to any URI from the request.
func (h *Handler) connectErrorPage(c *fiber.Ctx, status int, title, message string) error {
	c.Status(status)
	return h.renderConnect(c, stepError, connectPage{Title: title, AppName: "Keyfob Connect", Theme: models.DefaultBranding.Theme(),
		ErrorTitle: title, ErrorMessage: message})
}

// afterStep answers a step's POST: the final redirect to the app, or the next page (303).
func (h *Handler) afterStep(c *fiber.Ctx, s models.ConnectSession, redirect string) error {
	if redirect != "" {
		return c.Redirect(redirect, fiber.StatusSeeOther)
	}
	return c.Redirect("/connect/"+s.ID, fiber.StatusSeeOther)
}

// stepFailed re-renders the step with the field error (422), or explains a session that cannot go on.
func (h *Handler) stepFailed(c *fiber.Ctx, s models.ConnectSession, err error, email string) error {
	if fields := models.FieldErrors(err); fields != nil {
		c.Status(fiber.StatusUnprocessableEntity)
		return h.renderSessionStep(c, s, fields, email)
	}
	return h.connectGone(c, err)
}

func (h *Handler) connectBrand(c *fiber.Ctx) error {
	s, err := h.connectSession(c)
	if err != nil {
		return h.connectGone(c, err)
	}
	if s, err = models.SelectBrand(h.DB, s, bodyValue(c, "make")); err != nil {
		return h.stepFailed(c, s, err, "")
	}
	return h.afterStep(c, s, "")
}

func (h *Handler) connectSignIn(c *fiber.Ctx) error {
	s, err := h.connectSession(c)
	if err != nil {
		return h.connectGone(c, err)
	}
	sso := ssoProviders[bodyValue(c, "sso")]
	if m, _ := models.FindMake(s.Make); (m.Auth == models.AuthOAuth || sso != "") && s.Step == models.PageSignIn {
		// OAuth makes, and single sign-on with Google, Microsoft or GitHub, sign in on the provider's
		// own (simulated) page, then come back.
		if s, err = models.StartProviderSignIn(h.DB, s); err != nil {
			return h.connectGone(c, err)
		}
		if sso != "" {
			return c.Redirect("/connect/"+s.ID+"?via="+sso, fiber.StatusSeeOther)
		}
		return h.afterStep(c, s, "")
	}
	email := bodyValue(c, "email")
	if s, err = models.SignIn(h.DB, s, email, bodyValue(c, "password")); err != nil {
		return h.stepFailed(c, s, err, email)
	}
	return h.afterStep(c, s, "")
}

func (h *Handler) connectVehicles(c *fiber.Ctx) error {
	s, err := h.connectSession(c)
	if err != nil {
		return h.connectGone(c, err)
	}
	s, outcome, err := models.ChooseVehicles(h.DB, s, formValues(c, "vehicle"))
	if err != nil {
		return h.stepFailed(c, s, err, "")
	}
	return h.afterStep(c, s, outcome.Redirect)
}

func (h *Handler) connectPermissions(c *fiber.Ctx) error {
	s, err := h.connectSession(c)
	if err != nil {
		return h.connectGone(c, err)
	}
	s, redirect, err := models.Decide(h.DB, s, bodyValue(c, "decision") == "allow", formValues(c, "permission"))
	if err != nil {
		return h.stepFailed(c, s, err, "")
	}
	return h.afterStep(c, s, redirect)
}

// connectExit is the "Exit" link on every step: the owner goes back to the app.
func (h *Handler) connectExit(c *fiber.Ctx) error {
	s, err := h.connectSession(c)
	if err != nil {
		return h.connectGone(c, err)
	}
	redirect, err := models.Exit(h.DB, s)
	if err != nil {
		return err
	}
	return c.Redirect(redirect, fiber.StatusSeeOther)
}

// connectHeaders: never cached, never framed, no referrer (codes must not leak), and forms may
// only post to us or end at the app's redirect URI.
func connectHeaders(c *fiber.Ctx, redirectURI string) {
	formAction := "'self'"
	if u, err := url.Parse(redirectURI); err == nil && u.Scheme != "" {
		if u.Host != "" {
			formAction += " " + u.Scheme + "://" + u.Host
		} else {
			formAction += " " + u.Scheme + ":"
		}
	}
	c.Set(fiber.HeaderContentSecurityPolicy, strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action "+formAction, 1))
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// connectSwitchAccount is the Account Select view's "Use a different account" button.
func (h *Handler) connectSwitchAccount(c *fiber.Ctx) error {
	s, err := h.connectSession(c)
	if err != nil {
		return h.connectGone(c, err)
	}
	if s, err = models.SwitchAccount(h.DB, s); err != nil {
		return h.connectGone(c, err)
	}
	return h.afterStep(c, s, "")
}
