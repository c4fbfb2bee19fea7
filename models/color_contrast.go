package models

import (
	"fmt"
	"math"
)

// colorLuminance is WCAG 2.x relative luminance.
func colorLuminance(c Color) float64 {
	lin := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// ContrastRatio is the WCAG 2.x contrast ratio between two (opaque) colours (1..21).
func ContrastRatio(a, b Color) float64 {
	la, lb := colorLuminance(a), colorLuminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// ButtonColors says how a button of colour c looks on Connect's white page.
type ButtonColors struct {
	Background string  // c.Hex()
	Text       string  // "#000000" or "#FFFFFF", whichever contrasts more with the background
	Contrast   float64 // contrast of Text on the background, rounded to 2 decimals
	Warning    string  // non-empty when Contrast < 4.5: a sentence a designer understands
	Suggestion string  // when Warning is set: the nearest "#RRGGBB" that reaches 4.5:1 with black or white text
}

var (
	colorBlack = Color{}
	colorWhite = Color{R: 255, G: 255, B: 255}
)

// colorBestText is black or white, whichever contrasts more with the opaque bg (black on a tie), and that contrast.
func colorBestText(bg Color) (Color, float64) {
	onBlack, onWhite := ContrastRatio(bg, colorBlack), ContrastRatio(bg, colorWhite)
	if onBlack >= onWhite {
		return colorBlack, onBlack
	}
	return colorWhite, onWhite
}

// colorReadable reports whether black or white text reaches 4.5:1 on the opaque bg.
func colorReadable(bg Color) bool {
	_, ratio := colorBestText(bg)
	return ratio >= colorMinContrast
}

// ButtonColorsFor describes a button of colour c on a white page.
//
// Note: every opaque colour reaches at least ~4.58:1 with black or with white text (the two ratios meet at
// luminance ≈ 0.179), so with the better of the two chosen, Warning and Suggestion stay empty in practice;
// they are kept for the contract and in case the text-colour rule changes.
func ButtonColorsFor(c Color) ButtonColors {
	text, ratio := colorBestText(c)
	out := ButtonColors{Background: c.Hex(), Text: text.Hex(), Contrast: colorShownRatio(ratio)}
	if ratio < colorMinContrast {
		out.Warning = colorContrastWarning(out.Contrast)
		out.Suggestion = colorNearestLightness(c, colorReadable).Hex()
	}
	return out
}

// colorShownRatio rounds to 2 decimals, but never rounds a failing ratio up to a passing 4.50.
func colorShownRatio(ratio float64) float64 {
	shown := math.Round(ratio*100) / 100
	if ratio < colorMinContrast && shown >= colorMinContrast {
		shown = colorMinContrast - 0.01
	}
	return shown
}

func colorContrastWarning(shown float64) string {
	return fmt.Sprintf("The button text will be hard to read: its contrast is %.2f:1, and accessibility guidelines (WCAG AA) ask for at least 4.5:1. Try a darker or lighter shade of this colour.", shown)
}

// colorNearestLightness keeps c's HSL hue and saturation and moves its lightness the least distance (in steps of
// 0.1%, trying darker and lighter at each distance) until ok holds for the resulting opaque colour. At equal
// distance the shade with the higher black-or-white contrast wins. Black is the fallback.
func colorNearestLightness(c Color, ok func(Color) bool) Color {
	h, s, l := colorRGBToHSL(c)
	const steps = 1000
	for i := 0; i <= steps; i++ {
		d := float64(i) / steps
		var best Color
		bestRatio, found := 0.0, false
		for _, x := range [2]float64{l - d, l + d} {
			x = math.Max(0, math.Min(1, x))
			r, g, b := colorHSLToRGB(h, s, x)
			cand := Color{R: r, G: g, B: b}
			if !ok(cand) {
				continue
			}
			if _, ratio := colorBestText(cand); !found || ratio > bestRatio {
				best, bestRatio, found = cand, ratio, true
			}
		}
		if found {
			return best
		}
	}
	return colorBlack
}
