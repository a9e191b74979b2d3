package rewrite

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/fetching"
	"golang.org/x/net/html"
)

type linkRel uint8

const (
	relNone    linkRel = iota
	relFetch           // the href is fetched
	relConnect         // only the href's host is contacted
)

// needMore is what handleTag returns when it cannot decide before more
// input arrives.
const needMore = -2

// handleTag acts on the complete tag w.t at b[k:]. It returns the offset
// after the tag, -1 when it started holding an inline script, or needMore.
func (w *Writer) handleTag(b []byte, k int, from *int, eof bool) int {
	t := &w.t
	tb := b[k : k+t.length]
	next := k + t.length
	name := tb[t.nameStart:t.nameEnd]
	kd := kindIn(b, k+t.nameStart, k+t.nameEnd)
	flushTo := func(to int) {
		w.write(b[*from:to])
		*from = to
	}
	if len(w.fst) > 0 && !w.suspicious {
		// Only here can the page turn suspect (tree.go): what comes before
		// this tag goes out as it is, however the page arrived in writes.
		flushTo(k)
	}
	if (kd == kScript || kd == kStyle) && !t.end && !t.selfClosing && !eof && w.foreignStart(kd, name) && len(b)-next < MaxHeldScript {
		// An SVG script's text runs at its end tag, an SVG style sheet's
		// applies: it is read before the start tag is written (searched
		// once, however small the writes).
		if e, _ := w.foreignTop(); e.ns == nsSVG {
			end, resume := foreignTextEnd(b, max(next, k+w.svgSearched), kinds[kd].name)
			if end < 0 {
				w.svgSearched = resume - k
				return needMore
			}
		}
	}
	w.svgSearched = 0

	if t.end {
		if kd == kNoscript && w.nsOn {
			// The scripting-on reading leaves its raw text here, whatever
			// the scripting-off reading had opened inside.
			w.nsOn = false
			w.popTo(int(w.nsDepth))
		}
		switch {
		case len(w.fst) > 0:
			if !w.foreignEnd(kd, name) {
				w.popTo(0)
				w.suspect("an end tag inside SVG or MathML closed an element of the page")
			}
		case w.nsOn || !w.document:
		case w.templates > 0:
			if kd == kTemplate {
				w.templates--
			}
		default:
			w.structureEnd(b, k, kd, flushTo)
		}
		switch kd {
		case kNoscript:
			if w.noscript > 0 {
				w.noscript--
			}
		case kStyle:
			if w.swallowStyleEnd {
				// The style sheet went out as a <script>: close that.
				w.swallowStyleEnd = false
				flushTo(k)
				w.write([]byte("</script>"))
				*from = next
			}
		}
		return next
	}

	if kd == kHTML {
		w.document = true
		if a := t.find(tb, "lang"); a != nil && a.valStart >= 0 && !w.resolved {
			w.pageLang = primaryTag(decode(tb[a.valStart:a.valEnd]))
		}
	}

	if len(w.fst) == 0 && w.bodyInjected {
		// Most tags: in the body, outside SVG and MathML, nothing left to
		// place.
		if kd == kTemplate && !w.nsOn {
			w.templates++
		}
	} else if w.foreignStart(kd, name) && (!breaksOut(kd, t, tb, name) || w.popOut(kd, name)) {
		w.foreignTag(b, k, from, kd, name)
		return next
	} else if len(w.fst) > 0 {
		// HTML inside an integration point.
		switch {
		case kd == kSVG || kd == kMath:
		case kinds[kd].raw || kd == kScript || kd == kPlaintext || htmlVoid(kd, name):
		default:
			w.pushElem(nsHTML, ipNone, name)
		}
	} else if !w.nsOn && w.templates == 0 && (w.document || kd == kBody || kd == kHead) {
		if w.structureStart(b, k, from, kd, flushTo) {
			return next
		}
	} else if !w.nsOn && kd == kTemplate {
		w.templates++
	}

	switch kd {
	case kScript:
		return w.script(b, k, from, kd, htmlScriptAttrs)
	case kStyle:
		if isCSS(t, tb) {
			w.hold(b, k, from, kStyle)
			return -1
		}
	case kNoscript:
		w.noscript++
		if !w.nsOn {
			w.nsOn, w.nsDepth = true, int32(len(w.fst))
		}
	case kSVG, kMath:
		if !t.selfClosing {
			ns := nsSVG
			if kd == kMath {
				ns = nsMath
			}
			w.pushElem(ns, ipNone, name)
		}
	case kPlaintext:
		w.mode = modePlaintext
	case kBase:
		// Every relative URL of the page resolves against a <base>: one on
		// a processor's host would send them all there.
		w.gate(b, k, from, kd, baseAttrs, false)
	case kForm:
		// A form a script submits into a frame of the page posts to its
		// action unseen: one aimed at a frame (not the page or a new
		// window) is gated by its action.
		if a := t.find(tb, "target"); a != nil && a.valStart >= 0 && hiddenTarget(decode(tb[a.valStart:a.valEnd])) {
			w.gate(b, k, from, kd, formAttrs, false)
		} else if t.find(tb, "style") != nil {
			w.gate(b, k, from, kd, nil, false)
		}
	case kIframe:
		if !w.srcdoc(b, k, from) {
			w.gate(b, k, from, kd, kinds[kd].urlAttrs, false)
		}
	case kLink:
		if rel := fetches(t, tb); rel != relNone {
			w.gate(b, k, from, kd, kinds[kd].urlAttrs, rel == relConnect)
		}
	default:
		if attrs := kinds[kd].urlAttrs; attrs != nil || t.find(tb, "style") != nil {
			w.gate(b, k, from, kd, attrs, false)
		}
	}
	if kinds[kd].raw {
		w.mode, w.rawName = modeRaw, kinds[kd].name
	}
	return next
}

