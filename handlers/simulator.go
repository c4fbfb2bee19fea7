package handlers

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"keyfob/models"
)

// The Vehicle Simulator tab: an app's simulated vehicles by owner, a form to add one, and per vehicle its
// state, an edit form and the last API calls made to it.

// simPowertrains are the create form's powertrain choices; "" lets the catalogue decide.
var simPowertrains = []struct{ Value, Label string }{
	{"", "From the catalogue"}, {models.BEV, "BEV (battery electric)"}, {models.PHEV, "PHEV (plug-in hybrid)"},
	{models.HEV, "HEV (hybrid)"}, {models.ICE, "ICE (combustion)"},
}

// simVehicleView is a simulated vehicle as the simulator pages show it.
type simVehicleView struct {
	ID, Owner, Name, VIN, Powertrain         string
	Electric, BurnsFuel                      bool
	Odometer, Fuel, Battery, Range, Location string
	Tires, OilLife, UpdatedAt, ChargeLimit   string
	PluggedIn, Charging, Locked              bool
}

func newSimVehicleView(s models.VehicleState) simVehicleView {
	makeName := s.Make
	if m, ok := models.FindMake(s.Make); ok {
		makeName = m.Name
	}
	v := simVehicleView{ID: s.VehicleID, Owner: s.Owner, Name: fmt.Sprintf("%s %s (%d)", makeName, s.Model, s.Year),
		VIN: s.VIN, Powertrain: s.Powertrain, Electric: s.Electric(),
		BurnsFuel: s.BurnsFuel(), Odometer: fmt.Sprintf("%.1f km", s.OdometerKm),
		Range: fmt.Sprintf("%.0f km", s.RangeKm()), Location: fmt.Sprintf("%.6f, %.6f", s.Latitude, s.Longitude),
		Tires:     fmt.Sprintf("%.0f / %.0f / %.0f / %.0f kPa", s.TireFrontLeftKPa, s.TireFrontRightKPa, s.TireBackLeftKPa, s.TireBackRightKPa),
		UpdatedAt: s.UpdatedAt.Format("2006-01-02 15:04:05 UTC"), PluggedIn: s.PluggedIn, Charging: s.Charging, Locked: s.Locked}
	if v.BurnsFuel {
		v.Fuel = fmt.Sprintf("%.1f %% of %.0f L", s.FuelPercent, s.FuelCapacityLiters)
		v.OilLife = fmt.Sprintf("%.0f %%", s.OilLifePercent)
	}
	if v.Electric {
		v.Battery = fmt.Sprintf("%.1f %% of %.1f kWh", s.BatteryPercent, s.BatteryCapacityKWh)
		v.ChargeLimit = fmt.Sprintf("%.0f %%", s.ChargeLimit*100)
	}
	return v
}

// simOwner is one owner's vehicles on the list page.
type simOwner struct {
	Owner    string
	Vehicles []simVehicleView
}

// byOwner groups states that ListVehicleStates returns sorted by owner.
func byOwner(states []models.VehicleState) []simOwner {
	var out []simOwner
	for _, s := range states {
		if len(out) == 0 || out[len(out)-1].Owner != s.Owner {
			out = append(out, simOwner{Owner: s.Owner})
		}
		last := &out[len(out)-1]
		last.Vehicles = append(last.Vehicles, newSimVehicleView(s))
	}
	return out
}

// simCreateForm is what was typed into the create form.
type simCreateForm struct{ Owner, Make, Model, Year, VIN, Powertrain string }

// year is the typed year, 0 when empty (read it from the VIN) and -1 when not a number, which
// CreateSimulatedVehicle refuses with its own explanation.
func (f simCreateForm) year() int {
	if f.Year == "" {
		return 0
	}
	y, err := strconv.Atoi(f.Year)
	if err != nil {
		return -1
	}
	return y
}

// simModelOption is one suggestion of the model field's datalist.
type simModelOption struct{ Value, Label string }

