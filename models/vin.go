package models

import (
	"regexp"
	"strings"
)

// wmiMakes maps world manufacturer identifiers (a VIN's first three characters) to the catalogue's makes:
// the codes of each make's US-market vehicles.
var wmiMakes = map[string]string{
	"19U": "ACURA", "JH4": "ACURA", "5J8": "ACURA",
	"WAU": "AUDI", "WA1": "AUDI", "WUA": "AUDI",
	"WBA": "BMW", "WBS": "BMW", "WBY": "BMW", "5UX": "BMW",
	"1G4": "BUICK", "KL4": "BUICK",
	"1G6": "CADILLAC", "1GY": "CADILLAC",
	"1G1": "CHEVROLET", "1GC": "CHEVROLET", "1GN": "CHEVROLET", "3GN": "CHEVROLET",
	"2C3": "CHRYSLER", "2C4": "CHRYSLER",
	"1B3": "DODGE", "2B3": "DODGE", "ZAC": "DODGE",
	"1FA": "FORD", "1FM": "FORD", "1FT": "FORD", "3FM": "FORD",
	"1GT": "GMC", "1GK": "GMC",
	"1HG": "HONDA", "2HG": "HONDA", "JHM": "HONDA", "5FN": "HONDA",
	"KMH": "HYUNDAI", "KM8": "HYUNDAI", "5NP": "HYUNDAI",
	"SAJ": "JAGUAR", "SAD": "JAGUAR",
	"1J4": "JEEP", "1J8": "JEEP", "1C4": "JEEP",
	"KNA": "KIA", "KND": "KIA", "5XY": "KIA",
	"SAL": "LAND_ROVER",
	"JTH": "LEXUS", "JTJ": "LEXUS", "2T2": "LEXUS",
	"5LM": "LINCOLN", "1LN": "LINCOLN",
	"JM1": "MAZDA", "JM3": "MAZDA",
	"WDD": "MERCEDES_BENZ", "WDC": "MERCEDES_BENZ", "W1K": "MERCEDES_BENZ", "4JG": "MERCEDES_BENZ",
	"WMW": "MINI",
	"1N4": "NISSAN", "JN1": "NISSAN", "5N1": "NISSAN",
	"LPS": "POLESTAR", "YSM": "POLESTAR",
	"WP0": "PORSCHE", "WP1": "PORSCHE",
	"1C6": "RAM", "3C6": "RAM",
	"7FC": "RIVIAN", "7PD": "RIVIAN",
	"JF1": "SUBARU", "JF2": "SUBARU", "4S4": "SUBARU",
	"5YJ": "TESLA", "7SA": "TESLA", "LRW": "TESLA", "XP7": "TESLA",
	"JTD": "TOYOTA", "JTM": "TOYOTA", "4T1": "TOYOTA", "2T3": "TOYOTA", "5TD": "TOYOTA",
	"WVW": "VOLKSWAGEN", "WVG": "VOLKSWAGEN", "3VW": "VOLKSWAGEN", "1V2": "VOLKSWAGEN",
	"YV1": "VOLVO", "YV4": "VOLVO", "7JR": "VOLVO",
}

// vinShape is what the compatibility API accepts as a VIN: 17 letters and digits. Smartcar's simulated
// VINs (0SCAUDI…) use letters a real VIN may not (I, O, Q), so the alphabet is not checked here.
var vinShape = regexp.MustCompile(`^[A-Z0-9]{17}$`)

// MakeOfVIN names the make of a VIN (upper-case): a simulated VIN ("0SC" then the make, as Smartcar's
// 0SCAUDI… and 0SCTESLA…) by the make spelled after its prefix; a real one by its world manufacturer
// identifier. False when neither says.
func MakeOfVIN(vin string) (Make, bool) {
	if rest, ok := strings.CutPrefix(vin, simVINPrefix); ok {
		best := Make{}
		for _, m := range Makes {
			id := strings.ReplaceAll(m.ID, "_", "")
			if strings.HasPrefix(rest, id) && len(id) > len(strings.ReplaceAll(best.ID, "_", "")) {
				best = m
			}
		}
		return best, best.ID != ""
	}
	if len(vin) < 3 {
		return Make{}, false
	}
	id, ok := wmiMakes[vin[:3]]
	if !ok {
		return Make{}, false
	}
	return FindMake(id)
}
