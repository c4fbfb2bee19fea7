package models

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Color is an opaque sRGB colour: a button colour has no alpha, so that what is stored and drawn is
// always #RRGGBB.
type Color struct {
	R, G, B uint8
}

// colorMaxInput bounds what ParseColor will look at; no valid colour is anywhere near this long.
const colorMaxInput = 100

// colorMinContrast is WCAG 2.x level AA for normal-size text.
const colorMinContrast = 4.5

// colorFormats ends every invalid_color message: one accepted example of each syntax.
const colorFormats = "Use HEX (#0af or #00aaff), RGB (rgb(0, 170, 255) or rgb(0 170 255)) or HSL (hsl(200, 100%, 50%) or hsl(200deg 100% 50%))."

// colorOpaqueReason refuses a translucent colour: a see-through button would take its look from
// whatever is behind it, and only #RRGGBB is stored.
const colorOpaqueReason = "Button colours must be opaque: remove the alpha part or use FF."

// colorError builds the invalid_color error. The message never quotes the input.
func colorError(reason string) error {
	msg := colorFormats
	if reason != "" {
		msg = reason + " " + colorFormats
	}
	return Invalid("button_color", "invalid_color", msg)
}

// ParseColor parses what a designer types, case-insensitively, with surrounding spaces trimmed.
// Errors are *ValidationError{Field: "button_color", Code: "invalid_color", Message: ...} built with Invalid(...).
//
// Accepted: #rgb, #rgba, #rrggbb, #rrggbbaa; rgb()/rgba() and hsl()/hsla() in comma or space syntax (alpha after
// "/" in space syntax). An alpha must be opaque (FF, 1 or 100%) and is dropped; any other is refused with
// colorOpaqueReason. Anything else, including named colours and keywords, is rejected. Nothing of the input
// survives into the result except numbers; use Hex for output.
func ParseColor(input string) (Color, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return Color{}, colorError("Enter a colour.")
	}
	if len(s) > colorMaxInput {
		return Color{}, colorError("That is too long for a colour.")
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return Color{}, colorError("Unknown format.")
		}
	}
	s = colorASCIILower(s)
	if s[0] == '#' {
		return parseHexColor(s[1:])
	}
	for _, name := range []string{"rgba", "rgb", "hsla", "hsl"} {
		if rest, ok := strings.CutPrefix(s, name); ok {
			rest = strings.TrimLeft(rest, colorSpaces)
			if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") || len(rest) < 2 {
				return Color{}, colorError("Unknown format.")
			}
			body := rest[1 : len(rest)-1]
			if strings.ContainsAny(body, "()") {
				return Color{}, colorError("Unknown format.")
			}
			values, reason := colorArgs(body)
			if reason != "" {
				return Color{}, colorError(reason)
			}
			if name[0] == 'r' {
				return rgbColor(values)
			}
			return hslColor(values)
		}
	}
	if colorIsHex(s) && (len(s) == 3 || len(s) == 4 || len(s) == 6 || len(s) == 8) {
		return Color{}, colorError("Start a hex colour with #.")
	}
	return Color{}, colorError("Unknown format.")
}

// colorSpaces is CSS whitespace.
const colorSpaces = " \t\n\r\f"

func colorIsSpace(c byte) bool { return strings.IndexByte(colorSpaces, c) >= 0 }

func colorIsDigit(c byte) bool { return c >= '0' && c <= '9' }

func colorIsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !colorIsDigit(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// colorASCIILower lower-cases ASCII letters only (strings.ToLower would map e.g. the Kelvin sign to "k").
func colorASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func parseHexColor(digits string) (Color, error) {
	n := len(digits)
	if (n != 3 && n != 4 && n != 6 && n != 8) || !colorIsHex(digits) {
		return Color{}, colorError("A hex colour has 3, 4, 6 or 8 digits (0–9, A–F) after the #.")
	}
	if n <= 4 { // #rgb(a): each digit doubled
		long := make([]byte, 0, 2*n)
		for i := 0; i < n; i++ {
			long = append(long, digits[i], digits[i])
		}
		digits = string(long)
	}
	v, _ := strconv.ParseUint(digits, 16, 64) // validated above
	if len(digits) == 8 {
		if v&0xFF != 0xFF {
			return Color{}, colorError(colorOpaqueReason)
		}
		v >>= 8
	}
	return Color{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v)}, nil
}

