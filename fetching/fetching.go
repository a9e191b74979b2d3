// Package fetching is the one table of which elements make a browser
// fetch a URL, and through which attributes. The rewriter neutralises by
// it, the client script's guard is built from it and `kelisim scan`
// reports by it, so the three cannot disagree.
//
// Names are those the tokenizer reads in the page, in lower case, and the
// attributes are the union over the namespaces an element of that name
// can be created in: the rewriter does not always know whether it stands
// in HTML or in SVG, and an attribute neutralised where the browser would
// not have fetched costs nothing, one missed loads a tracker. <image> is
// the case in point: in HTML the parser creates an <img> from it (src,
// srcset); in SVG it is SVG's image (href, xlink:href).
package fetching

import (
	"sort"
	"strconv"
	"strings"
)

// Element is one element name and what it fetches through.
type Element struct {
	Name string
	// Attrs are the attributes whose URL the browser fetches, or that
	// lazy-loading libraries turn into such a URL (data-src and kin): what
	// classifies the element and what is renamed when it is neutralised.
	Attrs []string
	// Srcset are the attributes among Attrs holding a srcset candidate
	// list ("url [descriptor], ...") rather than one URL.
	Srcset []string
	// Kind is the name scan reports it under: script, frame, pixel,
	// link, media.
	Kind string
}

// Elements is the table, by name.
var Elements = []Element{
	{Name: "script", Attrs: []string{"src", "href", "xlink:href"}, Kind: "script"},
	{Name: "iframe", Attrs: []string{"src", "data-src", "data-lazy-src"}, Kind: "frame"},
	{Name: "frame", Attrs: []string{"src"}, Kind: "frame"},
	{Name: "img", Attrs: []string{"src", "srcset", "data-src", "data-srcset", "data-lazy-src"}, Srcset: []string{"srcset", "data-srcset"}, Kind: "pixel"},
	// <image> becomes <img> in HTML, and is SVG's image in SVG.
	{Name: "image", Attrs: []string{"src", "srcset", "data-src", "data-srcset", "href", "xlink:href"}, Srcset: []string{"srcset", "data-srcset"}, Kind: "pixel"},
	{Name: "source", Attrs: []string{"src", "srcset", "data-src", "data-srcset"}, Srcset: []string{"srcset", "data-srcset"}, Kind: "media"},
	{Name: "video", Attrs: []string{"src", "poster"}, Kind: "media"},
	{Name: "audio", Attrs: []string{"src"}, Kind: "media"},
	{Name: "track", Attrs: []string{"src"}, Kind: "media"},
	{Name: "embed", Attrs: []string{"src"}, Kind: "frame"},
	{Name: "object", Attrs: []string{"data"}, Kind: "frame"},
	{Name: "input", Attrs: []string{"src"}, Kind: "pixel"},
	{Name: "link", Attrs: []string{"href", "imagesrcset"}, Srcset: []string{"imagesrcset"}, Kind: "link"},
	// Legacy presentational attributes: the background image of the body
	// and of tables.
	{Name: "body", Attrs: []string{"background"}, Kind: "pixel"},
	{Name: "table", Attrs: []string{"background"}, Kind: "pixel"},
	{Name: "thead", Attrs: []string{"background"}, Kind: "pixel"},
	{Name: "tbody", Attrs: []string{"background"}, Kind: "pixel"},
	{Name: "tfoot", Attrs: []string{"background"}, Kind: "pixel"},
	{Name: "tr", Attrs: []string{"background"}, Kind: "pixel"},
	{Name: "td", Attrs: []string{"background"}, Kind: "pixel"},
	{Name: "th", Attrs: []string{"background"}, Kind: "pixel"},
	// A link's ping is POSTed to when it is followed.
	{Name: "a", Attrs: []string{"ping"}, Kind: "pixel"},
	{Name: "area", Attrs: []string{"ping"}, Kind: "pixel"},
	// SVG.
	{Name: "use", Attrs: []string{"href", "xlink:href"}, Kind: "pixel"},
	{Name: "feimage", Attrs: []string{"href", "xlink:href"}, Kind: "pixel"},
	// SVG animation can set an href: <set attributeName="href" to="…">.
	{Name: "set", Attrs: []string{"to"}, Kind: "pixel"},
	{Name: "animate", Attrs: []string{"to", "from", "by", "values"}, Kind: "pixel"},
}

// FetchRels are link relations that make the browser fetch the href;
// ConnectRels only open a connection to its host.
var (
	FetchRels = []string{"stylesheet", "preload", "prefetch", "modulepreload", "prerender",
		"icon", "manifest", "apple-touch-icon", "apple-touch-icon-precomposed", "compression-dictionary", "dictionary"}
	ConnectRels = []string{"preconnect", "dns-prefetch"}
)

var byName = func() map[string]*Element {
	m := make(map[string]*Element, len(Elements))
	for i := range Elements {
		m[Elements[i].Name] = &Elements[i]
	}
	return m
}()

// Lookup returns the entry for a lower-case element name, or nil.
func Lookup(name string) *Element { return byName[name] }

// IsSrcset reports whether attribute attr (lower case) of e holds a
// srcset list.
func (e *Element) IsSrcset(attr string) bool {
	for _, a := range e.Srcset {
		if a == attr {
			return true
		}
	}
	return false
}

// Moved is every attribute name the rewriter may rename to data-<name>
// when it neutralises an element (and the client renames back), plus a
// script's type.
func Moved() []string {
	seen := map[string]bool{"type": true}
	out := []string{"type"}
	for _, e := range Elements {
		for _, a := range e.Attrs {
			if !seen[a] && !strings.HasPrefix(a, "data-") {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// JS returns the table as a JavaScript object literal for the client
// script: upper-case tag name (as Element.tagName gives it for HTML
// elements) to its URL attributes, lazy-loading data- attributes left
// out (the client sees them only after the rewriter has).
func JS() string {
	names := make([]string, 0, len(Elements))
	for _, e := range Elements {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.ToUpper(n))
		b.WriteString(":[")
		j := 0
		for _, a := range byName[n].Attrs {
			if strings.HasPrefix(a, "data-") {
				continue
			}
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(a))
			j++
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.String()
}

// JSSrcset returns, as a JavaScript array literal, the attributes of JS()
// that hold a srcset list rather than one URL (lazy-loading data-
// attributes left out, as in JS()). An attribute name is a srcset list on
// every element that fetches through it, so the client needs no more than
// the names.
func JSSrcset() string {
	seen := map[string]bool{}
	var b strings.Builder
	b.WriteByte('[')
	for _, e := range Elements {
		for _, a := range e.Srcset {
			if seen[a] || strings.HasPrefix(a, "data-") {
				continue
			}
			if len(seen) > 0 {
				b.WriteByte(',')
			}
			seen[a] = true
			b.WriteString(strconv.Quote(a))
		}
	}
	b.WriteByte(']')
	return b.String()
}
