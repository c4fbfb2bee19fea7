package models

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// storedColorPattern is the only form a button colour may take once parsed: #RRGGBB, upper case.
var storedColorPattern = regexp.MustCompile(`^#[0-9A-F]{6}$`)

const opaqueMessage = "Button colours must be opaque: remove the alpha part or use FF."

// Issue 10 item 10: an alpha of FF (100%, 1) says nothing and is dropped.
var colorOpaqueAlpha = []struct{ in, hex string }{
	{"#ABCDEFFF", "#ABCDEF"},
	{"#abcdefff", "#ABCDEF"},
	{"#abcf", "#AABBCC"},
	{"#ABCF", "#AABBCC"},
	{"rgba(0,170,255,1)", "#00AAFF"},
	{"rgba(0, 170, 255, 1.0)", "#00AAFF"},
	{"rgba(0,170,255,100%)", "#00AAFF"},
	{"rgb(0 170 255 / 1)", "#00AAFF"},
	{"rgb(0 170 255 / 100%)", "#00AAFF"},
	{"hsl(200 100% 50% / 1)", "#00AAFF"},
	{"hsla(200, 100%, 50%, 100%)", "#00AAFF"},
}

// Any other alpha is refused with a message that says what to do.
var colorTranslucent = []string{
	"#ABCDEF00",
	"#abcdef80",
	"#ABCDEFFE",
	"#abc0",
	"#abce",
	"rgba(0,170,255,0.5)",
	"rgba(0,170,255,0)",
	"rgba(0,170,255,0.999)",
	"rgba(0,170,255,99%)",
	"rgb(0 170 255 / 50%)",
	"rgb(0 0 0 / 0)",
	"hsl(200 100% 50% / 0.99)",
	"hsla(200,100%,50%,0)",
	"hsla(200, 100%, 50%, 50%)",
}

func TestParseColorDropsAnOpaqueAlpha(t *testing.T) {
	for _, tc := range colorOpaqueAlpha {
		c, err := ParseColor(tc.in)
		if err != nil {
			t.Errorf("ParseColor(%q): %v", tc.in, err)
			continue
		}
		if got := c.Hex(); got != tc.hex {
			t.Errorf("ParseColor(%q).Hex() = %s, want %s", tc.in, got, tc.hex)
		}
	}
}

func TestParseColorRefusesTranslucentColours(t *testing.T) {
	for _, in := range colorTranslucent {
		c, err := ParseColor(in)
		var v *ValidationError
		if !errors.As(err, &v) {
			t.Errorf("ParseColor(%q) = %s, %v; want a refusal", in, c.Hex(), err)
			continue
		}
		if v.Field != "button_color" || v.Code != "invalid_color" || !strings.HasPrefix(v.Message, opaqueMessage) {
			t.Errorf("ParseColor(%q): %+v; want invalid_color starting %q", in, v, opaqueMessage)
		}
	}
}

// The property that matters: whatever goes in, a colour that comes out (and so a stored draft) is
// #RRGGBB, and a refused patch leaves the draft as it was.
func TestBrandingPatchStoresOnlyRRGGBB(t *testing.T) {
	var inputs []string
	for _, tc := range colorAccepted {
		inputs = append(inputs, tc.in)
	}
	for _, tc := range colorOpaqueAlpha {
		inputs = append(inputs, tc.in)
	}
	inputs = append(append(inputs, colorRejected...), colorTranslucent...)
	for _, in := range inputs {
		got, err := BrandingPatch{ButtonColor: &in}.Apply(DefaultBranding)
		switch {
		case err != nil && got.ButtonColor != DefaultBranding.ButtonColor:
			t.Errorf("refused %q changed the colour to %q", in, got.ButtonColor)
		case err == nil && !storedColorPattern.MatchString(got.ButtonColor):
			t.Errorf("%q would be stored as %q", in, got.ButtonColor)
		}
	}
}
