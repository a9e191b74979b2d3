package rewrite

import (
	"bytes"

	"github.com/kelisim/kelisim/catalog"
)

// XML documents — XHTML served as application/xhtml+xml, SVG files, XML
// with namespaced HTML or SVG elements or an XSLT or CSS style sheet —
// fetch like HTML pages, but are read by an XML parser: no raw text
// elements, no foreign content, CDATA sections anywhere, prefixes on
// names. scanXML reads them by those rules and neutralises, as in HTML,
// every element whose local name fetches (img, script, image, use…) from
// a processor not granted, inline scripts by their text, and
// <?xml-stylesheet?> instructions. Everything it writes stays
// well-formed: attributes it adds are quoted, names only get a prefix.
// An XML document gets no banner: the page's own reading of HTML markup
// would not be XML.

var xmlStylesheetAttrs = gated("href")

// scanXML is scan for Policy.XML.
func (w *Writer) scanXML(b []byte, eof bool) int {
	i, from := 0, 0
	flush := func(to int) {
		w.write(b[from:to])
		from = to
	}
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			i = len(b)
			break
		}
		k := i + j
		end, ok := w.xmlConstruct(b, k, eof || w.final, &from)
		if !ok {
			flush(k)
			return k
		}
		i = end
	}
	flush(len(b))
	return len(b)
}

// xmlConstruct reads the markup at b[k] ('<') and writes what it changes;
// it returns the offset after it, or !ok when more input is needed.
func (w *Writer) xmlConstruct(b []byte, k int, eof bool, from *int) (int, bool) {
	find := func(term string, at int) (int, bool) {
		if e := bytes.Index(b[at:], []byte(term)); e >= 0 {
			return at + e + len(term), true
		}
		if eof {
			return len(b), true
		}
		return 0, false
	}
	rest := b[k:]
	switch {
	case len(rest) < 9 && !eof && (bytes.HasPrefix([]byte("<![CDATA["), rest) || bytes.HasPrefix([]byte("<!--"), rest) || bytes.HasPrefix([]byte("<!DOCTYPE"), rest)):
		return 0, false
	case bytes.HasPrefix(rest, []byte("<!--")):
		return find("-->", k+4)
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		return find("]]>", k+9)
	case bytes.HasPrefix(rest, []byte("<!")):
		return w.xmlDoctype(b, k, eof, from)
	case bytes.HasPrefix(rest, []byte("<?")):
		end, ok := find("?>", k+2)
		if ok && bytes.HasPrefix(rest, []byte("<?xml-stylesheet")) {
			w.xmlStylesheet(b, k, end, from)
		}
		return end, ok
	case len(rest) < 2:
		if eof {
			return len(b), true
		}
		return 0, false
	case rest[1] == '/':
		return find(">", k+2)
	}
	if !isLetter(rest[1]) && rest[1] != '_' && rest[1] < 0x80 {
		return k + 1, true // not well-formed: the parser stops here anyway
	}
	if !parseTag(rest, &w.t) {
		if !eof && len(rest) < MaxTag {
			return 0, false
		}
		// Cut off, or longer than any tag read: nothing of it may load.
		w.write(b[*from:k])
		w.write(w.cutTag(rest))
		*from = len(b)
		return len(b), true
	}
	t := &w.t
	next := k + t.length
	name := rest[t.nameStart:t.nameEnd]
	local := name
	if c := bytes.LastIndexByte(name, ':'); c >= 0 {
		local = name[c+1:]
	}
	kd := kindIn(local, 0, len(local))
	switch {
	case (kd == kScript || kd == kStyle) && !t.selfClosing:
		return w.xmlScript(b, k, eof, from, name, kd)
	case kd == kLink:
		if rel := fetches(t, rest[:t.length]); rel != relNone {
			w.gate(b, k, from, kd, kinds[kd].urlAttrs, rel == relConnect)
		}
	case kd == kBase:
		w.gate(b, k, from, kd, baseAttrs, false)
	case kinds[kd].urlAttrs != nil:
		w.gate(b, k, from, kd, kinds[kd].urlAttrs, false)
	}
	return next, true
}

