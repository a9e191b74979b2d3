package banner

import (
	"bytes"
	"compress/gzip"
	"math"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/fetching"
)

func newBanner(t *testing.T, o Options) *Banner {
	t.Helper()
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Catalog = c
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConfigTextIsEscaped(t *testing.T) {
	b := newBanner(t, Options{Operator: `<img src=x onerror=alert(1)>`, Contact: `<a href=//evil>`,
		Texts: map[string]map[string]string{"en": {"title": `</h2><script>alert(1)</script>`}}})
	for layer, out := range map[string]string{
		"first":  string(b.Body("en", `/p?a="><script>`, `//h"><b>`, false, false)),
		"second": string(b.Choices("en", 0, `/p?a="><script>`, `//h"><b>`, false, false)),
	} {
		for _, bad := range []string{"<script>", "<img src=x", `//h"`, "<a href=//evil"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s layer: unescaped %q in banner:\n%s", layer, bad, out)
			}
		}
		if !strings.Contains(out, "&lt;/h2&gt;&lt;script&gt;") || !strings.Contains(out, `value="/p?a=&#34;&gt;&lt;script&gt;"`) ||
			!strings.Contains(out, "&lt;img src=x") {
			t.Errorf("%s layer: escaped text missing:\n%s", layer, out)
		}
	}
}

// TestBannerControls: the first layer is the three choices and no
// switches; the second has a switch per category, only the granted ones
// on, and the three choices again.
func TestBannerControls(t *testing.T) {
	b := newBanner(t, Options{})
	choices := []string{`data-consent-banner`, `method="post"`, `action="/_consent/consent"`,
		`data-consent-action="accept-all"`, `data-consent-action="reject-all"`}
	for _, lang := range []string{"kk", "ru", "en"} {
		first := string(b.Body(lang, "/", "", false, false))
		for _, want := range append(choices, `lang="`+lang+`"`, `name="action" value="customize" data-consent-action="customize"`) {
			if !strings.Contains(first, want) {
				t.Errorf("%s first layer lacks %s", lang, want)
			}
		}
		if strings.Contains(first, `name="category"`) || strings.Contains(first, "<details") {
			t.Errorf("%s first layer carries the second's switches", lang)
		}
		second := string(b.Choices(lang, catalog.SetOf(catalog.Analytics), "/", "", false, false))
		for _, want := range append(choices, `lang="`+lang+`"`, `data-consent-action="save"`,
			`role="switch" id="kl-c-functional" name="category" value="functional" aria-describedby="kl-d-functional">`,
			`value="analytics" checked`, `<label for="kl-c-marketing">`) {
			if !strings.Contains(second, want) {
				t.Errorf("%s second layer lacks %s", lang, want)
			}
		}
		if strings.Contains(second, `value="marketing" checked`) {
			t.Error("a category not granted is switched on")
		}
		if n := strings.Count(string(b.Choices(lang, 0, "/", "", false, false)), " checked"); n != 1 {
			t.Errorf("%s: a new visitor's second layer has %d switches on, want 1 (necessary)", lang, n)
		}
	}
	for _, m := range [][]byte{b.Body("kk", "/", "", true, true), b.Choices("kk", 0, "/", "", true, true)} {
		for _, c := range m {
			if c >= 0x80 {
				t.Fatal("ascii banner has non-ASCII bytes")
			}
		}
	}
}

