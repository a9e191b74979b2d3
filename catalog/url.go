package catalog

import (
	"bytes"
	"strings"

	"golang.org/x/net/idna"
)

// SplitURL extracts the host and the path-and-query of an absolute or
// scheme-relative URL the way a browser's URL parser sees it, which is
// more forgiving than net/url: tabs and newlines anywhere are dropped,
// backslashes count as slashes, any number of slashes may follow the
// scheme, userinfo and port are ignored, the host is lower-cased,
// percent-decoded and loses a trailing dot. ok is false for relative URLs
// (they stay on the site) and for schemes that fetch nothing remote
// (data:, javascript:, blob:, about:).
func SplitURL(raw string) (host, pathQuery string, ok bool) {
	s := cleanURL(raw)
	rest := ""
	switch {
	case strings.HasPrefix(s, "//"):
		rest = s[2:]
	default:
		colon := strings.IndexByte(s, ':')
		if colon <= 0 {
			return "", "", false
		}
		scheme := strings.ToLower(s[:colon])
		switch scheme {
		case "http", "https", "ws", "wss", "ftp":
		default:
			return "", "", false
		}
		// "https:host/path" is a relative path on an https page and
		// absolute on an http one. Treat it as absolute: a false positive
		// blocks, a false negative leaks.
		rest = s[colon+1:]
	}
	rest = strings.TrimLeft(rest, "/")
	end := strings.IndexAny(rest, "/?#")
	authority := rest
	pathQuery = "/"
	if end >= 0 {
		authority = rest[:end]
		pathQuery = rest[end:]
		if pathQuery[0] == '?' {
			pathQuery = "/" + pathQuery
		} else if pathQuery[0] == '#' {
			pathQuery = "/"
		}
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host = authority
	if strings.HasPrefix(host, "[") { // IPv6 literal: never a catalog host
		return "", "", false
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if strings.IndexByte(host, '%') >= 0 {
		host = percentDecode(host)
	}
	host = lowerASCII(host)
	if !isASCII(host) {
		// The browser maps the host through IDNA: full-width letters and
		// ideographic dots become ASCII, other scripts become punycode.
		if a, err := idna.Lookup.ToASCII(host); err == nil {
			host = a
		}
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", "", false
	}
	return host, normalizePath(pathQuery), true
}

// normalizePath resolves "." and ".." segments (and their %2e forms) as
// the browser does, and decodes percent-encoded unreserved characters as
// the server does, so "/gtag/../%67tm.js" is seen as "/gtm.js".
func normalizePath(pq string) string {
	path, query, hasQuery := strings.Cut(pq, "?")
	if !strings.Contains(path, "/.") && !strings.Contains(path, "%") {
		return pq
	}
	if strings.Contains(path, "%") {
		var b strings.Builder
		for i := 0; i < len(path); i++ {
			if path[i] == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]) {
				if c := unhex(path[i+1])<<4 | unhex(path[i+2]); isUnreserved(c) {
					b.WriteByte(c)
					i += 2
					continue
				}
			}
			b.WriteByte(path[i])
		}
		path = b.String()
	}
	var out []string
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		switch seg {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	path = strings.Join(out, "/")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if hasQuery {
		return path + "?" + query
	}
	return path
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// cleanURL applies the browser's pre-parse clean-up: strip leading and
// trailing C0 controls and spaces, remove tabs and newlines, and turn
// backslashes into slashes.
func cleanURL(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r\\") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case '\t', '\n', '\r':
				return -1
			case '\\':
				return '/'
			}
			return r
		}, s)
	}
	return s
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// MatchURLBytes is MatchURL for a URL held in bytes (an attribute value
// with no character references). Relative URLs and plain absolute ones —
// nearly every URL on a page — are classified without allocating; the
// rest take MatchURL's full path.
func (c *Catalog) MatchURLBytes(v []byte) int {
	for len(v) > 0 && v[0] <= ' ' {
		v = v[1:]
	}
	for len(v) > 0 && v[len(v)-1] <= ' ' {
		v = v[:len(v)-1]
	}
	// A path on the page's own host ("/media/1.jpg"), the common case:
	// what follows the first two bytes cannot make it another host's.
	if len(v) >= 2 && v[0] == '/' && pathByte[v[1]] {
		return -1
	}
	if hasSpecial(v) {
		return c.MatchURL(string(v))
	}
	// The scheme, "//", or a relative URL.
	i := 0
	for i < len(v) && v[i] != ':' && v[i] != '/' && v[i] != '?' && v[i] != '#' {
		i++
	}
	switch {
	case i > 0 && i < len(v) && v[i] == ':':
		if !isFetchScheme(v[:i]) {
			return -1
		}
		v = v[i+1:]
	case len(v) >= 2 && v[0] == '/' && v[1] == '/':
		v = v[2:]
	default:
		return -1
	}
	for len(v) > 0 && v[0] == '/' {
		v = v[1:]
	}
	end := len(v)
	for j := 0; j < len(v); j++ {
		if ch := v[j]; ch == '/' || ch == '?' || ch == '#' {
			end = j
			break
		}
	}
	host, pq := v[:end], v[end:]
	if bytes.Contains(pq, []byte("/.")) {
		return c.MatchURL("//" + string(v))
	}
	for j := len(host) - 1; j >= 0; j-- {
		if host[j] == '@' {
			host = host[j+1:]
			break
		}
	}
	for j := 0; j < len(host); j++ {
		if host[j] == ':' {
			host = host[:j]
			break
		}
		if 'A' <= host[j] && host[j] <= 'Z' {
			return c.MatchURL("//" + string(v))
		}
	}
	if len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 || host[0] == '[' {
		return -1
	}
	if len(pq) > 0 && pq[0] == '#' {
		pq = pq[:0]
	}
	return c.matchHostBytes(host, pq)
}

