package models

import "strings"

// Permission is a scope an app can ask for, with the plain words Connect shows the owner.
type Permission struct {
	Name        string
	Description string
}

// Permissions is every permission of Smartcar's v2 API that Keyfob simulates, in the order Connect lists them.
var Permissions = []Permission{
	{"read_vehicle_info", "Know make, model and year"},
	{"read_vin", "Read the vehicle identification number (VIN)"},
	{"read_odometer", "Read the odometer"},
	{"read_location", "Access the vehicle's location"},
	{"read_fuel", "Read the fuel tank level"},
	{"read_battery", "Read the EV battery's level and range"},
	{"read_charge", "Know whether the vehicle is charging"},
	{"read_tires", "Read tire pressure"},
	{"read_engine_oil", "Read engine oil life"},
	{"read_security", "Know whether the doors are locked"},
	{"control_security", "Lock and unlock the vehicle"},
	{"control_charge", "Start and stop charging"},
}

// FindPermission looks a permission up by name.
func FindPermission(name string) (Permission, bool) {
	for _, p := range Permissions {
		if p.Name == name {
			return p, true
		}
	}
	return Permission{}, false
}

// checkPermissionNames refuses a scope list holding an unknown permission ("required:" marks allowed).
func checkPermissionNames(names []string) error {
	for _, p := range names {
		if _, ok := FindPermission(strings.TrimPrefix(p, "required:")); !ok {
			return Invalid("scope", "invalid_scope", "Unknown permission in scope: "+p+".")
		}
	}
	return nil
}
