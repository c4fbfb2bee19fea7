package models

import (
	"errors"
	"math"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrCompatibility is a command the vehicle's powertrain cannot carry out (charging a combustion car): 501 COMPATIBILITY.
var ErrCompatibility = errors.New("this vehicle does not support this command")

// VehicleState is a simulated vehicle's state: the values it had at UpdatedAt. The stored row is the anchor;
// LoadVehicleState and ListVehicleStates return it drifted to the moment of the read, with UpdatedAt set to
// that moment, so a returned value always describes the vehicle at its UpdatedAt.
type VehicleState struct {
	AppID, VehicleID, Owner, Make, Model string
	VIN                                  string `gorm:"column:vin"`
	Powertrain, Level                    string
	Year                                 int

	OdometerKm, FuelPercent, FuelCapacityLiters, BatteryPercent float64
	BatteryCapacityKWh                                          float64 `gorm:"column:battery_capacity_kwh"`
	PluggedIn, Charging, Locked                                 bool
	ChargeLimit                                                 float64 // charging stops at this fraction of the battery
	Latitude, Longitude                                         float64

	TireFrontLeftKPa  float64 `gorm:"column:tire_front_left_kpa"`
	TireFrontRightKPa float64 `gorm:"column:tire_front_right_kpa"`
	TireBackLeftKPa   float64 `gorm:"column:tire_back_left_kpa"`
	TireBackRightKPa  float64 `gorm:"column:tire_back_right_kpa"`
	OilLifePercent    float64

	CreatedAt, UpdatedAt time.Time
}

// How the simulation drives and charges.
const (
	simKmPerDay         = 35.0    // steady driving while not plugged in
	simKmPerKWh         = 6.0     // electric efficiency
	simKmPerLiter       = 14.0    // a combustion engine (ICE, and a PHEV once its battery is empty)
	simHybridKmPerLiter = 20.0    // a full hybrid recovers braking energy
	simChargePerHour    = 10.0    // percentage points an hour while charging
	simOilLifeKm        = 15000.0 // engine km from fresh oil (100 %) to 0 %
	// simReferenceYear dates seeded odometers, so a vehicle's seed never changes with the calendar.
	simReferenceYear = 2025
)

// Electric reports whether the vehicle has a traction battery that can be plugged in.
func (s VehicleState) Electric() bool { return s.Powertrain == BEV || s.Powertrain == PHEV }

// BurnsFuel reports whether the vehicle has a fuel tank (and engine oil).
func (s VehicleState) BurnsFuel() bool { return s.Powertrain != BEV }

func (s VehicleState) kmPerLiter() float64 {
	if s.Powertrain == HEV {
		return simHybridKmPerLiter
	}
	return simKmPerLiter
}

func (s VehicleState) electricRangeKm() float64 {
	if !s.Electric() {
		return 0
	}
	return s.BatteryPercent / 100 * s.BatteryCapacityKWh * simKmPerKWh
}

func (s VehicleState) fuelRangeKm() float64 {
	if !s.BurnsFuel() {
		return 0
	}
	return s.FuelPercent / 100 * s.FuelCapacityLiters * s.kmPerLiter()
}

// Vehicle is the vehicle the state belongs to, its test-mode level included, so Supports answers as it did
// when the vehicle was connected.
func (s VehicleState) Vehicle() Vehicle {
	return RestoreVehicle(s.VehicleID, s.VIN, s.Make, s.Model, s.Year, s.Powertrain, s.Level)
}

// RangeKm is the distance the vehicle can still go: battery % × capacity × 6 km/kWh for a BEV, fuel % × capacity
// × 14 km/L for an ICE (20 km/L for an HEV), both added for a PHEV.
func (s VehicleState) RangeKm() float64 { return s.electricRangeKm() + s.fuelRangeKm() }

// chargeLimitPercent is the charge limit in percent (100 for a state stored before limits existed).
func (s VehicleState) chargeLimitPercent() float64 {
	if s.ChargeLimit <= 0 {
		return 100
	}
	return s.ChargeLimit * 100
}

// at returns the state at now, a pure function of the anchor and the time since it: a plugged-in vehicle stays
// parked and, while charging, gains 10 points an hour until it reaches its charge limit; any other vehicle has
// been driven 35 km a day (a PHEV on its battery first), until its energy ran out. Location and tyres do not drift.
func (s VehicleState) at(now time.Time) VehicleState {
	hours := max(0, now.Sub(s.UpdatedAt).Hours())
	s.UpdatedAt = now
	if !s.Electric() {
		s.PluggedIn = false
	}
	limit := s.chargeLimitPercent()
	s.Charging = s.Charging && s.PluggedIn && s.BatteryPercent < limit
	if s.PluggedIn {
		if s.Charging {
			s.BatteryPercent = min(limit, s.BatteryPercent+simChargePerHour*hours)
		}
	} else {
		s.drive(simKmPerDay * hours / 24)
	}
	s.Charging = s.Charging && s.BatteryPercent < limit
	return s
}

// drive moves the vehicle up to km, as far as its battery and fuel allow.
func (s *VehicleState) drive(km float64) {
	if s.Electric() && s.BatteryCapacityKWh > 0 {
		e := min(km, s.electricRangeKm())
		s.BatteryPercent = max(0, s.BatteryPercent-e/simKmPerKWh/s.BatteryCapacityKWh*100)
		s.OdometerKm += e
		km -= e
	}
	if s.BurnsFuel() && s.FuelCapacityLiters > 0 {
		f := min(km, s.fuelRangeKm())
		s.FuelPercent = max(0, s.FuelPercent-f/s.kmPerLiter()/s.FuelCapacityLiters*100)
		s.OilLifePercent = max(0, s.OilLifePercent-f/simOilLifeKm*100)
		s.OdometerKm += f
	}
}

// simNow is the anchor time of a write, at the precision both databases keep, so what a write returns is
// exactly what the next read starts from.
func simNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// EnsureVehicleStates gives each of appID's vehicles that has no state yet a seeded one (existing states are
// kept as they are), in tx. The seed depends only on the vehicle (see seedVehicleState).
func EnsureVehicleStates(tx *gorm.DB, appID, owner string, vehicles []Vehicle) error {
	if appID == "" {
		return ErrNoOrganization
	}
	if len(vehicles) == 0 {
		return nil
	}
	now := simNow()
	rows := make([]VehicleState, 0, len(vehicles))
	for _, v := range vehicles {
		rows = append(rows, seedVehicleState(appID, owner, v, now))
	}
	return tx.Table("vehicle_states").
		Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "app_id"}, {Name: "vehicle_id"}}, DoNothing: true}).
		Create(&rows).Error
}

