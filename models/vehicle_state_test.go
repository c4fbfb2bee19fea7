package models_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

type stateEnv struct {
	db  *gorm.DB
	app models.App
}

func newStateEnv(t *testing.T) stateEnv {
	t.Helper()
	db := modelstest.Open(t)
	a := newAccount(t, db, "sim@example.com")
	app, _ := newApp(t, db, a, "Simulator")
	return stateEnv{db: db, app: app}
}

// create adds a simulator vehicle of a catalogue model (its powertrain taken from the catalogue).
func (e stateEnv) create(t *testing.T, owner, makeID, model string) models.VehicleState {
	t.Helper()
	s, err := models.CreateSimulatedVehicle(e.db, e.app.ID, owner, makeID, model, 2022, "", "")
	if err != nil {
		t.Fatalf("CreateSimulatedVehicle(%s %s): %v", makeID, model, err)
	}
	return s
}

// patch applies a simulator edit that must succeed.
func (e stateEnv) patch(t *testing.T, id string, p models.VehicleStatePatch) models.VehicleState {
	t.Helper()
	s, err := models.UpdateVehicleState(e.db, e.app.ID, id, p)
	if err != nil {
		t.Fatalf("UpdateVehicleState: %v", err)
	}
	return s
}

func (e stateEnv) load(t *testing.T, id string) models.VehicleState {
	t.Helper()
	s, err := models.LoadVehicleState(e.db, e.app.ID, id)
	if err != nil {
		t.Fatalf("LoadVehicleState: %v", err)
	}
	return s
}

// storedState reads the anchor row as it is in the database, without drift.
func storedState(t *testing.T, db *gorm.DB, appID, vehicleID string) models.VehicleState {
	t.Helper()
	var s models.VehicleState
	if err := db.Table("vehicle_states").Where("app_id = ? AND vehicle_id = ?", appID, vehicleID).Take(&s).Error; err != nil {
		t.Fatalf("read vehicle_states %s: %v", vehicleID, err)
	}
	return s
}

// backdate moves a vehicle's anchor d into the past, as if nobody had touched it since.
func backdate(t *testing.T, db *gorm.DB, appID, vehicleID string, d time.Duration) {
	t.Helper()
	if err := db.Table("vehicle_states").Where("app_id = ? AND vehicle_id = ?", appID, vehicleID).
		Update("updated_at", time.Now().UTC().Add(-d)).Error; err != nil {
		t.Fatalf("backdate: %v", err)
	}
}

func f64(v float64) *float64 { return &v }
func boolp(v bool) *bool     { return &v }

func between(v, lo, hi float64) bool { return v >= lo && v <= hi }

// seedFleet is a deterministic set of generated vehicles covering every powertrain.
func seedFleet() []models.Vehicle {
	var out []models.Vehicle
	for i := range 40 {
		for _, m := range []string{"TESLA", "TOYOTA", "FORD", "HONDA", "BMW"} {
			out = append(out, models.SimulatedVehicles(fmt.Sprintf("owner%d@example.com", i), m)...)
		}
	}
	return out
}