func TestAssetsAreMinifiedHashedAndCached(t *testing.T) {
	b := newBanner(t, Options{})
	js, css := b.AssetSizes()
	t.Logf("gzip: script %d B, stylesheet %d B", js, css)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/_consent/"+b.js.name, nil)
	req.Header.Set("Accept-Encoding", "gzip, br")
	if !b.ServeAsset(rec, req, b.js.name) {
		t.Fatal("hashed asset not served")
	}
	if rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("headers: %v", rec.Header())
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.ReadFrom(zr)
	if strings.Contains(plain.String(), "// Bringing") || !strings.Contains(plain.String(), "mc.yandex.ru") {
		t.Error("script not minified or lacks the catalog rules")
	}
	old := httptest.NewRecorder()
	if !b.ServeAsset(old, req, "kelisim.0000000000.js") || old.Header().Get("Cache-Control") != "no-cache" {
		t.Error("a previous fingerprint should get the current script, revalidated")
	}
	if b.ServeAsset(httptest.NewRecorder(), req, "other.js") {
		t.Error("unknown asset served")
	}
	// The placeholder's stylesheet is its own file, named in the
	// placeholder document and not in the banner's head.
	ph := httptest.NewRecorder()
	if !b.ServeAsset(ph, req, b.phCSS.name) || !strings.HasPrefix(ph.Header().Get("Content-Type"), "text/css") {
		t.Errorf("placeholder stylesheet %s not served: %v", b.phCSS.name, ph.Header())
	}
	if !b.ServeAsset(httptest.NewRecorder(), req, "kelisim-ph.css") || !b.ServeAsset(httptest.NewRecorder(), req, "kelisim.css") {
		t.Error("plain stylesheet names not served")
	}
	if head := string(b.Head(0, false, "ru", "")); strings.Contains(head, "kelisim-ph") || !strings.Contains(head, b.css.name) {
		t.Errorf("head names the wrong stylesheet: %s", head)
	}
	if doc := b.Placeholder("ru", &b.opts.Catalog.Processors[0], 0, "/", "//example.kz"); !strings.Contains(doc, b.phCSS.name) {
		t.Errorf("placeholder does not name its stylesheet: %s", doc)
	}
}

// TestAssetConditionalRequests: the assets answer revalidation, ranges
// and HEAD as a file server does; each encoding has its own ETag, so a
// cache never answers a gzip request with the plain bytes' validator.
func TestAssetConditionalRequests(t *testing.T) {
	b := newBanner(t, Options{})
	do := func(method, ae string, hdr ...string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, "/_consent/"+b.js.name, nil)
		req.Header.Set("Accept-Encoding", ae)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		b.ServeAsset(rec, req, b.js.name)
		return rec
	}
	plain, gz := do("GET", ""), do("GET", "gzip")
	pe, ge := plain.Header().Get("ETag"), gz.Header().Get("ETag")
	if pe == "" || ge == "" || pe == ge {
		t.Fatalf("ETags plain %q gzip %q", pe, ge)
	}
	if !bytes.Equal(plain.Body.Bytes(), b.js.body) || plain.Header().Get("Content-Length") != strconv.Itoa(len(b.js.body)) {
		t.Error("plain body or its length wrong")
	}
	for _, c := range []struct {
		name string
		rec  *httptest.ResponseRecorder
		code int
	}{
		{"If-None-Match list", do("GET", "gzip", "If-None-Match", `"x", `+ge), 304},
		{"weak If-None-Match", do("GET", "gzip", "If-None-Match", "W/"+ge), 304},
		{"If-None-Match *", do("GET", "", "If-None-Match", "*"), 304},
		{"other encoding's ETag", do("GET", "", "If-None-Match", ge), 200},
		{"If-Modified-Since", do("GET", "", "If-Modified-Since", plain.Header().Get("Last-Modified")), 304},
		{"Range", do("GET", "", "Range", "bytes=0-9"), 206},
		{"HEAD", do("HEAD", "gzip"), 200},
	} {
		if c.rec.Code != c.code {
			t.Errorf("%s: %d, want %d", c.name, c.rec.Code, c.code)
		}
	}
	if r := do("GET", "", "Range", "bytes=0-9"); r.Body.Len() != 10 || !bytes.Equal(r.Body.Bytes(), b.js.body[:10]) {
		t.Errorf("range body %q", r.Body.String())
	}
	if h := do("HEAD", "gzip"); h.Body.Len() != 0 || h.Header().Get("Content-Length") != strconv.Itoa(len(b.js.gz)) {
		t.Errorf("HEAD: %d body bytes, length %s", h.Body.Len(), h.Header().Get("Content-Length"))
	}
}

