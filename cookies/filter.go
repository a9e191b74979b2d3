// Package cookies keeps tracker cookies away from the origin and the
// browser unless their category is granted. The site's own cookies — any
// name the catalog does not know — pass byte for byte.
package cookies

import (
	"net/http"
	"strings"

	"github.com/kelisim/kelisim/catalog"
	"golang.org/x/net/publicsuffix"
)

// FilterRequest removes from r's Cookie headers the tracker cookies whose
// category is not in granted, and returns their names (so the response can
// expire them). Headers without tracker cookies are left as they are.
func FilterRequest(r *http.Request, cat *catalog.Catalog, granted catalog.Set) (dropped []string) {
	lines := r.Header["Cookie"]
	for li, line := range lines {
		if !strings.Contains(line, "=") {
			continue
		}
		var kept []string
		changed := false
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if p := cat.MatchCookie(name); p >= 0 && !granted.Has(cat.Category(p).Bit()) {
				dropped = append(dropped, name)
				changed = true
				continue
			}
			kept = append(kept, strings.TrimSpace(part))
		}
		if changed {
			lines[li] = strings.Join(kept, "; ")
		}
	}
	if dropped != nil {
		// Remove now-empty lines so the origin sees no empty Cookie header.
		out := lines[:0]
		for _, l := range lines {
			if strings.TrimSpace(l) != "" {
				out = append(out, l)
			}
		}
		if len(out) == 0 {
			r.Header.Del("Cookie")
		} else {
			r.Header["Cookie"] = out
		}
	}
	return dropped
}

// FilterResponse drops Set-Cookie headers of tracker cookies whose category
// is not in granted and returns the names dropped.
func FilterResponse(h http.Header, cat *catalog.Catalog, granted catalog.Set) (dropped []string) {
	lines := h["Set-Cookie"]
	if len(lines) == 0 {
		return nil
	}
	out := lines[:0:0]
	for _, l := range lines {
		name, _, _ := strings.Cut(l, "=")
		name = strings.TrimSpace(name)
		if p := cat.MatchCookie(name); p >= 0 && !granted.Has(cat.Category(p).Bit()) {
			dropped = append(dropped, name)
			continue
		}
		out = append(out, l)
	}
	if dropped != nil {
		if len(out) == 0 {
			h.Del("Set-Cookie")
		} else {
			h["Set-Cookie"] = out
		}
	}
	return dropped
}

// Expire adds Set-Cookie headers that delete each named cookie on host and
// on each parent domain up to the registrable domain (where analytics
// scripts put theirs: _ga lives on .example.kz), and on every path a
// cookie sent with a request for path can have been set with: a cookie
// is only replaced or removed under its own path, and one set by a
// script on /shop/ with Path=/shop/ is sent with /shop/cart too.
func Expire(h http.Header, host, path string, names []string) {
	if len(names) == 0 {
		return
	}
	host = strings.ToLower(stripPort(host))
	domains := parentDomains(host)
	paths := cookiePaths(path)
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] || !validName(n) {
			continue
		}
		seen[n] = true
		for _, p := range paths {
			h.Add("Set-Cookie", n+"=; Path="+p+"; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
			for _, d := range domains {
				h.Add("Set-Cookie", n+"=; Path="+p+"; Domain="+d+"; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
			}
		}
	}
}

// maxCookiePaths bounds the paths expired per request (a deep path would
// otherwise add headers by the dozen).
const maxCookiePaths = 8

// cookiePaths returns the cookie paths that path-match path (RFC 6265
// 5.1.4): "/", and each ancestor directory with and without its
// trailing slash, the nearest first after "/", at most maxCookiePaths.
func cookiePaths(path string) []string {
	out := []string{"/"}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, ";\r\n\x00") {
		return out
	}
	var cands []string
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' {
			cands = append(cands, path[:i+1], path[:i])
		}
	}
	if !strings.HasSuffix(path, "/") {
		cands = append([]string{path}, cands...)
	}
	for _, c := range cands {
		if len(out) == maxCookiePaths {
			break
		}
		out = append(out, c)
	}
	return out
}

func parentDomains(host string) []string {
	if host == "" || strings.Trim(host, "0123456789.:[]") == "" { // IP literal
		return nil
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return nil
	}
	var out []string
	for d := host; ; {
		out = append(out, d)
		if d == reg {
			return out
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return out
		}
		d = d[i+1:]
	}
}

func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return host[:i+1]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
