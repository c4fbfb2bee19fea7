package handlers

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// vehicleRead is one GET endpoint of a vehicle: its path after /v2.0/vehicles/{id}, the permission it
// needs, and its body from the vehicle's state. Its route and a batch item naming its path both run it
// through answerRead, so the permission check, the units and the headers are the same either way.
type vehicleRead struct {
	path       string
	permission string // "" for a read any token of the vehicle may make
	units      bool   // the body follows sc-unit-system, and the answer names the system used
	data       bool   // vehicle data: answered with SC-Data-Age and SC-Fetched-At
	body       func(c *fiber.Ctx, v models.VehicleState, u units) (any, error)
}

// vehicleReads is every GET of /v2.0/vehicles/{id} (routes.go mounts each; batch looks paths up here).
var vehicleReads = []vehicleRead{
	{path: "/", permission: "read_vehicle_info", data: true, body: readAttributes},
	{path: "/vin", permission: "read_vin", data: true, body: readVIN},
	{path: "/odometer", permission: "read_odometer", units: true, data: true, body: readOdometer},
	{path: "/fuel", permission: "read_fuel", units: true, data: true, body: readFuel},
	{path: "/battery", permission: "read_battery", units: true, data: true, body: readBattery},
	{path: "/battery/capacity", permission: "read_battery", data: true, body: readBatteryCapacity},
	{path: "/charge", permission: "read_charge", data: true, body: readCharge},
	{path: "/charge/limit", permission: "read_charge", data: true, body: readChargeLimit},
	{path: "/location", permission: "read_location", data: true, body: readLocation},
	{path: "/tires/pressure", permission: "read_tires", units: true, data: true, body: readTires},
	{path: "/engine/oil", permission: "read_engine_oil", data: true, body: readOil},
	{path: "/security", permission: "read_security", data: true, body: readSecurity},
	{path: "/permissions", body: readPermissions},
}

// findRead looks a batch item's path up: exact, except that a trailing slash is ignored, as for routes.
func findRead(path string) (vehicleRead, bool) {
	if path != "/" {
		path = strings.TrimSuffix(path, "/")
	}
	for _, r := range vehicleReads {
		if r.path == path {
			return r, true
		}
	}
	return vehicleRead{}, false
}

// readAnswer is a successful read: Smartcar's headers (lower-case, as batch items carry them) and the body.
type readAnswer struct {
	headers map[string]string
	body    any
}

// answerRead checks the token's permission and the vehicle's capability, then builds the body.
func answerRead(c *fiber.Ctx, r vehicleRead) (readAnswer, error) {
	if r.permission != "" {
		if err := need(c, r.permission); err != nil {
			return readAnswer{}, err
		}
	}
	u := unitsOf(c)
	body, err := r.body(c, vehicleOf(c), u)
	if err != nil {
		return readAnswer{}, err
	}
	headers := map[string]string{}
	if r.data {
		now := time.Now().UTC().Format(time.RFC3339)
		headers["sc-data-age"], headers["sc-fetched-at"] = now, now
	}
	if r.units {
		headers["sc-unit-system"] = u.name()
	}
	return readAnswer{headers: headers, body: body}, nil
}

// serveRead is the route of one read.
func serveRead(r vehicleRead) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := answerRead(c, r)
		if err != nil {
			return err
		}
		for name, value := range a.headers {
			c.Set(name, value)
		}
		return c.JSON(a.body)
	}
}

// units converts the simulator's metric values to the sc-unit-system a request asked for.
type units struct{ imperial bool }

// unitsOf reads the sc-unit-system request header: imperial, or metric (the default).
func unitsOf(c *fiber.Ctx) units {
	return units{imperial: strings.EqualFold(c.Get("sc-unit-system"), "imperial")}
}

func (u units) name() string {
	if u.imperial {
		return "imperial"
	}
	return "metric"
}

func (u units) distance(km float64) float64 {
	if u.imperial {
		km = models.KmToMiles(km)
	}
	return round(km, 1)
}

func (u units) volume(liters float64) float64 {
	if u.imperial {
		liters = models.LitersToGallons(liters)
	}
	return round(liters, 1)
}

func (u units) pressure(kpa float64) float64 {
	if u.imperial {
		kpa = models.KPaToPSI(kpa)
	}
	return round(kpa, 1)
}

func readAttributes(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	return fiber.Map{"id": v.VehicleID, "make": v.Make, "model": v.Model, "year": v.Year}, nil
}

func readVIN(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	return fiber.Map{"vin": v.VIN}, nil
}

func readOdometer(_ *fiber.Ctx, v models.VehicleState, u units) (any, error) {
	return fiber.Map{"distance": u.distance(v.OdometerKm)}, nil
}

func readFuel(_ *fiber.Ctx, v models.VehicleState, u units) (any, error) {
	return fiber.Map{"range": u.distance(v.RangeKm()), "percentRemaining": round(v.FuelPercent/100, 2),
		"amountRemaining": u.volume(v.FuelPercent / 100 * v.FuelCapacityLiters)}, nil
}

func readBattery(_ *fiber.Ctx, v models.VehicleState, u units) (any, error) {
	return fiber.Map{"range": u.distance(v.RangeKm()), "percentRemaining": round(v.BatteryPercent/100, 2)}, nil
}

func readBatteryCapacity(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	return fiber.Map{"capacity": round(v.BatteryCapacityKWh, 1)}, nil
}

func readCharge(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	return fiber.Map{"isPluggedIn": v.PluggedIn, "state": v.ChargeState()}, nil
}

func readChargeLimit(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	return fiber.Map{"limit": v.ChargeLimit}, nil
}

func readLocation(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	return fiber.Map{"latitude": round(v.Latitude, 6), "longitude": round(v.Longitude, 6)}, nil
}

func readTires(_ *fiber.Ctx, v models.VehicleState, u units) (any, error) {
	return fiber.Map{"frontLeft": u.pressure(v.TireFrontLeftKPa), "frontRight": u.pressure(v.TireFrontRightKPa),
		"backLeft": u.pressure(v.TireBackLeftKPa), "backRight": u.pressure(v.TireBackRightKPa)}, nil
}

func readOil(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	return fiber.Map{"lifeRemaining": round(v.OilLifePercent/100, 2)}, nil
}

// openingJSON is one opening of Smartcar's security body.
type openingJSON struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// openingsJSON is one kind of opening: [] when the vehicle has none.
func openingsJSON(list []models.Opening) []openingJSON {
	out := make([]openingJSON, 0, len(list))
	for _, o := range list {
		out = append(out, openingJSON{o.Type, o.Status})
	}
	return out
}

func readSecurity(_ *fiber.Ctx, v models.VehicleState, _ units) (any, error) {
	sec := v.Security()
	return fiber.Map{"isLocked": sec.Locked, "doors": openingsJSON(sec.Doors), "windows": openingsJSON(sec.Windows),
		"sunroof": openingsJSON(sec.Sunroof), "storage": openingsJSON(sec.Storage), "chargingPort": openingsJSON(sec.ChargingPort)}, nil
}

// readPermissions pages the permissions this token was granted (default 25 a page).
func readPermissions(c *fiber.Ctx, _ models.VehicleState, _ units) (any, error) {
	limit, offset, err := paging(c, 25)
	if err != nil {
		return nil, err
	}
	scope := grantOf(c).Scope
	return fiber.Map{"permissions": pageOf(scope, limit, offset), "paging": fiber.Map{"count": len(scope), "offset": offset}}, nil
}
