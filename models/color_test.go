package models

import (
	"errors"
	"math"
	"strings"
	"testing"
)

var colorAccepted = []struct{ in, hex string }{
	// HEX
	{"#0af", "#00AAFF"},
	{"#0AF", "#00AAFF"},
	{"#ABC", "#AABBCC"},
	{"#abc", "#AABBCC"},
	{"#000", "#000000"},
	{"#fff", "#FFFFFF"},
	{"#0AFF", "#00AAFF"},
	{"#00aaff", "#00AAFF"},
	{"#00AaFf", "#00AAFF"},
	{"#00aaffff", "#00AAFF"},
	{"  #0b5cad \t\n", "#0B5CAD"},
	// RGB, comma syntax
	{"rgb(0, 170, 255)", "#00AAFF"},
	{"rgb(0,170,255)", "#00AAFF"},
	{"RGB(0,0,0)", "#000000"},
	{"Rgb( 0 , 170 , 255 )", "#00AAFF"},
	{"rgb(1,2,3)", "#010203"},
	{"rgb(255,255,255)", "#FFFFFF"},
	{"rgb(+1, 2, 3)", "#010203"},
	{"rgb (0,170,255)", "#00AAFF"},
	{"rgb(12.4, 12.5, 254.6)", "#0C0DFF"},
	{"rgb(0.4,.5,0.6)", "#000101"},
	{"rgba(0,170,255,1)", "#00AAFF"},
	{"rgba(0, 170, 255, 100%)", "#00AAFF"},
	{"rgba(0,170,255)", "#00AAFF"},
	// RGB, space syntax
	{"rgb(0 170 255)", "#00AAFF"},
	{"\trgb(\n0\t170\t255\n)\t", "#00AAFF"},
	// RGB percentages
	{"rgb(100%, 0%, 0%)", "#FF0000"},
	{"rgb(0% 50% 100%)", "#0080FF"},
	// HSL
	{"hsl(200, 100%, 50%)", "#00AAFF"},
	{"hsl(200deg 100% 50%)", "#00AAFF"},
	{"HSL(200DEG 100% 50%)", "#00AAFF"},
	{"hsl(360, 100%, 50%)", "#FF0000"},
	{"hsl(0, 0%, 0%)", "#000000"},
	{"hsl(0,0%,100%)", "#FFFFFF"},
	{"hsl(0 100% 50%)", "#FF0000"},
	{"hsl(120, 100%, 50%)", "#00FF00"},
	{"hsl(240 100% 50%)", "#0000FF"},
	{"hsl(480, 100%, 50%)", "#00FF00"},
	{"hsl(-120, 100%, 50%)", "#0000FF"},
	{"hsl(-1turn 100% 50%)", "#FF0000"},
	{"hsl(0.5turn 100% 50%)", "#00FFFF"},
	{"hsl(.5TURN 100% 50%)", "#00FFFF"},
	{"hsl(3.14159rad 100% 50%)", "#00FFFF"},
	{"hsl(200grad 100% 50%)", "#00FFFF"},
	{"hsl(30, 100%, 50%)", "#FF8000"},
	{"hsl(0, 100%, 25%)", "#800000"},
	{"hsl(1,2%,3%)", "#080807"},
	{"hsl(200, 0%, 50%)", "#808080"},
	{"hsla(200deg 100% 50%)", "#00AAFF"},
	{"hsl(200, 100%, 50%, 1)", "#00AAFF"},
}