// htmlScriptAttrs: an HTML <script> fetches by src alone (an SVG one by
// href too: kinds[kScript]).
var htmlScriptAttrs = gated("src")

var baseAttrs = gated("href")

var formAttrs = gated("action")

// hiddenTarget reports whether a form's target names a frame rather than
// the page itself or a new window.
func hiddenTarget(t string) bool {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "", "_self", "_top", "_parent", "_blank", "_unfencedtop":
		return false
	}
	return true
}

// srcdoc rewrites the document an <iframe srcdoc> shows — HTML in an
// attribute value, loaded from no URL and so seen by no other part of the
// gateway — by the same rules, recursively, with no banner of its own
// (the page's decides for it). It writes the tag with the rewritten value
// and reports whether it did; the src a srcdoc overrides loads nothing.
func (w *Writer) srcdoc(b []byte, k int, from *int) bool {
	t := &w.t
	tb := b[k : k+t.length]
	a := t.find(tb, "srcdoc")
	if a == nil || a.valStart < 0 || a.valStart == a.valEnd {
		return false
	}
	doc := decode(tb[a.valStart:a.valEnd])
	pol := *w.pol
	pol.Document, pol.Head, pol.Body, pol.Inject = false, nil, nil, nil
	pol.OnBlock = func(p int) { w.blocked([]int{p}) }
	var out bytes.Buffer
	nw := NewWriter(&out, &pol)
	nw.pageLang, nw.resolved = w.pageLang, true
	nw.Write([]byte(doc))
	nw.Close()
	if out.String() == doc {
		return false
	}
	start, end := a.valStart, a.valEnd
	if start > 0 && (tb[start-1] == '"' || tb[start-1] == '\'') && end < len(tb) && tb[end] == tb[start-1] {
		start, end = start-1, end+1
	}
	w.write(b[*from:k])
	*from = k + t.length
	w.scratch = append(w.scratch[:0], tb[:start]...)
	w.scratch = append(w.scratch, '"')
	w.scratch = append(w.scratch, html.EscapeString(out.String())...)
	w.scratch = append(w.scratch, '"')
	w.scratch = append(w.scratch, tb[end:]...)
	w.write(w.scratch)
	return true
}

// foreignTag handles a start tag read by the rules for foreign content:
// it creates an SVG or MathML element whatever its name, never switches
// the tokenizer to raw text, and fetches by any attribute its name
// fetches by in either namespace.
func (w *Writer) foreignTag(b []byte, k int, from *int, kd kind, name []byte) {
	t := &w.t
	tb := b[k : k+t.length]
	if kd == kScript || kd == kStyle {
		// An SVG script runs its text (read as markup) at its end tag; an
		// SVG style sheet applies its text.
		if kd == kScript || t.find(tb, "style") != nil {
			w.gate(b, k, from, kd, kinds[kd].urlAttrs, false)
		}
		if e, _ := w.foreignTop(); e.ns == nsSVG && !t.selfClosing && *from <= k {
			w.svgInline(b, k, from, kd)
		}
	} else if kd == kLink {
		if rel := fetches(t, tb); rel != relNone {
			w.gate(b, k, from, kd, kinds[kd].urlAttrs, rel == relConnect)
		}
	} else if attrs := kinds[kd].urlAttrs; attrs != nil {
		w.gate(b, k, from, kd, attrs, false)
	}
	w.foreignElement(kd, t, tb, name)
}