// simModelOptions suggests the chosen make's models, or every catalogue model (labelled with its make)
// before a make is chosen: without JavaScript the list cannot follow the make select.
func simModelOptions(makeID string) []simModelOption {
	var out []simModelOption
	chosen, known := models.FindMake(makeID)
	for _, m := range models.Makes {
		if known && m.ID != chosen.ID {
			continue
		}
		for _, vm := range m.Models {
			out = append(out, simModelOption{vm.Name, fmt.Sprintf("%s · %s · %d–%d", m.Name, vm.Powertrain, vm.FromYear, vm.ToYear)})
		}
	}
	return out
}

func (h *Handler) simulatorPage(c *fiber.Ctx) error {
	_, d, err := h.consoleApp(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	return h.renderSimulator(c, fiber.StatusOK, d, simCreateForm{}, map[string]string{})
}

func (h *Handler) renderSimulator(c *fiber.Ctx, status int, d models.AppDetails, form simCreateForm, errs map[string]string) error {
	states, err := models.ListVehicleStates(h.DB, d.ID)
	if err != nil {
		return err
	}
	return h.render(c.Status(status), "console/app_simulator", h.appData(d, "simulator", fiber.Map{
		"Owners": byOwner(states), "Count": len(states), "Form": form, "Errors": errs,
		"Makes": models.Makes, "ModelOptions": simModelOptions(form.Make), "Powertrains": simPowertrains,
	}))
}

// createSimulatedVehicle adds a vehicle and opens its page.
func (h *Handler) createSimulatedVehicle(c *fiber.Ctx) error {
	_, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	f := simCreateForm{Owner: bodyValue(c, "owner"), Make: bodyValue(c, "make"), Model: bodyValue(c, "model"),
		Year: strings.TrimSpace(bodyValue(c, "year")), VIN: bodyValue(c, "vin"), Powertrain: bodyValue(c, "powertrain")}
	s, err := models.CreateSimulatedVehicle(h.DB, d.ID, f.Owner, f.Make, f.Model, f.year(), f.VIN, f.Powertrain)
	if err != nil {
		errs := models.FieldErrors(err)
		if errs == nil {
			return err
		}
		status, _ := classify(err)
		return h.renderSimulator(c, status, d, f, errs)
	}
	v := newSimVehicleView(s)
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/simulator/"+s.VehicleID, "Created "+v.Name+", VIN "+v.VIN+".")
}

// simStateForm is the edit form: what the inputs hold and, in hidden inputs, what the page showed before
// the edit, so only the values someone changed are saved and the rest keep drifting from where they are.
type simStateForm struct {
	Values, Shown map[string]string
}

// newSimStateForm fills the form from the state; checkboxes hold "on" or "off".
func newSimStateForm(s models.VehicleState) simStateForm {
	number := func(v float64, places int) string { return strconv.FormatFloat(models.RoundTo(v, places), 'f', -1, 64) }
	flag := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	values := map[string]string{
		"odometer_km": number(s.OdometerKm, 1), "fuel_percent": number(s.FuelPercent, 1),
		"battery_percent": number(s.BatteryPercent, 1), "charge_limit": number(s.ChargeLimit*100, 0),
		"latitude": number(s.Latitude, 6), "longitude": number(s.Longitude, 6),
		"plugged_in": flag(s.PluggedIn), "charging": flag(s.Charging), "locked": flag(s.Locked),
	}
	shown := make(map[string]string, len(values))
	for k, v := range values {
		shown[k] = v
	}
	return simStateForm{Values: values, Shown: shown}
}

// readStatePatch reads the edit form into a patch holding only the fields the powertrain has (a BEV edit
// never sends fuel) and that differ from what the page showed. A number that does not parse is sent as NaN,
// which UpdateVehicleState refuses with the range it expects.
func readStatePatch(c *fiber.Ctx, s models.VehicleState) (models.VehicleStatePatch, simStateForm) {
	form := simStateForm{Values: map[string]string{}, Shown: map[string]string{}}
	changed := func(name, value string) bool {
		form.Values[name], form.Shown[name] = value, bodyValue(c, "shown_"+name)
		return form.Shown[name] == "" || form.Shown[name] != value
	}
	number := func(name string) *float64 {
		if !changed(name, strings.TrimSpace(bodyValue(c, name))) {
			return nil
		}
		f, err := strconv.ParseFloat(form.Values[name], 64)
		if err != nil {
			f = math.NaN()
		}
		return &f
	}
	flag := func(name string) *bool {
		value := "off"
		if bodyValue(c, name) != "" {
			value = "on"
		}
		if !changed(name, value) {
			return nil
		}
		b := value == "on"
		return &b
	}
	p := models.VehicleStatePatch{OdometerKm: number("odometer_km"), Latitude: number("latitude"),
		Longitude: number("longitude"), Locked: flag("locked")}
	if s.BurnsFuel() {
		p.FuelPercent = number("fuel_percent")
	}
	if s.Electric() {
		p.BatteryPercent, p.PluggedIn, p.Charging = number("battery_percent"), flag("plugged_in"), flag("charging")
		p.ChargeLimit = chargeLimitField(c, number)
	}
	return p, form
}

// chargeLimitField reads the form's charge limit in percent as the fraction the vehicle keeps, like the
// API. A form without the field (one loaded before it existed, a script) changes nothing.
func chargeLimitField(c *fiber.Ctx, number func(string) *float64) *float64 {
	if strings.TrimSpace(bodyValue(c, "charge_limit")) == "" {
		return nil
	}
	percent := number("charge_limit")
	if percent == nil {
		return nil
	}
	limit := *percent / 100
	return &limit
}

// simCallView is one API call in the vehicle's log.
type simCallView struct {
	At, ISO, Method, Path string
	Status                int
	OK                    bool
}

func (h *Handler) simulatorVehiclePage(c *fiber.Ctx) error {
	_, d, err := h.consoleApp(c, models.ActionReadApps)
	if err != nil {
		return err
	}
	s, err := models.LoadVehicleState(h.DB, d.ID, c.Params("vehicle"))
	if err != nil {
		return err
	}
	return h.renderSimulatorVehicle(c, fiber.StatusOK, d, s, newSimStateForm(s), map[string]string{})
}

func (h *Handler) renderSimulatorVehicle(c *fiber.Ctx, status int, d models.AppDetails, s models.VehicleState, form simStateForm, errs map[string]string) error {
	calls, err := models.ListVehicleCalls(h.DB, d.ID, s.VehicleID, 20)
	if err != nil {
		return err
	}
	views := make([]simCallView, 0, len(calls))
	for _, call := range calls {
		path := call.Path
		if path == "" {
			path = "/"
		}
		views = append(views, simCallView{At: call.At.Format("2006-01-02 15:04:05 UTC"), ISO: call.At.Format(time.RFC3339),
			Method: call.Method, Path: path, Status: call.Status, OK: call.Status < 400})
	}
	v := newSimVehicleView(s)
	return h.render(c.Status(status), "console/app_simulator_vehicle", h.appData(d, "simulator", fiber.Map{
		"Title": v.Name + " · " + d.Name, "Vehicle": v, "Form": form, "Errors": errs, "Calls": views,
	}))
}

// updateSimulatedVehicle saves the edit form.
func (h *Handler) updateSimulatedVehicle(c *fiber.Ctx) error {
	_, d, err := h.consoleApp(c, models.ActionManageApps)
	if err != nil {
		return err
	}
	s, err := models.LoadVehicleState(h.DB, d.ID, c.Params("vehicle"))
	if err != nil {
		return err
	}
	patch, form := readStatePatch(c, s)
	if _, err := models.UpdateVehicleState(h.DB, d.ID, s.VehicleID, patch); err != nil {
		errs := models.FieldErrors(err)
		if errs == nil {
			return err
		}
		status, _ := classify(err)
		return h.renderSimulatorVehicle(c, status, d, s, form, errs)
	}
	return h.redirectWithFlash(c, "/apps/"+d.ID+"/simulator/"+s.VehicleID, "Saved the vehicle's state.")
}
