// Package rewrite is a streaming HTML rewriter that neutralises the
// elements of third-party processors a visitor has not consented to, and
// injects the consent state and banner.
//
// It is a purpose-built scanner, not a tree builder: it looks for '<' with
// bytes.IndexByte, parses only tags, skips raw text (scripts, styles,
// comments) by the HTML tokenizer's own rules, and copies everything else
// as slices of the input. Output bytes equal input bytes except for the
// tags it rewrites and what it injects, so pages in any ASCII-compatible
// charset come out in that charset. Memory per page is bounded by the
// longest tag or held inline script, whatever the page size.
package rewrite

import (
	"bytes"
	"io"
	"slices"

	"github.com/kelisim/kelisim/catalog"
)

// Limits on what the rewriter holds back while it decides.
const (
	// MaxHeldScript is how much of an inline script is held to look for a
	// tracker loader before it is let through unexamined.
	MaxHeldScript = 512 << 10
	// MaxTag is the longest tag held whole; longer ones (huge data: URIs)
	// pass through unchanged.
	MaxTag = 1 << 20
)

// Policy says what to block and what to inject. One Policy may serve many
// concurrent Writers; it must not change while they run.
type Policy struct {
	Catalog *catalog.Catalog
	// Document says the page is a whole document (a navigation, not a
	// fragment fetched by a script): the consent state and banner are
	// injected even when it has no <html>, <head> or <body> tag. Without
	// it they are injected only into pages that have one.
	Document bool
	// Granted are the categories the visitor has consented to.
	Granted catalog.Set
	// Head is injected early in <head> (after any leading <meta> tags, so
	// a charset declaration stays within the first 1024 bytes).
	Head []byte
	// Body is injected right after <body>.
	Body []byte
	// Inject, if set, replaces Head and Body: it is called once, at the
	// first injection point, with the page's <html lang> (primary subtag,
	// lower case; "" if none), so injected text can speak the page's
	// language.
	Inject func(pageLang string) (head, body []byte)
	// Placeholder returns the escaped srcdoc attribute value shown in
	// place of a blocked iframe of processor proc, or "" for none.
	Placeholder func(proc int, pageLang string) string
	// OnBlock, if set, is called once per neutralised element.
	OnBlock func(proc int)
	// OnForeign, if set, is called with the host of an absolute URL an
	// element fetches from that no processor owns — what a
	// Content-Security-Policy must allow for the page to work (once per
	// host in a row; not for a page written from a recording).
	OnForeign func(host string)
	// OnWarn, if set, is told about input the rewriter could not examine.
	OnWarn func(msg string)
	// XML reads the input as an XML document (xml.go), with no
	// injections.
	XML bool
}

type mode uint8

const (
	modeData      mode = iota
	modeComment        // inside <!-- -->
	modeRaw            // raw text / RCDATA element, waiting for its end tag
	modeScript         // script data, waiting for </script>
	modeHeld           // inline script held in carry until its end tag
	modePlaintext      // <plaintext>: the rest is text
	modeLongTag        // in a tag longer than MaxTag (longtag.go)
)

// Writer rewrites the HTML written to it and writes the result to an
// underlying writer. Call Close at the end of the body.
type Writer struct {
	out io.Writer
	pol *Policy

	carry []byte // input not yet processed (a partial construct)
	err   error
	state

	injections [2][]byte // head, body, once resolved
	resolved   bool
	t          tag
	procs      []int // processors of the element being gated
	scratch    []byte
	foreign    string // the host last told OnForeign
	nameBuf    [16]byte
	final      bool // Close: no more input comes; decide what waited for lookahead
	// svgSearched is how much of a held SVG <script> (from its '<') has
	// been searched for its end tag.
	svgSearched int
	// A tag longer than MaxTag, streamed (longtag.go).
	ltKind    kind
	ltState   uint8
	ltPending []byte
	ltBlocks  bool

	cssBuf    []byte           // CSS text decoded for the matcher (CSSText)
	inlineSig catalog.SigState // for style attributes and data:/javascript: URLs
	sw        sweeper          // examines every tag-shaped string once the page is suspect
	spans     sweeper          // edits for comments and CDATA inside foreign content

	// Recording and replay (replay.go).
	rec      *Recording  // being recorded, or nil
	recLimit int         // input size past which the recording is dropped
	recWant  bool        // Record was called; the recording has not begun
	recAllow func() bool // asked when it begins
	play     *Recording  // being replayed, or nil
	inPos    int         // replay: input bytes matched so far, in play's offsets
	playMark int         // replay: index of the last mark written out
	pos      int         // input bytes written to w
	// blockBase is what the page blocked before the replay took up again
	// minus what the recording had blocked by then.
	blockBase int
	// After a replay stopped at a difference: the recording to take up
	// again where the page is the same again (resyncPoint).
	resync         *Recording
	resyncMark     int  // next candidate mark of resync
	resyncPending  bool // scanning stopped where resyncMark's anchor ends
	resyncSearches int
	resumes        int
	replayedIn     int    // input bytes written from the recording
	tail           []byte // the last input bytes, up to anchorLen-1, while resyncing
}

