package rewrite

import (
	"bytes"

	"github.com/kelisim/kelisim/catalog"
)

// When the structural model loses the page (tree.go: an end tag inside
// SVG or MathML that may close an element of the page the model does not
// track, or nesting deeper than it follows), the rewriter cannot tell
// which bytes a browser reads as markup. It fails closed: from there on
// every string in the output that a tokenizer starting at its '<' would
// read as a fetching start tag — in text, comments, raw text, attribute
// values alike — is neutralised, whatever reading holds.
//
// The sweeper only inserts bytes, never removes or replaces any, and what
// it inserts holds no quote, '<', '>' or "--": "data-" before an URL
// attribute's name, and after the tag name
// " data-consent-category=analytics&#32;marketing data-consent-processor=id"
// (and " type=text/plain" for a script). Inserted into a reading where the
// bytes are text, a comment or an attribute value, it stays text, a
// comment or (at most) becomes an inert attribute; it can open nothing.
type sweeper struct {
	carry []byte
	edits []edit
	buf   []byte
	t     tag
	sig   catalog.SigState // an inline script's text
}

// edit is an insertion of text before carry[at].
type edit struct {
	at   int
	text string
}

func (s *sweeper) reset() {
	s.carry, s.edits = s.carry[:0], s.edits[:0]
}

// suspect marks the page as one whose structure the model lost, once.
func (w *Writer) suspect(why string) {
	if w.suspicious {
		return
	}
	w.suspicious = true
	w.resync, w.resyncPending = nil, false // a replay never takes up a suspect page again
	w.warn("page structure not followed (" + why + "): every tag-shaped string in the rest of it is examined")
}

// write sweeps b (the writer's output) and writes it on, keeping back a
// candidate tag b ends in.
func (s *sweeper) write(w *Writer, b []byte, eof bool) error {
	held := len(s.carry) > 0
	s.carry = append(s.carry, b...)
	if held && !eof && bytes.IndexByte(b, '>') < 0 && len(s.carry) < MaxTag {
		// The held candidate can only end at a '>': nothing to decide
		// yet (and no parse of it again for every small write).
		return nil
	}
	d := s.carry
	done := s.candidates(w, d, 0, len(d), eof, true)
	out := s.buf[:0]
	last := 0
	n := 0
	for _, e := range s.edits {
		if e.at >= done {
			break
		}
		out = append(out, d[last:e.at]...)
		out = append(out, e.text...)
		last = e.at
		n++
	}
	out = append(out, d[last:done]...)
	s.buf = out
	// Edits past done belong to the kept candidate: rebase them.
	kept := s.edits[:0]
	for _, e := range s.edits[n:] {
		kept = append(kept, edit{at: e.at - done, text: e.text})
	}
	s.edits = kept
	s.carry = s.carry[:copy(s.carry, d[done:])]
	if len(out) == 0 {
		return nil
	}
	_, err := w.out.Write(out)
	return err
}

// candidates adds the edits for the candidate start tags that begin in
// d[start:stop], each read as far as d goes, and returns where the first
// one that needs more bytes than d holds begins (stop when none does).
// With scripts, an inline script candidate is judged by its text too.
func (s *sweeper) candidates(w *Writer, d []byte, start, stop int, eof, scripts bool) int {
	for i := start; ; {
		j := bytes.IndexByte(d[i:stop], '<')
		if j < 0 {
			return stop
		}
		k := i + j
		if k+1 >= len(d) && !eof {
			return k
		}
		i = k + 1
		if k+1 >= len(d) || !isLetter(d[k+1]) {
			continue
		}
		// Only an element that fetches needs its whole tag read.
		n := nameEnd(d, k+1)
		if n >= len(d) && !eof {
			return k
		}
		if kinds[kindIn(d, k+1, n)].urlAttrs == nil {
			continue
		}
		if !parseTag(d[k:], &s.t) {
			if !eof && len(d)-k < MaxTag {
				return k
			}
			continue
		}
		if !s.gate(w, d, k, eof, scripts) {
			return k
		}
	}
}

// sweepSpan neutralises, in the comment or CDATA text b[start:stop] read
// inside foreign content, every candidate fetching start tag (see
// sweeper): the tree builder reads such text as text, but Chromium's
// preload scanner, which follows foreign content with a cruder model,
// may read it as markup and fetch ahead of the parser. It writes b up to
// the first candidate that needs more bytes, and returns where that is
// (stop when none does); with hold set, it writes nothing unless all are
// decided.
func (w *Writer) sweepSpan(b []byte, start, stop int, eof, hold bool, flush func(int)) int {
	s := &w.spans
	s.edits = s.edits[:0]
	// The preload scanner runs no script: only URLs count here.
	undecided := s.candidates(w, b, start, stop, eof || w.final, false)
	if hold && undecided < stop {
		return undecided
	}
	for _, e := range s.edits {
		if e.at >= undecided {
			break
		}
		flush(e.at)
		w.write([]byte(e.text))
	}
	return undecided
}

