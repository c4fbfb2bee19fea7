package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

type userJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type orgJSON struct {
	ID   string      `json:"id"`
	Name string      `json:"name"`
	Role models.Role `json:"role"`
}

func toUserJSON(u models.User) userJSON { return userJSON{u.ID, u.Email, u.Name} }

func (h *Handler) apiSignup(c *fiber.Ctx) error {
	if !h.Cfg.SignupOpen {
		return fiber.NewError(fiber.StatusForbidden, "Sign-up is closed on this server. Ask an owner to add you.")
	}
	var in struct {
		Email        string `json:"email"`
		Password     string `json:"password"`
		Name         string `json:"name"`
		Organization string `json:"organization"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	user, org, err := models.CreateAccount(h.DB, models.SignUp{Email: in.Email, Password: in.Password, Name: in.Name, Organization: in.Organization})
	if err != nil {
		return err
	}
	token, s, err := models.StartSession(h.DB, user.ID, models.SessionKindAPI, org.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user": toUserJSON(user),
		"organization": orgJSON{org.ID, org.Name, models.RoleOwner}, "token": token, "expires_at": s.ExpiresAt.Format(time.RFC3339)})
}

func (h *Handler) apiLogin(c *fiber.Ctx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	user, err := models.Authenticate(h.DB, in.Email, in.Password)
	if err != nil {
		return err
	}
	token, s, err := models.StartSession(h.DB, user.ID, models.SessionKindAPI, "")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"token": token, "expires_at": s.ExpiresAt.Format(time.RFC3339)})
}

func (h *Handler) apiLogout(c *fiber.Ctx) error {
	token, _ := c.Locals(localToken).(string)
	if err := models.EndSession(h.DB, token); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) apiMe(c *fiber.Ctx) error {
	user, _ := apiUser(c)
	orgs, err := models.UserOrganizations(h.DB, user.ID)
	if err != nil {
		return err
	}
	out := make([]orgJSON, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, orgJSON{o.ID, o.Name, o.Role})
	}
	return c.JSON(fiber.Map{"user": toUserJSON(user), "organizations": out})
}