// state is everything about the page read so far that decides how the
// rest is rewritten. A Recording keeps copies of it (see copyFrom).
type state struct {
	mode      mode
	rawName   string // end tag awaited in modeRaw and modeScript
	escState  uint8  // script data escape state
	heldStart int    // modeHeld: offset of the held <script> in the buffer
	heldScan  int    // modeHeld: offset scanned so far
	heldTag   tag    // modeHeld: the held element's start tag
	heldKind  kind   // modeHeld: kScript or kStyle
	// swallowStyleEnd: a held style sheet went out as a <script>; its
	// </style> end tag is written as </script>.
	swallowStyleEnd bool
	// bomDone: the start of the page, where a byte order mark may be, is
	// behind.
	bomDone bool
	// sweepComment: the comment being read began inside foreign content,
	// where its text is swept (sweepSpan).
	sweepComment bool
	sig          catalog.SigState

	// Document structure (tree.go).
	document     bool // a whole document: Policy.Document, or saw a doctype, <html>, <head> or <body>
	phase        phase
	headPending  bool // inside head, before the first non-meta element
	headInjected bool
	bodyInjected bool
	scriptInert  bool // the script whose text is streaming never runs
	// off: a comment or raw text element of the scripting-off reading
	// that the scripting-on reading's "</noscript" cut short is still
	// open there (offside.go); offName is the raw element's name, offTail
	// the last output bytes, for a terminator split between writes.
	off       offState
	offCut    offState // what the last "</noscript" cut short, until cutShort
	offName   string
	offTail   []byte
	noscript  int   // <noscript> elements open in the scripting-off reading
	nsOn      bool  // the scripting-on reading is in <noscript> raw text
	nsDepth   int32 // len(fst) when nsOn began
	templates int   // <template> elements open outside foreign content
	fst       []felem
	fnames    []byte
	// suspect: the model lost the page's structure; every tag-shaped
	// string of the rest is examined (sweep.go).
	suspicious    bool
	pageLang      string
	blockedCounts int
}

// sameAs reports whether s and o rewrite the same input the same way.
// What a held element needs counts only while one is held; the count of
// blocked elements does not count.
func (s *state) sameAs(o *state) bool {
	if s.mode != o.mode || s.rawName != o.rawName || s.escState != o.escState ||
		s.swallowStyleEnd != o.swallowStyleEnd || s.sweepComment != o.sweepComment || s.bomDone != o.bomDone || s.document != o.document ||
		s.headPending != o.headPending || s.headInjected != o.headInjected ||
		s.bodyInjected != o.bodyInjected || s.noscript != o.noscript ||
		s.phase != o.phase || s.scriptInert != o.scriptInert || s.off != o.off || s.offCut != o.offCut || s.offName != o.offName || !bytes.Equal(s.offTail, o.offTail) || s.nsOn != o.nsOn || s.nsDepth != o.nsDepth || s.templates != o.templates ||
		s.suspicious != o.suspicious || s.pageLang != o.pageLang || !slices.Equal(s.fst, o.fst) || !bytes.Equal(s.fnames, o.fnames) {
		return false
	}
	if s.mode != modeHeld {
		return true
	}
	a, b := &s.heldTag, &o.heldTag
	return s.heldStart == o.heldStart && s.heldScan == o.heldScan && s.heldKind == o.heldKind &&
		s.sig.Equal(&o.sig) && a.end == b.end && a.nameStart == b.nameStart &&
		a.nameEnd == b.nameEnd && a.selfClosing == b.selfClosing && a.length == b.length &&
		slices.Equal(a.attrs, b.attrs)
}

// copyFrom makes s a deep copy of src, reusing s's slices' storage.
func (s *state) copyFrom(src *state) {
	fst, fnames, matched, attrs, tail := s.fst[:0], s.fnames[:0], s.sig.Matched[:0], s.heldTag.attrs[:0], s.offTail[:0]
	*s = *src
	s.offTail = append(tail, src.offTail...)
	s.fst = append(fst, src.fst...)
	s.fnames = append(fnames, src.fnames...)
	if src.mode != modeHeld {
		// What a held element needs means nothing outside one.
		s.sig, s.heldTag = catalog.SigState{Matched: matched}, tag{attrs: attrs}
		return
	}
	s.sig.Matched = append(matched, src.sig.Matched...)
	s.heldTag.attrs = append(attrs, src.heldTag.attrs...)
}

