package handlers

import (
	"cmp"
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// scError is Smartcar's v2 error body; every /v2.0 error uses it.
type scError struct {
	Type                 string       `json:"type"`
	Code                 *string      `json:"code"`
	Description          string       `json:"description"`
	DocURL               string       `json:"docURL"`
	StatusCode           int          `json:"statusCode"`
	RequestID            string       `json:"requestId"`
	Resolution           scResolution `json:"resolution"`
	SuggestedUserMessage string       `json:"suggestedUserMessage"`
	Detail               []scDetail   `json:"detail,omitempty"` // VALIDATION: the field refused
}

// scDetail names a refused parameter, as Smartcar's VALIDATION errors do.
type scDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

type scResolution struct {
	Type *string `json:"type"`
}

// vehicleFailure is a /v2.0 refusal; handlers return it and the error handler writes it.
type vehicleFailure struct {
	status    int
	body      scError
	challenge string // WWW-Authenticate of a 401; bearerChallenge when empty
}

// bearerChallenge is RFC 6750 §3's answer to a missing or bad access token. api.md asks for
// error="invalid_token" on every bearer 401, a missing token included.
const bearerChallenge = `Bearer error="invalid_token"`

func (f *vehicleFailure) Error() string { return f.body.Type + ": " + f.body.Description }

// vehicleError builds a Smartcar v2 error. code and resolution may be "" (null on the wire).
func vehicleError(c *fiber.Ctx, status int, typ, code, resolution, description, userMessage string) error {
	body := scError{Type: typ, Description: description, StatusCode: status, RequestID: scRequestID(c),
		DocURL: "https://smartcar.com/docs/errors/api-errors/" + typ, SuggestedUserMessage: userMessage}
	if code != "" {
		body.Code = &code
	}
	if resolution != "" {
		body.Resolution.Type = &resolution
	}
	return &vehicleFailure{status: status, body: body}
}

// writeVehicleError answers any error on a /v2.0 path in Smartcar's shape.
func writeVehicleError(c *fiber.Ctx, err error, status int, message string) error {
	var vf *vehicleFailure
	if !errors.As(err, &vf) {
		vf = vehicleError(c, status, smartcarType(status), "", "", message, "").(*vehicleFailure)
	}
	if vf.status == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, cmp.Or(vf.challenge, bearerChallenge))
	}
	return c.Status(vf.status).JSON(vf.body)
}

// failureStatus is the status an error will be answered with, for the vehicle call log.
func failureStatus(err error) int {
	var vf *vehicleFailure
	if errors.As(err, &vf) {
		return vf.status
	}
	status, _ := classify(err)
	return status
}

// scRequestID gives every /v2.0 response its SC-Request-Id, once.
func scRequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals("sc_request_id").(string); ok {
		return id
	}
	id := uuid.NewString()
	c.Locals("sc_request_id", id)
	c.Set("SC-Request-Id", id)
	return id
}

func errAuthentication(c *fiber.Ctx) error {
	return vehicleError(c, fiber.StatusUnauthorized, "AUTHENTICATION", "", "REAUTHENTICATE",
		"The access token is missing, malformed, expired or revoked.", "Please reconnect your vehicle.")
}

func errPermission(c *fiber.Ctx, what string) error {
	return vehicleError(c, fiber.StatusForbidden, "PERMISSION", "", "REAUTHENTICATE",
		what, "This app needs more access to your vehicle. Please reconnect it.")
}

func errNotFound(c *fiber.Ctx) error {
	return vehicleError(c, fiber.StatusNotFound, "RESOURCE_NOT_FOUND", "PATH", "",
		"No vehicle with this id is connected to this application.", "")
}

// errPath answers a path the v2.0 API does not have (also as a batch item).
func errPath(c *fiber.Ctx) error {
	return vehicleError(c, fiber.StatusNotFound, "RESOURCE_NOT_FOUND", "PATH", "", "This path does not exist in the v2.0 API.", "")
}

func errValidation(c *fiber.Ctx, description string) error {
	return vehicleError(c, fiber.StatusBadRequest, "VALIDATION", "PARAMETER", "", description, "")
}

// errInvalidField is a VALIDATION error naming the parameter in its detail.
func errInvalidField(c *fiber.Ctx, field, message string) error {
	f := errValidation(c, field+": "+message).(*vehicleFailure)
	f.body.Detail = []scDetail{{Field: field, Message: message}}
	return f
}

// errCompatibility is Smartcar's 501 for what the vehicle (VEHICLE_NOT_CAPABLE) or the platform
// (SMARTCAR_NOT_CAPABLE) cannot do.
func errCompatibility(c *fiber.Ctx, code, description string) error {
	return vehicleError(c, fiber.StatusNotImplemented, "COMPATIBILITY", code, "",
		description, "Your vehicle does not support this feature.")
}
