package rewrite

// Inside <noscript> the two readings part: with scripting on its content
// is text up to the first "</noscript", with scripting off it is markup.
// Where the scripting-off reading has a comment or a raw text element
// open at that "</noscript", the rewriter follows the scripting-on
// reading on (it examines everything as markup either way), but the
// scripting-off reading stays inside that comment or element until its
// own terminator. The banner waits for it: injected before, it would be
// comment or element text for visitors without JavaScript.
//
// The terminator is looked for in the output, which holds the page's
// bytes in order (a neutralised tag only gains attributes that hold no
// "-->" and no "</").

type offState uint8

const (
	offNone    offState = iota
	offComment          // until "-->" or "--!>"
	offRaw              // until "</" + offName
)

// cutShort, called where a construct ended at b[at] and everything
// before at can be written, opens the wait for the scripting-off
// reading's terminator if a "</noscript" ended it: only output after the
// cut counts, however the page arrived in writes.
func (w *Writer) cutShort(at int, flush func(int)) {
	if w.offCut == offNone {
		return
	}
	flush(at)
	w.offOpen(w.offCut)
	w.offCut = offNone
}

// offOpen records that the scripting-off reading's comment (or raw text
// element, w.rawName) is cut short by "</noscript" here.
func (w *Writer) offOpen(kind offState) {
	if !w.nsOn || w.off != offNone {
		return
	}
	w.off, w.offTail = kind, w.offTail[:0]
	if kind == offRaw {
		w.offName = w.rawName
	}
}

// offFeed looks for the terminator in the next output bytes b.
func (w *Writer) offFeed(b []byte) {
	keep := 3
	if w.off == offRaw {
		keep = len(w.offName) + 1
	}
	// The tail and the head of b, then b itself: no copy of all of b.
	w.offTail = append(w.offTail, b[:min(len(b), keep)]...)
	if w.offFound(w.offTail) || w.offFound(b) {
		w.off, w.offTail = offNone, w.offTail[:0]
		return
	}
	if len(b) >= keep {
		w.offTail = append(w.offTail[:0], b[len(b)-keep:]...)
	} else if len(w.offTail) > keep {
		w.offTail = w.offTail[:copy(w.offTail, w.offTail[len(w.offTail)-keep:])]
	}
}

func (w *Writer) offFound(b []byte) bool { return w.offEnd(b) >= 0 }

// offEnd returns the offset in b just past the first terminator being
// waited for, or -1.
func (w *Writer) offEnd(b []byte) int {
	if w.off == offRaw {
		if i := indexFold(b, "</"+w.offName); i >= 0 {
			return i + 2 + len(w.offName)
		}
		return -1
	}
	_, end := commentTextEnd(b, 0)
	return end
}

// offEndIn returns the offset in text just past the terminator being
// waited for, counting the bytes already written (the tail), or -1.
func (w *Writer) offEndIn(text []byte) int {
	e := w.offEnd(append(append([]byte(nil), w.offTail...), text...))
	if e < 0 {
		return -1
	}
	return max(0, e-len(w.offTail))
}
