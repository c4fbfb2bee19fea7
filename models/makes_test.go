package models_test

import (
	"slices"
	"testing"

	"keyfob/models"
)

func TestApplyMakeOp(t *testing.T) {
	start := []string{"TESLA", "FORD", "KIA"}
	for _, tc := range []struct {
		op, add string
		want    []string
	}{
		{"add", "BMW", []string{"TESLA", "FORD", "KIA", "BMW"}},
		{"add", "FORD", start},
		{"up:FORD", "", []string{"FORD", "TESLA", "KIA"}},
		{"up:TESLA", "", start},
		{"down:FORD", "", []string{"TESLA", "KIA", "FORD"}},
		{"down:KIA", "", start},
		{"remove:FORD", "", []string{"TESLA", "KIA"}},
		{"clear", "", []string{}},
		{"save", "", start},
	} {
		before := slices.Clone(start)
		if got := models.ApplyMakeOp(start, tc.op, tc.add); !slices.Equal(got, tc.want) {
			t.Errorf("ApplyMakeOp(%q, %q) = %v, want %v", tc.op, tc.add, got, tc.want)
		}
		if !slices.Equal(start, before) {
			t.Fatalf("ApplyMakeOp(%q) changed its input", tc.op)
		}
	}
}
