package models

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// CreateSimulatedVehicle adds a vehicle to the app for the simulator and returns its seeded state. make is a
// known make id; model any name (a catalogue model of the make is spelled as the catalogue spells it, and lends
// its powertrain when powertrain is empty); year 1990 to next year, or 0 to read it from the VIN; vin 17 VIN
// characters, or empty for a generated "0SC…" one. A VIN another vehicle of the app has is a ConflictError.
func CreateSimulatedVehicle(db *gorm.DB, appID, owner, makeID, model string, year int, vin, powertrain string) (VehicleState, error) {
	if appID == "" {
		return VehicleState{}, ErrNoOrganization
	}
	owner = strings.TrimSpace(owner)
	if owner == "" || utf8.RuneCountInString(owner) > 254 {
		return VehicleState{}, Invalid("owner", "invalid_owner", "Enter the owner (an email or user id, up to 254 characters).")
	}
	v, err := newSimulatedVehicle(makeID, model, year, vin, powertrain)
	if err != nil {
		return VehicleState{}, err
	}
	s := seedVehicleState(appID, owner, v, simNow())
	err = db.Transaction(func(tx *gorm.DB) error {
		if IsPostgres(tx) {
			// No unique index on (app_id, vin): serialise this app's creations so the check below holds.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext(?))", "vehicle_states|"+appID).Error; err != nil {
				return err
			}
		}
		var n int64
		if err := tx.Table("vehicle_states").Where("app_id = ? AND vin = ?", appID, v.VIN).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return Conflict("vin_taken", "vin", "Another vehicle of this app already has this VIN.")
		}
		return tx.Table("vehicle_states").Create(&s).Error
	})
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return VehicleState{}, ErrNotFound
	}
	if err != nil {
		return VehicleState{}, err
	}
	return s, nil
}

// newSimulatedVehicle checks and completes the simulator's create form.
func newSimulatedVehicle(makeID, model string, year int, vin, powertrain string) (Vehicle, error) {
	m, ok := FindMake(makeID)
	if !ok {
		return Vehicle{}, Invalid("make", "unknown_make", "Choose a make from the list.")
	}
	model = strings.TrimSpace(model)
	if model == "" || utf8.RuneCountInString(model) > 60 {
		return Vehicle{}, Invalid("model", "invalid_model", "Name the model (1–60 characters).")
	}
	powertrain = strings.ToUpper(strings.TrimSpace(powertrain))
	for _, vm := range m.Models {
		if strings.EqualFold(vm.Name, model) {
			model = vm.Name
			if powertrain == "" {
				powertrain = vm.Powertrain
			}
		}
	}
	if powertrain != BEV && powertrain != PHEV && powertrain != HEV && powertrain != ICE {
		return Vehicle{}, Invalid("powertrain", "invalid_powertrain", "Choose a powertrain: BEV, PHEV, HEV or ICE.")
	}
	vin = strings.ToUpper(strings.TrimSpace(vin))
	if vin != "" && !simValidVIN(vin) {
		return Vehicle{}, Invalid("vin", "invalid_vin", "A VIN is 17 letters and digits, without I, O or Q.")
	}
	latest := time.Now().Year() + 1
	if year == 0 && vin != "" {
		year = vinModelYear(vin, latest)
	}
	if year < 1990 || year > latest {
		return Vehicle{}, Invalid("year", "invalid_year", "Enter a model year from 1990 to "+strconv.Itoa(latest)+", or a VIN.")
	}
	id := newID()
	if vin == "" {
		h := sha256.Sum256([]byte("vin|" + id))
		vin = simVIN(h[:14])
	}
	return Vehicle{ID: id, VIN: vin, Make: m.ID, Model: model, Year: year, Powertrain: powertrain}, nil
}

// vinModelYear decodes a VIN's 10th character: 1–9 are 2001–2009, A–Y (no I, O, Q, U, Z) 2010–2030 or 30
// years earlier; the latest cycle not after latest wins. 0 when the character is not a year code.
func vinModelYear(vin string, latest int) int {
	const letters = "ABCDEFGHJKLMNPRSTVWXY"
	c := vin[9]
	if c >= '1' && c <= '9' {
		return 2000 + int(c-'0')
	}
	i := strings.IndexByte(letters, c)
	if i < 0 {
		return 0
	}
	y := 2010 + i
	for y > latest {
		y -= 30
	}
	return y
}

