package handlers

import (
	"runtime/debug"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// healthz says the process is up; it never touches the database.
func (h *Handler) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz says whether this replica should get traffic: the database answers, migrations are applied
// and the server is not shutting down.
func (h *Handler) readyz(c *fiber.Ctx) error {
	if h.draining.Load() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "shutting down"})
	}
	if err := models.Ping(h.DB); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "database unreachable"})
	}
	if pending, err := models.MigrationsPending(h.DB); err != nil || pending > 0 {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "migrations pending"})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// logPanic records a recovered panic with its stack; the client gets the generic 500 page.
func (h *Handler) logPanic(c *fiber.Ctx, e any) {
	h.Log.Error("panic", "path", c.Path(), "request_id", requestID(c), "panic", e, "stack", string(debug.Stack()))
}