// xmlScript reads a script or style element whose start tag is at b[k],
// up to its end tag, and neutralises it when its source or its text
// loads a processor not granted. A script longer than MaxHeldScript is judged on
// what was read and, when that finds nothing, neutralised anyway: what
// cannot be read is not run.
func (w *Writer) xmlScript(b []byte, k int, eof bool, from *int, name []byte, kd kind) (int, bool) {
	t := &w.t
	next := k + t.length
	endTag := append(append([]byte("</"), name...), '>')
	e := bytes.Index(b[next:], endTag)
	if e < 0 && !eof && len(b)-next <= MaxHeldScript {
		return 0, false
	}
	bodyEnd := len(b)
	if e >= 0 {
		bodyEnd = next + e
	}
	if kd == kScript {
		blocked := w.blockedCounts
		w.gate(b, k, from, kScript, kinds[kScript].urlAttrs, false)
		if w.blockedCounts != blocked || !isExecutable(t, b[k:next]) {
			return bodyEnd, true
		}
	} else if !isCSS(t, b[k:next]) {
		return bodyEnd, true
	}
	w.sig.Reset()
	w.pol.Catalog.ScanInline(&w.sig, b[next:min(bodyEnd, next+MaxHeldScript)])
	var cats catalog.Set
	for _, p := range w.sig.Matched {
		cats |= w.pol.Catalog.Category(p).Bit()
	}
	unread := e < 0 && !eof
	if unread && cats == 0 {
		cats = catalog.All
		w.warn("inline script or style sheet longer than 512 KiB in an XML document neutralised unread")
	}
	if cats == 0 || w.pol.Granted.Has(cats) {
		return bodyEnd, true
	}
	w.write(b[*from:k])
	*from = next
	w.scratch = w.neutralize(w.scratch[:0], b[k:next], t, kd, nil, cats, w.sig.Matched)
	w.write(w.scratch)
	return bodyEnd, true
}

// xmlStylesheet neutralises an <?xml-stylesheet href?> instruction
// b[k:end] on a processor: its pseudo-attributes read as a tag's.
func (w *Writer) xmlStylesheet(b []byte, k, end int, from *int) {
	pi := b[k:end]
	// "<?xml-stylesheet" read as a tag named "?xml-stylesheet"; the
	// closing "?>" is the tag's end.
	if !parseTag(pi, &w.t) || w.t.length != len(pi) {
		return
	}
	w.gate(b, k, from, kLink, xmlStylesheetAttrs, false)
}

// xmlDoctype reads a document type declaration at b[k], its internal
// subset included. An entity declared there can hold markup that the
// parser expands where the entity is referenced: a declaration that
// names a processor is dropped (the document then fails to parse where
// it uses it, loading nothing).
func (w *Writer) xmlDoctype(b []byte, k int, eof bool, from *int) (int, bool) {
	depth := 0
	var quote byte
	for i := k + 2; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '>' && depth <= 0:
			end := i + 1
			decl := b[k:end]
			if bytes.Contains(decl, []byte("<!ENTITY")) {
				w.sig.Reset()
				w.pol.Catalog.ScanInline(&w.sig, decl)
				var cats catalog.Set
				for _, p := range w.sig.Matched {
					cats |= w.pol.Catalog.Category(p).Bit()
				}
				if cats != 0 && !w.pol.Granted.Has(cats) {
					w.write(b[*from:k])
					w.write(dropEntities(decl))
					*from = end
					w.blocked(w.sig.Matched)
				}
			}
			return end, true
		}
	}
	if eof || len(b)-k >= MaxTag {
		return len(b), true
	}
	return 0, false
}

// dropEntities returns the declaration d without its <!ENTITY …>
// declarations.
func dropEntities(d []byte) []byte {
	var out []byte
	for {
		i := bytes.Index(d, []byte("<!ENTITY"))
		if i < 0 {
			return append(out, d...)
		}
		out = append(out, d[:i]...)
		var quote byte
		j := i + 8
		for ; j < len(d); j++ {
			if quote != 0 {
				if d[j] == quote {
					quote = 0
				}
				continue
			}
			if d[j] == '"' || d[j] == '\'' {
				quote = d[j]
			} else if d[j] == '>' {
				j++
				break
			}
		}
		d = d[j:]
	}
}