// svgInline classifies the text of an SVG <script> that has no source,
// or of an SVG <style>, up to the first "</script" or "</style" (what is
// read in between is also read as markup), and writes its start tag
// neutralised when it loads a processor not granted.
func (w *Writer) svgInline(b []byte, k int, from *int, kd kind) {
	t := &w.t
	if kd == kScript {
		for _, a := range kinds[kScript].urlAttrs {
			if t.find(b[k:k+t.length], a) != nil {
				return
			}
		}
	} else if !isCSS(t, b[k:k+t.length]) {
		return
	}
	next := k + t.length
	w.sig.Reset()
	w.cssBuf = w.cssBuf[:0]
	read := 0
	foreignText(b, next, kinds[kd].name, func(text []byte) {
		text = text[:min(len(text), MaxHeldScript-read)]
		read += len(text)
		if kd == kStyle {
			w.cssBuf = append(w.cssBuf, text...)
		} else {
			w.pol.Catalog.ScanInline(&w.sig, text)
		}
	})
	if kd == kStyle {
		w.cssBuf = CSSText(nil, w.cssBuf)
		w.pol.Catalog.ScanInline(&w.sig, w.cssBuf)
	}
	var cats catalog.Set
	for _, p := range w.sig.Matched {
		cats |= w.pol.Catalog.Category(p).Bit()
	}
	if cats == 0 || w.pol.Granted.Has(cats) {
		return
	}
	w.write(b[*from:k])
	*from = next
	w.scratch = w.neutralize(w.scratch[:0], b[k:next], t, kd, nil, cats, w.sig.Matched)
	w.write(w.scratch)
}

// foreignTextEnd returns where, searching b from i, the end tag
// "</name" that closes an SVG <script> or <style> begins: the first one
// outside CDATA sections and comments, which are markup in SVG and may
// hold the string as text. With none in b it returns -1 and where to
// search again once more bytes have come.
func foreignTextEnd(b []byte, i int, name string) (end, resume int) {
	return foreignText(b, i, name, nil)
}

// foreignText is foreignTextEnd that also hands text, if not nil, the
// text the tree builder makes of the bytes from i up to the end tag (or
// the end of b), in pieces: character references resolved, CDATA
// sections' text as it is, and what tags, comments and bogus comments
// leave out left out — the element's text, and its children's.
func foreignText(b []byte, i int, name string, text func([]byte)) (end, resume int) {
	from := i // start of the text not yet handed on
	emit := func(to int) {
		if text != nil && to > from {
			if seg := b[from:to]; bytes.IndexByte(seg, '&') >= 0 {
				text([]byte(decode(seg)))
			} else {
				text(seg)
			}
		}
	}
	// skip hands on the text before b[j] and steps over markup up to
	// b[to]; with to < 0 (b ends inside it) it reports false.
	skip := func(j, to int) bool {
		emit(j)
		if to < 0 {
			from = len(b)
			return false
		}
		i, from = to, to
		return true
	}
	for {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			emit(len(b))
			return -1, len(b)
		}
		j := i + lt
		rest := b[j:]
		switch {
		case len(rest) < len("<![CDATA["):
			emit(j)
			return -1, j // too short to tell
		case rest[1] == '/' && len(rest) > len(name)+2 && equalFoldASCII(rest[2:2+len(name)], name) &&
			(isSpace(rest[2+len(name)]) || rest[2+len(name)] == '/' || rest[2+len(name)] == '>'):
			emit(j)
			return j, j
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			c := bytes.Index(rest[9:], []byte("]]>"))
			emit(j)
			if c < 0 {
				if text != nil {
					text(rest[9:])
				}
				from = len(b)
				return -1, j
			}
			if text != nil {
				text(rest[9 : 9+c])
			}
			i, from = j+9+c+3, j+9+c+3
		case bytes.HasPrefix(rest, []byte("<!--")):
			if !skip(j, past(j, commentClose(rest, 4))) {
				return -1, j
			}
		case isLetter(rest[1]) || rest[1] == '/' && isLetter(rest[2]):
			n := 1
			if rest[1] == '/' {
				n = 2
			}
			e := tagEnd(rest, nameEnd(rest, n), nil)
			if e == 0 {
				e = -1
			}
			if !skip(j, past(j, e)) {
				return -1, j
			}
		case rest[1] == '!' || rest[1] == '?' || rest[1] == '/':
			// A bogus comment ("</>" is dropped the same way).
			e := bytes.IndexByte(rest, '>')
			if e >= 0 {
				e++
			}
			if !skip(j, past(j, e)) {
				return -1, j
			}
		default:
			i = j + 1
		}
	}
}

// past returns j+n, or -1 for n < 0 (not found).
func past(j, n int) int {
	if n < 0 {
		return -1
	}
	return j + n
}

