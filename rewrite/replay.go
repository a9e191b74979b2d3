package rewrite

import (
	"bytes"
	"unsafe"
)

// A Recording is how one page was rewritten: its input, its output with
// the injections left out (they differ per visitor), and copies of the
// writer's state at points along the way (marks). Sites send the same
// page to visitor after visitor; a Writer given a Recording compares the
// input as it arrives with the recorded input and, while they agree,
// writes the recorded output instead of scanning — a memcmp and a copy in
// place of a parse. Where the input differs, it takes up the state of the
// last mark that still matched and rewrites from there.
//
// The output of a Writer depends on its input and its Policy. A Recording
// may only be replayed under a Policy that rewrites the same way: the same
// catalog, granted categories and placeholders (Inject may differ — that
// is what the holes are for). The caller keys recordings accordingly.
//
// A finished Recording is never modified; any number of Writers may
// replay it at once.
type Recording struct {
	input  []byte
	output []byte
	holes  []hole
	events []int  // processors of Policy.OnBlock calls
	marks  []mark // marks[0] is the start
	end    *mark  // after Close; nil until the recording is finished
}

// hole is where an injection was written: at output offset at, the head
// (or with body, the body) injection, resolved with page language lang.
type hole struct {
	at   int
	body bool
	lang string
}

// mark is a point where replay can stop and rewriting take over: after
// in input bytes, out output bytes, holes and events so far, with the
// writer's state st and the last carry bytes of the input unprocessed.
type mark struct {
	in, out, holes, events int
	carry                  int
	flushed                bool // taken at a Flush
	// flushInjected: that Flush injected the head. Replay may pass this
	// mark only at a Flush of its own.
	flushInjected bool
	st            state
}

// markGap is the input between two marks at input offset in. Replay
// writes output only up to a mark, and a difference costs the rewriting
// from the mark before it to the mark after: closer marks cost more copies
// of the state, wider ones more rewriting around each difference. Pages
// differ from visitor to visitor mostly in the head (tokens, nonces), and
// the head is where most is done (scripts, links): marks are closer there.
func markGap(in int) int {
	if in < 16<<10 {
		return 512
	}
	return 2 << 10
}

// maxCutCarry: a write is cut for a mark only while less than this is
// held back unfinished.
const maxCutCarry = 4 << 10

// maxHeldAttrs: a held element with more attributes than this stops the
// recording of its page.
const maxHeldAttrs = 64

// Size is about how much memory r holds.
func (r *Recording) Size() int {
	n := cap(r.input) + cap(r.output) + int(unsafe.Sizeof(hole{}))*cap(r.holes) + 8*cap(r.events) + 512
	for i := range r.marks {
		n += r.marks[i].size()
	}
	if r.end != nil {
		n += r.end.size()
	}
	return n
}

func (m *mark) size() int {
	return int(unsafe.Sizeof(*m)) + int(unsafe.Sizeof(felem{}))*len(m.st.fst) + len(m.st.fnames) + 8*len(m.st.sig.Matched) + int(unsafe.Sizeof(attr{}))*len(m.st.heldTag.attrs)
}

// Record makes w record this page, for replay with Replay. Call it after
// Reset, before the first Write. A page with more than limit input bytes
// (or twice that in output) is not recorded. Recording is a copy of input
// and output, so it starts only when it is needed — at the first Write,
// or when a replay stops at a difference — and only if allow (if not nil)
// says so then.
func (w *Writer) Record(limit int, allow func() bool) {
	w.recLimit, w.recWant, w.recAllow = limit, true, allow
}

// IsRecording reports whether w is recording the page now.
func (w *Writer) IsRecording() bool { return w.rec != nil }

// beginRecording starts the recording Record asked for, once.
func (w *Writer) beginRecording() bool {
	if !w.recWant {
		return false
	}
	w.recWant = false
	if w.recAllow != nil && !w.recAllow() {
		return false
	}
	w.rec = &Recording{}
	w.mark(false)
	return true
}

// Replay makes w replay r where its input agrees with r's. Call it after
// Reset, before the first Write. If w is also recording, a page that
// differs from r is recorded anew (sharing nothing with r); one that is
// r again produces no new recording.
func (w *Writer) Replay(r *Recording) {
	if r == nil || r.end == nil {
		return
	}
	w.play, w.inPos, w.playMark = r, 0, 0
}

// Recording returns what w recorded of the page it finished with Close,
// or nil: not recording, the page was too large, or it was a replay that
// matched to the end (the old recording is as good).
func (w *Writer) Recording() *Recording {
	if w.rec == nil || w.rec.end == nil {
		return nil
	}
	return w.rec
}

// Replayed reports whether the page was written from a recording to the
// end (rewritten, at most, where it differed from the recording).
func (w *Writer) Replayed() bool { return w.play != nil }

