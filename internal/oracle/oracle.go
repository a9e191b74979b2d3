// Package oracle finds, with golang.org/x/net/html's full parser, every
// element of a page that a browser would fetch or run. Tests use it as an
// independent judge of the streaming rewriter: it parses like a browser
// (twice — with scripting on, where <noscript> is text, and off, where it
// is markup), the rewriter only scans.
package oracle

import (
	"bytes"
	"strings"

	"github.com/kelisim/kelisim/catalog"
	"golang.org/x/net/html"
)

// Ref is one active reference on a page.
type Ref struct {
	Tag    string
	Attr   string // "" for an inline script
	URL    string // URL, or the inline script's text
	Inline bool
}

// Refs returns the active references of page under both scripting modes.
func Refs(page []byte) []Ref {
	var out []Ref
	for _, scripting := range []bool{true, false} {
		doc, err := html.ParseWithOptions(bytes.NewReader(page), html.ParseOptionEnableScripting(scripting))
		if err != nil {
			continue
		}
		walk(doc, &out)
	}
	return out
}

var urlAttrs = map[string][]string{
	"script": {"src"}, "iframe": {"src"}, "frame": {"src"}, "img": {"src", "srcset"},
	"source": {"src", "srcset"}, "video": {"src", "poster"}, "audio": {"src"}, "track": {"src"},
	"embed": {"src"}, "object": {"data"}, "input": {"src"}, "link": {"href", "imagesrcset"},
	"image": {"href", "xlink:href"}, "use": {"href", "xlink:href"}, "feimage": {"href", "xlink:href"},
}

func walk(n *html.Node, out *[]Ref) {
	if n.Type == html.ElementNode {
		name := n.Data
		if name == "script" && !executable(n) {
			// Not code: nothing runs or loads.
		} else if name == "link" && !fetchingLink(n) {
		} else {
			for _, a := range urlAttrs[name] {
				for _, at := range n.Attr {
					if strings.EqualFold(attrName(at), a) && strings.TrimSpace(at.Val) != "" {
						if strings.HasSuffix(a, "srcset") {
							for _, c := range strings.Split(at.Val, ",") {
								if f := strings.Fields(c); len(f) > 0 {
									*out = append(*out, Ref{Tag: name, Attr: a, URL: f[0]})
								}
							}
							continue
						}
						*out = append(*out, Ref{Tag: name, Attr: a, URL: at.Val})
					}
				}
			}
			// With a src attribute, even an empty one, the body never runs.
			if name == "script" && !hasAttr(n, "src") && !hasAttr(n, "href") && n.Namespace != "math" {
				var b strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.TextNode {
						b.WriteString(c.Data)
					}
				}
				*out = append(*out, Ref{Tag: name, URL: b.String(), Inline: true})
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, out)
	}
}

func attrName(a html.Attribute) string {
	if a.Namespace != "" {
		return a.Namespace + ":" + a.Key
	}
	return a.Key
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func executable(n *html.Node) bool {
	for _, a := range n.Attr {
		if a.Key == "type" {
			t := strings.ToLower(strings.TrimSpace(a.Val))
			if i := strings.IndexByte(t, ';'); i >= 0 {
				t = strings.TrimSpace(t[:i])
			}
			return t == "" || t == "module" || strings.Contains(t, "javascript") || strings.Contains(t, "ecmascript") ||
				t == "text/jscript" || t == "text/livescript"
		}
	}
	return true
}

func fetchingLink(n *html.Node) bool {
	for _, r := range strings.Fields(strings.ToLower(attr(n, "rel"))) {
		switch r {
		case "stylesheet", "preload", "prefetch", "preconnect", "dns-prefetch", "modulepreload", "prerender", "icon", "manifest", "apple-touch-icon":
			return true
		}
	}
	return false
}

// Blocked returns the references of refs that belong to a processor whose
// category is not in granted: what must never be active on a page served
// to a visitor who granted only those categories.
func Blocked(c *catalog.Catalog, refs []Ref, granted catalog.Set) []Ref {
	var out []Ref
	for _, r := range refs {
		var cats catalog.Set
		if r.Inline {
			var st catalog.SigState
			c.ScanInline(&st, []byte(r.URL))
			for _, p := range st.Matched {
				cats |= c.Category(p).Bit()
			}
		} else if p := c.MatchURL(r.URL); p >= 0 {
			cats = c.Category(p).Bit()
		}
		if cats != 0 && !granted.Has(cats) {
			out = append(out, r)
		}
	}
	return out
}