// commentClose returns the offset in b just past the end of the comment
// whose text starts at b[i] ("-->", "--!>", or "<!-->" and "<!--->" cut
// short), or -1 when b ends first.
func commentClose(b []byte, i int) int {
	switch {
	case i < len(b) && b[i] == '>':
		return i + 1
	case i+1 < len(b) && b[i] == '-' && b[i+1] == '>':
		return i + 2
	}
	_, end := commentTextEnd(b, i)
	return end
}

// structureStart follows the document-level insertion modes of the
// scripting-on reading for a start tag outside foreign content, template
// contents and noscript, and writes the injections where they go. It
// returns true when the tag needs nothing more.
func (w *Writer) structureStart(b []byte, k int, from *int, kd kind, flushTo func(int)) bool {
	switch kd {
	case kHTML:
		return true
	case kHead:
		w.document = true
		if w.phase == phBeforeHead {
			w.phase = phInHead
			if !w.headInjected {
				w.headPending = true
			}
		}
		return true
	case kBody:
		w.document = true
		if w.phase < phBody {
			// An explicit <body> rules out a frameset: the banner goes
			// right after it.
			flushTo(k)
			w.injectHead()
			w.phase = phBody
			w.gate(b, k, from, kd, kinds[kd].urlAttrs, false)
			flushTo(k + w.t.length)
			w.injectBody()
			return true
		}
		// A later <body> adds its attributes to the body.
		w.gate(b, k, from, kd, kinds[kd].urlAttrs, false)
		return true
	case kFrameset:
		if w.phase < phBody || w.phase == phBody && !w.bodyInjected {
			// A frameset document has no body to show a banner in
			// (<frameset> replaces a body nothing has been put in yet).
			flushTo(k)
			w.injectHead()
			w.phase = phFrameset
			w.bodyInjected = true
		}
		return true
	case kMeta:
		if w.phase < phBody {
			if w.phase == phBeforeHead {
				w.phase = phInHead
			}
			if !w.headInjected {
				w.headPending = true
			}
			return false
		}
	}
	headish := kinds[kd].head && kd != kHTML && kd != kBody
	if w.phase == phAfterHead && kd == kNoscript {
		headish = false // after </head>, <noscript> opens the body
	}
	switch {
	case w.phase >= phBody:
		w.bodyDue(b, k, kd, flushTo)
		if kd == kTemplate {
			w.templates++
		}
	case headish:
		flushTo(k)
		w.injectHead()
		if w.phase == phBeforeHead {
			w.phase = phInHead
		}
		if kd == kTemplate {
			w.templates++
		}
	default:
		w.openBody(k, flushTo)
		w.bodyDue(b, k, kd, flushTo)
	}
	return false
}

// structureEnd is structureStart for end tags.
func (w *Writer) structureEnd(b []byte, k int, kd kind, flushTo func(int)) {
	if w.phase >= phBody {
		return
	}
	switch {
	case kd == kHead:
		flushTo(k)
		w.injectHead()
		w.phase = phAfterHead
	case kd == kBody || kd == kHTML || kd == kBreakout && equalFoldASCII(b[k+w.t.nameStart:k+w.t.nameEnd], "br"):
		w.openBody(k, flushTo)
	}
}

// openBody writes the head injection before b[k], the token that opens
// the body, which then decides on the banner (bodyDue).
func (w *Writer) openBody(k int, flushTo func(int)) {
	flushTo(k)
	w.injectHead()
	w.phase = phBody
}

// bodyDue decides, for a start tag of kind kd at b[k] in the body before
// the banner is in, whether the banner goes before it. A <frameset>
// replaces a body that holds nothing but whitespace, comments, end tags
// and void elements that show nothing: the banner waits past those (to
// the page's end at most), so a frameset document keeps its frames. It
// never waits past an element with content — a script framework
// mounting into it would remove the banner — nor past a script.
func (w *Writer) bodyDue(b []byte, k int, kd kind, flushTo func(int)) {
	if w.phase != phBody || w.bodyInjected {
		return
	}
	switch kd {
	case kMeta, kLink, kBase, kHeadMisc, kSource, kTrack:
		return
	case kInput:
		if a := w.t.find(b[k:k+w.t.length], "type"); a != nil && a.valStart >= 0 &&
			equalFoldASCII([]byte(decode(b[k+a.valStart:k+a.valEnd])), "hidden") {
			return
		}
	case kOther:
		if equalFoldASCII(b[k+w.t.nameStart:k+w.t.nameEnd], "param") {
			return
		}
	}
	flushTo(k)
	w.injectBody()
}