// Resumes is how many times a replay took up again after a difference.
func (w *Writer) Resumes() int { return w.resumes }

// InputBytes is how many bytes of the page have been written to w.
func (w *Writer) InputBytes() int { return w.pos }

// ReplayedBytes is how many bytes of the page were written from a
// recording rather than rewritten.
func (w *Writer) ReplayedBytes() int { return w.replayedIn }

func (w *Writer) mark(flushed bool) {
	r := w.rec
	if w.mode == modeHeld && len(w.heldTag.attrs) > maxHeldAttrs {
		// Every mark would copy them: such a page is not recorded.
		w.rec = nil
		return
	}
	m := mark{in: len(r.input), out: len(r.output), holes: len(r.holes), events: len(r.events), carry: len(w.carry), flushed: flushed}
	m.st.copyFrom(&w.state)
	if n := len(r.marks); n > 0 && r.marks[n-1].in == m.in {
		// Same input, later state (a Flush injected the head): the newer
		// mark replaces the older.
		r.marks[n-1] = m
		return
	}
	r.marks = append(r.marks, m)
}

func (w *Writer) finishRecording() {
	if w.err != nil {
		w.rec = nil
		return
	}
	r := w.rec
	m := mark{in: len(r.input), out: len(r.output), holes: len(r.holes), events: len(r.events)}
	m.st.copyFrom(&w.state)
	r.end = &m
}

// replayWrite compares p with the recording, writes the recorded output up
// to the last mark within what matched, and returns how much of p matched.
// On a difference it hands over to rewriting (leaveReplay).
func (w *Writer) replayWrite(p []byte) int {
	r := w.play
	rest := r.input[w.inPos:]
	n := min(len(p), len(rest))
	if !bytes.Equal(p[:n], rest[:n]) {
		n = commonPrefix(p[:n], rest[:n])
	}
	w.inPos += n
	last, barrier := w.playMark, false
	for i := w.playMark + 1; i < len(r.marks) && r.marks[i].in <= w.inPos; i++ {
		if r.marks[i].flushInjected {
			barrier = r.marks[i].in < w.inPos
			break
		}
		last = i
	}
	if last != w.playMark {
		w.emit(&r.marks[last])
		w.playMark = last
	}
	if n < len(p) || barrier {
		w.leaveReplay()
	}
	return n
}

// replayFlush handles Flush during a replay. The output for input past the
// last mark is not known, so unless the replay stands exactly at a mark
// taken at a Flush, rewriting takes over and Flush goes on normally
// (returns true).
func (w *Writer) replayFlush() bool {
	m := &w.play.marks[w.playMark]
	if m.in == w.inPos && m.flushed {
		return false
	}
	if i := w.playMark + 1; i < len(w.play.marks) && w.play.marks[i].flushInjected && w.play.marks[i].in == w.inPos {
		w.emit(&w.play.marks[i])
		w.playMark = i
		return false
	}
	w.leaveReplay()
	return true
}

// replayClose finishes a replay whose input matched to the end and returns
// true; otherwise rewriting takes over and Close goes on (false).
func (w *Writer) replayClose() bool {
	r := w.play
	if w.inPos != len(r.input) {
		w.leaveReplay()
		return false
	}
	w.emit(r.end)
	w.blockedCounts = r.end.st.blockedCounts + w.blockBase
	return true
}

// emit writes the recorded output from the current mark up to m, with this
// writer's injections in the holes, and replays the events in between.
func (w *Writer) emit(m *mark) {
	r := w.play
	cur := &r.marks[w.playMark]
	w.replayedIn += m.in - cur.in
	at := cur.out
	// Nothing is being recorded during a replay (it begins only when one
	// stops), so write and inject only write.
	for _, h := range r.holes[cur.holes:m.holes] {
		w.write(r.output[at:h.at])
		at = h.at
		if !w.resolved {
			w.pageLang = h.lang
		}
		w.inject(h.body)
	}
	w.write(r.output[at:m.out])
	if w.pol.OnBlock != nil {
		for _, proc := range r.events[cur.events:m.events] {
			w.pol.OnBlock(proc)
		}
	}
}

