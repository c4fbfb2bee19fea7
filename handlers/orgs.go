package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

func (h *Handler) newOrgPage(c *fiber.Ctx) error {
	return h.render(c, "console/org_new", fiber.Map{"Title": "New organisation"})
}

// createOrg makes a new organisation owned by the signed-in user and switches to it.
func (h *Handler) createOrg(c *fiber.Ctx) error {
	cc, err := h.console(c)
	if err != nil {
		return err
	}
	org, err := models.CreateOrganization(h.DB, cc.Actor(), bodyValue(c, "name"))
	if err != nil {
		return h.formFailure(c, err, "console/org_new", fiber.Map{"Title": "New organisation", "Name": bodyValue(c, "name")})
	}
	if err := models.SwitchOrganization(h.DB, cc.Session, org.ID); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/apps", "Organisation "+org.Name+" created.")
}

func (h *Handler) switchOrg(c *fiber.Ctx) error {
	cc, err := h.console(c)
	if err != nil {
		return err
	}
	if err := models.SwitchOrganization(h.DB, cc.Session, bodyValue(c, "org_id")); err != nil {
		return err
	}
	return c.Redirect("/apps", fiber.StatusSeeOther)
}

func (h *Handler) membersPage(c *fiber.Ctx) error {
	return h.renderMembers(c, fiber.Map{})
}

func (h *Handler) renderMembers(c *fiber.Ctx, data fiber.Map) error {
	cc, err := h.consoleOrg(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	members, err := models.ListMembers(h.DB, cc.Org.ID)
	if err != nil {
		return err
	}
	data["Title"], data["Members"], data["Roles"], data["Active"] = "Members", members, models.Roles, "members"
	return h.render(c, "console/members", data)
}

func (h *Handler) addMember(c *fiber.Ctx) error {
	cc, err := h.consoleOrg(c, models.ActionManageMembers)
	if err != nil {
		return err
	}
	email, role := bodyValue(c, "email"), models.Role(bodyValue(c, "role"))
	m, err := models.AddMember(h.DB, cc.Actor(), cc.Org.ID, email, role)
	if err != nil {
		if models.FieldErrors(err) == nil {
			return err
		}
		status, _ := classify(err)
		c.Status(status)
		return h.renderMembers(c, fiber.Map{"Errors": models.FieldErrors(err), "Email": email, "Role": role})
	}
	return h.redirectWithFlash(c, "/members", m.Email+" added as "+string(m.Role)+".")
}

func (h *Handler) changeRole(c *fiber.Ctx) error {
	cc, err := h.consoleOrg(c, models.ActionManageMembers)
	if err != nil {
		return err
	}
	m, err := models.ChangeRole(h.DB, cc.Actor(), cc.Org.ID, c.Params("user"), models.Role(bodyValue(c, "role")))
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/members", m.Email+" is now "+string(m.Role)+".")
}

// removeMember takes a member out; any member may remove themselves (leave), owners anyone.
func (h *Handler) removeMember(c *fiber.Ctx) error {
	cc, err := h.consoleOrg(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	leaving := c.Params("user") == cc.User.ID
	if err := cc.Org.Role.Authorize(models.RemovalAction(cc.User.ID, c.Params("user"))); err != nil {
		return err
	}
	if err := models.RemoveMember(h.DB, cc.Actor(), cc.Org.ID, c.Params("user")); err != nil {
		return err
	}
	if leaving {
		return h.redirectWithFlash(c, "/apps", "You left "+cc.Org.Name+".")
	}
	return h.redirectWithFlash(c, "/members", "Member removed.")
}

func (h *Handler) auditPage(c *fiber.Ctx) error {
	cc, err := h.consoleOrg(c, models.ActionReadAudit)
	if err != nil {
		return err
	}
	cursor, _ := strconv.ParseInt(c.Query("cursor"), 10, 64)
	filter := models.AuditFilter{AppID: c.Query("app_id"), Action: c.Query("action"), Cursor: cursor, Limit: 50}
	entries, next, err := models.ListAudit(h.DB, cc.Org.ID, filter)
	if err != nil {
		return err
	}
	actions, err := models.AuditActions(h.DB, cc.Org.ID)
	if err != nil {
		return err
	}
	apps, err := models.ListApps(h.DB, cc.Org.ID)
	if err != nil {
		return err
	}
	return h.render(c, "console/audit", fiber.Map{"Title": "Audit log", "Active": "audit", "Entries": entries,
		"Next": next, "Filter": filter, "Actions": actions, "Apps": apps})
}
