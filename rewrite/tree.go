package rewrite

import "bytes"

// The structure of the page, as the WHATWG tree-construction rules build
// it, kept to what decides two things: whether the bytes ahead are markup
// (and so may create an element that fetches) or text, and where the
// consent state and the banner can go.
//
// Two readings are followed at once. The scripting-on reading (the one
// visitors get) decides where the injections go: there, <noscript> is raw
// text up to the first "</noscript". The scripting-off reading decides
// what else is examined: inside <noscript> the rewriter reads markup, and
// every construct it opens there ends at "</noscript" too (commentEnd,
// rawEnd, escapedTag), so nothing either reading sees as a tag goes
// unexamined.
//
// The document-level insertion modes (before head, in head, after head,
// in body, frameset) are followed exactly: they decide the first token
// that opens <body>. Below <body> only foreign content is followed: the
// stack of open SVG and MathML elements, with their integration points
// and the HTML elements open inside those. What the model cannot follow —
// an end tag inside SVG or MathML that closes an HTML element of the page
// it does not track — makes the page suspect (see sweep.go): from there on
// every tag-shaped string in it is examined, whatever reading holds.

// phase is where the scripting-on reading stands in the document.
type phase uint8

const (
	phBeforeHead phase = iota // initial, before html, before head
	phInHead
	phAfterHead
	phBody     // <body> has opened, explicitly or not
	phFrameset // a frameset document: it never gets a body
)

// Namespaces and integration points of the elements on the foreign stack.
const (
	nsHTML uint8 = iota
	nsSVG
	nsMath
)

const (
	ipNone     uint8 = iota
	ipHTML           // HTML integration point: start tags and text are HTML
	ipMathText       // MathML text integration point: start tags but mglyph and malignmark are HTML
)

// felem is an element on the foreign stack: an SVG or MathML element, or
// an HTML element open inside an integration point. Its lower-case name
// is fnames[off:off+n].
type felem struct {
	ns, ip uint8
	off, n int32
}

// maxForeign bounds the foreign stack; a page nested deeper is suspect.
const maxForeign = 256

// foreignTop returns the current node of the foreign stack, if any.
func (w *Writer) foreignTop() (felem, bool) {
	if len(w.fst) == 0 {
		return felem{}, false
	}
	return w.fst[len(w.fst)-1], true
}

func (w *Writer) fname(e felem) []byte { return w.fnames[e.off : e.off+e.n] }

// pushElem puts an element named name (any case) on the foreign stack.
func (w *Writer) pushElem(ns, ip uint8, name []byte) {
	if len(w.fst) >= maxForeign {
		w.suspect("elements nested deeper than the rewriter follows")
		return
	}
	off := int32(len(w.fnames))
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		w.fnames = append(w.fnames, c)
	}
	w.fst = append(w.fst, felem{ns: ns, ip: ip, off: off, n: int32(len(name))})
}

// popTo truncates the foreign stack to n elements.
func (w *Writer) popTo(n int) {
	if n >= len(w.fst) {
		return
	}
	w.fst = w.fst[:n]
	if n == 0 {
		w.fnames = w.fnames[:0]
	} else {
		last := w.fst[n-1]
		w.fnames = w.fnames[:last.off+last.n]
	}
}

// cdataOK reports whether "<![CDATA[" opens a CDATA section: only where
// the adjusted current node is not an HTML element.
func (w *Writer) cdataOK() bool {
	e, ok := w.foreignTop()
	return ok && e.ns != nsHTML
}

// foreignStart reports whether the start tag named name (of kind kd) is
// read by the rules for foreign content: the current node is an SVG or
// MathML element that is not an integration point open to it.
func (w *Writer) foreignStart(kd kind, name []byte) bool {
	e, ok := w.foreignTop()
	if !ok || e.ns == nsHTML {
		return false
	}
	switch e.ip {
	case ipHTML:
		return false
	case ipMathText:
		return equalFoldASCII(name, "mglyph") || equalFoldASCII(name, "malignmark")
	}
	if e.ns == nsMath && kd == kSVG && bytes.Equal(w.fname(e), []byte("annotation-xml")) {
		return false
	}
	return true
}

// breaksOut reports whether a start tag ends foreign content: the
// breakout list, and <font> with color, face or size.
func breaksOut(kd kind, t *tag, tb []byte, name []byte) bool {
	if kinds[kd].breakout {
		return true
	}
	if equalFoldASCII(name, "font") {
		return t.find(tb, "color") != nil || t.find(tb, "face") != nil || t.find(tb, "size") != nil
	}
	return false
}

// popToHTML pops foreign elements until the current node is an HTML
// element or an integration point (or the stack is empty).
func (w *Writer) popToHTML() {
	n := len(w.fst)
	for n > 0 && w.fst[n-1].ns != nsHTML && w.fst[n-1].ip == ipNone {
		n--
	}
	w.popTo(n)
}