var colorRejected = []string{
	"",
	"   ",
	"red",
	"RED",
	"transparent",
	"currentColor",
	"inherit",
	"red;}",
	"red;background:url(//evil)",
	`#fff"><script>`,
	"rgb(0,0,0)}body{x}",
	"url(//evil)",
	"expression(alert(1))",
	"var(--x)",
	"'#fff'",
	`"#fff"`,
	"#fff;",
	"#fff #000",
	"#fff extra",
	"#fff /* x */",
	"rgb(1,2,3)x",
	"rgb(1,2,3) rgb(1,2,3)",
	"rgb(1,2,3))",
	"rgb(1,2,3",
	"rgb 1,2,3",
	"rgb(1,2)",
	"rgb(1,2,3,4,5)",
	"rgb()",
	"rgb(1,2,3,)",
	"rgb(,1,2,3)",
	"rgb(1,,2,3)",
	"#ggg",
	"#12345",
	"#1234567",
	"#123456789",
	"#",
	"00aaff",
	"fff",
	"＃fff",
	"#ｆｆｆ",
	"#fff\x00",
	"rgb(300,0,0)",
	"rgb(255.5,0,0)",
	"rgb(-1,0,0)",
	"rgb(120%,0%,0%)",
	"rgba(0,0,0,1.5)",
	"rgba(0,0,0,101%)",
	"rgba(0,0,0,-0.1)",
	"rgb(100%, 0, 0)",
	"rgb(50 %, 0%, 0%)",
	"rgb(10px, 0, 0)",
	"rgb(0, 170 255)",
	"rgb(0,170,255/0.5)",
	"rgb(0 170 255, 0.5)",
	"rgb(0 170 255 0.5)",
	"rgb(0 170 255 / 0.5 / 1)",
	"rgb(0 170 / 255 0.5)",
	"rgb(0 170 255 /)",
	"rgb(rgb(1,2,3))",
	"rgb(calc(1),2,3)",
	"rgb(var(--r),2,3)",
	"rgb(1.,2,3)",
	"rgb(1e2,0,0)",
	"rgb(0x10,0,0)",
	"rgb(NaN,0,0)",
	"rgb(inf,0,0)",
	"rgb(1;2;3)",
	"rgbx(1,2,3)",
	"hsl(200, 100, 50)",
	"hsl(200%, 100%, 50%)",
	"hsl(200, 101%, 50%)",
	"hsl(200, 100%, -1%)",
	"hsl(200foo 100% 50%)",
	"hsl(200 deg 100% 50%)",
	"hsl(none 100% 50%)",
	"hsl(infinity 100% 50%)",
	"hsl(200, 100%, 50% / 0.5)",
	"hsl(200 100% 50% 0.5)",
	"hsla(200,100%,50%,2)",
	"hwb(0 0% 0%)",
	"color(srgb 1 0 0)",
	"lab(50% 40 59)",
	"rgb(" + strings.Repeat(" ", 100) + "1,2,3)",
	"#" + strings.Repeat("f", 200),
}