// NewWriter returns a Writer that writes the rewritten page to out.
func NewWriter(out io.Writer, pol *Policy) *Writer {
	w := &Writer{out: out, pol: pol, t: tag{attrs: make([]attr, 0, 16)}}
	w.document = pol != nil && pol.Document
	return w
}

// Reset lets a Writer be reused for another page.
func (w *Writer) Reset(out io.Writer, pol *Policy) {
	carry, scratch, attrs, matched, fst, fnames, held := w.carry[:0], w.scratch[:0], w.t.attrs[:0], w.sig.Matched[:0], w.fst[:0], w.fnames[:0], w.heldTag.attrs[:0]
	sw, spans := w.sw, w.spans
	sw.reset()
	spans.reset()
	*w = Writer{out: out, pol: pol, carry: carry, scratch: scratch, sw: sw, spans: spans}
	w.fst, w.fnames, w.t.attrs, w.sig.Matched, w.heldTag.attrs = fst, fnames, attrs, matched, held
	w.document = pol != nil && pol.Document
}

// Blocked returns how many elements have been neutralised so far.
func (w *Writer) Blocked() int { return w.blockedCounts }

func (w *Writer) write(b []byte) {
	if w.err == nil && len(b) > 0 {
		if w.rec != nil {
			// Output can outgrow input many times (placeholders): bound it
			// as the input is.
			if len(w.rec.output)+len(b) > 2*w.recLimit {
				w.rec = nil
			} else {
				w.rec.output = append(w.rec.output, b...)
			}
		}
		if w.off != offNone {
			w.offFeed(b)
		}
		w.send(b)
	}
}

// send sends output on: through the sweeper once the page is suspect.
func (w *Writer) send(b []byte) {
	if w.suspicious {
		w.err = w.sw.write(w, b, false)
		return
	}
	_, w.err = w.out.Write(b)
}

// inject writes the head or body injection. A recording keeps its place,
// not its bytes: they differ from visitor to visitor.
func (w *Writer) inject(body bool) {
	if w.rec != nil {
		w.rec.holes = append(w.rec.holes, hole{at: len(w.rec.output), body: body, lang: w.pageLang})
	}
	b := w.head()
	if body {
		b = w.body()
	}
	if w.err == nil && len(b) > 0 {
		w.send(b)
	}
}

// Write rewrites p. It always consumes all of p; bytes that end inside a
// tag or a held script are kept until the next Write or Close.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	if w.recWant && w.play == nil {
		w.beginRecording()
	}
	for len(p) > 0 && w.err == nil {
		if w.play != nil {
			p = p[w.replayWrite(p):]
			continue
		}
		cut := len(p)
		if w.resync != nil {
			cut = w.resyncPoint(p, w.pos+n-len(p))
		}
		if w.rec != nil && len(w.carry) < maxCutCarry {
			// A mark every markGap bytes, however large the write —
			// unless a long construct is open: cut after cut, it would
			// be parsed again from its start each time.
			if next := w.rec.marks[len(w.rec.marks)-1].in + markGap(len(w.rec.input)) - len(w.rec.input); next > 0 && next < cut {
				cut = next
			}
		}
		w.scanInput(p[:cut])
		if w.resync != nil {
			w.keepTail(p[:cut])
		}
		p = p[cut:]
		if w.resyncPending {
			w.tryResume()
		}
		if w.rec != nil && len(w.rec.input)-w.rec.marks[len(w.rec.marks)-1].in >= markGap(len(w.rec.input)) {
			w.mark(false)
		}
	}
	w.pos += n
	return n, w.err
}

// scanInput rewrites p, keeping what it cannot decide yet in carry.
func (w *Writer) scanInput(p []byte) {
	if w.rec != nil {
		if len(w.rec.input)+len(p) > w.recLimit {
			w.rec = nil
		} else {
			w.rec.input = append(w.rec.input, p...)
		}
	}
	var b []byte
	fromCarry := len(w.carry) > 0
	if fromCarry {
		w.carry = append(w.carry, p...)
		b = w.carry
	} else {
		b = p
	}
	keep := w.scan(b, false)
	rest := b[keep:]
	if fromCarry {
		w.carry = w.carry[:copy(w.carry, rest)]
	} else {
		w.carry = append(w.carry[:0], rest...)
	}
}

// Flush makes sure everything the writer can decide about has been
// written. If the head is open and the consent state not yet injected, it
// is injected now, so a client waiting on a slow origin already has it.
func (w *Writer) Flush() error {
	if w.play != nil && !w.replayFlush() {
		return w.err
	}
	injected := false
	if w.headPending && !w.headInjected && w.mode == modeData && !w.nsOn && w.templates == 0 && w.phase < phBody {
		w.injectHead()
		injected = true
	}
	if w.rec != nil {
		w.mark(true)
		if injected && w.rec != nil {
			w.rec.marks[len(w.rec.marks)-1].flushInjected = true
		}
	}
	return w.err
}

