package gateway

import (
	"net/http"
	"strings"

	"github.com/kelisim/kelisim/catalog"
)

// filterLinks removes from Link headers the entries that point to a
// processor whose category is not granted: `Link: <https://mc.yandex.ru/
// metrika/tag.js>; rel=preload` makes the browser fetch before any markup
// is read.
func filterLinks(h http.Header, cat *catalog.Catalog, granted catalog.Set) {
	lines := h["Link"]
	if len(lines) == 0 {
		return
	}
	var out []string
	changed := false
	for _, line := range lines {
		var kept []string
		for _, link := range splitLinks(line) {
			u := strings.TrimSpace(link)
			if i := strings.IndexByte(u, '<'); i >= 0 {
				if j := strings.IndexByte(u[i:], '>'); j > 0 {
					target := u[i+1 : i+j]
					p := cat.MatchURL(target)
					if p < 0 {
						if host, _, ok := catalog.SplitURL(target); ok && strings.Contains(strings.ToLower(u[i+j:]), "preconnect") {
							p = cat.MatchHostOnly(host)
						}
					}
					if p >= 0 && !granted.Has(cat.Category(p).Bit()) {
						changed = true
						continue
					}
				}
			}
			kept = append(kept, strings.TrimSpace(link))
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, ", "))
		}
	}
	if !changed {
		return
	}
	if len(out) == 0 {
		h.Del("Link")
	} else {
		h["Link"] = out
	}
}

// splitLinks splits a Link header at the commas between links (not those
// inside <...> or quotes).
func splitLinks(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth <= 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