// leaveReplay stops replaying: the writer takes the state of the last mark
// written out and rewrites the input matched since then. If it is
// recording, the new recording starts as a copy of the old one up to that
// mark.
func (w *Writer) leaveReplay() {
	r, m := w.play, &w.play.marks[w.playMark]
	w.play = nil
	w.state.copyFrom(&m.st)
	w.blockedCounts += w.blockBase
	w.carry = append(w.carry[:0], r.input[m.in-m.carry:m.in]...)
	w.resync, w.resyncMark = r, w.playMark+1
	w.tail = append(w.tail[:0], r.input[max(0, w.inPos-(anchorLen-1)):w.inPos]...)
	if w.beginRecording() {
		rec := w.rec
		rec.input = append(rec.input[:0], r.input[:m.in]...)
		rec.output = append(rec.output[:0], r.output[:m.out]...)
		rec.holes = append(rec.holes[:0], r.holes[:m.holes]...)
		rec.events = append(rec.events[:0], r.events[:m.events]...)
		rec.marks = rec.marks[:0]
		for i := 0; i <= w.playMark; i++ {
			c := r.marks[i]
			c.st = state{}
			c.st.copyFrom(&r.marks[i].st)
			rec.marks = append(rec.marks, c)
		}
	}
	if pending := r.input[m.in:w.inPos]; len(pending) > 0 {
		w.scanInput(pending)
	}
}

// commonPrefix returns the length of the common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	// Halve the range while it differs: a few memcmps instead of a
	// byte loop over what does match.
	lo := 0
	for n-lo > 64 {
		mid := lo + (n-lo)/2
		if bytes.Equal(a[lo:mid], b[lo:mid]) {
			lo = mid
		} else {
			n = mid
		}
	}
	for lo < n && a[lo] == b[lo] {
		lo++
	}
	return lo
}

// Taking a replay up again. A page that differs from its recording often
// differs in a few places only (a token, a date, a counter). Past the
// difference the writer rewrites, and looks in its input for the bytes
// just before a later mark of the recording (the anchor). Where they
// are, it rewrites up to exactly there; if its state is then the state
// of that mark, the rest of the page from here on is the recording's
// input from the mark on, read in the same state — and replay resumes.
// A false anchor (the same bytes elsewhere) costs a comparison: replay
// still writes only output whose input matched from an equal state.
const (
	anchorLen = 48 // within bytes.Index's vectorised needle sizes
	// maxResyncSearches bounds the searching on a page that has become
	// another page.
	maxResyncSearches = 32
	// resyncSlack: a mark whose offset is this far behind the input read
	// is taken as lost in a difference.
	resyncSlack = 64 << 10
)

// resyncPoint returns where in p, whose first byte is input offset at,
// the anchor of a candidate mark ends, or len(p).
func (w *Writer) resyncPoint(p []byte, at int) int {
	r := w.resync
	for w.resyncMark < len(r.marks) && r.marks[w.resyncMark].in+resyncSlack < at {
		w.resyncMark++
	}
	for mi := w.resyncMark; mi < min(len(r.marks), w.resyncMark+3); mi++ {
		y := r.marks[mi].in
		if y < anchorLen {
			continue
		}
		if w.resyncSearches++; w.resyncSearches > maxResyncSearches {
			w.resync = nil
			return len(p)
		}
		anchor := r.input[y-anchorLen : y]
		// The anchor may begin in an earlier write.
		var buf [2 * anchorLen]byte
		joined := append(append(buf[:0], w.tail...), p[:min(len(p), anchorLen-1)]...)
		if i := bytes.Index(joined, anchor); i >= 0 && i+anchorLen > len(w.tail) {
			w.resyncMark, w.resyncPending = mi, true
			return i + anchorLen - len(w.tail)
		}
		if i := bytes.Index(p, anchor); i >= 0 {
			w.resyncMark, w.resyncPending = mi, true
			return i + anchorLen
		}
	}
	if w.resyncMark >= len(r.marks) {
		w.resync = nil
	}
	return len(p)
}

// tryResume resumes the replay at the candidate mark if the writer stands
// where the mark stood.
func (w *Writer) tryResume() {
	w.resyncPending = false
	if w.resync == nil {
		return
	}
	r, mi := w.resync, w.resyncMark
	m := &r.marks[mi]
	if len(w.carry) == m.carry && bytes.Equal(w.carry, r.input[m.in-m.carry:m.in]) && w.state.sameAs(&m.st) {
		w.play, w.inPos, w.playMark = r, m.in, mi
		w.blockBase = w.blockedCounts - m.st.blockedCounts
		w.resync = nil
		// What is recorded is no longer this page from its start: the
		// recording stays as it was.
		w.rec, w.recWant = nil, false
		w.resumes++
		return
	}
	w.resyncMark = mi + 1
}

// keepTail keeps the last anchorLen-1 input bytes, for anchors that span
// two writes.
func (w *Writer) keepTail(p []byte) {
	if len(p) >= anchorLen-1 {
		w.tail = append(w.tail[:0], p[len(p)-(anchorLen-1):]...)
		return
	}
	w.tail = append(w.tail, p...)
	if extra := len(w.tail) - (anchorLen - 1); extra > 0 {
		w.tail = w.tail[:copy(w.tail, w.tail[extra:])]
	}
}