// gate adds the edits that neutralise the candidate start tag at d[k]
// (parsed in s.t) when it fetches from a processor not granted. With
// scripts, an executable script without a source is judged by its text
// up to "</script" — in another reading it is a script of its own (the
// text of an SVG script is markup: "<svg><script><script>loader") — and
// gate reports false when d ends before that is decided.
func (s *sweeper) gate(w *Writer, d []byte, k int, eof, scripts bool) bool {
	t := &s.t
	tb := d[k : k+t.length]
	if t.end {
		return true
	}
	kd := kindIn(tb, t.nameStart, t.nameEnd)
	attrs := kinds[kd].urlAttrs
	if attrs == nil || kd == kLink && fetches(t, tb) == relNone {
		return true
	}
	var cats catalog.Set
	var procs []int
	sourced := false
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.valStart < 0 || !isOneOf(tb[a.nameStart:a.nameEnd], attrs) {
			continue
		}
		sourced = true
		val := tb[a.valStart:a.valEnd]
		if bytes.IndexByte(val, '&') >= 0 {
			val = []byte(decode(val)) // a srcset's commas may be references
		}
		for _, cand := range bytes.Split(val, []byte(",")) {
			if f := bytes.Fields(cand); len(f) > 0 {
				if p := w.matchURL(f[0]); p >= 0 {
					cats |= w.pol.Catalog.Category(p).Bit()
					procs = appendProc(procs, p)
				}
			}
		}
	}
	if kd == kScript && scripts && !sourced && isExecutable(t, tb) {
		text := d[k+t.length:]
		e := indexFold(text, "</script")
		if e < 0 && !eof && len(text) < MaxHeldScript {
			return false
		}
		if e >= 0 {
			text = text[:e]
		}
		s.sig.Reset()
		w.pol.Catalog.ScanInline(&s.sig, text[:min(len(text), MaxHeldScript)])
		for _, p := range s.sig.Matched {
			cats |= w.pol.Catalog.Category(p).Bit()
			procs = appendProc(procs, p)
		}
		if len(text) > MaxHeldScript && cats == 0 {
			cats = catalog.All // unread: it waits for every category
		}
	}
	if cats == 0 || w.pol.Granted.Has(cats) {
		return true
	}
	w.blocked(procs)
	ins := " data-consent-category=" + string(bytes.ReplaceAll([]byte(cats.String()), []byte(" "), []byte("&#32;")))
	if len(procs) > 0 {
		ins += " data-consent-processor=" + w.pol.Catalog.Processors[procs[0]].ID
	}
	if kd == kScript {
		ins = " type=text/plain" + ins
	}
	s.add(k+t.nameEnd, ins)
	for i := range t.attrs {
		a := &t.attrs[i]
		an := tb[a.nameStart:a.nameEnd]
		if isOneOf(an, attrs) || kd == kScript && equalFoldASCII(an, "type") {
			s.add(k+a.nameStart, "data-")
		}
	}
	return true
}

// add inserts an edit in position order.
func (s *sweeper) add(at int, text string) {
	i := len(s.edits)
	s.edits = append(s.edits, edit{})
	for i > 0 && s.edits[i-1].at > at {
		s.edits[i] = s.edits[i-1]
		i--
	}
	s.edits[i] = edit{at: at, text: text}
}

// cutTag returns the start tag c, cut off by the end of the page, with
// "data-" before each attribute through which an element of its name
// fetches: completed by what is written after it, it fetches nothing.
// Only bytes are inserted (see sweeper); the attributes are read as far
// as the tag goes, a quoted value left open ending the reading.
func (w *Writer) cutTag(c []byte) []byte {
	n := nameEnd(c, 1)
	attrs := kinds[kindIn(c, 1, n)].urlAttrs
	if attrs == nil {
		return c
	}
	out := append([]byte(nil), c[:n]...)
	i := n
	for i < len(c) {
		if isSpace(c[i]) || c[i] == '/' {
			out = append(out, c[i])
			i++
			continue
		}
		start := i
		i++
		for i < len(c) && class[c[i]]&clAttrEnd == 0 {
			i++
		}
		if isOneOf(c[start:i], attrs) {
			out = append(out, "data-"...)
			w.blockedCounts++
		}
		out = append(out, c[start:i]...)
		j := i
		for j < len(c) && isSpace(c[j]) {
			j++
		}
		if j >= len(c) || c[j] != '=' {
			continue
		}
		j++
		for j < len(c) && isSpace(c[j]) {
			j++
		}
		if j < len(c) && (c[j] == '"' || c[j] == '\'') {
			e := bytes.IndexByte(c[j+1:], c[j])
			if e < 0 {
				return append(out, c[i:]...)
			}
			j += e + 2
		} else {
			for j < len(c) && !isSpace(c[j]) {
				j++
			}
		}
		out = append(out, c[i:j]...)
		i = j
	}
	return out
}
