package models

import (
	"slices"
	"strings"
)

// Regions the compatibility matrix answers for. The simulator sells its one catalogue in each.
var matrixRegions = []string{"US", "CA", "EUROPE"}

// MatrixQuery filters the compatibility matrix; an empty list means all.
type MatrixQuery struct {
	Region string   // US, CA or EUROPE (required)
	Makes  []string // make ids, any case
	Types  []string // powertrains: ICE, HEV, PHEV, BEV
	Scope  []string // permissions
}

// MatrixEntry is one model in the matrix: its years, powertrain, and the permissions (of the query's scope)
// it serves with their features' names.
type MatrixEntry struct {
	Model              string
	StartYear, EndYear int
	Type               string
	Endpoints          []string
	Permissions        []string
}

// CompatibilityMatrix lists the catalogue's models by make id, each with what it serves of the scope, in
// catalogue order. A model serving none of the scope is left out, and a make left with no models.
func CompatibilityMatrix(q MatrixQuery) (map[string][]MatrixEntry, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	scope := q.Scope
	if len(scope) == 0 {
		for _, p := range Permissions {
			scope = append(scope, p.Name)
		}
	}
	out := map[string][]MatrixEntry{}
	for _, m := range Makes {
		if len(q.Makes) > 0 && !slices.ContainsFunc(q.Makes, func(id string) bool { return strings.EqualFold(id, m.ID) }) {
			continue
		}
		for _, vm := range m.Models {
			if len(q.Types) > 0 && !slices.Contains(q.Types, vm.Powertrain) {
				continue
			}
			if e, ok := matrixEntry(m, vm, scope); ok {
				out[m.ID] = append(out[m.ID], e)
			}
		}
	}
	return out, nil
}

// matrixEntry is what one model serves of scope; false when nothing.
func matrixEntry(m Make, vm VehicleModel, scope []string) (MatrixEntry, bool) {
	v := Vehicle{Make: m.ID, Model: vm.Name, Powertrain: vm.Powertrain}
	e := MatrixEntry{Model: vm.Name, StartYear: vm.FromYear, EndYear: vm.ToYear, Type: vm.Powertrain,
		Endpoints: []string{}, Permissions: []string{}}
	for _, p := range scope {
		if !v.Supports(p) {
			continue
		}
		e.Permissions = append(e.Permissions, p)
		if name := permissionEndpoints[p].name; !slices.Contains(e.Endpoints, name) {
			e.Endpoints = append(e.Endpoints, name)
		}
	}
	return e, len(e.Permissions) > 0
}

func (q MatrixQuery) validate() error {
	if !slices.Contains(matrixRegions, strings.ToUpper(q.Region)) {
		return Invalid("region", "invalid_region", "region must be one of US, CA or EUROPE.")
	}
	for _, id := range q.Makes {
		if _, ok := FindMake(id); !ok {
			return Invalid("make", "unknown_make", "Unknown make \""+id+"\"; use ids such as TESLA or FORD.")
		}
	}
	for _, t := range q.Types {
		if t != BEV && t != PHEV && t != HEV && t != ICE {
			return Invalid("type", "invalid_type", "type must be one of ICE, HEV, PHEV or BEV.")
		}
	}
	for _, p := range q.Scope {
		if _, ok := FindPermission(p); !ok {
			return Invalid("scope", "invalid_scope", "Unknown permission in scope: "+p+".")
		}
	}
	return nil
}
