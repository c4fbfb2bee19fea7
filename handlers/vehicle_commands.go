package handlers

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// The vehicle API's commands: lock and unlock, start and stop charging, disconnect.

// actionBody reads {"action": "..."} and checks it is one of allowed.
func actionBody(c *fiber.Ctx, allowed ...string) (string, error) {
	var in struct {
		Action string `json:"action"`
	}
	if err := decodeJSON(c, &in); err != nil || !slices.Contains(allowed, in.Action) {
		return "", errValidation(c, "Send a JSON body {\"action\": \""+strings.Join(allowed, "\" or \"")+"\"}.")
	}
	return in.Action, nil
}

func (h *Handler) scChargeCommand(c *fiber.Ctx) error {
	if err := need(c, "control_charge"); err != nil {
		return err
	}
	action, err := actionBody(c, "START", "STOP")
	if err != nil {
		return err
	}
	v := vehicleOf(c)
	_, err = models.SetCharging(h.DB, v.AppID, v.VehicleID, action == "START")
	return h.commandResult(c, err)
}

// scSetChargeLimit is POST /charge/limit {"limit": 0.8}; Smartcar's SDKs send the number as a string.
func (h *Handler) scSetChargeLimit(c *fiber.Ctx) error {
	if err := need(c, "control_charge"); err != nil {
		return err
	}
	var in struct {
		Limit json.RawMessage `json:"limit"`
	}
	if err := decodeJSON(c, &in); err != nil || len(in.Limit) == 0 {
		return errValidation(c, `Send a JSON body {"limit": 0.8}, a fraction from 0.5 to 1.0.`)
	}
	raw := string(in.Limit)
	var text string
	if json.Unmarshal(in.Limit, &text) == nil {
		raw = text
	}
	limit, err := models.ParseChargeLimit(raw)
	if err == nil {
		v := vehicleOf(c)
		_, err = models.SetChargeLimit(h.DB, v.AppID, v.VehicleID, limit)
	}
	return h.commandResult(c, err)
}

// commandResult maps a command's outcome to Smartcar's answers.
func (h *Handler) commandResult(c *fiber.Ctx, err error) error {
	var stateErr *models.VehicleStateError
	var invalid *models.ValidationError
	switch {
	case errors.As(err, &invalid):
		return errValidation(c, invalid.Message)
	case errors.As(err, &stateErr):
		return vehicleError(c, fiber.StatusConflict, "VEHICLE_STATE", stateErr.Code, "RETRY_LATER", stateErr.Description,
			"Your vehicle cannot do this right now.")
	case errors.Is(err, models.ErrCompatibility):
		return errCompatibility(c, models.ReasonVehicleNotCapable, "This vehicle cannot do this (its powertrain does not support it).")
	case err != nil:
		return err
	}
	return c.JSON(fiber.Map{"status": "success", "message": "Successfully sent request to vehicle"})
}

func (h *Handler) scSecurityCommand(c *fiber.Ctx) error {
	if err := need(c, "control_security"); err != nil {
		return err
	}
	action, err := actionBody(c, "LOCK", "UNLOCK")
	if err != nil {
		return err
	}
	v := vehicleOf(c)
	_, err = models.SetLocked(h.DB, v.AppID, v.VehicleID, action == "LOCK")
	return h.commandResult(c, err)
}

// scDisconnect revokes this app's tokens for the vehicle (the owner's "disconnect").
func (h *Handler) scDisconnect(c *fiber.Ctx) error {
	v := vehicleOf(c)
	if _, err := models.RevokeVehicleAccess(h.DB, v.AppID, v.VehicleID); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "success"})
}