// Close processes what is left at the end of the body. Everything
// complete is written first; what is left is a construct the end of the
// page cuts off. A document whose body never got the banner gets it there
// — after closing, in the scripting-on reading, the raw text, comment,
// <noscript> or <template> the page ends in, with the end tag or
// terminator that leaves its text as the browser had it; or before a
// cut-off tag, which the browser drops either way. An unclosed script is
// never closed: the browser does not run it, closed it would run.
func (w *Writer) Close() error {
	if w.play != nil && w.replayClose() {
		return w.err
	}
	w.final = true
	if len(w.carry) > 0 {
		keep := w.scan(w.carry, false)
		w.carry = w.carry[:copy(w.carry, w.carry[keep:])]
	}
	if w.document && (!w.bodyInjected || !w.headInjected) && w.phase != phFrameset {
		w.closeAtEOF()
	}
	if len(w.carry) > 0 {
		keep := w.scan(w.carry, true)
		w.write(w.carry[keep:])
		w.carry = w.carry[:0]
	}
	if w.suspicious {
		w.err = w.sw.write(w, nil, true)
	}
	if w.rec != nil {
		w.finishRecording()
	}
	return w.err
}

// closeAtEOF writes the injections a document still lacks at its end.
func (w *Writer) closeAtEOF() {
	if len(w.head()) == 0 && len(w.body()) == 0 {
		return
	}
	// A raw text element of the scripting-off reading still open is
	// closed (with scripting on, the end tag matches nothing and is
	// ignored); a comment runs to the end: the banner cannot wait for it
	// any longer.
	if w.off == offRaw && !w.nsOn {
		w.write([]byte("</" + w.offName + ">"))
	}
	w.off = offNone
	finish := func() {
		// The rest of the carry belongs to the open construct.
		if len(w.carry) > 0 {
			keep := w.scan(w.carry, true)
			w.write(w.carry[keep:])
			w.carry = w.carry[:0]
		}
	}
	switch {
	case w.nsOn:
		if w.mode == modeData && len(w.carry) > 1 && isLetter(w.carry[1]) {
			// A tag cut off by the end of the page, which the
			// "</noscript>" written after it would complete in the
			// scripting-off reading: whatever it would fetch is renamed
			// away first.
			w.write(escapeNoscript(w.cutTag(w.carry)))
			w.carry = w.carry[:0]
		}
		finish()
		w.write([]byte("</noscript>"))
	case w.mode == modeData:
		if c := w.carry; len(c) >= 2 && (c[1] == '!' || c[1] == '?' || c[1] == '/' && len(c) > 2 && !isLetter(c[2])) {
			// A doctype or bogus comment cut off by the end of the page:
			// closed, it stays what it was (a cut-off tag is dropped by
			// the browser: the injections go before it).
			finish()
			w.write([]byte(">"))
		}
	case w.mode == modeComment:
		tail := w.carry
		finish()
		w.write(commentCloser(tail))
	case w.mode == modeRaw, w.mode == modeHeld && w.heldKind == kStyle:
		name := w.rawName
		finish()
		w.write([]byte("</" + name + ">"))
	case (w.mode == modeScript || w.mode == modeHeld && w.heldKind == kScript) && (w.scriptInert || w.templates > 0) && w.escState != escDouble:
		// A script that never runs (a data block, or template content):
		// closed, it still does not.
		finish()
		w.write([]byte("</script>"))
	case w.mode == modeHeld && w.templates == 0 && len(w.fst) == 0:
		// An inline script cut off by the end of the page, still held
		// whole: the banner goes before it (it runs in neither place).
	default:
		return
	}
	if w.mode != modeHeld {
		for n := 0; (w.templates > 0 || len(w.fst) > 0) && n <= maxForeign; n++ {
			w.write([]byte("</template>"))
			if len(w.fst) > 0 {
				w.foreignEnd(kTemplate, []byte("template"))
			} else {
				w.templates--
			}
		}
	}
	if w.templates == 0 && len(w.fst) == 0 {
		w.injectHead()
		if w.phase != phFrameset {
			w.phase = phBody
			w.injectBody()
		}
	}
}

func (w *Writer) resolve() {
	if w.resolved {
		return
	}
	w.resolved = true
	if w.pol.Inject != nil {
		w.injections[0], w.injections[1] = w.pol.Inject(w.pageLang)
	} else {
		w.injections[0], w.injections[1] = w.pol.Head, w.pol.Body
	}
}

func (w *Writer) head() []byte { w.resolve(); return w.injections[0] }
func (w *Writer) body() []byte { w.resolve(); return w.injections[1] }

