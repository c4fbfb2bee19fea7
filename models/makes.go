package models

import (
	"slices"
	"strings"
)

// Powertrains a vehicle model can have.
const (
	BEV  = "BEV"  // battery electric
	PHEV = "PHEV" // plug-in hybrid
	HEV  = "HEV"  // hybrid
	ICE  = "ICE"  // combustion only
)

// Provider sign-in methods, as the Drivly seed lists them.
const (
	AuthEmailPassword = "email_password"
	AuthOAuth         = "oauth"
	AuthEmail         = "email"
)

// VehicleModel is one model of a make with the years it was sold and its powertrain.
type VehicleModel struct {
	Name       string
	Powertrain string
	FromYear   int
	ToYear     int
}

// Make is a car brand Connect can show.
type Make struct {
	ID     string // upper-case id, as Smartcar's make parameter
	Name   string // display name
	Auth   string // how its connected-services account signs in (simulated)
	Models []VehicleModel
}

// Powertrains lists the distinct powertrains of a make's models, in a fixed order.
func (m Make) Powertrains() []string {
	var out []string
	for _, p := range []string{BEV, PHEV, HEV, ICE} {
		if slices.ContainsFunc(m.Models, func(v VehicleModel) bool { return v.Powertrain == p }) {
			out = append(out, p)
		}
	}
	return out
}

// Makes is the catalogue of makes, alphabetical by display name.
var Makes = []Make{
	{"ACURA", "Acura", AuthEmailPassword, []VehicleModel{{"MDX", ICE, 2017, 2025}, {"ZDX", BEV, 2024, 2025}}},
	{"AUDI", "Audi", AuthOAuth, []VehicleModel{{"e-tron GT", BEV, 2022, 2025}, {"Q5 TFSI e", PHEV, 2020, 2025}, {"A4", ICE, 2017, 2025}}},
	{"BMW", "BMW", AuthOAuth, []VehicleModel{{"i4", BEV, 2022, 2025}, {"X5 xDrive50e", PHEV, 2019, 2025}, {"3 Series", ICE, 2017, 2025}}},
	{"BUICK", "Buick", AuthEmailPassword, []VehicleModel{{"Enclave", ICE, 2018, 2025}, {"Envista", ICE, 2024, 2025}}},
	{"CADILLAC", "Cadillac", AuthEmailPassword, []VehicleModel{{"Lyriq", BEV, 2023, 2025}, {"Escalade", ICE, 2017, 2025}}},
	{"CHEVROLET", "Chevrolet", AuthEmailPassword, []VehicleModel{{"Bolt EV", BEV, 2017, 2023}, {"Volt", PHEV, 2017, 2019}, {"Silverado", ICE, 2017, 2025}}},
	{"CHRYSLER", "Chrysler", AuthEmailPassword, []VehicleModel{{"Pacifica Hybrid", PHEV, 2017, 2025}, {"300", ICE, 2017, 2023}}},
	{"DODGE", "Dodge", AuthEmailPassword, []VehicleModel{{"Hornet R/T", PHEV, 2024, 2025}, {"Durango", ICE, 2017, 2025}}},
	{"FORD", "Ford", AuthOAuth, []VehicleModel{{"Mustang Mach-E", BEV, 2021, 2025}, {"Escape PHEV", PHEV, 2020, 2025}, {"F-150", ICE, 2017, 2025}}},
	{"GMC", "GMC", AuthEmailPassword, []VehicleModel{{"Hummer EV", BEV, 2022, 2025}, {"Sierra", ICE, 2017, 2025}}},
	{"HONDA", "Honda", AuthEmailPassword, []VehicleModel{{"Prologue", BEV, 2024, 2025}, {"Accord Hybrid", HEV, 2018, 2025}, {"Civic", ICE, 2017, 2025}}},
	{"HYUNDAI", "Hyundai", AuthEmailPassword, []VehicleModel{{"Ioniq 5", BEV, 2022, 2025}, {"Tucson Plug-in Hybrid", PHEV, 2022, 2025}, {"Elantra", ICE, 2017, 2025}}},
	{"JAGUAR", "Jaguar", AuthEmailPassword, []VehicleModel{{"I-PACE", BEV, 2019, 2024}, {"F-PACE", ICE, 2017, 2025}}},
	{"JEEP", "Jeep", AuthEmailPassword, []VehicleModel{{"Wrangler 4xe", PHEV, 2021, 2025}, {"Grand Cherokee", ICE, 2017, 2025}}},
	{"KIA", "Kia", AuthEmailPassword, []VehicleModel{{"EV6", BEV, 2022, 2025}, {"Niro PHEV", PHEV, 2018, 2025}, {"Sportage", ICE, 2017, 2025}}},
	{"LAND_ROVER", "Land Rover", AuthEmailPassword, []VehicleModel{{"Range Rover PHEV", PHEV, 2019, 2025}, {"Defender", ICE, 2020, 2025}}},
	{"LEXUS", "Lexus", AuthEmail, []VehicleModel{{"RZ", BEV, 2023, 2025}, {"RX Hybrid", HEV, 2017, 2025}, {"IS", ICE, 2017, 2025}}},
	{"LINCOLN", "Lincoln", AuthOAuth, []VehicleModel{{"Aviator Grand Touring", PHEV, 2020, 2025}, {"Navigator", ICE, 2018, 2025}}},
	{"MAZDA", "Mazda", AuthEmailPassword, []VehicleModel{{"CX-90 PHEV", PHEV, 2024, 2025}, {"CX-5", ICE, 2017, 2025}}},
	{"MERCEDES_BENZ", "Mercedes-Benz", AuthOAuth, []VehicleModel{{"EQS", BEV, 2022, 2025}, {"GLE 450e", PHEV, 2020, 2025}, {"C-Class", ICE, 2017, 2025}}},
	{"MINI", "MINI", AuthOAuth, []VehicleModel{{"Cooper SE", BEV, 2020, 2025}, {"Countryman", ICE, 2017, 2025}}},
	{"NISSAN", "Nissan", AuthEmailPassword, []VehicleModel{{"Leaf", BEV, 2017, 2025}, {"Ariya", BEV, 2023, 2025}, {"Rogue", ICE, 2017, 2025}}},
	{"POLESTAR", "Polestar", AuthOAuth, []VehicleModel{{"Polestar 2", BEV, 2021, 2025}, {"Polestar 3", BEV, 2025, 2025}}},
	{"PORSCHE", "Porsche", AuthOAuth, []VehicleModel{{"Taycan", BEV, 2020, 2025}, {"Cayenne E-Hybrid", PHEV, 2019, 2025}, {"911", ICE, 2017, 2025}}},
	{"RAM", "Ram", AuthEmailPassword, []VehicleModel{{"1500", ICE, 2017, 2025}, {"2500", ICE, 2017, 2025}}},
	{"RIVIAN", "Rivian", AuthEmailPassword, []VehicleModel{{"R1T", BEV, 2022, 2025}, {"R1S", BEV, 2022, 2025}}},
	{"SUBARU", "Subaru", AuthEmailPassword, []VehicleModel{{"Solterra", BEV, 2023, 2025}, {"Crosstrek Hybrid", PHEV, 2019, 2023}, {"Outback", ICE, 2017, 2025}}},
	{"TESLA", "Tesla", AuthOAuth, []VehicleModel{{"Model 3", BEV, 2017, 2025}, {"Model Y", BEV, 2020, 2025}, {"Model S", BEV, 2017, 2025}, {"Model X", BEV, 2017, 2025}}},
	{"TOYOTA", "Toyota", AuthEmail, []VehicleModel{{"bZ4X", BEV, 2023, 2025}, {"RAV4 Prime", PHEV, 2021, 2025}, {"Prius", HEV, 2017, 2025}, {"Camry", ICE, 2017, 2025}}},
	{"VOLKSWAGEN", "Volkswagen", AuthEmailPassword, []VehicleModel{{"ID.4", BEV, 2021, 2025}, {"Golf", ICE, 2017, 2021}, {"Tiguan", ICE, 2017, 2025}}},
	{"VOLVO", "Volvo", AuthOAuth, []VehicleModel{{"EX30", BEV, 2024, 2025}, {"XC60 Recharge", PHEV, 2018, 2025}, {"XC90", ICE, 2017, 2025}}},
}

