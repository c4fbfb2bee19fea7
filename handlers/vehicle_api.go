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
	app.Get(one+"/", vehicle(h.scAttributes)...)
	app.Get(one+"/vin", vehicle(h.scVIN)...)
	app.Get(one+"/odometer", vehicle(h.scOdometer)...)
	app.Get(one+"/fuel", vehicle(h.scFuel)...)
	app.Get(one+"/battery", vehicle(h.scBattery)...)
	app.Get(one+"/battery/capacity", vehicle(h.scBatteryCapacity)...)
	app.Get(one+"/charge", vehicle(h.scCharge)...)
	app.Post(one+"/charge", vehicle(h.scChargeCommand)...)
	app.Get(one+"/location", vehicle(h.scLocation)...)
	app.Get(one+"/tires/pressure", vehicle(h.scTires)...)
	app.Get(one+"/engine/oil", vehicle(h.scOil)...)
	app.Get(one+"/permissions", vehicle(h.scPermissions)...)
	app.Get(one+"/security", vehicle(h.scSecurity)...)
	app.Post(one+"/security", vehicle(h.scSecurityCommand)...)
	app.Delete(one+"/application", vehicle(h.scDisconnect)...)
	app.Use("/v2.0", func(c *fiber.Ctx) error {
		return vehicleError(c, fiber.StatusNotFound, "RESOURCE_NOT_FOUND", "PATH", "", "This path does not exist in the v2.0 API.", "")
	})
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
	if !vehicleOf(c).Vehicle().Supports(permission) {
		return errCompatibility(c, "This vehicle cannot serve "+permission+" (its powertrain has no such data).")
	}
	return nil
}

// imperial reports the unit system asked for, and echoes it.
func imperial(c *fiber.Ctx) bool {
	system := "metric"
	if strings.EqualFold(c.Get("sc-unit-system"), "imperial") {
		system = "imperial"
	}
	c.Set("SC-Unit-System", system)
	return system == "imperial"
}

// data answers a vehicle read with Smartcar's freshness headers.
func data(c *fiber.Ctx, body any) error {
	now := time.Now().UTC().Format(time.RFC3339)
	c.Set("SC-Data-Age", now)
	c.Set("SC-Fetched-At", now)
	return c.JSON(body)
}

func round(v float64, places int) float64 {
	p, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', places, 64), 64)
	return p
}