func TestVehicleStateSeedWithinRanges(t *testing.T) {
	e := newStateEnv(t)
	fleet := seedFleet()
	if err := models.EnsureVehicleStates(e.db, e.app.ID, "fleet@example.com", fleet); err != nil {
		t.Fatalf("EnsureVehicleStates: %v", err)
	}
	var evs, plugged int
	oldKm, oldN, newKm, newN := 0.0, 0, 0.0, 0
	for _, v := range fleet {
		s := storedState(t, e.db, e.app.ID, v.ID)
		if s.Owner != "fleet@example.com" || s.Make != v.Make || s.Model != v.Model || s.Year != v.Year || s.VIN != v.VIN ||
			s.Powertrain != v.Powertrain || s.Level != "" || !s.Locked {
			t.Fatalf("identity of %+v stored as %+v", v, s)
		}
		if !between(s.OdometerKm, 5000, 120000) {
			t.Errorf("%s odometer %.1f outside 5,000–120,000", v.ID, s.OdometerKm)
		}
		if !between(s.Latitude, -90, 90) || !between(s.Longitude, -180, 180) || (s.Latitude == 0 && s.Longitude == 0) {
			t.Errorf("%s location %f,%f", v.ID, s.Latitude, s.Longitude)
		}
		for _, p := range []float64{s.TireFrontLeftKPa, s.TireFrontRightKPa, s.TireBackLeftKPa, s.TireBackRightKPa} {
			if !between(p, 220, 250) {
				t.Errorf("%s tyre %.1f kPa outside 220–250", v.ID, p)
			}
		}
		switch v.Powertrain {
		case models.BEV:
			if s.FuelPercent != 0 || s.FuelCapacityLiters != 0 || s.OilLifePercent != 0 ||
				!between(s.BatteryPercent, 20, 95) || !between(s.BatteryCapacityKWh, 40, 110) {
				t.Errorf("BEV %s %s: %+v", v.Make, v.Model, s)
			}
		case models.PHEV:
			if !between(s.FuelPercent, 20, 95) || !between(s.FuelCapacityLiters, 35, 45) || !between(s.OilLifePercent, 15, 100) ||
				!between(s.BatteryPercent, 20, 95) || !between(s.BatteryCapacityKWh, 10, 20) {
				t.Errorf("PHEV %s %s: %+v", v.Make, v.Model, s)
			}
		default:
			if !between(s.FuelPercent, 20, 95) || !between(s.FuelCapacityLiters, 45, 80) || !between(s.OilLifePercent, 15, 100) ||
				s.BatteryPercent != 0 || s.BatteryCapacityKWh != 0 || s.PluggedIn || s.Charging {
				t.Errorf("%s %s %s: %+v", v.Powertrain, v.Make, v.Model, s)
			}
		}
		if v.Powertrain == models.BEV || v.Powertrain == models.PHEV {
			evs++
			if s.PluggedIn {
				plugged++
			}
			if s.Charging != s.PluggedIn {
				t.Errorf("%s plugged in %v but charging %v below 100 %%", v.ID, s.PluggedIn, s.Charging)
			}
		}
		if v.Year <= 2019 {
			oldKm, oldN = oldKm+s.OdometerKm, oldN+1
		} else if v.Year >= 2023 {
			newKm, newN = newKm+s.OdometerKm, newN+1
		}
	}
	if share := float64(plugged) / float64(evs); evs < 30 || !between(share, 0.15, 0.55) {
		t.Errorf("%d of %d EVs plugged in, want about a third", plugged, evs)
	}
	if oldN == 0 || newN == 0 || oldKm/float64(oldN) <= 2*newKm/float64(newN) {
		t.Errorf("older cars should have driven further: %d old average %.0f km, %d new average %.0f km",
			oldN, oldKm/float64(oldN), newN, newKm/float64(newN))
	}
}

func TestVehicleStateSeedIsStable(t *testing.T) {
	e := newStateEnv(t)
	fleet := models.SimulatedVehicles("ada@example.com", "TOYOTA")
	for range 2 {
		if err := models.EnsureVehicleStates(e.db, e.app.ID, "ada@example.com", fleet); err != nil {
			t.Fatalf("EnsureVehicleStates: %v", err)
		}
	}
	if n := countRows(t, e.db, "vehicle_states", "app_id = ?", e.app.ID); n != int64(len(fleet)) {
		t.Fatalf("%d rows for %d vehicles after two Ensures", n, len(fleet))
	}

	// An edited state survives a later Ensure; a second app seeds the same vehicle identically.
	first := storedState(t, e.db, e.app.ID, fleet[0].ID)
	e.patch(t, fleet[0].ID, models.VehicleStatePatch{OdometerKm: f64(1234)})
	if err := models.EnsureVehicleStates(e.db, e.app.ID, "ada@example.com", fleet); err != nil {
		t.Fatal(err)
	}
	if got := storedState(t, e.db, e.app.ID, fleet[0].ID).OdometerKm; got != 1234 {
		t.Errorf("Ensure overwrote an edited odometer: %.1f", got)
	}
	other, _ := newApp(t, e.db, newAccount(t, e.db, "bob@example.com"), "Other")
	if err := models.EnsureVehicleStates(e.db, other.ID, "ada@example.com", fleet[:1]); err != nil {
		t.Fatal(err)
	}
	again := storedState(t, e.db, other.ID, fleet[0].ID)
	again.AppID, again.CreatedAt, again.UpdatedAt = first.AppID, first.CreatedAt, first.UpdatedAt
	if again != first {
		t.Errorf("same vehicle seeded differently:\n%+v\n%+v", first, again)
	}
}

