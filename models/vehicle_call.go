package models

import (
	"strings"
	"time"

	"gorm.io/gorm"
)

// VehicleCall is one vehicle API call, listed on the simulator page.
type VehicleCall struct {
	ID                             int64
	AppID, VehicleID, Method, Path string
	Status                         int
	At                             time.Time
}

// vehicleCallsKept is how many calls per vehicle the log keeps, at least.
const vehicleCallsKept = 100

// RecordVehicleCall logs one API call to a vehicle (At defaults to now). Every 25th call trims the vehicle's log
// to its newest vehicleCallsKept, so the table stays small without a delete on every call.
func RecordVehicleCall(db *gorm.DB, call VehicleCall) error {
	if call.AppID == "" {
		return ErrNoOrganization
	}
	call.ID = 0
	if call.At.IsZero() {
		call.At = time.Now()
	}
	call.At = call.At.UTC().Truncate(time.Microsecond)
	call.Method = strings.ToUpper(call.Method)
	if len(call.Path) > 300 {
		call.Path = call.Path[:300]
	}
	if err := db.Table("vehicle_api_calls").Create(&call).Error; err != nil {
		return err
	}
	if call.ID%25 != 0 {
		return nil
	}
	return db.Exec(`DELETE FROM vehicle_api_calls WHERE app_id = ? AND vehicle_id = ? AND id <= (
		SELECT id FROM vehicle_api_calls WHERE app_id = ? AND vehicle_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		call.AppID, call.VehicleID, call.AppID, call.VehicleID, vehicleCallsKept).Error
}

// ListVehicleCalls returns a vehicle's newest n calls (1–100; 20 when n ≤ 0), newest first.
func ListVehicleCalls(db *gorm.DB, appID, vehicleID string, n int) ([]VehicleCall, error) {
	if appID == "" {
		return nil, ErrNoOrganization
	}
	if n <= 0 {
		n = 20
	}
	n = min(n, vehicleCallsKept)
	var calls []VehicleCall
	err := db.Table("vehicle_api_calls").Where("app_id = ? AND vehicle_id = ?", appID, vehicleID).
		Order("id DESC").Limit(n).Find(&calls).Error
	for i := range calls {
		calls[i].At = calls[i].At.UTC()
	}
	return calls, err
}