func TestParseColorAccepts(t *testing.T) {
	if len(colorAccepted) < 40 {
		t.Fatalf("only %d accepted cases", len(colorAccepted))
	}
	for _, tc := range colorAccepted {
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

func TestParseColorRejects(t *testing.T) {
	if len(colorRejected) < 20 {
		t.Fatalf("only %d rejected cases", len(colorRejected))
	}
	for _, in := range colorRejected {
		c, err := ParseColor(in)
		if err == nil {
			t.Errorf("ParseColor(%q) = %s, want an error", in, c.Hex())
			continue
		}
		var v *ValidationError
		if !errors.As(err, &v) {
			t.Errorf("ParseColor(%q): %T is not a *ValidationError", in, err)
			continue
		}
		if v.Field != "button_color" || v.Code != "invalid_color" {
			t.Errorf("ParseColor(%q): field %q code %q", in, v.Field, v.Code)
		}
		for _, want := range []string{"#0af", "rgb(", "hsl("} {
			if !strings.Contains(v.Message, want) {
				t.Errorf("ParseColor(%q): message %q lacks %q", in, v.Message, want)
			}
		}
		for _, echo := range []string{"evil", "script", "<", `"`, "'", ";", "{", "var("} {
			if strings.Contains(v.Message, echo) {
				t.Errorf("ParseColor(%q): message %q echoes %q", in, v.Message, echo)
			}
		}
	}
}

func TestParseColorReasons(t *testing.T) {
	cases := []struct{ in, reason string }{
		{"", "Enter a colour."},
		{"red", "Unknown format."},
		{"00aaff", "Start a hex colour with #."},
		{"#12345", "3, 4, 6 or 8 digits"},
		{"rgb(300,0,0)", "Red must be 0–255."},
		{"rgb(0,256,0)", "Green must be 0–255."},
		{"rgb(0%,0%,120%)", "Blue must be 0%–100%."},
		{"rgb(100%, 0, 0)", "all numbers or all percentages"},
		{"rgba(0,0,0,1.5)", "Alpha must be 0–1 or 0%–100%."},
		{"hsl(200, 100, 50%)", "Saturation must be a percentage"},
		{"hsl(200, 100%, 50)", "Lightness must be a percentage"},
		{"hsl(1px, 100%, 50%)", "Hue must be"},
		{"rgb(1,2)", "Give 3 values, or 4 with alpha."},
		{"rgb(0,170,255/0.5)", "not both"},
		{"rgb(0 170 255 0.5)", "after a “/”"},
		{"#" + strings.Repeat("f", 101), "too long"},
	}
	for _, tc := range cases {
		_, err := ParseColor(tc.in)
		if err == nil || !strings.HasPrefix(err.Error(), "button_color: ") || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("ParseColor(%q) = %v, want reason %q", tc.in, err, tc.reason)
		}
	}
}

func TestColorHex(t *testing.T) {
	cases := []struct {
		c    Color
		want string
	}{
		{Color{0, 170, 255}, "#00AAFF"},
		{Color{10, 11, 12}, "#0A0B0C"},
		{Color{}, "#000000"},
		{Color{255, 255, 255}, "#FFFFFF"},
	}
	for _, tc := range cases {
		if got := tc.c.Hex(); got != tc.want {
			t.Errorf("%+v.Hex() = %s, want %s", tc.c, got, tc.want)
		}
	}
}

func mustColor(t *testing.T, s string) Color {
	t.Helper()
	c, err := ParseColor(s)
	if err != nil {
		t.Fatalf("ParseColor(%q): %v", s, err)
	}
	return c
}

func TestContrastRatio(t *testing.T) {
	white, black := mustColor(t, "#fff"), mustColor(t, "#000")
	round2 := func(x float64) float64 { return math.Round(x*100) / 100 }
	if got := round2(ContrastRatio(mustColor(t, "#767676"), white)); got != 4.54 {
		t.Errorf("#767676 on white = %v, want 4.54", got)
	}
	if got := round2(ContrastRatio(white, mustColor(t, "#777777"))); got != 4.48 {
		t.Errorf("#777777 on white = %v, want 4.48", got)
	}
	if got := ContrastRatio(black, white); math.Abs(got-21) > 1e-9 {
		t.Errorf("black on white = %v, want 21", got)
	}
	if got := ContrastRatio(white, black); math.Abs(got-21) > 1e-9 {
		t.Errorf("white on black = %v, want 21", got)
	}
	if got := ContrastRatio(white, white); got != 1 {
		t.Errorf("white on white = %v, want 1", got)
	}
	// #0000FF on white is 8.59:1; #FF0000 on white 4.00:1 (WebAIM).
	if got := round2(ContrastRatio(mustColor(t, "#00f"), white)); got != 8.59 {
		t.Errorf("blue on white = %v, want 8.59", got)
	}
	if got := round2(ContrastRatio(white, mustColor(t, "#f00"))); got != 4 {
		t.Errorf("red on white = %v, want 4", got)
	}
}

func TestButtonColorsFor(t *testing.T) {
	cases := []struct {
		in, bg, text string
		contrast     float64
	}{
		{"#FFFF00", "#FFFF00", "#000000", 19.56},
		{"#767676", "#767676", "#000000", 4.62}, // black 4.62 beats white 4.54
		{"#777777", "#777777", "#000000", 4.69},
		{"#888888", "#888888", "#000000", 5.92},
		{"#FF7F50", "#FF7F50", "#000000", 8.4},
		{"#000", "#000000", "#FFFFFF", 21},
		{"#fff", "#FFFFFF", "#000000", 21},
		{"#0b5cad", "#0B5CAD", "#FFFFFF", 6.67},
		{"rgba(0,0,0,1)", "#000000", "#FFFFFF", 21},
	}
	for _, tc := range cases {
		got := ButtonColorsFor(mustColor(t, tc.in))
		if got.Background != tc.bg || got.Text != tc.text || got.Contrast != tc.contrast {
			t.Errorf("ButtonColorsFor(%s) = %+v, want background %s text %s contrast %v", tc.in, got, tc.bg, tc.text, tc.contrast)
		}
		if got.Warning != "" || got.Suggestion != "" {
			t.Errorf("ButtonColorsFor(%s) warns: %+v", tc.in, got)
		}
	}
}

// TestButtonColorsAlwaysReadable: black or white text always reaches 4.58:1 on an opaque colour, so choosing the
// better of the two never leaves a button below 4.5:1 — hence no warnings.
func TestButtonColorsAlwaysReadable(t *testing.T) {
	minimum := 21.0
	for v := 0; v < 1<<12; v++ {
		c := Color{R: uint8(v>>8) * 17, G: uint8(v>>4&15) * 17, B: uint8(v&15) * 17}
		bc := ButtonColorsFor(c)
		onBlack, onWhite := ContrastRatio(c, colorBlack), ContrastRatio(c, colorWhite)
		wantText := "#000000"
		if onWhite > onBlack {
			wantText = "#FFFFFF"
		}
		if bc.Background != c.Hex() || bc.Text != wantText || bc.Contrast < 4.5 || bc.Warning != "" || bc.Suggestion != "" {
			t.Fatalf("ButtonColorsFor(%s) = %+v", c.Hex(), bc)
		}
		minimum = math.Min(minimum, bc.Contrast)
	}
	if minimum < 4.58 {
		t.Errorf("lowest contrast %v", minimum)
	}
}

func TestColorShownRatioAndWarning(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{4.4999, 4.49}, {4.495, 4.49}, {4.494, 4.49}, {4.5, 4.5}, {4.544, 4.54}, {4.545001, 4.55}, {21, 21},
	} {
		if got := colorShownRatio(tc.in); got != tc.want {
			t.Errorf("colorShownRatio(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	w := colorContrastWarning(4.49)
	if !strings.Contains(w, "4.49:1") || !strings.Contains(w, "4.5:1") {
		t.Errorf("warning %q", w)
	}
}

// TestColorNearestLightness drives the suggestion search with a stricter rule (white text must reach 4.5:1),
// since with the better of black or white every colour already passes.
func TestColorNearestLightness(t *testing.T) {
	whiteOK := func(c Color) bool { return ContrastRatio(c, colorWhite) >= colorMinContrast }
	if got := colorNearestLightness(mustColor(t, "#888888"), whiteOK).Hex(); got != "#767676" {
		t.Errorf("nearest to #888888 readable with white = %s, want #767676", got)
	}
	if got := colorNearestLightness(mustColor(t, "#767676"), whiteOK).Hex(); got != "#767676" {
		t.Errorf("already readable #767676 moved to %s", got)
	}
	// Black text needs a lighter shade.
	blackOK := func(c Color) bool { return ContrastRatio(c, colorBlack) >= 7 }
	if got := colorNearestLightness(mustColor(t, "#444"), blackOK); ContrastRatio(got, colorBlack) < 7 || got.R != got.G || got.G != got.B || got.R <= 0x44 {
		t.Errorf("nearest to #444444 readable with black at 7:1 = %s", got.Hex())
	}
	for _, in := range []string{"#FF7F50", "#00AAFF", "#FFFF00", "#FF8080", "#9370db"} {
		c := mustColor(t, in)
		h0, s0, l0 := colorRGBToHSL(c)
		got := colorNearestLightness(c, whiteOK)
		h, _, l := colorRGBToHSL(got)
		if !whiteOK(got) || len(got.Hex()) != 7 {
			t.Errorf("%s: suggestion %s does not reach 4.5:1 with white", in, got.Hex())
		}
		if d := math.Abs(h - h0); math.Min(d, 360-d) > 2 {
			t.Errorf("%s: suggestion %s hue %.1f, want %.1f", in, got.Hex(), h, h0)
		}
		if l >= l0 {
			t.Errorf("%s: suggestion %s is not darker", in, got.Hex())
		}
		// 0.5% less far would not do.
		r, g, b := colorHSLToRGB(h0, s0, l+0.005)
		if closer := (Color{R: r, G: g, B: b}); whiteOK(closer) {
			t.Errorf("%s: suggestion %s is not the nearest; %s also passes", in, got.Hex(), closer.Hex())
		}
	}
}

func TestColorRGBToHSL(t *testing.T) {
	cases := []struct {
		in      string
		h, s, l float64
	}{
		{"#FF0000", 0, 1, 0.5},
		{"#00FFFF", 180, 1, 0.5},
		{"#800000", 0, 1, 128.0 / 255 / 2},
		{"#808080", 0, 0, 128.0 / 255},
		{"#0000FF", 240, 1, 0.5},
	}
	for _, tc := range cases {
		h, s, l := colorRGBToHSL(mustColor(t, tc.in))
		if math.Abs(h-tc.h) > 1e-9 || math.Abs(s-tc.s) > 1e-9 || math.Abs(l-tc.l) > 1e-9 {
			t.Errorf("%s: hsl(%v, %v, %v), want (%v, %v, %v)", tc.in, h, s, l, tc.h, tc.s, tc.l)
		}
	}
}

func FuzzParseColor(f *testing.F) {
	for _, tc := range colorAccepted {
		f.Add(tc.in)
	}
	for _, in := range colorRejected {
		f.Add(in)
	}
	for _, in := range colorTranslucent {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseColor(in)
		if err != nil {
			var v *ValidationError
			if !errors.As(err, &v) || v.Code != "invalid_color" || v.Field != "button_color" || !strings.Contains(v.Message, "#0af") {
				t.Fatalf("ParseColor(%q): unexpected error %#v", in, err)
			}
			return
		}
		hex := c.Hex()
		if !storedColorPattern.MatchString(hex) {
			t.Fatalf("ParseColor(%q).Hex() = %q", in, hex)
		}
		again, err := ParseColor(hex)
		if err != nil || again.Hex() != hex {
			t.Fatalf("ParseColor(%q).Hex() = %s re-parses to %s, %v", in, hex, again.Hex(), err)
		}
		if bc := ButtonColorsFor(c); bc.Background != hex || (bc.Text != "#000000" && bc.Text != "#FFFFFF") {
			t.Fatalf("ButtonColorsFor(%s) = %+v", hex, bc)
		}
	})
}