// injectHead writes the consent state and client once, in the head.
func (w *Writer) injectHead() {
	if !w.document || w.headInjected {
		return
	}
	w.headInjected = true
	w.headPending = false
	w.inject(false)
}

func (w *Writer) warn(msg string) {
	// What the limits decide depends on how the input was cut into
	// writes; a page that reached one is not recorded, so a replay is
	// never more lenient than a rewrite.
	w.rec = nil
	if w.pol.OnWarn != nil {
		w.pol.OnWarn(msg)
	}
}

// scan processes b from the start in the current mode, writes what it can
// decide and returns the offset of the first byte it could not process.
// With eof set, nothing more will come.
func (w *Writer) scan(b []byte, eof bool) int {
	if w.pol.XML {
		return w.scanXML(b, eof)
	}
	i, from := 0, 0 // i: scan position; from: first byte not yet written
	flush := func(to int) {
		w.write(b[from:to])
		from = to
	}
	for i < len(b) {
		switch w.mode {
		case modePlaintext:
			if !w.nsOn {
				i = len(b)
				break
			}
			// <plaintext> of the scripting-off reading inside <noscript>:
			// the scripting-on reading still leaves at "</noscript".
			if n := indexFold(b[i:], "</noscript"); n >= 0 {
				w.mode = modeData
				i += n
				break
			}
			keep := max(i, len(b)-len("</noscript"))
			flush(keep)
			return keep

		case modeLongTag:
			next, done := w.longTag(b, i, flush)
			if !done {
				if w.ltState == ltName && len(b)-from <= maxAttrName && !eof {
					// A name cut by the write: read again whole.
					w.ltState = ltBetween
					return from
				}
				flush(len(b))
				return len(b)
			}
			i = next
			w.endLongTag()

		case modeComment:
			end := w.commentEnd(b, i)
			if w.sweepComment {
				stop := end
				if end < 0 {
					stop = max(i, len(b)-len("</noscript"))
				}
				if u := w.sweepSpan(b, i, stop, eof, false, flush); u < stop {
					flush(u)
					return u
				}
			}
			if end < 0 {
				// Keep the last bytes: a terminator may straddle writes.
				keep := max(i, len(b)-len("</noscript"))
				flush(keep)
				return keep
			}
			w.sweepComment = false
			w.mode = modeData
			i = end
			w.cutShort(end, flush)

		case modeRaw, modeScript:
			next, ok := w.rawEnd(b, i, eof)
			if !ok {
				flush(next)
				return next
			}
			w.mode = modeData
			i = next
			w.cutShort(next, flush)

		case modeHeld:
			done, next := w.held(b, eof)
			if !done {
				// The held script stays in carry, which starts at its tag.
				w.heldScan -= w.heldStart
				w.heldStart = 0
				return next
			}
			from = next
			i = next
			w.cutShort(next, flush)

		case modeData:
			if !w.bomDone {
				// A UTF-8 byte order mark is no text: the browser's decoder
				// takes it off before the parser sees anything.
				if len(b)-i < 3 && !eof && bytes.HasPrefix([]byte("\xef\xbb\xbf"), b[i:]) {
					flush(i)
					return i
				}
				w.bomDone = true
				if bytes.HasPrefix(b[i:], []byte("\xef\xbb\xbf")) {
					i += 3
					break
				}
			}
			if w.bomDone && w.plainOK() {
				// The body of most pages: text and tags nothing is done to.
				if i = skipPlain(b, i); i == len(b) {
					break
				}
			}
			j := bytes.IndexByte(b[i:], '<')
			if !w.bodyInjected && w.phase <= phBody && w.document && !w.nsOn && w.templates == 0 && len(w.fst) == 0 {
				end := len(b)
				if j >= 0 {
					end = i + j
				} else if a := bytes.LastIndexByte(b[i:], '&'); a >= 0 && !eof && len(b)-(i+a) < 12 && bytes.IndexByte(b[i+a:], ';') < 0 {
					// A character reference the write may have cut: it
					// decides whether the text is whitespace.
					end = i + a
					j = a
				}
				w.text(b, i, end, &from)
			}
			if j < 0 {
				i = len(b)
				break
			}
			k := i + j
			if b[k] == '&' {
				flush(k)
				return k
			}
			if k+1 >= len(b) {
				if eof {
					if !w.bodyInjected && w.phase <= phBody && w.document && !w.nsOn && w.templates == 0 && len(w.fst) == 0 {
						w.text(b, k, len(b), &from) // a '<' or "</" the page ends with is text
					}
					i = len(b)
					break
				}
				flush(k)
				return k
			}
			c := b[k+1]
			switch {
			case c == '!':
				next, ok := w.markupDecl(b, k, eof)
				if !ok {
					flush(k)
					return k
				}
				if w.mode == modeComment {
					w.sweepComment = len(w.fst) > 0 && !w.suspicious
				} else if len(w.fst) > 0 && !w.suspicious && w.cdataOK() && bytes.HasPrefix(b[k:], []byte("<![CDATA[")) {
					if u := w.sweepSpan(b, k+9, next, eof, true, flush); u < next {
						flush(k)
						return k
					}
				}
				i = next
			case c == '?':
				next, ok := w.skipBogus(b, k, eof)
				if !ok {
					flush(k)
					return k
				}
				i = next
			case c == '/' || isLetter(c):
				if c == '/' {
					if k+2 >= len(b) {
						if eof {
							if !w.bodyInjected && w.phase <= phBody && w.document && !w.nsOn && w.templates == 0 && len(w.fst) == 0 {
								w.text(b, k, len(b), &from) // a '<' or "</" the page ends with is text
							}
							i = len(b)
							break
						}
						flush(k)
						return k
					}
					if !isLetter(b[k+2]) {
						// "</>" is dropped, "</ x>" is a bogus comment.
						next, ok := w.skipBogus(b, k, eof)
						if !ok {
							flush(k)
							return k
						}
						i = next
						break
					}
				}
				if w.plainOK() {
					// Most tags are ones nothing is done to (div, a, p,
					// their end tags): find the end and go on.
					if next := plainTag(b, k); next > 0 {
						i = next
						break
					}
				}
				parsed := parseTag(b[k:], &w.t)
				if parsed && w.t.length > MaxTag && !w.nsOn {
					// However the writes came, a tag this long is streamed.
					flush(k)
					i = w.startLongTag(b, k)
					from = i
					break
				}
				if !parsed {
					if !eof && len(b)-k < MaxTag {
						flush(k)
						return k
					}
					if !eof && !w.nsOn {
						flush(k)
						i = w.startLongTag(b, k)
						from = i
						break
					}
					if !eof {
						w.warn("tag longer than 1 MiB inside <noscript>: escaped")
					}
					if w.nsOn && w.pol.Granted != catalog.All {
						// See escapedTag: the unfinished tag is dropped
						// with scripting off, text up to "</noscript" with
						// it on.
						flush(k)
						w.write(escapeNoscript(b[k:]))
						from = len(b)
					}
					i = len(b)
					break
				}
				if w.nsOn && w.pol.Granted != catalog.All && indexFold(b[k:k+w.t.length], "</noscript") >= 0 {
					// With scripting on, noscript content is text up to the
					// first "</noscript", even inside this tag's attribute
					// (an end tag's too): what follows it would be live
					// markup. Writing that
					// "<" as "&lt;" keeps the attribute's value (entities
					// are decoded there) and makes both readings agree.
					flush(k)
					end := k + w.t.length
					w.escapedTag(b[k:end], eof)
					from, i = end, end
					break
				}
				next := w.handleTag(b, k, &from, eof)
				if next == needMore {
					flush(k)
					return k
				}
				if next < 0 {
					// An inline script is now held; modeHeld reads on.
					from = k
					i = k
					break
				}
				i = next
			default:
				// A '<' that starts no tag is text.
				if !w.bodyInjected && w.phase <= phBody && w.document && !w.nsOn && w.templates == 0 && len(w.fst) == 0 {
					w.text(b, k, k+1, &from)
				}
				i = k + 1
			}
		}
	}
	flush(len(b))
	return len(b)
}