// colorValue is one number inside rgb()/hsl(), with its unit ("", "%", "deg", ...).
type colorValue struct {
	num  float64
	unit string
}

// colorToken is a value, or a ',' or '/' separator (kind).
type colorToken struct {
	kind byte // 'v', ',' or '/'
	colorValue
}

// colorArgs tokenises the inside of rgb()/hsl() and returns its 3 or 4 values, or a reason for rejecting it.
// Comma syntax is v, v, v[, v]; space syntax is v v v[ / v]; the two do not mix.
func colorArgs(body string) ([]colorValue, string) {
	tokens, reason := colorTokens(body)
	if reason != "" {
		return nil, reason
	}
	commas, slashes := 0, 0
	for _, t := range tokens {
		switch t.kind {
		case ',':
			commas++
		case '/':
			slashes++
		}
	}
	const arity = "Give 3 values, or 4 with alpha."
	if commas > 0 && slashes > 0 {
		return nil, "Separate values with commas or with spaces and “/”, not both."
	}
	var values []colorValue
	if commas > 0 {
		// v , v , v [, v]
		for i, t := range tokens {
			if (i%2 == 0) != (t.kind == 'v') {
				if t.kind == 'v' {
					return nil, "Separate values with commas or with spaces, not both."
				}
				return nil, arity
			}
			if t.kind == 'v' {
				values = append(values, t.colorValue)
			}
		}
		if len(tokens)%2 == 0 || (len(values) != 3 && len(values) != 4) {
			return nil, arity
		}
		return values, ""
	}
	// v v v [/ v]
	switch {
	case len(tokens) == 3 && slashes == 0:
	case len(tokens) == 5 && tokens[3].kind == '/' && slashes == 1:
	default:
		if slashes == 0 && len(tokens) == 4 {
			return nil, "Put alpha after a “/”, as in rgb(0 170 255 / 50%)."
		}
		return nil, arity
	}
	for _, t := range tokens {
		if t.kind == 'v' {
			values = append(values, t.colorValue)
		}
	}
	return values, ""
}

// colorTokens splits body into numbers (with optional unit), commas and slashes. Numbers are
// [+-]?(digits[.digits] | .digits) followed by "%" or letters, and must end at whitespace, ',', '/' or the end.
func colorTokens(body string) ([]colorToken, string) {
	var out []colorToken
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case colorIsSpace(c):
			i++
		case c == ',' || c == '/':
			out = append(out, colorToken{kind: c})
			i++
		case c == '+' || c == '-' || c == '.' || colorIsDigit(c):
			start := i
			if c == '+' || c == '-' {
				i++
			}
			digits := 0
			for i < len(body) && colorIsDigit(body[i]) {
				i++
				digits++
			}
			if i < len(body) && body[i] == '.' {
				i++
				frac := 0
				for i < len(body) && colorIsDigit(body[i]) {
					i++
					frac++
				}
				if frac == 0 {
					return nil, "Unknown format."
				}
				digits += frac
			}
			if digits == 0 {
				return nil, "Unknown format."
			}
			num, err := strconv.ParseFloat(body[start:i], 64)
			if err != nil || math.IsInf(num, 0) || math.IsNaN(num) {
				return nil, "Unknown format."
			}
			unitStart := i
			if i < len(body) && body[i] == '%' {
				i++
			} else {
				for i < len(body) && body[i] >= 'a' && body[i] <= 'z' {
					i++
				}
			}
			unit := body[unitStart:i]
			if i < len(body) && !colorIsSpace(body[i]) && body[i] != ',' && body[i] != '/' {
				return nil, "Unknown format."
			}
			out = append(out, colorToken{kind: 'v', colorValue: colorValue{num: num, unit: unit}})
		default:
			return nil, "Unknown format."
		}
	}
	return out, ""
}