func TestVehicleStatesDifferPerVehicle(t *testing.T) {
	e := newStateEnv(t)
	a, b := e.create(t, "ada@example.com", "TESLA", "Model 3"), e.create(t, "ada@example.com", "TESLA", "Model 3")
	if a.VehicleID == b.VehicleID || a.VIN == b.VIN {
		t.Fatalf("two vehicles share an id or VIN: %+v %+v", a, b)
	}
	if a.OdometerKm == b.OdometerKm && a.Latitude == b.Latitude && a.TireFrontLeftKPa == b.TireFrontLeftKPa {
		t.Errorf("two vehicles seeded alike: %+v %+v", a, b)
	}
}

func TestVehicleStateDrift(t *testing.T) {
	e := newStateEnv(t)
	ice := e.create(t, "ada@example.com", "TOYOTA", "Camry")
	e.patch(t, ice.VehicleID, models.VehicleStatePatch{FuelPercent: f64(50)})
	bev := e.create(t, "ada@example.com", "TESLA", "Model Y")
	e.patch(t, bev.VehicleID, models.VehicleStatePatch{BatteryPercent: f64(50), PluggedIn: boolp(false)})
	charging := e.create(t, "ada@example.com", "TESLA", "Model 3")
	e.patch(t, charging.VehicleID, models.VehicleStatePatch{BatteryPercent: f64(50), PluggedIn: boolp(true), Charging: boolp(true)})

	before := map[string]models.VehicleState{}
	for _, id := range []string{ice.VehicleID, bev.VehicleID, charging.VehicleID} {
		before[id] = storedState(t, e.db, e.app.ID, id)
		backdate(t, e.db, e.app.ID, id, 24*time.Hour)
	}

	got := e.load(t, ice.VehicleID)
	if d := got.OdometerKm - before[ice.VehicleID].OdometerKm; !between(d, 28, 42) {
		t.Errorf("ICE drove %.2f km in a day, want about 35", d)
	}
	if got.FuelPercent >= 50 || got.FuelPercent < 40 {
		t.Errorf("ICE fuel after a day = %.2f %%, want a little under 50", got.FuelPercent)
	}
	if got.OilLifePercent >= before[ice.VehicleID].OilLifePercent || got.OilLifePercent < before[ice.VehicleID].OilLifePercent-1 {
		t.Errorf("oil life %.3f → %.3f, want a slow decline", before[ice.VehicleID].OilLifePercent, got.OilLifePercent)
	}

	got = e.load(t, bev.VehicleID)
	if d := got.OdometerKm - before[bev.VehicleID].OdometerKm; !between(d, 28, 42) {
		t.Errorf("BEV drove %.2f km in a day, want about 35", d)
	}
	if !between(got.BatteryPercent, 40, 49.9) {
		t.Errorf("BEV battery after a day = %.2f %%, want a little under 50", got.BatteryPercent)
	}

	got = e.load(t, charging.VehicleID)
	if got.BatteryPercent != 100 || got.Charging || !got.PluggedIn {
		t.Errorf("charging EV after a day: battery %.2f charging %v plugged %v, want 100, stopped, plugged",
			got.BatteryPercent, got.Charging, got.PluggedIn)
	}
	if got.OdometerKm != before[charging.VehicleID].OdometerKm {
		t.Errorf("a plugged-in EV drove: %.2f → %.2f", before[charging.VehicleID].OdometerKm, got.OdometerKm)
	}

	// Two hours of charging from 50 %.
	e.patch(t, charging.VehicleID, models.VehicleStatePatch{BatteryPercent: f64(50), Charging: boolp(true)})
	backdate(t, e.db, e.app.ID, charging.VehicleID, 2*time.Hour)
	if got := e.load(t, charging.VehicleID); !between(got.BatteryPercent, 69.9, 70.1) || !got.Charging {
		t.Errorf("after 2 h charging: %.2f %% charging %v, want 70 and still charging", got.BatteryPercent, got.Charging)
	}
}

func TestVehicleStateDriftStopsWhenEmpty(t *testing.T) {
	e := newStateEnv(t)
	bev := e.create(t, "ada@example.com", "NISSAN", "Leaf") // 40 kWh
	e.patch(t, bev.VehicleID, models.VehicleStatePatch{BatteryPercent: f64(20), PluggedIn: boolp(false)})
	start := storedState(t, e.db, e.app.ID, bev.VehicleID).OdometerKm
	backdate(t, e.db, e.app.ID, bev.VehicleID, 365*24*time.Hour)
	got := e.load(t, bev.VehicleID)
	if got.BatteryPercent != 0 || got.RangeKm() != 0 {
		t.Errorf("after a year: battery %.3f %%, range %.3f, want 0", got.BatteryPercent, got.RangeKm())
	}
	if d := got.OdometerKm - start; math.Abs(d-0.2*40*6) > 0.01 {
		t.Errorf("drove %.2f km on 20 %% of 40 kWh, want 48", d)
	}
}

