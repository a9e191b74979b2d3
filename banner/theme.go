package banner

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Theme puts the banner in the site's colours and shape. Every field is
// optional; the built-in look needs no bytes for it (the stylesheet's
// values are replaced, not overridden).
type Theme struct {
	// Accent is the colour of the buttons, links and the reopen button,
	// "#rgb" or "#rrggbb"; the button text on it is white, so it must
	// reach 4.5:1 against white (CheckAccent).
	Accent string `json:"accent,omitempty"`
	// Radius of the banner's corners, e.g. 12px, 0; buttons get two
	// thirds of it.
	Radius string `json:"radius,omitempty"`
	// Position: bottom (default, centred), bottom-left, bottom-right,
	// center.
	Position string `json:"position,omitempty"`
	// Font: system (default) or inherit (the site's own font).
	Font string `json:"font,omitempty"`
	// Dark: auto (default: dark when the visitor's system is, by
	// prefers-color-scheme), on (always dark) or off (always light).
	Dark string `json:"dark,omitempty"`
}

// The built-in values of kelisim.css that a theme replaces.
const (
	builtinAccent    = "--kl-accent:#0b57d0;--kl-link:#0b57d0"
	builtinRadius    = "border-radius:.75rem"
	builtinBtnRadius = "border-radius:.5rem"
	builtinFont      = "font:15px/1.5 system-ui,sans-serif"
)

var (
	hexColor  = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	cssLength = regexp.MustCompile(`^(0|([0-9]+|[0-9]*\.[0-9]+)(px|rem|em|%))$`)
)

// Check reports the first setting of t that is not valid, with what
// would be.
func (t Theme) Check() error {
	if t.Accent != "" {
		if err := CheckAccent(t.Accent); err != nil {
			return err
		}
	}
	if t.Radius != "" && !cssLength.MatchString(t.Radius) {
		return fmt.Errorf("theme radius %q: want a length such as 12px, .75rem or 0", t.Radius)
	}
	switch t.Position {
	case "", "bottom", "bottom-left", "bottom-right", "center":
	default:
		return fmt.Errorf("theme position %q: want bottom, bottom-left, bottom-right or center", t.Position)
	}
	switch t.Font {
	case "", "system", "inherit":
	default:
		return fmt.Errorf("theme font %q: want system or inherit", t.Font)
	}
	switch t.Dark {
	case "", "auto", "on", "off":
	default:
		return fmt.Errorf("theme dark %q: want auto, on or off", t.Dark)
	}
	return nil
}

// CheckAccent refuses an accent colour on which the banner's white
// button text would be under WCAG AA's 4.5:1, and names the darkest
// shade of the same hue that passes.
func CheckAccent(c string) error {
	rgb, ok := parseHex(c)
	if !ok {
		return fmt.Errorf("theme accent %q: want a colour as #rgb or #rrggbb, e.g. #0b57d0", c)
	}
	if r := contrastWithWhite(rgb); r < 4.5 {
		return fmt.Errorf("theme accent %s: white button text on it has a contrast of %.1f:1, WCAG AA needs 4.5:1; %s (the same hue, darker) would pass",
			c, r, passingShade(rgb))
	}
	return nil
}

func parseHex(c string) ([3]float64, bool) {
	if !hexColor.MatchString(c) {
		return [3]float64{}, false
	}
	h := c[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	var rgb [3]float64
	for i := range rgb {
		v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		rgb[i] = float64(v)
	}
	return rgb, true
}

// luminance is WCAG 2's relative luminance of rgb.
func luminance(rgb [3]float64) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(rgb[0]) + 0.7152*lin(rgb[1]) + 0.0722*lin(rgb[2])
}

// contrastWithWhite is WCAG 2's contrast ratio of white against rgb.
func contrastWithWhite(rgb [3]float64) float64 { return 1.05 / (luminance(rgb) + 0.05) }

// darkBG is the dark banner's background; links on it are the accent
// lightened until they read (linkOnDark).
var darkBG = [3]float64{0x1f, 0x1f, 0x1f}

// linkOnDark lightens rgb towards white in steps until it reaches 7:1
// on the dark background (WCAG AAA; AA's 4.5:1 reads dim there): the
// accent's hue for links in dark mode.
func linkOnDark(rgb [3]float64) string {
	bg := luminance(darkBG) + 0.05
	for f := 0.0; f < 1; f += 0.01 {
		s := [3]float64{}
		for i := range s {
			s[i] = math.Ceil(rgb[i] + (255-rgb[i])*f)
		}
		if (luminance(s)+0.05)/bg >= 7 {
			return fmt.Sprintf("#%02x%02x%02x", int(s[0]), int(s[1]), int(s[2]))
		}
	}
	return "#ffffff"
}

// darkVars are the dark look's colours, link the accent's readable shade.
func darkVars(link string) string {
	return ".kl,.kl-reopen,.kl-set{color-scheme:dark;--kl-link:" + link +
		";--kl-bg:#1f1f1f;--kl-fg:#e8e8e8;--kl-muted:#bdbdbd;--kl-line:#444;--kl-edge:#8f8f8f;--kl-page:#121212;--kl-warn:#f2b8b5}"
}

// passingShade darkens rgb in steps until white on it reaches 4.5:1.
func passingShade(rgb [3]float64) string {
	for f := 1.0; f > 0; f -= 0.01 {
		s := [3]float64{math.Floor(rgb[0] * f), math.Floor(rgb[1] * f), math.Floor(rgb[2] * f)}
		if contrastWithWhite(s) >= 4.5 {
			return fmt.Sprintf("#%02x%02x%02x", int(s[0]), int(s[1]), int(s[2]))
		}
	}
	return "#000000"
}

// apply returns the stylesheet css in theme t.
func (t Theme) apply(css string) string {
	accent := "#0b57d0"
	if t.Accent != "" {
		accent = strings.ToLower(t.Accent)
		css = strings.Replace(css, builtinAccent, "--kl-accent:"+accent+";--kl-link:"+accent, 1)
	}
	if t.Radius != "" {
		btn := "calc(" + t.Radius + " * 2 / 3)"
		if t.Radius == "0" {
			btn = "0" // calc(0 * 2 / 3) is a number, not a length: dropped
		}
		css = strings.Replace(css, builtinRadius, "border-radius:"+t.Radius, 1)
		css = strings.ReplaceAll(css, builtinBtnRadius, "border-radius:"+btn)
	}
	if t.Font == "inherit" {
		css = strings.Replace(css, builtinFont, "font-size:15px;line-height:1.5;font-family:inherit", 1)
	}
	switch t.Position {
	case "bottom-left":
		css += "\n.kl{right:auto;margin:0}"
	case "bottom-right":
		css += "\n.kl{left:auto;margin:0}"
	case "center":
		css += "\n.kl{top:50%;bottom:auto;transform:translateY(-50%)}"
	}
	rgb, _ := parseHex(accent)
	switch t.Dark {
	case "", "auto":
		css += "\n@media (prefers-color-scheme:dark){" + darkVars(linkOnDark(rgb)) + "}"
	case "on":
		css += "\n" + darkVars(linkOnDark(rgb))
	}
	return css
}
