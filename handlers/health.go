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
	c.Set(fiber.HeaderCacheControl, "no-store")
	if h.draining.Load() {
		return notReady(c, "shutting down")
	}
	if err := models.Ping(h.DB); err != nil {
		return notReady(c, "database unreachable")
	}
	pending, err := models.MigrationsPending(h.DB)
	if err != nil {
		return notReady(c, "database unreachable")
	}
	if pending > 0 {
		return notReady(c, "migrations pending")
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// notReady is readiness's 503; like every 503 it says when to look again.
func notReady(c *fiber.Ctx, why string) error {
	c.Set(fiber.HeaderRetryAfter, retryAfterUnavailable)
	return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": why})
}

// logPanic records a recovered panic with its stack; the client gets the generic 500 page.
func (h *Handler) logPanic(c *fiber.Ctx, e any) {
	h.Log.Error("panic", "path", c.Path(), "request_id", requestID(c), "panic", e, "stack", string(debug.Stack()))
}