// hasSpecial reports bytes that need the browser's full URL clean-up.
func hasSpecial(v []byte) bool {
	for _, ch := range v {
		if ch == '\\' || ch == '%' || ch == '\t' || ch == '\n' || ch == '\r' || ch >= 0x80 {
			return true
		}
	}
	return false
}

func isFetchScheme(s []byte) bool {
	switch len(s) {
	case 2:
		return eqFold(s, "ws")
	case 3:
		return eqFold(s, "wss") || eqFold(s, "ftp")
	case 4:
		return eqFold(s, "http")
	case 5:
		return eqFold(s, "https")
	}
	return false
}

func eqFold(b []byte, lower string) bool {
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// matchHostBytes is MatchHost without allocating: map lookups keyed by
// string(b) do not copy.
func (c *Catalog) matchHostBytes(host, pq []byte) int {
	if len(c.necessary) > 0 {
		pqs := string(pq)
		if pqs == "" || pqs[0] == '?' {
			pqs = "/" + pqs
		}
		if c.isNecessary(string(host), pqs, false) {
			return -1
		}
	}
	for h := host; ; {
		for _, r := range c.byHost[string(h)] {
			if pathHasPrefix(pq, r.path) {
				return r.proc
			}
		}
		i := indexDot(h)
		if i < 0 {
			return -1
		}
		h = h[i+1:]
	}
}

func indexDot(b []byte) int {
	for i, c := range b {
		if c == '.' {
			return i
		}
	}
	return -1
}

// pathHasPrefix compares a URL's path-and-query (possibly empty, or
// starting with '?') with a rule's prefix (empty, or starting with '/').
func pathHasPrefix(pq []byte, prefix string) bool {
	if prefix == "" {
		return true
	}
	if len(pq) == 0 {
		return prefix == "/"
	}
	if pq[0] == '?' {
		return prefix[0] == '/' && len(pq) >= len(prefix)-1 && string(pq[:len(prefix)-1]) == prefix[1:]
	}
	return len(pq) >= len(prefix) && string(pq[:len(prefix)]) == prefix
}

// pathByte marks bytes that, second after a '/', make a URL a path on the
// same host: letters, digits and "-._~" (not '/', '\\', whitespace — which
// browsers drop — or anything percent- or entity-encoded).
var pathByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
	}
	return
}()
