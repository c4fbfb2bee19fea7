package models_test

import (
	"errors"
	"testing"
	"time"

	"keyfob/models"
)

func TestParseChargeLimit(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want float64
		ok   bool
	}{
		{"0.8", 0.8, true}, {" 0.5 ", 0.5, true}, {"1", 1, true}, {"1.0", 1, true}, {"0.75", 0.75, true},
		{"0.49", 0, false}, {"1.01", 0, false}, {"80", 0, false}, {"-0.8", 0, false}, {"", 0, false},
		{"abc", 0, false}, {"NaN", 0, false}, {"Inf", 0, false}, {"0.8%", 0, false},
	} {
		got, err := models.ParseChargeLimit(tc.raw)
		if tc.ok != (err == nil) || (tc.ok && got != tc.want) {
			t.Errorf("ParseChargeLimit(%q) = %v, %v; want %v ok=%v", tc.raw, got, err, tc.want, tc.ok)
		}
		if !tc.ok && models.FieldErrors(err)["limit"] == "" {
			t.Errorf("ParseChargeLimit(%q): want a validation error on limit, got %v", tc.raw, err)
		}
	}
}

// TestChargeLimitStopsCharging: a new vehicle charges to full; with a limit it stops there, reports
// FULLY_CHARGED, refuses to start at the limit, and lowering the limit under the charge stops charging.
func TestChargeLimitStopsCharging(t *testing.T) {
	e := newStateEnv(t)
	bev := e.create(t, "ada@example.com", "TESLA", "Model 3")
	if bev.ChargeLimit != 1 || storedState(t, e.db, e.app.ID, bev.VehicleID).ChargeLimit != 1 {
		t.Fatalf("a new vehicle charges to full: limit %v", bev.ChargeLimit)
	}
	e.patch(t, bev.VehicleID, models.VehicleStatePatch{BatteryPercent: f64(50), PluggedIn: boolp(true), Charging: boolp(true)})
	set, err := models.SetChargeLimit(e.db, e.app.ID, bev.VehicleID, 0.8)
	if err != nil || set.ChargeLimit != 0.8 || !set.Charging || storedState(t, e.db, e.app.ID, bev.VehicleID).ChargeLimit != 0.8 {
		t.Fatalf("SetChargeLimit 0.8: %+v %v", set, err)
	}
	backdate(t, e.db, e.app.ID, bev.VehicleID, 24*time.Hour)
	got := e.load(t, bev.VehicleID)
	if got.BatteryPercent != 80 || got.Charging || got.ChargeState() != "FULLY_CHARGED" {
		t.Fatalf("after a day at a 0.8 limit: %.2f %% charging %v state %s", got.BatteryPercent, got.Charging, got.ChargeState())
	}
	_, err = models.SetCharging(e.db, e.app.ID, bev.VehicleID, true)
	wantVehicleStateError(t, err, "FULLY_CHARGED")

	got, err = models.SetChargeLimit(e.db, e.app.ID, bev.VehicleID, 0.9)
	if err != nil || got.ChargeState() != "NOT_CHARGING" {
		t.Fatalf("raising the limit: %+v %v", got, err)
	}
	if got, err = models.SetCharging(e.db, e.app.ID, bev.VehicleID, true); err != nil || !got.Charging {
		t.Fatalf("start below the new limit: %+v %v", got, err)
	}
	if got, err = models.SetChargeLimit(e.db, e.app.ID, bev.VehicleID, 0.5); err != nil || got.Charging || got.BatteryPercent < 80 {
		t.Fatalf("a limit under the charge stops charging and keeps the charge: %+v %v", got, err)
	}

	for _, bad := range []float64{0.49, 1.5, 0} {
		if _, err := models.SetChargeLimit(e.db, e.app.ID, bev.VehicleID, bad); models.FieldErrors(err)["limit"] == "" {
			t.Errorf("SetChargeLimit(%v): %v, want a validation error", bad, err)
		}
	}
	ice := e.create(t, "ada@example.com", "TOYOTA", "Camry")
	if _, err := models.SetChargeLimit(e.db, e.app.ID, ice.VehicleID, 0.8); !errors.Is(err, models.ErrCompatibility) {
		t.Fatalf("a fuel car has no charge limit: %v", err)
	}
	if _, err := models.UpdateVehicleState(e.db, e.app.ID, ice.VehicleID, models.VehicleStatePatch{ChargeLimit: f64(0.8)}); models.FieldErrors(err)["charge_limit"] == "" {
		t.Fatalf("the simulator refuses a fuel car's charge limit: %v", err)
	}
	if _, err := models.UpdateVehicleState(e.db, e.app.ID, bev.VehicleID, models.VehicleStatePatch{ChargeLimit: f64(0.3)}); models.FieldErrors(err)["charge_limit"] == "" {
		t.Fatalf("the simulator refuses a limit under 0.5: %v", err)
	}
	if got := e.patch(t, bev.VehicleID, models.VehicleStatePatch{ChargeLimit: f64(0.7)}); got.ChargeLimit != 0.7 {
		t.Fatalf("the simulator sets the limit: %+v", got)
	}
	if _, err := models.SetChargeLimit(e.db, e.app.ID, "00000000-0000-4000-8000-000000000000", 0.8); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown vehicle: %v", err)
	}
}
