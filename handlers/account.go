package handlers

import (
	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

func (h *Handler) accountPage(c *fiber.Ctx) error {
	return h.render(c, "console/account", fiber.Map{"Title": "Your account"})
}

// changePassword sets a new password; every other session of the user is signed out.
func (h *Handler) changePassword(c *fiber.Ctx) error {
	cc, err := h.console(c)
	if err != nil {
		return err
	}
	err = models.ChangePassword(h.DB, cc.User.ID, bodyValue(c, "current_password"), bodyValue(c, "new_password"), cc.Session.ID)
	if err != nil {
		return h.formFailure(c, err, "console/account", fiber.Map{"Title": "Your account"})
	}
	return h.redirectWithFlash(c, "/account", "Password changed. Your other sessions were signed out.")
}
