package handlers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// home sends signed-in users to their apps and everyone else to sign in.
func (h *Handler) home(c *fiber.Ctx) error {
	if _, ok := c.Locals(localUser).(models.User); ok {
		return c.Redirect("/apps", fiber.StatusSeeOther)
	}
	return c.Redirect("/signin", fiber.StatusSeeOther)
}

func (h *Handler) signInPage(c *fiber.Ctx) error {
	if _, ok := c.Locals(localUser).(models.User); ok {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	return h.render(c, "console/signin", fiber.Map{"Title": "Sign in", "Next": safeNext(c.Query("next")),
		"SignupOpen": h.Cfg.SignupOpen})
}

// signIn checks the credentials and starts a fresh session: a new id at every sign-in, and any
// session the browser already carried is ended.
func (h *Handler) signIn(c *fiber.Ctx) error {
	email, next := bodyValue(c, "email"), safeNext(bodyValue(c, "next"))
	user, err := models.Authenticate(h.DB, email, bodyValue(c, "password"))
	if errors.Is(err, models.ErrBadCredentials) {
		return h.render(c.Status(fiber.StatusUnauthorized), "console/signin", fiber.Map{"Title": "Sign in",
			"Next": next, "Email": email, "SignupOpen": h.Cfg.SignupOpen, "Errors": map[string]string{"password": err.Error()}})
	}
	if err != nil {
		return err
	}
	return h.startConsoleSession(c, user, "", next)
}

func (h *Handler) startConsoleSession(c *fiber.Ctx, user models.User, orgID, next string) error {
	if old := c.Cookies(h.sessionCookieName()); old != "" {
		if err := models.EndSession(h.DB, old); err != nil {
			return err
		}
	}
	token, s, err := models.StartSession(h.DB, user.ID, models.SessionKindConsole, orgID)
	if err != nil {
		return err
	}
	h.setSessionCookie(c, token, s.ExpiresAt)
	return c.Redirect(next, fiber.StatusSeeOther)
}

func (h *Handler) signUpPage(c *fiber.Ctx) error {
	return h.render(c, "console/signup", fiber.Map{"Title": "Create your account", "SignupOpen": h.Cfg.SignupOpen, "Form": models.SignUp{}})
}

func (h *Handler) signUp(c *fiber.Ctx) error {
	if !h.Cfg.SignupOpen {
		return fiber.NewError(fiber.StatusForbidden, "Sign-up is closed on this server. Ask an owner to add you.")
	}
	in := models.SignUp{Email: bodyValue(c, "email"), Password: bodyValue(c, "password"),
		Name: bodyValue(c, "name"), Organization: bodyValue(c, "organization")}
	user, org, err := models.CreateAccount(h.DB, in)
	if err != nil {
		return h.formFailure(c, err, "console/signup", fiber.Map{"Title": "Create your account", "SignupOpen": true, "Form": in})
	}
	return h.startConsoleSession(c, user, org.ID, "/apps")
}

// signOut ends the session in the database, so the old cookie stops working even if it was copied.
func (h *Handler) signOut(c *fiber.Ctx) error {
	if token := c.Cookies(h.sessionCookieName()); token != "" {
		if err := models.EndSession(h.DB, token); err != nil {
			return err
		}
	}
	h.setSessionCookie(c, "", time.Unix(0, 0))
	return c.Redirect("/signin", fiber.StatusSeeOther)
}