// popOut leaves foreign content for a breakout start tag and reports
// whether the tag is still read as foreign content (never, but where
// the stack holds more than the model follows).
func (w *Writer) popOut(kd kind, name []byte) bool {
	w.popToHTML()
	return w.foreignStart(kd, name)
}

// foreignElement pushes the element a start tag creates in foreign
// content, with the namespace and integration point the spec gives it.
func (w *Writer) foreignElement(kd kind, t *tag, tb []byte, name []byte) {
	if t.selfClosing {
		return
	}
	ns := nsSVG
	if e, ok := w.foreignTop(); ok && e.ns == nsMath {
		ns = nsMath
	}
	switch kd {
	case kSVG:
		ns = nsSVG
	case kMath:
		ns = nsMath
	}
	w.pushElem(ns, integrationPoint(ns, t, tb, name), name)
}

// integrationPoint says what kind of integration point an element is.
func integrationPoint(ns uint8, t *tag, tb []byte, name []byte) uint8 {
	switch ns {
	case nsSVG:
		if equalFoldASCII(name, "foreignobject") || equalFoldASCII(name, "desc") || equalFoldASCII(name, "title") {
			return ipHTML
		}
	case nsMath:
		switch {
		case equalFoldASCII(name, "mi") || equalFoldASCII(name, "mo") || equalFoldASCII(name, "mn") ||
			equalFoldASCII(name, "ms") || equalFoldASCII(name, "mtext"):
			return ipMathText
		case equalFoldASCII(name, "annotation-xml"):
			if a := t.find(tb, "encoding"); a != nil && a.valStart >= 0 {
				v := decode(tb[a.valStart:a.valEnd])
				if equalFoldASCII([]byte(v), "text/html") || equalFoldASCII([]byte(v), "application/xhtml+xml") {
					return ipHTML
				}
			}
		}
	}
	return ipNone
}

// htmlVoid reports whether an HTML element of that name has no end tag
// (and so is not put on the foreign stack when opened inside an
// integration point).
func htmlVoid(kd kind, name []byte) bool {
	switch kd {
	case kBase, kLink, kMeta, kImg, kImage, kSource, kTrack, kEmbed, kInput, kFrame, kHeadMisc:
		return true
	}
	for _, v := range []string{"area", "br", "col", "hr", "keygen", "param", "wbr"} {
		if equalFoldASCII(name, v) {
			return true
		}
	}
	return false
}

// foreignEnd processes an end tag while the foreign stack is not empty.
// It returns false when the tag reached the page's own HTML elements (the
// ones below the outermost SVG or MathML element, which the model does
// not track) and might close one of them.
func (w *Writer) foreignEnd(kd kind, name []byte) bool {
	n := len(w.fst)
	from := n // the HTML rules look at fst[:from]
	if w.fst[n-1].ns != nsHTML {
		// The rules for foreign content (at an integration point too:
		// only start tags and text are HTML there).
		if kd == kBreakout && (equalFoldASCII(name, "p") || equalFoldASCII(name, "br")) {
			w.popToHTML()
			return true
		}
		from = 0
		for i := n - 1; i >= 0; i-- {
			e := w.fst[i]
			if e.ns == nsHTML {
				from = i + 1
				break
			}
			if equalFoldASCII(name, string(w.fname(e))) {
				w.popTo(i)
				return true
			}
		}
		// The HTML rules walk from the current node: an integration point
		// on the way is special (and a scope boundary), so the tag stops
		// there.
		for i := n - 1; i >= from; i-- {
			if w.fst[i].ip != ipNone {
				return w.templateEnd(kd)
			}
		}
	}
	for i := from - 1; i >= 0; i-- {
		e := w.fst[i]
		if e.ns != nsHTML {
			// An integration point: the boundary.
			return w.templateEnd(kd)
		}
		if equalFoldASCII(name, string(w.fname(e))) {
			w.popTo(i)
			return true
		}
	}
	switch kd {
	case kBody, kHTML:
		// The body stays open ("after body"); so does the stack.
		return true
	case kTemplate:
		return w.templateEnd(kd)
	}
	return false
}

// templateEnd handles an end tag that stopped at a boundary: only
// </template> goes past one, to the nearest template.
func (w *Writer) templateEnd(kd kind) bool {
	if kd != kTemplate {
		return true
	}
	for i := len(w.fst) - 1; i >= 0; i-- {
		if e := w.fst[i]; e.ns == nsHTML && string(w.fname(e)) == "template" {
			w.popTo(i)
			return true
		}
	}
	if w.templates > 0 {
		w.popTo(0)
		w.templates--
	}
	return true
}