// injectBody writes the banner once, where the document's body has it.
func (w *Writer) injectBody() {
	if w.document && !w.bodyInjected && w.off == offNone {
		w.bodyInjected = true
		w.inject(true)
	}
}

// script starts a script element: one with a source is gated by it and
// its body streams through; an inline one is held until its end tag so its
// body can be read. It returns -1 when it holds.
func (w *Writer) script(b []byte, k int, from *int, kd kind, attrs []string) int {
	t := &w.t
	tb := b[k : k+t.length]
	next := k + t.length
	hasSrc := false
	for _, a := range attrs {
		if t.find(tb, a) != nil {
			hasSrc = true
		}
	}
	exec := isExecutable(t, tb)
	if hasSrc || !exec {
		blocked := w.blockedCounts
		if exec {
			w.gate(b, k, from, kd, attrs, false)
		}
		w.mode, w.rawName, w.escState = modeScript, "script", escNone
		// A data block, or a script now neutralised, never runs.
		w.scriptInert = !exec || w.blockedCounts != blocked
		return next
	}
	w.scriptInert = false
	w.hold(b, k, from, kScript)
	return -1
}

// hold starts holding the element whose start tag w.t is at b[k]: an
// inline script, or a style sheet (which can @import or url() a
// processor, Google Fonts the common case), read to its end tag.
func (w *Writer) hold(b []byte, k int, from *int, kd kind) {
	t := &w.t
	w.write(b[*from:k])
	*from = k
	w.heldTag.end = false
	w.heldTag.nameStart, w.heldTag.nameEnd = t.nameStart, t.nameEnd
	w.heldTag.length = t.length
	w.heldTag.attrs = append(w.heldTag.attrs[:0], t.attrs...)
	w.heldKind = kd
	w.mode, w.rawName, w.escState = modeHeld, kinds[kd].name, escNone
	w.heldStart, w.heldScan = k, k+t.length
	w.sig.Reset()
}

// isCSS reports whether a <style> is a style sheet the browser applies.
func isCSS(t *tag, tb []byte) bool {
	a := t.find(tb, "type")
	if a == nil || a.valStart < 0 {
		return true
	}
	v := strings.ToLower(strings.TrimSpace(decode(tb[a.valStart:a.valEnd])))
	return v == "" || strings.HasPrefix(v, "text/css")
}

// held continues reading the held inline script whose tag starts at
// w.heldStart. It returns done when the script has been written.
func (w *Writer) held(b []byte, eof bool) (done bool, next int) {
	start := w.heldScan
	end, ok := w.rawEnd(b, start, eof)
	// Judged on its first MaxHeldScript bytes, however the page came in
	// writes: a loader found there blocks it; with none found, a longer
	// one — what cannot be read — is not run either: it waits for
	// consent to every category.
	limit := w.heldStart + w.heldTag.length + MaxHeldScript
	if scanEnd := min(end, limit); scanEnd > start && w.heldKind != kStyle {
		w.pol.Catalog.ScanInline(&w.sig, b[start:scanEnd])
	}
	w.heldScan = end
	unread := end > limit
	if !ok && !eof && !unread {
		return false, w.heldStart
	}
	if w.heldKind == kStyle {
		// A style sheet is read whole, as the browser resolves its URLs
		// (an escape may straddle writes).
		bodyStart := w.heldStart + w.heldTag.length
		w.cssBuf = CSSText(w.cssBuf[:0], b[bodyStart:min(end, limit)])
		w.pol.Catalog.ScanInline(&w.sig, w.cssBuf)
	}
	tb := b[w.heldStart : w.heldStart+w.heldTag.length]
	var cats catalog.Set
	for _, p := range w.sig.Matched {
		cats |= w.pol.Catalog.Category(p).Bit()
	}
	if unread && cats == 0 {
		cats = catalog.All
		w.warn("inline " + w.rawName + " longer than 512 KiB neutralised unread: it waits for consent to every category")
	} else if unread {
		w.warn("inline " + w.rawName + " longer than 512 KiB: judged on its first 512 KiB")
	}
	body := b[w.heldStart+w.heldTag.length : end]
	if cats != 0 && !w.pol.Granted.Has(cats) {
		kd := w.heldKind
		if kd == kStyle && ok && indexFold(body, "</script") < 0 {
			// Browsers' preload scanners fetch a <style>'s @import even
			// with a type that disables it: the sheet travels as an inert
			// <script type="text/plain" data-consent-style>, end tag
			// included, and the client makes it a <style> again.
			w.scratch = append(w.scratch[:0], "<script"...)
			w.scratch = w.neutralizeAttrs(w.scratch, tb, &w.heldTag, kd, nil, cats, w.sig.Matched, true)
			w.swallowStyleEnd = true
		} else {
			w.scratch = w.neutralize(w.scratch[:0], tb, &w.heldTag, kd, nil, cats, w.sig.Matched)
		}
		w.write(w.scratch)
		w.write(body)
	} else {
		w.write(b[w.heldStart:end])
	}
	if ok {
		w.mode = modeData
	} else {
		w.mode = w.heldMode()
	}
	return true, end
}