// FindMake looks a make up by id, case-insensitively.
func FindMake(id string) (Make, bool) {
	id = strings.ToUpper(strings.TrimSpace(id))
	for _, m := range Makes {
		if m.ID == id {
			return m, true
		}
	}
	return Make{}, false
}

// NormalizeMakes upper-cases, de-duplicates and checks a chosen brand list, keeping its order.
func NormalizeMakes(ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, raw := range ids {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		m, ok := FindMake(raw)
		if !ok {
			return nil, Invalid("makes", "unknown_make", "Unknown make \""+raw+"\". Choose makes from the list, e.g. TESLA, FORD or BMW.")
		}
		if !slices.Contains(out, m.ID) {
			out = append(out, m.ID)
		}
	}
	return out, nil
}

// MakesInOrder returns the makes Connect shows for a brand list: the listed ones in order, or every
// make when the list is empty.
func MakesInOrder(ids []string) []Make {
	if len(ids) == 0 {
		return Makes
	}
	out := make([]Make, 0, len(ids))
	for _, id := range ids {
		if m, ok := FindMake(id); ok {
			out = append(out, m)
		}
	}
	return out
}

// resolveMake finds a make a server-to-server request named, or explains the refusal.
func resolveMake(id string) (Make, error) {
	m, ok := FindMake(id)
	if !ok {
		return Make{}, Invalid("make", "unknown_make", "Unknown make; use an id such as TESLA or FORD.")
	}
	return m, nil
}

// ApplyMakeOp applies one of the Branding form's make-list buttons to an ordered list: "add" (with
// add), "up:ID", "down:ID", "remove:ID" or "clear". Unknown ops leave the list as it is.
func ApplyMakeOp(makes []string, op, add string) []string {
	makes = slices.Clone(makes)
	verb, id, _ := strings.Cut(op, ":")
	i := slices.Index(makes, id)
	switch {
	case verb == "add" && add != "" && !slices.Contains(makes, add):
		makes = append(makes, add)
	case verb == "up" && i > 0:
		makes[i-1], makes[i] = makes[i], makes[i-1]
	case verb == "down" && i >= 0 && i < len(makes)-1:
		makes[i+1], makes[i] = makes[i], makes[i+1]
	case verb == "remove" && i >= 0:
		makes = slices.Delete(makes, i, i+1)
	case verb == "clear":
		makes = []string{}
	}
	return makes
}