// TestBannerWeight: everything the banner adds to a page view — the
// injected markup and its script and stylesheet — stays within 8 KB (8 000
// bytes) gzip (CookieConsent v3 ships 15 KB, Klaro 69 KB).
//
// It holds the shipped demo's configuration — the site's own processors,
// the `processors` option, clause 5.1 of its policy — to the budget, and
// logs the default that lists the whole catalog.
func TestBannerWeight(t *testing.T) {
	all := newBanner(t, Options{})
	for _, lang := range []string{"kk", "ru"} {
		js, css := all.AssetSizes()
		m := append(all.Head(0, false, lang, ""), all.Body(lang, "/news/2024/almaty-warehouse.html", "", false, true)...)
		var buf bytes.Buffer
		z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		z.Write(m)
		z.Close()
		t.Logf("%s, all 49 catalog processors listed (no `processors` option): %d B gzip", lang, buf.Len()+js+css)
	}
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Show([]string{"google-analytics", "google-tag-manager", "yandex-metrica", "meta-pixel", "jivochat", "youtube", "yandex-maps"}); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Catalog: c})
	if err != nil {
		t.Fatal(err)
	}
	gz := func(p []byte) int {
		var buf bytes.Buffer
		z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		z.Write(p)
		z.Close()
		return buf.Len()
	}
	for _, lang := range []string{"kk", "ru", "en"} {
		markup := append(b.Head(0, false, lang, ""), b.Body(lang, "/news/2024/almaty-warehouse.html", "//www.nlg.kz", false, true)...)
		js, css := b.AssetSizes()
		total := gz(markup) + js + css
		t.Logf("%s: markup %d B raw / %d B gzip, script %d B, stylesheet %d B gzip: total %d B", lang, len(markup), gz(markup), js, css, total)
		t.Logf("%s: the actions' script, loaded on the first reach for the banner: %d B gzip", lang, len(b.ui.gz))
		if total > 8000 {
			t.Errorf("%s: the banner adds %d B gzip per page view, over 8 KB", lang, total)
		}
	}
}

// TestScriptCarriesTheFetchingTable: the client guard's table of elements
// and attributes is package fetching's, substituted at start-up.
func TestScriptCarriesTheFetchingTable(t *testing.T) {
	b := newBanner(t, Options{})
	js := string(b.js.body)
	for _, want := range []string{fetching.JS(), fetching.JSSrcset()} {
		if !strings.Contains(js, want) {
			t.Errorf("script lacks %s", want)
		}
	}
	for _, marker := range []string{"RULES", "FETCHING", "SRCSET", "MOVED"} {
		if strings.Contains(js, marker) {
			t.Errorf("script still holds the %s marker", marker)
		}
	}
	if !strings.Contains(js, `"`+b.ui.name+`"`) {
		t.Errorf("script does not name its second part %s", b.ui.name)
	}
}