// simBatteryKWh is the usable battery of the catalogue's BEVs (rounded; within the simulator's 40–110 kWh).
var simBatteryKWh = map[string]float64{
	"ZDX": 102, "e-tron GT": 93, "i4": 84, "Lyriq": 102, "Bolt EV": 65, "Mustang Mach-E": 91, "Hummer EV": 110,
	"Prologue": 85, "Ioniq 5": 77, "I-PACE": 90, "EV6": 77, "RZ": 72, "EQS": 108, "Cooper SE": 40, "Leaf": 40,
	"Ariya": 87, "Polestar 2": 78, "Polestar 3": 107, "Taycan": 93, "R1T": 105, "R1S": 105, "Solterra": 72,
	"Model 3": 60, "Model Y": 75, "Model S": 100, "Model X": 100, "bZ4X": 71, "ID.4": 82, "EX30": 64,
}

// simCities are city centres simulated vehicles are parked near.
var simCities = [...]struct{ lat, lng float64 }{
	{37.7749, -122.4194}, // San Francisco
	{40.7128, -74.0060},  // New York
	{41.8781, -87.6298},  // Chicago
	{30.2672, -97.7431},  // Austin
	{47.6062, -122.3321}, // Seattle
	{42.3601, -71.0589},  // Boston
	{52.5200, 13.4050},   // Berlin
	{48.8566, 2.3522},    // Paris
	{52.3676, 4.9041},    // Amsterdam
	{51.5074, -0.1278},   // London
}

// seedVehicleState is a believable first state for v, derived from sha256 of its id alone so every replica
// (and every later Ensure) seeds the same values.
func seedVehicleState(appID, owner string, v Vehicle, now time.Time) VehicleState {
	h := sha256.Sum256([]byte("vehicle-state|" + v.ID))
	f := func(i int) float64 { return float64(binary.BigEndian.Uint16(h[2*i:])) / 65535 } // i in 0..14
	s := VehicleState{AppID: appID, VehicleID: v.ID, Owner: owner, Make: v.Make, Model: v.Model, VIN: v.VIN,
		Powertrain: v.Powertrain, Level: v.Level(), Year: v.Year, Locked: true, ChargeLimit: 1, CreatedAt: now, UpdatedAt: now}

	// About 13,000 km a year, give or take 40 %.
	age := float64(max(0, simReferenceYear-v.Year)) + 0.5
	s.OdometerKm = RoundTo(min(120000, max(5000, age*13000*(0.6+0.8*f(0)))), 1)
	city := simCities[int(h[31])%len(simCities)]
	s.Latitude = RoundTo(city.lat+(f(1)-0.5)*0.06, 6)
	s.Longitude = RoundTo(city.lng+(f(2)-0.5)*0.08, 6)
	s.TireFrontLeftKPa = math.Round(220 + 30*f(3))
	s.TireFrontRightKPa = math.Round(220 + 30*f(4))
	s.TireBackLeftKPa = math.Round(220 + 30*f(5))
	s.TireBackRightKPa = math.Round(220 + 30*f(6))
	if s.BurnsFuel() {
		s.FuelPercent = RoundTo(20+75*f(7), 1)
		s.OilLifePercent = RoundTo(15+85*f(8), 1)
		s.FuelCapacityLiters = math.Round(45 + 35*f(9))
		if s.Powertrain == PHEV {
			s.FuelCapacityLiters = math.Round(35 + 10*f(9))
		}
	}
	if s.Electric() {
		s.BatteryPercent = RoundTo(20+75*f(10), 1)
		s.BatteryCapacityKWh = RoundTo(10+10*f(11), 1)
		if s.Powertrain == BEV {
			s.BatteryCapacityKWh = simBatteryKWh[v.Model]
			if s.BatteryCapacityKWh == 0 {
				s.BatteryCapacityKWh = math.Round(50 + 45*f(11))
			}
		}
		s.PluggedIn = h[30]%3 == 0
		s.Charging = s.PluggedIn && s.BatteryPercent < 100
	}
	return s
}

// RoundTo rounds v to places decimals.
func RoundTo(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