func rgbColor(values []colorValue) (Color, error) {
	names := [3]string{"Red", "Green", "Blue"}
	var ch [3]uint8
	percent := values[0].unit == "%"
	for i := range 3 {
		v := values[i]
		if v.unit != "" && v.unit != "%" {
			return Color{}, colorError(names[i] + " must be a number (0–255) or a percentage (0%–100%).")
		}
		if (v.unit == "%") != percent {
			return Color{}, colorError("Use all numbers or all percentages for red, green and blue.")
		}
		n := v.num
		if percent {
			if n < 0 || n > 100 {
				return Color{}, colorError(names[i] + " must be 0%–100%.")
			}
			n = n * 255 / 100
		} else if n < 0 || n > 255 {
			return Color{}, colorError(names[i] + " must be 0–255.")
		}
		ch[i] = colorByte(n)
	}
	if err := colorOpaque(values); err != nil {
		return Color{}, err
	}
	return Color{R: ch[0], G: ch[1], B: ch[2]}, nil
}

func hslColor(values []colorValue) (Color, error) {
	h := values[0].num
	switch values[0].unit {
	case "", "deg":
	case "rad":
		h = h * 180 / math.Pi
	case "grad":
		h = h * 360 / 400
	case "turn":
		h *= 360
	default:
		return Color{}, colorError("Hue must be in degrees, or use deg, rad, grad or turn.")
	}
	if math.IsInf(h, 0) || math.IsNaN(h) {
		return Color{}, colorError("Hue is out of range.")
	}
	h = colorWrapHue(h)
	var sl [2]float64
	for i, name := range [2]string{"Saturation", "Lightness"} {
		v := values[i+1]
		if v.unit != "%" || v.num < 0 || v.num > 100 {
			return Color{}, colorError(name + " must be a percentage (0%–100%).")
		}
		sl[i] = v.num / 100
	}
	if err := colorOpaque(values); err != nil {
		return Color{}, err
	}
	r, g, b := colorHSLToRGB(h, sl[0], sl[1])
	return Color{R: r, G: g, B: b}, nil
}

// colorOpaque checks the optional 4th value, the alpha: a number 0–1 or a percentage 0%–100%, and
// only exactly opaque (1 or 100%) is accepted.
func colorOpaque(values []colorValue) error {
	if len(values) < 4 {
		return nil
	}
	switch v := values[3]; {
	case v.unit == "" && v.num == 1, v.unit == "%" && v.num == 100:
		return nil
	case v.unit == "" && v.num >= 0 && v.num < 1, v.unit == "%" && v.num >= 0 && v.num < 100:
		return colorError(colorOpaqueReason)
	}
	return colorError("Alpha must be 0–1 or 0%–100%.")
}

// colorWrapHue brings any hue in degrees into [0,360).
func colorWrapHue(h float64) float64 {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	if h >= 360 { // a tiny negative hue plus 360 can round to 360
		h = 0
	}
	return h
}

// colorByte rounds a channel value in [0,255] to a byte, clamping float noise.
func colorByte(v float64) uint8 {
	v = math.Round(v)
	switch {
	case !(v >= 0):
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// colorHSLToRGB is CSS Color 4's hslToRgb: h in degrees [0,360), s and l in [0,1].
func colorHSLToRGB(h, s, l float64) (r, g, b uint8) {
	f := func(n float64) uint8 {
		k := math.Mod(n+h/30, 12)
		a := s * math.Min(l, 1-l)
		return colorByte((l - a*math.Max(-1, math.Min(math.Min(k-3, 9-k), 1))) * 255)
	}
	return f(0), f(8), f(4)
}

// colorRGBToHSL is CSS Color 4's rgbToHsl: hue in degrees (0 for greys), saturation and lightness in [0,1].
func colorRGBToHSL(c Color) (h, s, l float64) {
	r, g, b := float64(c.R)/255, float64(c.G)/255, float64(c.B)/255
	hi, lo := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	l = (hi + lo) / 2
	d := hi - lo
	if d == 0 {
		return 0, 0, l
	}
	if l > 0 && l < 1 {
		s = (hi - l) / math.Min(l, 1-l)
	}
	switch hi {
	case r:
		h = (g - b) / d
		if g < b {
			h += 6
		}
	case g:
		h = (b-r)/d + 2
	default:
		h = (r-g)/d + 4
	}
	return h * 60, s, l
}

// Hex is "#RRGGBB" (upper-case): the only form a colour is stored or drawn in.
func (c Color) Hex() string {
	return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
}