func TestVehicleStateReadsDoNotWrite(t *testing.T) {
	e := newStateEnv(t)
	s := e.create(t, "ada@example.com", "FORD", "F-150")
	backdate(t, e.db, e.app.ID, s.VehicleID, time.Hour)
	anchor := storedState(t, e.db, e.app.ID, s.VehicleID)
	first := e.load(t, s.VehicleID)
	if _, err := models.ListVehicleStates(e.db, e.app.ID); err != nil {
		t.Fatal(err)
	}
	second := e.load(t, s.VehicleID)
	if after := storedState(t, e.db, e.app.ID, s.VehicleID); after != anchor {
		t.Errorf("a read wrote the row:\n%+v\n%+v", anchor, after)
	}
	if d := second.OdometerKm - first.OdometerKm; d < 0 || d > 0.01 || !second.UpdatedAt.After(anchor.UpdatedAt) {
		t.Errorf("two reads moments apart: odometer %.5f → %.5f", first.OdometerKm, second.OdometerKm)
	}
}

func TestSetLockedPersists(t *testing.T) {
	e := newStateEnv(t)
	// A combustion car always drives (a plugged-in EV stays parked), so the day's drift is never zero.
	s := e.create(t, "ada@example.com", "BMW", "3 Series")
	backdate(t, e.db, e.app.ID, s.VehicleID, 24*time.Hour)
	unlocked, err := models.SetLocked(e.db, e.app.ID, s.VehicleID, false)
	if err != nil || unlocked.Locked {
		t.Fatalf("SetLocked(false) = %+v, %v", unlocked, err)
	}
	row := storedState(t, e.db, e.app.ID, s.VehicleID)
	if row.Locked || time.Since(row.UpdatedAt) > time.Minute {
		t.Errorf("stored after unlock: locked %v, updated %v", row.Locked, row.UpdatedAt)
	}
	if row.OdometerKm != unlocked.OdometerKm || row.OdometerKm <= s.OdometerKm {
		t.Errorf("the day's drift was not saved as the new anchor: %.2f, returned %.2f, seeded %.2f",
			row.OdometerKm, unlocked.OdometerKm, s.OdometerKm)
	}
	if got := e.load(t, s.VehicleID); got.Locked {
		t.Error("LoadVehicleState still reports locked")
	}
	if _, err := models.SetLocked(e.db, e.app.ID, s.VehicleID, true); err != nil || !storedState(t, e.db, e.app.ID, s.VehicleID).Locked {
		t.Errorf("SetLocked(true): %v", err)
	}
	_, err = models.SetLocked(e.db, e.app.ID, "00000000-0000-4000-8000-000000000000", true)
	wantErrorIs(t, err, models.ErrNotFound)
}

func wantVehicleStateError(t *testing.T, err error, code string) {
	t.Helper()
	var se *models.VehicleStateError
	if !errors.As(err, &se) || se.Code != code || se.Error() == "" {
		t.Fatalf("err = %v (%T), want VehicleStateError %s", err, err, code)
	}
}