func distance(c *fiber.Ctx, km float64) float64 {
	if imperial(c) {
		return round(models.KmToMiles(km), 1)
	}
	return round(km, 1)
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

func (h *Handler) scAttributes(c *fiber.Ctx) error {
	if err := need(c, "read_vehicle_info"); err != nil {
		return err
	}
	v := vehicleOf(c)
	return data(c, fiber.Map{"id": v.VehicleID, "make": v.Make, "model": v.Model, "year": v.Year})
}

func (h *Handler) scVIN(c *fiber.Ctx) error {
	if err := need(c, "read_vin"); err != nil {
		return err
	}
	return data(c, fiber.Map{"vin": vehicleOf(c).VIN})
}

func (h *Handler) scOdometer(c *fiber.Ctx) error {
	if err := need(c, "read_odometer"); err != nil {
		return err
	}
	return data(c, fiber.Map{"distance": distance(c, vehicleOf(c).OdometerKm)})
}

func (h *Handler) scFuel(c *fiber.Ctx) error {
	if err := need(c, "read_fuel"); err != nil {
		return err
	}
	v := vehicleOf(c)
	amount := v.FuelPercent / 100 * v.FuelCapacityLiters
	if imperial(c) {
		amount = models.LitersToGallons(amount)
	}
	return data(c, fiber.Map{"range": distance(c, v.RangeKm()), "percentRemaining": round(v.FuelPercent/100, 2), "amountRemaining": round(amount, 1)})
}

func (h *Handler) scBattery(c *fiber.Ctx) error {
	if err := need(c, "read_battery"); err != nil {
		return err
	}
	v := vehicleOf(c)
	return data(c, fiber.Map{"range": distance(c, v.RangeKm()), "percentRemaining": round(v.BatteryPercent/100, 2)})
}

func (h *Handler) scBatteryCapacity(c *fiber.Ctx) error {
	if err := need(c, "read_battery"); err != nil {
		return err
	}
	return data(c, fiber.Map{"capacity": round(vehicleOf(c).BatteryCapacityKWh, 1)})
}

func (h *Handler) scCharge(c *fiber.Ctx) error {
	if err := need(c, "read_charge"); err != nil {
		return err
	}
	v := vehicleOf(c)
	return data(c, fiber.Map{"isPluggedIn": v.PluggedIn, "state": v.ChargeState()})
}

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

// commandResult maps a command's outcome to Smartcar's answers.
func (h *Handler) commandResult(c *fiber.Ctx, err error) error {
	var stateErr *models.VehicleStateError
	switch {
	case errors.As(err, &stateErr):
		return vehicleError(c, fiber.StatusConflict, "VEHICLE_STATE", stateErr.Code, "RETRY_LATER", stateErr.Description,
			"Your vehicle cannot do this right now.")
	case errors.Is(err, models.ErrCompatibility):
		return errCompatibility(c, "This vehicle cannot do this (its powertrain does not support it).")
	case err != nil:
		return err
	}
	return c.JSON(fiber.Map{"status": "success", "message": "Successfully sent request to vehicle"})
}

func (h *Handler) scLocation(c *fiber.Ctx) error {
	if err := need(c, "read_location"); err != nil {
		return err
	}
	v := vehicleOf(c)
	return data(c, fiber.Map{"latitude": round(v.Latitude, 6), "longitude": round(v.Longitude, 6)})
}

func (h *Handler) scTires(c *fiber.Ctx) error {
	if err := need(c, "read_tires"); err != nil {
		return err
	}
	v := vehicleOf(c)
	p := func(kpa float64) float64 {
		if imperial(c) {
			return round(models.KPaToPSI(kpa), 1)
		}
		return round(kpa, 1)
	}
	return data(c, fiber.Map{"frontLeft": p(v.TireFrontLeftKPa), "frontRight": p(v.TireFrontRightKPa),
		"backLeft": p(v.TireBackLeftKPa), "backRight": p(v.TireBackRightKPa)})
}

func (h *Handler) scOil(c *fiber.Ctx) error {
	if err := need(c, "read_engine_oil"); err != nil {
		return err
	}
	return data(c, fiber.Map{"lifeRemaining": round(vehicleOf(c).OilLifePercent/100, 2)})
}

// scPermissions pages the permissions this token was granted (default 25 a page).
func (h *Handler) scPermissions(c *fiber.Ctx) error {
	limit, offset, err := paging(c, 25)
	if err != nil {
		return err
	}
	scope := grantOf(c).Scope
	return c.JSON(fiber.Map{"permissions": pageOf(scope, limit, offset), "paging": fiber.Map{"count": len(scope), "offset": offset}})
}

// openingJSON is one opening of opening of Smartcar's security body ([] when the vehicle has none).
type openingJSON struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

func openingsJSON(list []models.Opening) []openingJSON {
	out := make([]openingJSON, 0, len(list))
	for _, o := range list {
		out = append(out, openingJSON{o.Type, o.Status})
	}
	return out
}

func (h *Handler) scSecurity(c *fiber.Ctx) error {
	if err := need(c, "read_security"); err != nil {
		return err
	}
	sec := vehicleOf(c).Security()
	return data(c, fiber.Map{"isLocked": sec.Locked, "doors": openingsJSON(sec.Doors), "windows": openingsJSON(sec.Windows),
		"sunroof": openingsJSON(sec.Sunroof), "storage": openingsJSON(sec.Storage), "chargingPort": openingsJSON(sec.ChargingPort)})
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
