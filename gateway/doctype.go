package gateway

import (
	"bytes"
	"net/http"
	"strings"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// What a browser renders a response as, and how it decodes it, decided
// by the browser's own rules: the gateway must see the same document the
// browser builds, or it fails open. Everything here follows the WHATWG
// standards (MIME Sniffing, Fetch, Encoding, HTML's encoding sniffing);
// where a browser may still guess (the encoding of a page that declares
// none), the gateway states its reading in the headers so the browser
// has nothing left to guess.

// mediaType is a parsed MIME type.
type mediaType struct {
	essence string  // type/subtype, lower case
	params  []param // in order, names lower case, each once
}

type param struct{ name, value string }

// param returns the value of parameter name, and whether there is one.
func (m *mediaType) param(name string) (string, bool) {
	for _, p := range m.params {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

// String serializes m as the MIME Sniffing standard does.
func (m mediaType) String() string {
	var b strings.Builder
	b.WriteString(m.essence)
	for _, p := range m.params {
		b.WriteByte(';')
		b.WriteString(p.name)
		b.WriteByte('=')
		if p.value != "" && isToken(p.value) {
			b.WriteString(p.value)
			continue
		}
		b.WriteByte('"')
		for i := 0; i < len(p.value); i++ {
			if p.value[i] == '"' || p.value[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p.value[i])
		}
		b.WriteByte('"')
	}
	return b.String()
}

// parseMediaType parses s as the MIME Sniffing standard does — more
// leniently than mime.ParseMediaType, which fails on
// "text/html;;charset=utf-8" where a browser reads text/html. s is bytes
// as they came in the header (a Latin-1 reading of them).
func parseMediaType(s string) (mediaType, bool) {
	s = strings.Trim(s, " \t\r\n")
	slash := strings.IndexByte(s, '/')
	if slash <= 0 || !isToken(s[:slash]) {
		return mediaType{}, false
	}
	typ := s[:slash]
	rest := s[slash+1:]
	semi := strings.IndexByte(rest, ';')
	sub := rest
	if semi >= 0 {
		sub, rest = rest[:semi], rest[semi:]
	} else {
		rest = ""
	}
	sub = strings.TrimRight(sub, " \t\r\n")
	if sub == "" || !isToken(sub) {
		return mediaType{}, false
	}
	mt := mediaType{essence: strings.ToLower(typ + "/" + sub)}
	for len(rest) > 0 {
		rest = strings.TrimLeft(rest[1:], " \t\r\n") // past ';'
		end := strings.IndexAny(rest, ";=")
		if end < 0 {
			break
		}
		name := strings.ToLower(rest[:end])
		rest = rest[end:]
		if rest[0] == ';' {
			continue
		}
		rest = rest[1:] // past '='
		var value string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for i < len(rest) && rest[i] != '"' {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
				i++
			}
			value = b.String()
			rest = rest[min(i+1, len(rest)):]
			if k := strings.IndexByte(rest, ';'); k >= 0 {
				rest = rest[k:]
			} else {
				rest = ""
			}
		} else {
			k := strings.IndexByte(rest, ';')
			if k < 0 {
				k = len(rest)
			}
			value = strings.TrimRight(rest[:k], " \t\r\n")
			rest = rest[k:]
			if value == "" {
				continue
			}
		}
		if _, seen := mt.param(name); !seen && isToken(name) && quotable(value) {
			mt.params = append(mt.params, param{name, value})
		}
	}
	return mt, true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// quotable reports whether s holds only HTTP quoted-string token code
// points: tab, printable ASCII, and bytes 0x80 to 0xFF.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return true
}

// contentType is Fetch's "extract a MIME type" over every Content-Type
// header the response has: the values are split at commas outside
// quotes, and the last valid one wins, keeping the charset of an earlier
// one with the same essence. Go reads only the first header; Chromium
// reads them all.
func contentType(h http.Header) (mediaType, bool) {
	var mt mediaType
	ok := false
	var cs string
	haveCS := false
	for _, line := range h.Values("Content-Type") {
		for _, v := range splitQuoted(line) {
			m, valid := parseMediaType(v)
			if !valid || m.essence == "*/*" {
				continue
			}
			if !ok || m.essence != mt.essence {
				cs, haveCS = m.param("charset")
			} else if _, has := m.param("charset"); !has && haveCS {
				m.params = append(m.params, param{"charset", cs})
			}
			mt, ok = m, true
		}
	}
	return mt, ok
}

// splitQuoted splits a header value at commas outside quoted strings.
func splitQuoted(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// docKind is how a browser renders a response.
type docKind uint8

const (
	docOther docKind = iota // not a document that can fetch (images, text, scripts)
	docHTML                 // parsed as HTML
	docXML                  // parsed as XML: XHTML, SVG, other XML (with XSLT or namespaced elements)
)

// sniffable reports whether a browser decides by the bytes: no valid
// Content-Type, or one of the placeholder types (MIME Sniffing,
// "unknown type").
func sniffable(mt mediaType, ok bool) bool {
	if !ok {
		return true
	}
	switch mt.essence {
	case "unknown/unknown", "application/unknown":
		return true
	}
	return false
}

// kindOf says how a browser renders a response of media type mt. head
// is what there is of the body's start, for the sniffable types.
func kindOf(mt mediaType, ok bool, head []byte) docKind {
	if sniffable(mt, ok) {
		// The "rules for identifying an unknown MIME type" with the
		// scriptable flag set; net/http implements them.
		ct := http.DetectContentType(head)
		switch {
		case strings.HasPrefix(ct, "text/html"):
			return docHTML
		case strings.HasPrefix(ct, "text/xml"):
			return docXML
		}
		return docOther
	}
	switch e := mt.essence; {
	case e == "text/html":
		return docHTML
	case e == "text/xml" || e == "application/xml" || strings.HasSuffix(e, "+xml"):
		return docXML
	}
	return docOther
}

// pageEncoding is how the gateway reads a document's bytes, and what it
// tells the browser.
type pageEncoding struct {
	name string // WHATWG name: "utf-8", "windows-1251", "utf-16le"…
	enc  encoding.Encoding
	// transcode: the encoding is not ASCII-compatible (UTF-16,
	// ISO-2022-JP, the replacement encoding): markup can hide in it from
	// a byte-level reading, so the body is decoded to UTF-8 first and
	// served as such.
	transcode bool
	// pin: the Content-Type header is to carry charset=name, so the
	// browser decodes as the gateway read.
	pin bool
}

// asciiUnsafe are the encodings in which bytes under 0x80 do not always
// stand for themselves. In every other encoding the WHATWG Encoding
// standard lists, '<', '>', quotes, '=', '/' and whitespace are never
// part of a multi-byte sequence, so the markup the rewriter reads in the
// bytes is the markup the browser reads in the text.
func asciiUnsafe(name string) bool {
	switch name {
	case "utf-16le", "utf-16be", "iso-2022-jp", "replacement":
		return true
	}
	return false
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// decideEncoding decides the encoding of a document as the browser does:
// a byte order mark first, then the charset of the Content-Type, then
// (HTML) the <meta> prescan of the first 1024 bytes or (XML) the XML
// declaration. A page that declares nothing is read as the browser would
// guess — except that a guess could land on ISO-2022-JP or UTF-16, which
// the gateway would not read alike: a page holding ESC or NUL bytes gets
// its reading pinned in the header.
func decideEncoding(mt mediaType, kind docKind, head []byte) pageEncoding {
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		return named("utf-8", false)
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return named("utf-16be", true)
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		return named("utf-16le", true)
	}
	if cs, ok := mt.param("charset"); ok {
		if e, err := htmlindex.Get(cs); err == nil {
			name, _ := htmlindex.Name(e)
			return named(name, false)
		}
	}
	if kind == docXML {
		if cs := xmlDeclEncoding(head); cs != "" {
			if e, err := htmlindex.Get(cs); err == nil {
				name, _ := htmlindex.Name(e)
				return named(name, true)
			}
		}
		return named("utf-8", true)
	}
	e, name, _ := charset.DetermineEncoding(head, "")
	if n, err := htmlindex.Name(e); err == nil {
		name = n
	}
	pe := named(name, false)
	if bytes.IndexByte(head, 0x1b) >= 0 || bytes.IndexByte(head, 0) >= 0 {
		pe.pin = true
	}
	return pe
}

func named(name string, pin bool) pageEncoding {
	e, err := htmlindex.Get(name)
	if err != nil {
		e, name = encoding.Nop, "utf-8"
	}
	pe := pageEncoding{name: name, enc: e, pin: pin}
	if asciiUnsafe(name) {
		pe.transcode, pe.pin = true, true
	}
	return pe
}

// xmlDeclEncoding returns the encoding named by an XML declaration at the
// start of head, or "".
func xmlDeclEncoding(head []byte) string {
	if !bytes.HasPrefix(head, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(head, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(head[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	if j := strings.IndexByte(rest[1:], rest[0]); j >= 0 {
		return rest[1 : 1+j]
	}
	return ""
}