// LoadVehicleState reads one of appID's vehicles as it is now (drift applied). It never writes.
// Another app's vehicle and an unknown one are ErrNotFound.
func LoadVehicleState(db *gorm.DB, appID, vehicleID string) (VehicleState, error) {
	s, err := findVehicleState(db, appID, vehicleID)
	if err != nil {
		return VehicleState{}, err
	}
	return s.at(simNow()), nil
}

// ListVehicleStates lists appID's vehicles as they are now, by owner, then make, model and id.
func ListVehicleStates(db *gorm.DB, appID string) ([]VehicleState, error) {
	if appID == "" {
		return nil, ErrNoOrganization
	}
	var rows []VehicleState
	if err := db.Table("vehicle_states").Where("app_id = ?", appID).
		Order("owner, make, model, vehicle_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	now := simNow()
	for i := range rows {
		rows[i] = utcTimes(rows[i]).at(now)
	}
	return rows, nil
}

// findVehicleState reads the stored anchor.
func findVehicleState(db *gorm.DB, appID, vehicleID string) (VehicleState, error) {
	if appID == "" {
		return VehicleState{}, ErrNoOrganization
	}
	if !IsUUID(vehicleID) {
		return VehicleState{}, ErrNotFound
	}
	var s VehicleState
	err := db.Table("vehicle_states").Where("app_id = ? AND vehicle_id = ?", appID, vehicleID).Take(&s).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return VehicleState{}, ErrNotFound
	}
	return utcTimes(s), err
}