// heldMode is the streaming mode that continues a held element.
func (w *Writer) heldMode() mode {
	if w.heldKind == kStyle {
		return modeRaw
	}
	return modeScript
}

// gate classifies the element w.t by its URL attributes and, if it belongs
// to a processor whose category is not granted, writes it neutralised.
// With hostOnly, any processor pattern on the URL's host counts, whatever
// the path: a preconnect reveals the visitor to the host itself.
func (w *Writer) gate(b []byte, k int, from *int, kd kind, attrs []string, hostOnly bool) {
	t := &w.t
	tb := b[k : k+t.length]
	var cats catalog.Set
	w.procs = w.procs[:0]
	styled := false
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.valStart < 0 || !mayBeGated(tb[a.nameStart:a.nameEnd]) {
			continue
		}
		if equalFoldASCII(tb[a.nameStart:a.nameEnd], "style") && t.first(tb, i) {
			// Any element's style can load a background image.
			w.inlineSig.Reset()
			w.cssBuf = CSSText(w.cssBuf[:0], []byte(decode(tb[a.valStart:a.valEnd])))
			w.pol.Catalog.ScanInline(&w.inlineSig, w.cssBuf)
			for _, p := range w.inlineSig.Matched {
				cats |= w.pol.Catalog.Category(p).Bit()
				w.procs = appendProc(w.procs, p)
				styled = true
			}
			continue
		}
		// Browsers use the first of duplicate attributes only.
		if !isOneOf(tb[a.nameStart:a.nameEnd], attrs) || !t.first(tb, i) {
			continue
		}
		val := tb[a.valStart:a.valEnd]
		an := tb[a.nameStart:a.nameEnd]
		if equalFoldASCII(an, "values") {
			// An animation's values: a list separated by ';'.
			for _, v := range bytes.Split([]byte(decode(val)), []byte(";")) {
				if p := w.matchURL(bytes.TrimSpace(v)); p >= 0 {
					cats |= w.pol.Catalog.Category(p).Bit()
					w.procs = appendProc(w.procs, p)
				}
			}
			continue
		}
		if len(an) >= 6 && equalFoldASCII(an[len(an)-6:], "srcset") {
			// Candidates are "url [descriptor]", separated by commas —
			// after character references are decoded (&#44; is one).
			if bytes.IndexByte(val, '&') >= 0 {
				val = []byte(decode(val))
			}
			for rest := val; len(rest) > 0; {
				cand := rest
				if i := bytes.IndexByte(rest, ','); i >= 0 {
					cand, rest = rest[:i], rest[i+1:]
				} else {
					rest = nil
				}
				for len(cand) > 0 && isSpace(cand[0]) {
					cand = cand[1:]
				}
				for i, c := range cand {
					if isSpace(c) {
						cand = cand[:i]
						break
					}
				}
				if p := w.matchURL(cand); p >= 0 {
					cats |= w.pol.Catalog.Category(p).Bit()
					w.procs = appendProc(w.procs, p)
				}
			}
			continue
		}
		p := -1
		if hostOnly {
			if host, _, ok := catalog.SplitURL(decode(val)); ok {
				p = w.pol.Catalog.MatchHostOnly(host)
			}
		} else {
			p = w.matchURL(val)
		}
		if p >= 0 {
			cats |= w.pol.Catalog.Category(p).Bit()
			w.procs = appendProc(w.procs, p)
		}
	}
	if cats == 0 || w.pol.Granted.Has(cats) {
		return
	}
	if styled {
		attrs = append(append(make([]string, 0, len(attrs)+1), attrs...), "style")
	}
	w.write(b[*from:k])
	*from = k + t.length
	w.scratch = w.neutralize(w.scratch[:0], tb, t, kd, attrs, cats, w.procs)
	w.write(w.scratch)
}

// matchURL classifies a raw attribute value: character references are
// resolved first (rarely present, so rarely paid for).
func (w *Writer) matchURL(v []byte) int {
	if bytes.IndexByte(v, '&') >= 0 {
		d := decode(v)
		if p := w.pol.Catalog.MatchURL(d); p >= 0 {
			return p
		}
		b := []byte(d)
		w.tellForeign(b)
		return w.matchInlineURL(b)
	}
	if p := w.pol.Catalog.MatchURLBytes(v); p >= 0 {
		return p
	}
	w.tellForeign(v)
	return w.matchInlineURL(v)
}

