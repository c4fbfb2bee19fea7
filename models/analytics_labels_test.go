package models_test

import (
	"strings"
	"testing"

	"keyfob/models"
)

func TestStepAndOutcomeLabels(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{"launched", "Launched"}, {"brand_selected", "Brand selected"}, {"signed_in", "Signed in"},
		{"vehicles_selected", "Vehicles selected"}, {"permissions_approved", "Permissions approved"},
		{"completed", "Completed"}, {"error", "Error"}, {"exited", "Exited"}, {"warp_drive", "warp_drive"},
	} {
		if got := models.StepLabel(tc.step); got != tc.want {
			t.Errorf("StepLabel(%q) = %q, want %q", tc.step, got, tc.want)
		}
	}
	for _, step := range models.AnalyticsSteps {
		if models.StepLabel(step) == step {
			t.Errorf("step %q has no label", step)
		}
	}
	for _, tc := range []struct{ outcome, want string }{
		{"in_progress", "In progress"}, {"", "In progress"}, {"completed", "Completed"}, {"error", "Error"}, {"exited", "Exited"},
	} {
		if got := models.OutcomeLabel(tc.outcome); got != tc.want {
			t.Errorf("OutcomeLabel(%q) = %q, want %q", tc.outcome, got, tc.want)
		}
	}
}

func TestMakeLabels(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"MERCEDES_BENZ", "Mercedes-Benz"}, {"LAND_ROVER", "Land Rover"}, {"TESLA", "Tesla"}, {"BMW", "BMW"},
		{"tesla", "Tesla"}, {"", models.NoMakeLabel}, {"DELOREAN", "DELOREAN"},
	} {
		if got := models.MakeLabel(tc.id); got != tc.want {
			t.Errorf("MakeLabel(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestErrorExplanations(t *testing.T) {
	for _, tc := range []struct {
		code, label string
		known       bool
	}{
		{"user_manually_returned_to_application", "User cancelled", true},
		{"vehicle_incompatible", "Vehicle not compatible", true},
		{"no_vehicles", "No vehicles on the account", true},
		{"invalid_subscription", "Subscription inactive", true},
		{"access_denied", "Owner denied access", true},
		{"configuration_error", "Configuration problem", true},
		{"server_error", "Connect server error", true},
		{"flux_capacitor_failed", "flux_capacitor_failed", false},
	} {
		e := models.ExplainError(tc.code)
		if e.Code != tc.code || e.Label != tc.label || e.Known != tc.known {
			t.Errorf("ExplainError(%q) = %+v, want label %q known %v", tc.code, e, tc.label, tc.known)
		}
		// One line each: a sentence that ends, never the code repeated as its own description.
		for _, text := range []string{e.Description, e.Action} {
			if text == "" || strings.Contains(text, "\n") || !strings.HasSuffix(text, ".") || strings.Contains(text, tc.code) {
				t.Errorf("%s: %q is not a one-line explanation", tc.code, text)
			}
		}
	}
}

// Every code Connect (and the demo) can end a session with has words of its own.
func TestEveryConnectErrorIsExplained(t *testing.T) {
	for _, code := range models.ConnectErrorCodes() {
		if !models.ExplainError(code).Known {
			t.Errorf("Connect ends sessions with %q, which has no explanation", code)
		}
	}
}