func utcTimes(s VehicleState) VehicleState {
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s
}

// VehicleStateError is a command the vehicle cannot carry out in its current state: Smartcar's 409 VEHICLE_STATE.
type VehicleStateError struct {
	Code        string
	Description string
}

func (e *VehicleStateError) Error() string { return e.Description }

// SetLocked locks or unlocks the vehicle.
func SetLocked(db *gorm.DB, appID, vehicleID string, locked bool) (VehicleState, error) {
	return changeVehicleState(db, appID, vehicleID, func(s *VehicleState) error {
		s.Locked = locked
		return nil
	})
}

// SetCharging starts or stops charging. A vehicle that cannot charge is ErrCompatibility; starting needs the
// plug connected (CHARGING_PLUG_NOT_CONNECTED) and the battery below its charge limit (FULLY_CHARGED).
// Stopping is idempotent.
func SetCharging(db *gorm.DB, appID, vehicleID string, start bool) (VehicleState, error) {
	return changeVehicleState(db, appID, vehicleID, func(s *VehicleState) error {
		switch {
		case !s.Vehicle().Supports("control_charge") || !s.Electric():
			return ErrCompatibility
		case !start:
			s.Charging = false
		case !s.PluggedIn:
			return &VehicleStateError{Code: "CHARGING_PLUG_NOT_CONNECTED",
				Description: "The vehicle cannot start charging because its charging cable is not plugged in."}
		case s.BatteryPercent >= s.chargeLimitPercent():
			return &VehicleStateError{Code: "FULLY_CHARGED",
				Description: "The vehicle cannot start charging because its battery is already at its charge limit."}
		default:
			s.Charging = true
		}
		return nil
	})
}

// VehicleStatePatch is an edit from the console's Vehicle Simulator; nil fields stay as they are.
type VehicleStatePatch struct {
	OdometerKm, FuelPercent, BatteryPercent, Latitude, Longitude *float64
	ChargeLimit                                                  *float64 // a fraction, 0.5–1.0
	PluggedIn, Charging, Locked                                  *bool
}

// validate checks the ranges that do not depend on the vehicle.
func (p VehicleStatePatch) validate() error {
	within := func(v *float64, lo, hi float64) bool {
		return v == nil || (!math.IsNaN(*v) && *v >= lo && *v <= hi)
	}
	switch {
	case !within(p.OdometerKm, 0, 10_000_000):
		return Invalid("odometer_km", "invalid_odometer", "Enter an odometer reading of 0 km or more.")
	case !within(p.FuelPercent, 0, 100):
		return Invalid("fuel_percent", "invalid_percent", "Enter a fuel level from 0 to 100 %.")
	case !within(p.BatteryPercent, 0, 100):
		return Invalid("battery_percent", "invalid_percent", "Enter a charge level from 0 to 100 %.")
	case !within(p.Latitude, -90, 90):
		return Invalid("latitude", "invalid_latitude", "Enter a latitude from -90 to 90.")
	case !within(p.Longitude, -180, 180):
		return Invalid("longitude", "invalid_longitude", "Enter a longitude from -180 to 180.")
	case p.ChargeLimit != nil:
		return checkChargeLimit("charge_limit", *p.ChargeLimit)
	}
	return nil
}

