package models

import (
	"math"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// The charge limits a simulated vehicle accepts, as fractions of its battery (Smartcar's range).
const (
	MinChargeLimit = 0.5
	MaxChargeLimit = 1.0
)

// chargeLimitMessage explains the range to API callers and to the simulator's form alike.
const chargeLimitMessage = "The charge limit is a fraction of the battery from 0.5 to 1.0 (50 to 100 %)."

// ParseChargeLimit reads a charge limit written as a decimal number, "0.8" (Smartcar's SDKs send it as a
// string) or 0.8, and checks its range.
func ParseChargeLimit(raw string) (float64, error) {
	limit, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil {
		return 0, Invalid("limit", "invalid_charge_limit", chargeLimitMessage)
	}
	return limit, checkChargeLimit("limit", limit)
}

// checkChargeLimit refuses a limit outside 0.5–1.0 (NaN included), naming field.
func checkChargeLimit(field string, limit float64) error {
	if math.IsNaN(limit) || limit < MinChargeLimit || limit > MaxChargeLimit {
		return Invalid(field, "invalid_charge_limit", chargeLimitMessage)
	}
	return nil
}

// SetChargeLimit sets the fraction of the battery charging stops at; lowering it below the current charge
// stops charging. A vehicle without a plug-in battery is ErrCompatibility.
func SetChargeLimit(db *gorm.DB, appID, vehicleID string, limit float64) (VehicleState, error) {
	if err := checkChargeLimit("limit", limit); err != nil {
		return VehicleState{}, err
	}
	return changeVehicleState(db, appID, vehicleID, func(s *VehicleState) error {
		if !s.Electric() {
			return ErrCompatibility
		}
		s.ChargeLimit = limit
		return nil
	})
}
