package banner

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/fetching"
	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/js"
)

//go:embed assets/kelisim.js
var clientJS string

// The banner's actions (posting the choice, bringing elements back, the
// reopened banner) are apart too: the guard loads them when the visitor
// reaches for the banner, so a page view carries the guard alone.
//
//go:embed assets/kelisim-ui.js
var clientUIJS string

//go:embed assets/kelisim.css
var clientCSS string

// The placeholder's stylesheet is apart: most pages show no placeholder,
// and the banner's first page view carries only what it needs.
//
//go:embed assets/kelisim-ph.css
var placeholderCSS string

// asset is a minified file with a content-hash name, kept with its gzip
// form so it is compressed once, at start-up.
type asset struct {
	name  string // e.g. kelisim.3f2a9c1b.js
	ctype string
	body  []byte
	gz    []byte
	etag  string
}

func newAsset(base, ext, ctype string, body []byte) asset {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])[:10]
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	return asset{name: base + "." + h + "." + ext, ctype: ctype, body: body, gz: gz.Bytes(), etag: `"` + h + `"`}
}

// rulesJSON is the catalog in the compact form the client guard uses:
// ["functional patterns", "analytics", "marketing", "necessary"], each a
// space-separated list of "host" or "host/path-prefix" (patterns hold no
// spaces).
func (b *Banner) rulesJSON() ([]byte, error) {
	var out [4][]string
	out[3] = b.opts.Catalog.NecessaryHosts()
	for _, r := range b.opts.Catalog.Rules() {
		i := map[catalog.Category]int{catalog.Functional: 0, catalog.Analytics: 1, catalog.Marketing: 2}[r.Category]
		out[i] = append(out[i], r.Host+r.Path)
	}
	return json.Marshal([]string{strings.Join(out[0], " "), strings.Join(out[1], " "), strings.Join(out[2], " "), strings.Join(out[3], " ")})
}

// cookiesJSON lists the first-party cookie names of the site's processors
// (those the banner lists) for the client's cookie guard: ["functional
// names", "analytics", "marketing"], space-separated, a trailing * a
// prefix; a name a prefix of its category covers is left out. The
// scripts of other processors are blocked by URL wherever they come
// from, and with them what they would set.
func (b *Banner) cookiesJSON() ([]byte, error) {
	var out [3][]string
	c := b.opts.Catalog
	for i, p := range c.Processors {
		k, ok := map[catalog.Category]int{catalog.Functional: 0, catalog.Analytics: 1, catalog.Marketing: 2}[p.Category]
		if ok && c.Shown(i) {
			out[k] = append(out[k], p.Cookies...)
		}
	}
	var lists []string
	for _, names := range out {
		var kept []string
		for _, n := range names {
			covered := false
			for _, q := range names {
				if pre, ok := strings.CutSuffix(q, "*"); ok && q != n && strings.HasPrefix(n, pre) {
					covered = true
				}
			}
			if !covered && !slices.Contains(kept, n) {
				kept = append(kept, n)
			}
		}
		lists = append(lists, strings.Join(kept, " "))
	}
	return json.Marshal(lists)
}

func (b *Banner) buildAssets() error {
	m := minify.New()
	m.AddFunc("application/javascript", js.Minify)
	m.AddFunc("text/css", css.Minify)
	rules, err := b.rulesJSON()
	if err != nil {
		return err
	}
	cookieNames, err := b.cookiesJSON()
	if err != nil {
		return err
	}
	minUI, err := m.String("application/javascript", clientUIJS)
	if err != nil {
		return fmt.Errorf("banner: minify script: %w", err)
	}
	b.ui = newAsset("kelisim-ui", "js", "text/javascript; charset=utf-8", []byte(minUI))
	src := clientJS
	for _, r := range []struct{ marker, with string }{
		{`/*UI*/""`, `"` + b.ui.name + `"`},
		{`/*COOKIES*/["", "", ""]`, string(cookieNames)},
		{`/*RULES*/["", "", "", ""]`, string(rules)},
		// The element table of the guard: the one the rewriter and scan use.
		{`/*FETCHING*/{}`, fetching.JS()},
		{`/*SRCSET*/[]`, fetching.JSSrcset()},
	} {
		next := strings.Replace(src, r.marker, r.with, 1)
		if next == src {
			return fmt.Errorf("banner: client script lost its %s marker", r.marker)
		}
		src = next
	}
	minJS, err := m.String("application/javascript", src)
	if err != nil {
		return fmt.Errorf("banner: minify script: %w", err)
	}
	for _, v := range []string{builtinAccent, builtinRadius, builtinBtnRadius, builtinFont} {
		if !strings.Contains(clientCSS, v) {
			return fmt.Errorf("banner: the stylesheet lost %q, which themes replace", v)
		}
	}
	minCSS, err := m.String("text/css", b.opts.Theme.apply(clientCSS))
	if err != nil {
		return fmt.Errorf("banner: minify stylesheet: %w", err)
	}
	minPH, err := m.String("text/css", placeholderCSS)
	if err != nil {
		return fmt.Errorf("banner: minify placeholder stylesheet: %w", err)
	}
	b.js = newAsset("kelisim", "js", "text/javascript; charset=utf-8", []byte(minJS))
	b.css = newAsset("kelisim", "css", "text/css; charset=utf-8", []byte(minCSS))
	b.phCSS = newAsset("kelisim-ph", "css", "text/css; charset=utf-8", []byte(minPH))
	return nil
}

// AssetSizes returns the gzip sizes of the script and the stylesheet.
func (b *Banner) AssetSizes() (jsGz, cssGz int) { return len(b.js.gz), len(b.css.gz) }

// ServeAsset serves the asset called name (a content-hash name gets a
// year of immutable caching; the plain names, kelisim.js and the like,
// are revalidated). It reports whether name was an asset.
func (b *Banner) ServeAsset(w http.ResponseWriter, r *http.Request, name string) bool {
	var a *asset
	immutable := true
	for _, c := range []*asset{&b.js, &b.ui, &b.css, &b.phCSS} {
		base, ext, _ := strings.Cut(c.name, ".")
		ext = ext[strings.LastIndexByte(ext, '.'):]
		switch {
		case name == c.name:
			a = c
		case name == base+ext,
			// A page rendered before a config reload names the previous
			// fingerprint: serve the current file, revalidated.
			strings.HasPrefix(name, base+".") && strings.HasSuffix(name, ext) && len(name) == len(c.name):
			a, immutable = c, false
		default:
			continue
		}
		break
	}
	if a == nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Add("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	// Each encoding is its own representation, with its own validator.
	body, etag := a.body, a.etag
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
	}
	h.Set("ETag", etag)
	if r.Header.Get("Range") == "" {
		// ServeContent leaves the length of an encoded body out.
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	// Conditional requests, ranges and HEAD as net/http serves files.
	http.ServeContent(w, r, "", startTime, bytes.NewReader(body))
	return true
}

// startTime is the assets' Last-Modified: they change only with the
// binary or the config.
var startTime = time.Now().Truncate(time.Second)

func acceptsGzip(ae string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				} else {
					q = 0 // unreadable: not an acceptance
				}
			}
		}
		switch name = strings.ToLower(strings.TrimSpace(name)); name {
		case "gzip", "x-gzip":
			gzipQ = max(gzipQ, q)
		case "*":
			anyQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}