// apply sets the patch's fields on s, refusing what its powertrain does not have. Unplugging stops charging.
func (p VehicleStatePatch) apply(s *VehicleState) error {
	switch {
	case p.FuelPercent != nil && !s.BurnsFuel():
		return Invalid("fuel_percent", "not_applicable", "This vehicle is a BEV: it has no fuel tank.")
	case p.BatteryPercent != nil && !s.Electric():
		return Invalid("battery_percent", "not_applicable", "This vehicle has no plug-in battery.")
	case p.PluggedIn != nil && *p.PluggedIn && !s.Electric():
		return Invalid("plugged_in", "not_applicable", "This vehicle cannot be plugged in.")
	case p.Charging != nil && *p.Charging && !s.Electric():
		return Invalid("charging", "not_applicable", "This vehicle cannot charge.")
	case p.ChargeLimit != nil && !s.Electric():
		return Invalid("charge_limit", "not_applicable", "This vehicle has no plug-in battery to limit.")
	}
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.OdometerKm, p.OdometerKm)
	set(&s.FuelPercent, p.FuelPercent)
	set(&s.BatteryPercent, p.BatteryPercent)
	set(&s.Latitude, p.Latitude)
	set(&s.Longitude, p.Longitude)
	set(&s.ChargeLimit, p.ChargeLimit)
	if p.Locked != nil {
		s.Locked = *p.Locked
	}
	if p.PluggedIn != nil {
		s.PluggedIn = *p.PluggedIn && s.Electric()
	}
	if p.Charging != nil {
		s.Charging = *p.Charging && s.Electric()
	}
	if s.Charging && !s.PluggedIn {
		if p.Charging != nil && p.PluggedIn == nil {
			return Invalid("charging", "not_plugged_in", "Plug the vehicle in before it can charge.")
		}
		s.Charging = false
	}
	return nil
}

// UpdateVehicleState edits a vehicle's state from the simulator; the result is the new anchor.
func UpdateVehicleState(db *gorm.DB, appID, vehicleID string, p VehicleStatePatch) (VehicleState, error) {
	if err := p.validate(); err != nil {
		return VehicleState{}, err
	}
	return changeVehicleState(db, appID, vehicleID, p.apply)
}

// changeVehicleState re-anchors a vehicle at now: it reads the row (locked on PostgreSQL so concurrent commands
// queue), drifts it to now, lets change edit it, and saves every mutable value with updated_at = now.
func changeVehicleState(db *gorm.DB, appID, vehicleID string, change func(*VehicleState) error) (VehicleState, error) {
	var s VehicleState
	err := db.Transaction(func(tx *gorm.DB) error {
		stored, err := findVehicleState(tx.Clauses(clause.Locking{Strength: "UPDATE"}), appID, vehicleID)
		if err != nil {
			return err
		}
		now := simNow()
		s = stored.at(now)
		if err := change(&s); err != nil {
			return err
		}
		s = s.at(now) // re-applies the invariants: charging needs a plug and stops when full
		return tx.Table("vehicle_states").Where("app_id = ? AND vehicle_id = ?", appID, vehicleID).
			Updates(map[string]any{
				"odometer_km": s.OdometerKm, "fuel_percent": s.FuelPercent, "battery_percent": s.BatteryPercent,
				"plugged_in": s.PluggedIn, "charging": s.Charging, "locked": s.Locked, "charge_limit": s.ChargeLimit,
				"latitude": s.Latitude, "longitude": s.Longitude, "oil_life_percent": s.OilLifePercent, "updated_at": now,
			}).Error
	})
	if err != nil {
		return VehicleState{}, err
	}
	return s, nil
}

// KmToMiles converts kilometres to miles (sc-unit-system: imperial).
func KmToMiles(km float64) float64 { return km / 1.609344 }

// LitersToGallons converts litres to US gallons.
func LitersToGallons(l float64) float64 { return l / 3.785411784 }

// KPaToPSI converts kilopascals to pounds per square inch.
func KPaToPSI(kpa float64) float64 { return kpa / 6.894757293168 }

// ChargeState is Smartcar's charging state: CHARGING, FULLY_CHARGED (plugged in at its charge limit) or
// NOT_CHARGING.
func (s VehicleState) ChargeState() string {
	switch {
	case s.Charging:
		return "CHARGING"
	case s.PluggedIn && s.BatteryPercent >= s.chargeLimitPercent():
		return "FULLY_CHARGED"
	}
	return "NOT_CHARGING"
}