func TestSetChargingCommands(t *testing.T) {
	e := newStateEnv(t)
	bev := e.create(t, "ada@example.com", "KIA", "EV6")
	e.patch(t, bev.VehicleID, models.VehicleStatePatch{PluggedIn: boolp(false), BatteryPercent: f64(60)})

	_, err := models.SetCharging(e.db, e.app.ID, bev.VehicleID, true)
	wantVehicleStateError(t, err, "CHARGING_PLUG_NOT_CONNECTED")
	if storedState(t, e.db, e.app.ID, bev.VehicleID).Charging {
		t.Error("a refused START was stored")
	}

	e.patch(t, bev.VehicleID, models.VehicleStatePatch{PluggedIn: boolp(true)})
	started, err := models.SetCharging(e.db, e.app.ID, bev.VehicleID, true)
	if err != nil || !started.Charging || !storedState(t, e.db, e.app.ID, bev.VehicleID).Charging {
		t.Fatalf("START after plugging in = %+v, %v", started, err)
	}
	stopped, err := models.SetCharging(e.db, e.app.ID, bev.VehicleID, false)
	if err != nil || stopped.Charging || storedState(t, e.db, e.app.ID, bev.VehicleID).Charging {
		t.Fatalf("STOP = %+v, %v", stopped, err)
	}
	if _, err := models.SetCharging(e.db, e.app.ID, bev.VehicleID, false); err != nil {
		t.Errorf("a second STOP: %v", err)
	}

	e.patch(t, bev.VehicleID, models.VehicleStatePatch{BatteryPercent: f64(100)})
	_, err = models.SetCharging(e.db, e.app.ID, bev.VehicleID, true)
	wantVehicleStateError(t, err, "FULLY_CHARGED")

	for _, model := range []string{"Camry", "Prius"} {
		s := e.create(t, "ada@example.com", "TOYOTA", model)
		_, err := models.SetCharging(e.db, e.app.ID, s.VehicleID, true)
		wantErrorIs(t, err, models.ErrCompatibility)
	}
}

func TestUpdateVehicleStateValidation(t *testing.T) {
	e := newStateEnv(t)
	bev := e.create(t, "ada@example.com", "TESLA", "Model S")
	e.patch(t, bev.VehicleID, models.VehicleStatePatch{PluggedIn: boolp(false)})
	ice := e.create(t, "ada@example.com", "FORD", "F-150")
	cases := []struct {
		name, vehicle, field, code string
		patch                      models.VehicleStatePatch
	}{
		{"negative odometer", bev.VehicleID, "odometer_km", "invalid_odometer", models.VehicleStatePatch{OdometerKm: f64(-1)}},
		{"NaN odometer", bev.VehicleID, "odometer_km", "invalid_odometer", models.VehicleStatePatch{OdometerKm: f64(math.NaN())}},
		{"fuel over 100", ice.VehicleID, "fuel_percent", "invalid_percent", models.VehicleStatePatch{FuelPercent: f64(100.5)}},
		{"battery under 0", bev.VehicleID, "battery_percent", "invalid_percent", models.VehicleStatePatch{BatteryPercent: f64(-0.1)}},
		{"latitude", bev.VehicleID, "latitude", "invalid_latitude", models.VehicleStatePatch{Latitude: f64(90.01)}},
		{"longitude", bev.VehicleID, "longitude", "invalid_longitude", models.VehicleStatePatch{Longitude: f64(-181)}},
		{"fuel on a BEV", bev.VehicleID, "fuel_percent", "not_applicable", models.VehicleStatePatch{FuelPercent: f64(50)}},
		{"battery on an ICE", ice.VehicleID, "battery_percent", "not_applicable", models.VehicleStatePatch{BatteryPercent: f64(50)}},
		{"plugging in an ICE", ice.VehicleID, "plugged_in", "not_applicable", models.VehicleStatePatch{PluggedIn: boolp(true)}},
		{"charging an ICE", ice.VehicleID, "charging", "not_applicable", models.VehicleStatePatch{Charging: boolp(true)}},
		{"charging unplugged", bev.VehicleID, "charging", "not_plugged_in", models.VehicleStatePatch{Charging: boolp(true)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := storedState(t, e.db, e.app.ID, tc.vehicle)
			_, err := models.UpdateVehicleState(e.db, e.app.ID, tc.vehicle, tc.patch)
			wantValidation(t, err, tc.field, tc.code)
			if after := storedState(t, e.db, e.app.ID, tc.vehicle); after != before {
				t.Errorf("a refused edit was stored:\n%+v\n%+v", before, after)
			}
		})
	}

	got := e.patch(t, bev.VehicleID, models.VehicleStatePatch{OdometerKm: f64(0), BatteryPercent: f64(100),
		Latitude: f64(-33.8688), Longitude: f64(151.2093), Locked: boolp(false)})
	row := storedState(t, e.db, e.app.ID, bev.VehicleID)
	if row.OdometerKm != 0 || row.BatteryPercent != 100 || row.Latitude != -33.8688 || row.Longitude != 151.2093 || row.Locked ||
		got.OdometerKm != row.OdometerKm || got.Latitude != row.Latitude {
		t.Errorf("stored %+v, returned %+v", row, got)
	}
	if time.Since(row.UpdatedAt) > time.Minute {
		t.Errorf("edit did not re-anchor: updated_at %v", row.UpdatedAt)
	}
	if _, err := models.UpdateVehicleState(e.db, e.app.ID, ice.VehicleID, models.VehicleStatePatch{PluggedIn: boolp(false), Charging: boolp(false)}); err != nil {
		t.Errorf("unplugged and not charging are harmless on an ICE: %v", err)
	}
}

