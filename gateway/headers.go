package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/kelisim/kelisim/catalog"
)

// Response headers through which a browser contacts a processor with no
// markup involved: a redirect that an <img> or <script> of the site
// follows, and the endpoints it sends reports to.

// blockedRedirect reports whether a 3xx answer to r sends the browser to
// a processor not granted, as a subresource or a frame: an <img
// src="/go"> that redirects to a pixel loads the pixel. A top-level
// navigation (the visitor following a link) goes where it goes.
func blockedRedirect(r *http.Request, code int, h http.Header, cat *catalog.Catalog, granted catalog.Set) bool {
	if code < 300 || code > 399 || code == http.StatusNotModified {
		return false
	}
	loc := h.Get("Location")
	if loc == "" || r.Header.Get("Sec-Fetch-Dest") == "document" {
		return false
	}
	if r.Header.Get("Sec-Fetch-Dest") == "" && wantsHTML(r) && r.Header.Get("X-Requested-With") == "" {
		return false // a navigation by a client that does not say
	}
	target, err := r.URL.Parse(loc)
	if err != nil {
		return false
	}
	if target.Host == "" {
		return false
	}
	p := cat.MatchURL(target.String())
	return p >= 0 && !granted.Has(cat.Category(p).Bit())
}

// filterReporting removes the reporting endpoints on processors not
// granted: CSP report-uri, and the Report-To and Reporting-Endpoints
// headers (which report-to, NEL and others name).
func filterReporting(h http.Header, cat *catalog.Catalog, granted catalog.Set) {
	blocked := func(u string) bool {
		p := cat.MatchURL(strings.TrimSpace(u))
		return p >= 0 && !granted.Has(cat.Category(p).Bit())
	}
	for _, name := range []string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"} {
		vals := h.Values(name)
		if len(vals) == 0 {
			continue
		}
		out := make([]string, 0, len(vals))
		changed := false
		for _, v := range vals {
			var dirs []string
			for _, d := range strings.Split(v, ";") {
				f := strings.Fields(d)
				if len(f) > 0 && strings.EqualFold(f[0], "report-uri") {
					kept := []string{f[0]}
					for _, u := range f[1:] {
						if blocked(u) {
							changed = true
						} else {
							kept = append(kept, u)
						}
					}
					if len(kept) == 1 {
						continue
					}
					d = " " + strings.Join(kept, " ")
				}
				dirs = append(dirs, d)
			}
			out = append(out, strings.Join(dirs, ";"))
		}
		if changed {
			h[http.CanonicalHeaderKey(name)] = out
		}
	}
	// Reporting-Endpoints: name="url", name2="url2"
	if vals := h.Values("Reporting-Endpoints"); len(vals) > 0 {
		var kept []string
		for _, v := range vals {
			for _, e := range splitQuoted(v) {
				_, u, _ := strings.Cut(e, "=")
				if !blocked(strings.Trim(strings.TrimSpace(u), `"`)) {
					kept = append(kept, strings.TrimSpace(e))
				}
			}
		}
		h.Del("Reporting-Endpoints")
		if len(kept) > 0 {
			h.Set("Reporting-Endpoints", strings.Join(kept, ", "))
		}
	}
	// Report-To: JSON objects, comma-separated, each with endpoints[].url.
	if vals := h.Values("Report-To"); len(vals) > 0 {
		var kept []string
		for _, v := range vals {
			var groups []map[string]any
			if json.Unmarshal([]byte("["+v+"]"), &groups) != nil {
				continue // unreadable: dropped, not passed
			}
			for _, g := range groups {
				eps, _ := g["endpoints"].([]any)
				var keep []any
				for _, e := range eps {
					m, _ := e.(map[string]any)
					u, _ := m["url"].(string)
					if u != "" && !blocked(u) {
						keep = append(keep, e)
					}
				}
				if len(keep) == 0 {
					continue
				}
				g["endpoints"] = keep
				b, err := json.Marshal(g)
				if err == nil {
					kept = append(kept, string(b))
				}
			}
		}
		h.Del("Report-To")
		if len(kept) > 0 {
			h.Set("Report-To", strings.Join(kept, ", "))
		}
	}
}