// tellForeign tells Policy.OnForeign the host of v, a URL no processor
// owns, if it names one. Relative URLs, nearly all of a page's, are
// rejected on their first bytes.
func (w *Writer) tellForeign(v []byte) {
	if w.pol.OnForeign == nil || len(v) < 2 || v[0]|0x20 != 'h' && v[0] != '/' && v[0] != '\\' && v[0] > ' ' ||
		v[0] == '/' && v[1] != '/' && v[1] != '\\' {
		return
	}
	host, _, ok := catalog.SplitURL(string(v))
	if !ok || host == w.foreign {
		return
	}
	w.foreign = host
	w.pol.OnForeign(host)
}

// URLs that carry their content instead of naming it.
const (
	notInline = iota
	dataURL
	javascriptURL
)

// inlineURL reports whether u is a data: or javascript: URL as the URL
// parser reads it — leading C0 controls and spaces dropped, tabs and
// newlines ignored anywhere ("java\tscript:" is javascript:), the scheme in
// any case — and returns what follows the colon. Most URLs are rejected
// on their first byte.
func inlineURL(u []byte) (scheme int, rest []byte) {
	i := 0
	for i < len(u) && u[i] <= ' ' {
		i++
	}
	if i == len(u) || u[i]|0x20 != 'd' && u[i]|0x20 != 'j' {
		return notInline, nil
	}
	var name [len("javascript")]byte
	n := 0
	for ; i < len(u); i++ {
		switch c := u[i]; {
		case c == '\t' || c == '\n' || c == '\r':
		case c == ':':
			switch string(name[:n]) {
			case "data":
				return dataURL, u[i+1:]
			case "javascript":
				return javascriptURL, u[i+1:]
			}
			return notInline, nil
		case n == len(name):
			return notInline, nil
		default:
			name[n] = c | 0x20 // letters to lower case; no other byte becomes one
			n++
		}
	}
	return notInline, nil
}

// dropTabNewline removes what the URL parser removes from anywhere in a URL.
func dropTabNewline(b []byte) []byte {
	if bytes.IndexAny(b, "\t\n\r") < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\t' && c != '\n' && c != '\r' {
			out = append(out, c)
		}
	}
	return out
}

// matchInlineURL classifies a URL that carries its content instead of
// naming it: a data: URL (a frame's document, a style sheet, an SVG) and
// a javascript: URL (a frame's script) load what their content loads. The
// content is decoded (percent-encoding, base64) and read as inline text,
// through CSSText, which also undoes the escapes a style sheet may use.
func (w *Writer) matchInlineURL(v []byte) int {
	scheme, rest := inlineURL(v)
	if scheme == notInline {
		return -1
	}
	rest = dropTabNewline(rest)
	body := rest
	if scheme == javascriptURL {
		body = percentDecode(rest)
	} else {
		comma := bytes.IndexByte(rest, ',')
		if comma < 0 {
			return -1
		}
		meta, payload := rest[:comma], percentDecode(rest[comma+1:])
		if m := bytes.ToLower(meta); bytes.HasSuffix(bytes.TrimSpace(m), []byte(";base64")) {
			dec := make([]byte, base64.StdEncoding.DecodedLen(len(payload)))
			n, err := base64.StdEncoding.Decode(dec, bytes.Map(func(r rune) rune {
				if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
					return -1
				}
				return r
			}, payload))
			if err != nil && n == 0 {
				return -1
			}
			payload = dec[:n]
		}
		body = payload
	}
	st := &w.inlineSig
	st.Reset()
	w.pol.Catalog.ScanInline(st, body)
	if len(st.Matched) == 0 {
		st.Reset()
		w.cssBuf = CSSText(w.cssBuf[:0], body)
		w.pol.Catalog.ScanInline(st, w.cssBuf)
	}
	if len(st.Matched) == 0 {
		return -1
	}
	return st.Matched[0]
}

func percentDecode(b []byte) []byte {
	if bytes.IndexByte(b, '%') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) && hexVal(b[i+1]) >= 0 && hexVal(b[i+2]) >= 0 {
			out = append(out, byte(hexVal(b[i+1])<<4|hexVal(b[i+2])))
			i += 2
			continue
		}
		out = append(out, b[i])
	}
	return out
}

func appendProc(ps []int, p int) []int {
	for _, q := range ps {
		if q == p {
			return ps
		}
	}
	return append(ps, p)
}

func isOneOf(name []byte, list []string) bool {
	for _, s := range list {
		if equalFoldASCII(name, s) {
			return true
		}
	}
	return false
}