func TestUpdateVehicleStateUnplugStopsCharging(t *testing.T) {
	e := newStateEnv(t)
	s := e.create(t, "ada@example.com", "AUDI", "Q5 TFSI e")
	e.patch(t, s.VehicleID, models.VehicleStatePatch{BatteryPercent: f64(30), PluggedIn: boolp(true), Charging: boolp(true)})
	if row := storedState(t, e.db, e.app.ID, s.VehicleID); !row.Charging || !row.PluggedIn {
		t.Fatalf("plugged in and charging not stored: %+v", row)
	}
	got := e.patch(t, s.VehicleID, models.VehicleStatePatch{PluggedIn: boolp(false)})
	if row := storedState(t, e.db, e.app.ID, s.VehicleID); got.Charging || row.Charging || row.PluggedIn {
		t.Errorf("after unplugging: returned charging %v, stored %+v", got.Charging, row)
	}
}

func TestCreateSimulatedVehicleValidation(t *testing.T) {
	e := newStateEnv(t)
	cases := []struct {
		name, owner, make, model string
		year                     int
		vin, powertrain          string
		field, code              string
	}{
		{"no owner", "  ", "TESLA", "Model 3", 2022, "", "BEV", "owner", "invalid_owner"},
		{"unknown make", "ada", "DELOREAN", "DMC-12", 1982, "", "ICE", "make", "unknown_make"},
		{"no model", "ada", "TESLA", " ", 2022, "", "BEV", "model", "invalid_model"},
		{"unknown powertrain", "ada", "TESLA", "Roadster", 2022, "", "STEAM", "powertrain", "invalid_powertrain"},
		{"custom model needs a powertrain", "ada", "TESLA", "Roadster", 2022, "", "", "powertrain", "invalid_powertrain"},
		{"short VIN", "ada", "TESLA", "Model 3", 2022, "5YJ3E1EA7KF31758", "", "vin", "invalid_vin"},
		{"VIN with O", "ada", "TESLA", "Model 3", 2022, "5YJ3E1EA7KF3175O8", "", "vin", "invalid_vin"},
		{"year too old", "ada", "TESLA", "Model 3", 1989, "", "", "year", "invalid_year"},
		{"year in the future", "ada", "TESLA", "Model 3", time.Now().Year() + 2, "", "", "year", "invalid_year"},
		{"no year and no VIN", "ada", "TESLA", "Model 3", 0, "", "", "year", "invalid_year"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := models.CreateSimulatedVehicle(e.db, e.app.ID, tc.owner, tc.make, tc.model, tc.year, tc.vin, tc.powertrain)
			wantValidation(t, err, tc.field, tc.code)
		})
	}
	if n := countRows(t, e.db, "vehicle_states", ""); n != 0 {
		t.Errorf("%d vehicles stored by refused creations", n)
	}
	_, err := models.CreateSimulatedVehicle(e.db, "00000000-0000-4000-8000-000000000000", "ada", "TESLA", "Model 3", 2022, "", "")
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.CreateSimulatedVehicle(e.db, "", "ada", "TESLA", "Model 3", 2022, "", "")
	wantErrorIs(t, err, models.ErrNoOrganization)
}

