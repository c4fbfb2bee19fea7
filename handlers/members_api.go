package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

type memberJSON struct {
	UserID string      `json:"user_id"`
	Email  string      `json:"email"`
	Name   string      `json:"name"`
	Role   models.Role `json:"role"`
}

// apiOrg checks that the caller belongs to the organisation in the path (404 otherwise) and may act.
func (h *Handler) apiOrg(c *fiber.Ctx, action models.Action) (string, models.Actor, error) {
	user, actor := apiUser(c)
	m, err := models.FindMembership(h.DB, c.Params("org"), user.ID)
	if err != nil {
		return "", actor, err
	}
	return m.ID, actor, m.Role.Authorize(action)
}

func (h *Handler) apiListMembers(c *fiber.Ctx) error {
	orgID, _, err := h.apiOrg(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	members, err := models.ListMembers(h.DB, orgID)
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(members))
	for _, m := range members {
		out = append(out, memberJSON{m.UserID, m.Email, m.Name, m.Role})
	}
	return c.JSON(fiber.Map{"members": out})
}

func (h *Handler) apiAddMember(c *fiber.Ctx) error {
	var in struct {
		Email string      `json:"email"`
		Role  models.Role `json:"role"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	orgID, actor, err := h.apiOrg(c, models.ActionManageMembers)
	if err != nil {
		return err
	}
	if _, err := models.FindUserByEmail(h.DB, in.Email); err != nil {
		return err // api.md: an unknown user is a 404
	}
	m, err := models.AddMember(h.DB, actor, orgID, in.Email, in.Role)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(memberJSON{m.UserID, m.Email, m.Name, m.Role})
}

func (h *Handler) apiChangeRole(c *fiber.Ctx) error {
	var in struct {
		Role models.Role `json:"role"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	orgID, actor, err := h.apiOrg(c, models.ActionManageMembers)
	if err != nil {
		return err
	}
	m, err := models.ChangeRole(h.DB, actor, orgID, c.Params("user"), in.Role)
	if err != nil {
		return err
	}
	return c.JSON(memberJSON{m.UserID, m.Email, m.Name, m.Role})
}

// apiRemoveMember removes a member; any member may remove themselves (leave), owners anyone.
func (h *Handler) apiRemoveMember(c *fiber.Ctx) error {
	user, _ := apiUser(c)
	orgID, actor, err := h.apiOrg(c, models.RemovalAction(user.ID, c.Params("user")))
	if err != nil {
		return err
	}
	if err := models.RemoveMember(h.DB, actor, orgID, c.Params("user")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) apiAudit(c *fiber.Ctx) error {
	orgID, _, err := h.apiOrg(c, models.ActionReadAudit)
	if err != nil {
		return err
	}
	cursor, _ := strconv.ParseInt(c.Query("cursor"), 10, 64)
	limit, _ := strconv.Atoi(c.Query("limit"))
	entries, next, err := models.ListAudit(h.DB, orgID, models.AuditFilter{AppID: c.Query("app_id"), Action: c.Query("action"), Cursor: cursor, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]auditJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, toAuditJSON(e))
	}
	var nextCursor *string
	if next > 0 {
		s := strconv.FormatInt(next, 10)
		nextCursor = &s
	}
	return c.JSON(fiber.Map{"entries": out, "next_cursor": nextCursor})
}