// plainOK reports whether a tag of a plain kind (plainTag) changes
// nothing where the writer stands: outside noscript and foreign content,
// with the injections done (or in a fragment, which gets none).
func (w *Writer) plainOK() bool {
	return w.noscript == 0 && len(w.fst) == 0 && !w.suspicious && (!w.document || w.phase >= phBody && w.bodyInjected)
}

// skipPlain steps over text and plain tags (plainTag) from b[i], where
// plainOK holds, and returns where anything else starts (a '<' plainTag
// does not pass), or len(b). Nothing it steps over changes plainOK.
func skipPlain(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return len(b)
		}
		k := i + j
		if k+2 >= len(b) {
			return k
		}
		if c := b[k+1]; !isLetter(c) && (c != '/' || !isLetter(b[k+2])) {
			return k
		}
		next := plainTag(b, k)
		if next == 0 {
			return k
		}
		i = next
	}
}

// plainTag returns the offset just past the tag at b[k] if it is a start
// or end tag of an element the rewriter leaves alone and ends within b,
// else 0.
func plainTag(b []byte, k int) int {
	i := k + 1
	if b[i] == '/' {
		i++
	}
	n := nameEnd(b, i)
	if n >= len(b) {
		return 0
	}
	switch kd := kindIn(b, i, n); kd {
	case kOther, kBreakout, kIntegration, kTable, kCell, kAnchor:
		if b[n] == '>' {
			return n + 1 // no attributes: nothing it could fetch by
		}
		if e, hit := skipTagStyle(b, n, kinds[kd].rare); e > 0 && !hit {
			return e
		}
	}
	return 0
}

