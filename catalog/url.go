package catalog

import (
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
	return host, pathQuery, true
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