func TestCreateSimulatedVehicle(t *testing.T) {
	e := newStateEnv(t)
	s, err := models.CreateSimulatedVehicle(e.db, e.app.ID, " ada@example.com ", "tesla", "model 3", 0, " 5yj3e1ea7rf317580 ", "")
	if err != nil {
		t.Fatalf("CreateSimulatedVehicle: %v", err)
	}
	if !models.IsUUID(s.VehicleID) || s.Owner != "ada@example.com" || s.Make != "TESLA" || s.Model != "Model 3" ||
		s.Powertrain != models.BEV || s.VIN != "5YJ3E1EA7RF317580" || s.Year != 2024 || s.BatteryCapacityKWh != 60 {
		t.Errorf("created %+v", s)
	}
	if row := storedState(t, e.db, e.app.ID, s.VehicleID); row.VIN != s.VIN || row.OdometerKm != s.OdometerKm {
		t.Errorf("stored %+v", row)
	}

	custom, err := models.CreateSimulatedVehicle(e.db, e.app.ID, "bob", "FORD", "Model T Replica", 2025, "", "ice")
	if err != nil || custom.Model != "Model T Replica" || custom.Powertrain != models.ICE || custom.Year != 2025 {
		t.Fatalf("custom model = %+v, %v", custom, err)
	}
	checkVIN(t, custom.VIN)

	_, err = models.CreateSimulatedVehicle(e.db, e.app.ID, "carol", "TESLA", "Model Y", 2023, "5YJ3E1EA7RF317580", "")
	if c := wantConflict(t, err, "vin_taken"); c.Field != "vin" {
		t.Errorf("conflict field = %q, want vin", c.Field)
	}
	other, _ := newApp(t, e.db, newAccount(t, e.db, "other@example.com"), "Other")
	if _, err := models.CreateSimulatedVehicle(e.db, other.ID, "carol", "TESLA", "Model Y", 2023, "5YJ3E1EA7RF317580", ""); err != nil {
		t.Errorf("the same VIN in another app: %v", err)
	}
}