// skipBogus skips a bogus comment starting at b[k] up to its '>'. Without
// ok it needs more input; at the end of input, or past MaxTag, what there
// is counts as the comment.
// Inside <noscript> it ends at a "</noscript" too (as a comment does).
func (w *Writer) skipBogus(b []byte, k int, eof bool) (next int, ok bool) {
	if e := bytes.IndexByte(b[k:], '>'); e >= 0 {
		if w.nsOn {
			if n := indexFold(b[k+1:k+e+1], "</noscript"); n >= 0 {
				return k + 1 + n, true
			}
		}
		return k + e + 1, true
	}
	if !eof && len(b)-k < MaxTag {
		return 0, false
	}
	return len(b), true
}

// markupDecl handles "<!": comments, doctypes, CDATA and bogus comments.
func (w *Writer) markupDecl(b []byte, k int, eof bool) (next int, ok bool) {
	if len(b)-k < 4 && !eof && !w.final {
		return 0, false
	}
	if bytes.HasPrefix(b[k:], []byte("<!--")) {
		// "<!-->" and "<!--->" are complete, empty comments.
		if k+4 < len(b) && b[k+4] == '>' {
			return k + 5, true
		}
		if k+5 < len(b) && b[k+4] == '-' && b[k+5] == '>' {
			return k + 6, true
		}
		if k+5 >= len(b) && !eof && !w.final {
			return 0, false
		}
		w.mode = modeComment
		return k + 4, true
	}
	if w.cdataOK() && len(b)-k < 9 && !eof && bytes.HasPrefix([]byte("<![CDATA["), b[k:]) {
		return 0, false
	}
	if w.cdataOK() && bytes.HasPrefix(b[k:], []byte("<![CDATA[")) {
		e := bytes.Index(b[k:], []byte("]]>"))
		if w.nsOn {
			if n := indexFold(b[k:], "</noscript"); n >= 0 && (e < 0 || n < e) {
				return k + n, true
			}
		}
		if e < 0 {
			if eof || len(b)-k >= MaxTag {
				return len(b), true
			}
			return 0, false
		}
		return k + e + 3, true
	}
	if len(b)-k >= 9 && equalFoldASCII(b[k+2:k+9], "doctype") && w.phase == phBeforeHead && len(w.fst) == 0 {
		w.document = true
	}
	return w.skipBogus(b, k, eof)
}

// commentEnd finds the end of the comment being scanned from i: after
// "-->" or "--!>". Inside <noscript> a "</noscript" also ends it, because
// a browser with scripting on reads noscript content as raw text: what
// follows is markup there, and is treated as markup here.
func (w *Writer) commentEnd(b []byte, i int) int {
	start, end := commentTextEnd(b, i)
	if w.nsOn {
		if n := indexFold(b[i:], "</noscript"); n >= 0 && (start < 0 || i+n < start) {
			w.offCut = offComment
			return i + n
		}
	}
	return end
}

// commentTextEnd finds the first "-->" or "--!>" in b from i: where it
// starts and the offset just past it, or -1, -1.
func commentTextEnd(b []byte, i int) (start, end int) {
	for j := i; ; {
		k := bytes.IndexByte(b[j:], '-')
		if k < 0 {
			return -1, -1
		}
		k += j
		if k+2 < len(b) && b[k+1] == '-' && b[k+2] == '>' {
			return k, k + 3
		}
		if k+3 < len(b) && b[k+1] == '-' && b[k+2] == '!' && b[k+3] == '>' {
			return k, k + 4
		}
		j = k + 1
	}
}

// text follows the document-level modes for the text b[i:end] before
// the banner is in: text that is not whitespace opens the body (the head
// injection goes before it); in the body, text that is neither
// whitespace nor NUL ends the wait for a <frameset> (bodyDue), and the
// banner goes before it.
func (w *Writer) text(b []byte, i, end int, from *int) {
	flush := func(to int) {
		w.write(b[*from:to])
		*from = to
	}
	if p := firstNonSpace(b[i:end], false); p >= 0 && w.phase < phBody {
		flush(i + p)
		w.injectHead()
		w.phase = phBody
	}
	p := firstNonSpace(b[i:end], true)
	if p < 0 || w.phase != phBody {
		return
	}
	if w.off != offNone {
		// Waiting for a scripting-off terminator: the banner goes
		// before the first text after it, if it ends in this text.
		at := max(i, *from)
		flush(at)
		e := 0 // what is written so far may have ended the wait
		if w.off != offNone {
			e = w.offEndIn(b[at:end])
		}
		p = -1
		if e >= 0 {
			if q := firstNonSpace(b[at+e:end], true); q >= 0 {
				p = at - i + e + q
			}
		}
	}
	if p >= 0 {
		flush(i + p)
		w.injectBody()
	}
}

