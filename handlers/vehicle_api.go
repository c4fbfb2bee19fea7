package handlers

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// vehicleAPIRoutes is the simulated Smartcar v2.0 API. Routing comes first and each route names its
// own authentication: a path that takes client credentials is never refused for lacking an access
// token, and an unknown path is a 404 whatever credentials came with it.
func (h *Handler) vehicleAPIRoutes(app *fiber.App) {
	bearer := func(handler fiber.Handler) []fiber.Handler { return []fiber.Handler{h.vehicleAuth, handler} }
	vehicle := func(handler fiber.Handler) []fiber.Handler {
		return []fiber.Handler{h.vehicleAuth, h.vehicleInGrant, handler}
	}
	const one = "/v2.0/vehicles/:vehicle"
	app.Get("/v2.0/user", bearer(h.scUser)...)
	app.Get("/v2.0/vehicles", bearer(h.scVehicles)...)
	for _, r := range vehicleReads { // "/", "/vin", "/odometer", ... "/permissions" (vehicle_reads.go)
		app.Get(one+r.path, vehicle(serveRead(r))...)
	}
	app.Post(one+"/charge", vehicle(h.scChargeCommand)...)
	app.Post(one+"/charge/limit", vehicle(h.scSetChargeLimit)...)
	app.Post(one+"/security", vehicle(h.scSecurityCommand)...)
	app.Post(one+"/batch", vehicle(h.scBatch)...)
	app.Delete(one+"/application", vehicle(h.scDisconnect)...)
	app.Get("/v2.0/compatibility", h.clientAuth, h.scCompatibility)
	app.Get("/v2.0/compatibility/matrix", h.clientAuth, h.scCompatibilityMatrix)
	app.Use("/v2.0", errPath)
}

// vehicleAuth checks the bearer access token; malformed tokens never reach the database.
func (h *Handler) vehicleAuth(c *fiber.Ctx) error {
	scRequestID(c)
	token, ok := bearerToken(c)
	if !ok {
		return errAuthentication(c)
	}
	grant, err := models.AuthenticateAccessToken(h.DB, token)
	if errors.Is(err, models.ErrUnauthenticated) {
		return errAuthentication(c)
	}
	if err != nil {
		return err
	}
	c.Locals("grant", grant)
	return c.Next()
}

func grantOf(c *fiber.Ctx) models.AccessGrant {
	g, _ := c.Locals("grant").(models.AccessGrant)
	return g
}

// vehicleInGrant resolves the vehicle in the path: malformed → 400, unknown to the app → 404,
// known but not granted to this token → 403. Each call is logged for the Vehicle Simulator page.
func (h *Handler) vehicleInGrant(c *fiber.Ctx) error {
	id, grant := c.Params("vehicle"), grantOf(c)
	if !models.IsUUID(id) {
		return errValidation(c, "The vehicle id must be a UUID.")
	}
	state, err := models.LoadVehicleState(h.DB, grant.AppID, id)
	if errors.Is(err, models.ErrNotFound) {
		return errNotFound(c)
	}
	if err != nil {
		return err
	}
	c.Locals("vehicle", state)
	if slices.Contains(grant.Vehicles, id) {
		err = c.Next()
	} else {
		err = errPermission(c, "This access token was not granted access to this vehicle.")
	}
	status := c.Response().StatusCode()
	if err != nil {
		status = failureStatus(err)
	}
	if logErr := models.RecordVehicleCall(h.DB, models.VehicleCall{AppID: grant.AppID, VehicleID: id, Method: c.Method(),
		Path: strings.TrimPrefix(c.Path(), "/v2.0/vehicles/"+id), Status: status, At: time.Now().UTC()}); logErr != nil {
		h.Log.Warn("record vehicle call", "err", logErr)
	}
	return err
}

func vehicleOf(c *fiber.Ctx) models.VehicleState {
	v, _ := c.Locals("vehicle").(models.VehicleState)
	return v
}

// need checks the token's permission and the vehicle's capability for an endpoint.
func need(c *fiber.Ctx, permission string) error {
	if !slices.Contains(grantOf(c).Scope, permission) {
		return errPermission(c, "This endpoint needs the "+permission+" permission, which the owner did not grant.")
	}
	if reason := vehicleOf(c).Vehicle().Incapability(permission); reason != "" {
		return errCompatibility(c, reason, "This vehicle cannot serve "+permission+".")
	}
	return nil
}

func round(v float64, places int) float64 {
	p, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', places, 64), 64)
	return p
}

func (h *Handler) scUser(c *fiber.Ctx) error {
	g := grantOf(c)
	return c.JSON(fiber.Map{"id": models.OwnerUserID(g.AppID, g.Owner)})
}

func (h *Handler) scVehicles(c *fiber.Ctx) error {
	limit, offset, err := paging(c, 10)
	if err != nil {
		return err
	}
	ids := grantOf(c).Vehicles
	return c.JSON(fiber.Map{"vehicles": pageOf(ids, limit, offset), "paging": fiber.Map{"count": len(ids), "offset": offset}})
}

// paging reads Smartcar's limit (1–50, defaultLimit when absent) and offset (0 or more).
func paging(c *fiber.Ctx, defaultLimit int) (limit, offset int, err error) {
	limit = defaultLimit
	if raw := c.Query("limit"); raw != "" {
		if limit, err = strconv.Atoi(raw); err != nil || limit < 1 || limit > 50 {
			return 0, 0, errValidation(c, "limit must be a number from 1 to 50.")
		}
	}
	if raw := c.Query("offset"); raw != "" {
		if offset, err = strconv.Atoi(raw); err != nil || offset < 0 {
			return 0, 0, errValidation(c, "offset must be a number of 0 or more.")
		}
	}
	return limit, offset, nil
}

// pageOf is items[offset : offset+limit], empty (never nil) past the end.
func pageOf(items []string, limit, offset int) []string {
	if offset >= len(items) {
		return []string{}
	}
	return items[offset:min(len(items), offset+limit)]
}