func TestVehicleStateRangeKm(t *testing.T) {
	cases := []struct {
		name string
		s    models.VehicleState
		want float64
	}{
		{"BEV", models.VehicleState{Powertrain: models.BEV, BatteryPercent: 50, BatteryCapacityKWh: 80}, 240},
		{"ICE", models.VehicleState{Powertrain: models.ICE, FuelPercent: 50, FuelCapacityLiters: 60}, 420},
		{"HEV", models.VehicleState{Powertrain: models.HEV, FuelPercent: 50, FuelCapacityLiters: 40}, 400},
		{"PHEV", models.VehicleState{Powertrain: models.PHEV, BatteryPercent: 50, BatteryCapacityKWh: 16, FuelPercent: 50, FuelCapacityLiters: 40}, 48 + 280},
		{"BEV ignores fuel", models.VehicleState{Powertrain: models.BEV, BatteryPercent: 10, BatteryCapacityKWh: 50, FuelPercent: 90, FuelCapacityLiters: 50}, 30},
		{"empty", models.VehicleState{Powertrain: models.ICE, FuelCapacityLiters: 60}, 0},
	}
	for _, tc := range cases {
		if got := tc.s.RangeKm(); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s RangeKm = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUnitConversions(t *testing.T) {
	cases := []struct {
		name      string
		got, want float64
		tolerance float64
	}{
		{"100 km in miles", models.KmToMiles(100), 62.137, 0.0005},
		{"10 L in US gallons", models.LitersToGallons(10), 2.6417, 0.00005},
		{"250 kPa in psi", models.KPaToPSI(250), 36.26, 0.005},
		{"0 km", models.KmToMiles(0), 0, 0},
	}
	for _, tc := range cases {
		if math.Abs(tc.got-tc.want) > tc.tolerance {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestListVehicleStatesScopedByApp(t *testing.T) {
	e := newStateEnv(t)
	zoe := e.create(t, "zoe@example.com", "AUDI", "A4")
	adamVolvo := e.create(t, "adam@example.com", "VOLVO", "XC90")
	adamBMW := e.create(t, "adam@example.com", "BMW", "i4")
	other, _ := newApp(t, e.db, newAccount(t, e.db, "other@example.com"), "Other")
	foreign, err := models.CreateSimulatedVehicle(e.db, other.ID, "adam@example.com", "BMW", "i4", 2023, "", "")
	if err != nil {
		t.Fatal(err)
	}

	list, err := models.ListVehicleStates(e.db, e.app.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range list {
		got = append(got, s.VehicleID)
		if s.AppID != e.app.ID {
			t.Errorf("listed another app's vehicle %+v", s)
		}
	}
	want := []string{adamBMW.VehicleID, adamVolvo.VehicleID, zoe.VehicleID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listed %v, want %v (by owner, then make)", got, want)
	}

	_, err = models.LoadVehicleState(e.db, other.ID, zoe.VehicleID)
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.LoadVehicleState(e.db, e.app.ID, foreign.VehicleID)
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.LoadVehicleState(e.db, e.app.ID, "not-a-uuid")
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.LoadVehicleState(e.db, "", zoe.VehicleID)
	wantErrorIs(t, err, models.ErrNoOrganization)
	_, err = models.SetLocked(e.db, other.ID, zoe.VehicleID, false)
	wantErrorIs(t, err, models.ErrNotFound)
	_, err = models.ListVehicleStates(e.db, "")
	wantErrorIs(t, err, models.ErrNoOrganization)
	if !storedState(t, e.db, e.app.ID, zoe.VehicleID).Locked {
		t.Error("another app unlocked the vehicle")
	}
}

func TestVehicleStatePinnedIncompatibleRestored(t *testing.T) {
	e := newStateEnv(t)
	pinned := models.ScenarioFor("5YJ3E1EA7RF317580@incompatible", "TESLA").Pinned
	if pinned == nil || pinned.Level() != "incompatible" {
		t.Fatalf("pinned vehicle = %+v", pinned)
	}
	if err := models.EnsureVehicleStates(e.db, e.app.ID, "5yj3e1ea7rf317580@incompatible", []models.Vehicle{*pinned}); err != nil {
		t.Fatal(err)
	}
	s := e.load(t, pinned.ID)
	v := s.Vehicle()
	if s.Level != "incompatible" || v.Level() != "incompatible" || v.ID != pinned.ID || v.VIN != pinned.VIN {
		t.Fatalf("restored %+v (level %q) from %+v", v, v.Level(), s)
	}
	if v.Supports("read_odometer") || !v.Supports("read_vin") {
		t.Error("a restored incompatible vehicle should serve read_vin only, not read_odometer")
	}
	if v != *pinned {
		t.Errorf("restored %+v, pinned %+v", v, *pinned)
	}
	_, err := models.SetCharging(e.db, e.app.ID, pinned.ID, true)
	wantErrorIs(t, err, models.ErrCompatibility)
}

func TestVehicleCallsNewestFirst(t *testing.T) {
	e := newStateEnv(t)
	s := e.create(t, "ada@example.com", "TESLA", "Model 3")
	other := e.create(t, "ada@example.com", "TESLA", "Model Y")
	start := time.Now().UTC().Add(-time.Hour)
	for i, path := range []string{"/odometer", "/battery", "/security", "/charge", "/location"} {
		if err := models.RecordVehicleCall(e.db, models.VehicleCall{AppID: e.app.ID, VehicleID: s.VehicleID, Method: "get",
			Path: path, Status: 200 + i, At: start.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := models.RecordVehicleCall(e.db, models.VehicleCall{AppID: e.app.ID, VehicleID: other.VehicleID, Method: "POST", Path: "/security", Status: 200}); err != nil {
		t.Fatal(err)
	}
	calls, err := models.ListVehicleCalls(e.db, e.app.ID, s.VehicleID, 3)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range calls {
		paths = append(paths, c.Path)
		if c.ID == 0 || c.Method != "GET" || c.VehicleID != s.VehicleID {
			t.Errorf("call %+v", c)
		}
	}
	if fmt.Sprint(paths) != "[/location /charge /security]" {
		t.Errorf("newest 3 = %v", paths)
	}
	if !calls[0].At.Equal(start.Add(4*time.Minute).Truncate(time.Microsecond)) || calls[0].Status != 204 {
		t.Errorf("newest call = %+v", calls[0])
	}
	if calls, _ := models.ListVehicleCalls(e.db, e.app.ID, other.VehicleID, 10); len(calls) != 1 || calls[0].At.IsZero() {
		t.Errorf("other vehicle's calls = %+v", calls)
	}
	otherApp, _ := newApp(t, e.db, newAccount(t, e.db, "other@example.com"), "Other")
	if calls, _ := models.ListVehicleCalls(e.db, otherApp.ID, s.VehicleID, 10); len(calls) != 0 {
		t.Errorf("another app sees %d calls", len(calls))
	}
}

func TestVehicleCallsLogStaysBounded(t *testing.T) {
	e := newStateEnv(t)
	s := e.create(t, "ada@example.com", "TESLA", "Model 3")
	for range 130 {
		if err := models.RecordVehicleCall(e.db, models.VehicleCall{AppID: e.app.ID, VehicleID: s.VehicleID, Method: "GET", Path: "/vin", Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, e.db, "vehicle_api_calls", "vehicle_id = ?", s.VehicleID); n < 100 || n > 125 {
		t.Errorf("%d calls kept of 130, want 100 to 125", n)
	}
	if calls, _ := models.ListVehicleCalls(e.db, e.app.ID, s.VehicleID, 1000); len(calls) != 100 {
		t.Errorf("ListVehicleCalls(1000) returned %d, want the cap of 100", len(calls))
	}
}