// commentCloser returns what ends a comment whose data ends in tail
// without adding to its data.
func commentCloser(tail []byte) []byte {
	switch {
	case bytes.HasSuffix(tail, []byte("--!")) || bytes.HasSuffix(tail, []byte("--")):
		return []byte(">")
	case bytes.HasSuffix(tail, []byte("-")):
		return []byte("->")
	}
	return []byte("-->")
}

// firstNonSpace returns the index of the first character of text b that
// is not HTML whitespace (nor NUL, with nul), or -1. A character
// reference counts as what it stands for.
func firstNonSpace(b []byte, nul bool) int {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case isSpace(c) || nul && c == 0:
		case c == '&':
			n := spaceRef(b[i:])
			if n == 0 {
				return i
			}
			i += n - 1
		default:
			return i
		}
	}
	return -1
}

// spaceRef returns the length of the character reference at the start of
// b if it stands for HTML whitespace, else 0.
func spaceRef(b []byte) int {
	for _, named := range []string{"&Tab;", "&NewLine;"} {
		if bytes.HasPrefix(b, []byte(named)) {
			return len(named)
		}
	}
	if len(b) < 3 || b[1] != '#' {
		return 0
	}
	i, base := 2, 10
	if b[2] == 'x' || b[2] == 'X' {
		i, base = 3, 16
	}
	v, start := 0, i
	for ; i < len(b) && v < 0x110000; i++ {
		d := hexVal(b[i])
		if d < 0 || d >= base {
			break
		}
		v = v*base + d
	}
	if i == start {
		return 0
	}
	if i < len(b) && b[i] == ';' {
		i++
	}
	switch v {
	case '\t', '\n', '\f', '\r', ' ':
		return i
	}
	return 0
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// styleFetches reports whether the attributes a of a tag may hold a
// style that loads something. That takes a function (url(),
// image-set()), whose '(' no escape can stand for — only a character
// reference (&#40;): most tags have neither, and keep the fast path.
func styleFetches(a []byte) bool {
	return (bytes.IndexByte(a, '(') >= 0 || bytes.IndexByte(a, '&') >= 0) && containsFold(a, "style")
}

// containsFold reports whether b holds needle, a lower-case name, in any
// case.
func containsFold(b []byte, needle string) bool {
	lo, up := needle[0], needle[0]-('a'-'A')
	for i := 0; i+len(needle) <= len(b); {
		j := bytes.IndexByte(b[i:], lo)
		if k := bytes.IndexByte(b[i:], up); k >= 0 && (j < 0 || k < j) {
			j = k
		}
		if j < 0 || i+j+len(needle) > len(b) {
			return false
		}
		i += j
		if equalFoldASCII(b[i:i+len(needle)], needle) {
			return true
		}
		i++
	}
	return false
}

// indexFold is bytes.Index for a lower-case ASCII needle, ignoring case;
// needle's first byte is not a letter ('<').
func indexFold(b []byte, needle string) int {
	first := needle[0]
	for i := 0; i+len(needle) <= len(b); {
		j := bytes.IndexByte(b[i:], first)
		if j < 0 {
			return -1
		}
		i += j
		if i+len(needle) > len(b) {
			return -1
		}
		if equalFoldASCII(b[i:i+len(needle)], needle) {
			return i
		}
		i++
	}
	return -1
}

// escapedTag handles a tag inside <noscript> whose bytes hold
// "</noscript": it writes the tag with those "<" as "&lt;", gated like any
// tag (a script's body then streams as usual).
func (w *Writer) escapedTag(tb []byte, eof bool) {
	esc := escapeNoscript(tb)
	if !parseTag(esc, &w.t) {
		w.write(esc)
		return
	}
	from := 0
	if w.handleTag(esc, 0, &from, eof) < 0 {
		// An inline script: its body streams as usual (with scripting off
		// it never runs).
		w.mode = modeScript
	}
	w.write(esc[from:])
}

// escapeNoscript returns tb with the "<" of every "</noscript" after its
// first byte written as "&lt;".
func escapeNoscript(tb []byte) []byte {
	esc := make([]byte, 0, len(tb)+8)
	esc = append(esc, tb[0])
	for rest := tb[1:]; ; {
		j := indexFold(rest, "</noscript")
		if j < 0 {
			return append(esc, rest...)
		}
		esc = append(esc, rest[:j]...)
		esc = append(esc, "&lt;"...)
		rest = rest[j+1:]
	}
}