// TestPickLang: Accept-Language as RFC 9110 §12.5.4 has it — weights
// order the choice, q=0 means "not acceptable", regional tags fall back
// to their primary subtag, and nothing usable means the default.
func TestPickLang(t *testing.T) {
	b := newBanner(t, Options{})
	for in, want := range map[string]string{
		"ru;q=0, de":                 "kk", // ru refused: the default, not ru
		"ru-RU,ru;q=0.9,en-US;q=0.8": "ru",
		"de, en;q=0.5, ru;q=0.7":     "ru",
		"en-GB;q=0.3, kk-KZ;q=0.2":   "en",
		"*":                          "kk",
		"":                           "kk",
		"fr, de":                     "kk",
		"EN":                         "en",
		"ru;q=0.000, en;q=0.001":     "en",
		"en;q=garbage, ru":           "kk", // malformed: the default
	} {
		if got := b.PickLang(in); got != want {
			t.Errorf("PickLang(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAcceptsGzip: Accept-Encoding as RFC 9110 §12.5.3 has it — q=0
// (in any spelling) refuses, "*" stands for codings not named.
func TestAcceptsGzip(t *testing.T) {
	for in, want := range map[string]bool{
		"gzip":                true,
		"gzip, deflate, br":   true,
		"gzip;q=0":            false,
		"gzip;q=0.000":        false,
		"gzip; q=0.001":       true,
		"br, gzip;q=0, *;q=1": false,
		"*":                   true,
		"*;q=0":               false,
		"identity":            false,
		"":                    false,
		"x-gzip":              true,
		"GZIP;Q=0.5":          true, // names are case-insensitive
		"GZIP;Q=0":            false,
	} {
		if got := acceptsGzip(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestThemeAccentContrast: WCAG's contrast of white on the accent, on
// pairs whose ratios are widely published (#767676 is the lightest grey
// that passes on white at 4.54:1, #777777 fails at 4.48:1; pure blue
// 8.59:1, pure red 4.00:1, black 21:1); a failing accent is refused
// with a darker shade of it that passes.
func TestThemeAccentContrast(t *testing.T) {
	for c, want := range map[string]float64{"#000": 21, "#767676": 4.54, "#777777": 4.48, "#0000ff": 8.59, "#f00": 4.00} {
		rgb, ok := parseHex(c)
		if !ok {
			t.Fatalf("%s not read", c)
		}
		if got := contrastWithWhite(rgb); math.Abs(got-want) > 0.05 {
			t.Errorf("contrast of white on %s = %.2f, want %.2f", c, got, want)
		}
	}
	for _, ok := range []string{"#0b57d0", "#767676", "#1B5E20"} {
		if err := CheckAccent(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	err := CheckAccent("#ffcc00")
	if err == nil || !strings.Contains(err.Error(), "1.5:1") {
		t.Fatalf("#ffcc00: %v", err)
	}
	shade := regexp.MustCompile(`#[0-9a-f]{6} \(the same hue`).FindString(err.Error())
	if rgb, _ := parseHex(strings.Fields(shade)[0]); contrastWithWhite(rgb) < 4.5 {
		t.Errorf("the suggested %s does not pass either", shade)
	}
	for _, good := range []Theme{{Radius: ".75rem"}, {Radius: "0"}, {Radius: "12px"}, {Radius: "1.5em"}} {
		if err := good.Check(); err != nil {
			t.Errorf("%+v refused: %v", good, err)
		}
	}
	for _, bad := range []Theme{{Accent: "blue"}, {Radius: "12"}, {Radius: "1px;}body{x:y"}, {Radius: ".rem"}, {Position: "top"}, {Font: "comic"}, {Dark: "yes"}} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestThemeInTheStylesheet: a theme's accent, radius, font and position
// reach the served stylesheet; without one it is the built-in one.
func TestThemeInTheStylesheet(t *testing.T) {
	plain := newBanner(t, Options{})
	themed := newBanner(t, Options{Theme: Theme{Accent: "#1B5E20", Radius: "0", Position: "bottom-left", Font: "inherit"}})
	css := string(themed.css.body)
	for _, want := range []string{"#1b5e20", "border-radius:0", "font-family:inherit", ".kl{right:auto;margin:0}"} {
		if strings.Contains(css, "calc(0") {
			t.Error("a radius of 0 gives the buttons calc(0 …), which browsers drop")
		}
		if !strings.Contains(css, want) {
			t.Errorf("themed stylesheet lacks %q", want)
		}
	}
	if strings.Contains(css, builtinAccent) {
		t.Error("themed stylesheet keeps the built-in accent")
	}
	if !strings.Contains(string(plain.css.body), builtinAccent) || plain.css.name == themed.css.name {
		t.Error("the built-in stylesheet changed, or the themed one has its name")
	}
}

// TestThemeDark: dark mode follows the visitor's system by default, can
// be always on or off, and its links are the accent lightened until they
// read on the dark background (4.5:1).
func TestThemeDark(t *testing.T) {
	media := "@media(prefers-color-scheme:dark){"
	link := regexp.MustCompile(`color-scheme:dark;--kl-link:(#[0-9a-f]{6})`)
	for _, c := range []struct {
		theme     Theme
		media     bool // dark when the system is
		always    bool // dark whatever the system
		linkDiffs bool // the dark link colour is not the default one
	}{
		{Theme{}, true, false, false},
		{Theme{Dark: "auto"}, true, false, false},
		{Theme{Dark: "off"}, false, false, false},
		{Theme{Dark: "on"}, false, true, false},
		{Theme{Accent: "#1b5e20"}, true, false, true},
	} {
		css := string(newBanner(t, Options{Theme: c.theme}).css.body)
		m := link.FindStringSubmatch(css)
		if got := strings.Contains(css, media); got != c.media {
			t.Errorf("%+v: dark under prefers-color-scheme %v, want %v", c.theme, got, c.media)
		}
		if got := m != nil && !strings.Contains(css, media); got != c.always {
			t.Errorf("%+v: always dark %v, want %v", c.theme, got, c.always)
		}
		if m == nil {
			continue
		}
		rgb, _ := parseHex(m[1])
		if r := (luminance(rgb) + 0.05) / (luminance(darkBG) + 0.05); r < 4.5 {
			t.Errorf("%+v: dark link %s has %.2f:1 on the dark background", c.theme, m[1], r)
		}
		if (m[1] != linkOnDark([3]float64{0x0b, 0x57, 0xd0})) != c.linkDiffs {
			t.Errorf("%+v: dark link %s", c.theme, m[1])
		}
	}
}