// decode resolves character references in an attribute value.
func decode(v []byte) string {
	if bytes.IndexByte(v, '&') < 0 {
		return string(v)
	}
	return html.UnescapeString(string(v))
}

// neutralize appends to buf the tag tb rewritten so that it loads and runs
// nothing: its URL attributes (and a script's type) move to data-
// attributes, and data-consent-category / data-consent-processor say what
// consent brings it back. Everything else keeps its original bytes.
func (w *Writer) neutralize(buf, tb []byte, t *tag, kd kind, attrs []string, cats catalog.Set, procs []int) []byte {
	buf = append(buf, '<')
	buf = append(buf, tb[t.nameStart:t.nameEnd]...)
	return w.neutralizeAttrs(buf, tb, t, kd, attrs, cats, procs, false)
}

// blocked counts an element neutralised for procs, the processors it
// fetches from, and reports the first (recorded for replays).
func (w *Writer) blocked(procs []int) {
	w.blockedCounts++
	if len(procs) > 0 {
		if w.rec != nil {
			w.rec.events = append(w.rec.events, procs[0])
		}
		if w.pol.OnBlock != nil {
			w.pol.OnBlock(procs[0])
		}
	}
}

// neutralizeAttrs appends what follows the tag name of a neutralised tag;
// asStyle marks a style sheet carried in a <script> (its attributes are
// kept as they are, for the <style> it becomes again).
func (w *Writer) neutralizeAttrs(buf, tb []byte, t *tag, kd kind, attrs []string, cats catalog.Set, procs []int, asStyle bool) []byte {
	w.blocked(procs)
	if kd == kScript || kd == kStyle {
		buf = append(buf, ` type="text/plain"`...)
	}
	if asStyle {
		buf = append(buf, ` data-consent-style`...)
	}
	buf = append(buf, ` data-consent-category="`...)
	buf = append(buf, cats.String()...)
	buf = append(buf, `" data-consent-processor="`...)
	for i, p := range procs {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = append(buf, w.pol.Catalog.Processors[p].ID...)
	}
	buf = append(buf, '"')
	if (kd == kIframe || kd == kFrame) && w.pol.Placeholder != nil && t.find(tb, "srcdoc") == nil && len(procs) > 0 {
		if ph := w.pol.Placeholder(procs[0], w.pageLang); ph != "" {
			buf = append(buf, ` srcdoc="`...)
			buf = append(buf, ph...)
			buf = append(buf, '"')
		}
	}
	pos := t.nameEnd
	for i := range t.attrs {
		a := &t.attrs[i]
		an := tb[a.nameStart:a.nameEnd]
		rename := isOneOf(an, attrs) || (kd == kScript && (equalFoldASCII(an, "type") || isOneOf(an, kinds[kScript].urlAttrs))) ||
			(kd == kStyle && equalFoldASCII(an, "type"))
		if !rename {
			continue
		}
		buf = append(buf, tb[pos:a.nameStart]...)
		if len(an) > 5 && equalFoldASCII(an[:5], "data-") {
			buf = append(buf, "data-consent-"...)
			buf = append(buf, an[5:]...)
		} else {
			buf = append(buf, "data-"...)
			buf = append(buf, an...)
		}
		pos = a.nameEnd
	}
	return append(buf, tb[pos:]...)
}

// isExecutable reports whether a script element's type may make the
// browser run it. It errs towards code: parameters are ignored and any
// type naming JavaScript counts, so no browser quirk runs a script the
// rewriter took for data.
func isExecutable(t *tag, tb []byte) bool {
	a := t.find(tb, "type")
	if a == nil || a.valStart < 0 {
		return true
	}
	v := strings.ToLower(strings.TrimSpace(decode(tb[a.valStart:a.valEnd])))
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v == "" || v == "module" || strings.Contains(v, "javascript") || strings.Contains(v, "ecmascript") ||
		strings.Contains(v, "jscript") || strings.Contains(v, "livescript")
}

// fetches reports how a <link>'s relations use its href.
func fetches(t *tag, tb []byte) linkRel {
	a := t.find(tb, "rel")
	if a == nil || a.valStart < 0 {
		return relNone
	}
	rel := relNone
	for _, r := range strings.Fields(strings.ToLower(decode(tb[a.valStart:a.valEnd]))) {
		for _, f := range fetching.FetchRels {
			if r == f {
				return relFetch
			}
		}
		for _, f := range fetching.ConnectRels {
			if r == f {
				rel = relConnect
			}
		}
	}
	return rel
}

// primaryTag returns the lower-case primary subtag of a language tag.
func primaryTag(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 8 {
		return ""
	}
	return strings.ToLower(s)
}
