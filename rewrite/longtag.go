package rewrite

import "github.com/kelisim/kelisim/catalog"

// A tag longer than MaxTag cannot be held whole to be judged. It is not
// passed unexamined either: longTag streams it attribute by attribute by
// the tokenizer's rules, and when its element can fetch, it is written
// neutralised from its name on — waiting for consent to every category,
// its URL attributes (and a script's or style sheet's type) renamed
// data-<name> as they pass, so the client can bring it back. The page is
// then suspect (sweep.go): the model did not follow the tag.

// Long-tag states: where in the tag's attributes the stream stands.
const (
	ltBetween     uint8 = iota // before an attribute name
	ltName                     // in a name, held in ltPending
	ltAfterName                // after a name, before '=' or the next
	ltBeforeValue              // after '='
	ltDouble                   // in a "value"
	ltSingle                   // in a 'value'
	ltUnquoted                 // in an unquoted value
)

// maxAttrName: a name held longer than this is no URL attribute.
const maxAttrName = 64

// startLongTag begins streaming the tag at b[k], of which b holds MaxTag
// bytes and no end. It writes its name (and, for an element that
// fetches, the neutralising attributes) and returns where the stream
// goes on.
func (w *Writer) startLongTag(b []byte, k int) int {
	n := nameEnd(b, k+1)
	kd := kOther
	if n-(k+1) <= 16 {
		kd = kindIn(b, k+1, n)
	}
	w.ltKind, w.ltState, w.ltPending = kd, ltBetween, w.ltPending[:0]
	w.ltBlocks = w.pol.Granted != catalog.All && longTagFetches(kd)
	w.write(b[k:n])
	if w.ltBlocks {
		ins := ` data-consent-category="` + catalog.All.String() + `" data-consent-processor=""`
		if kd == kScript || kd == kStyle {
			ins = ` type="text/plain"` + ins
		}
		w.write([]byte(ins))
		w.blocked(nil)
	}
	w.warn("tag longer than 1 MiB streamed attribute by attribute" + map[bool]string{true: ", its element neutralised", false: ""}[w.ltBlocks])
	w.mode = modeLongTag
	return n
}

// longTagFetches reports whether an element of kind kd may fetch or run
// something through its attributes.
func longTagFetches(kd kind) bool {
	switch kd {
	case kScript, kStyle, kLink, kBase, kIframe, kFrame, kObject, kEmbed:
		return true
	}
	return kinds[kd].urlAttrs != nil
}

// longTag streams the long tag on from b[i]; it returns where it stopped
// (len(b) or the byte after the tag's '>') and whether the tag ended.
func (w *Writer) longTag(b []byte, i int, flush func(int)) (int, bool) {
	for i < len(b) {
		c := b[i]
		switch w.ltState {
		case ltBetween, ltAfterName:
			switch {
			case isSpace(c) || c == '/':
				if c == '/' {
					w.ltState = ltBetween
				}
			case c == '>':
				return i + 1, true
			case c == '=' && w.ltState == ltAfterName:
				w.ltState = ltBeforeValue
			default:
				flush(i)
				w.ltState, w.ltPending = ltName, w.ltPending[:0]
				continue
			}
			i++
		case ltName:
			if !isSpace(c) && c != '/' && c != '>' && c != '=' {
				if len(w.ltPending) < maxAttrName {
					w.ltPending = append(w.ltPending, c)
				}
				i++
				continue
			}
			w.longTagName()
			flush(i)
			w.ltState = ltAfterName
		case ltBeforeValue:
			switch {
			case isSpace(c):
			case c == '"':
				w.ltState = ltDouble
			case c == '\'':
				w.ltState = ltSingle
			case c == '>':
				return i + 1, true
			default:
				w.ltState = ltUnquoted
				continue
			}
			i++
		case ltDouble, ltSingle:
			q := byte('"')
			if w.ltState == ltSingle {
				q = '\''
			}
			if e := indexQuote(b, i, q); e >= 0 {
				i = e + 1
				w.ltState = ltBetween
			} else {
				i = len(b)
			}
		case ltUnquoted:
			if isSpace(c) {
				w.ltState = ltBetween
			} else if c == '>' {
				return i + 1, true
			}
			i++
		}
	}
	return len(b), false
}

// longTagName is called at the end of a held attribute name: the name
// goes out renamed when it is one through which the element fetches.
func (w *Writer) longTagName() {
	if w.ltBlocks && len(w.ltPending) < maxAttrName {
		name := w.ltPending
		if isOneOf(name, kinds[w.ltKind].urlAttrs) || (w.ltKind == kScript || w.ltKind == kStyle) && equalFoldASCII(name, "type") ||
			w.ltKind == kScript && equalFoldASCII(name, "src") || w.ltKind == kBase && equalFoldASCII(name, "href") {
			w.write([]byte("data-"))
		}
	}
}

// endLongTag sets the mode the element of the long tag opens, as handleTag
// would have.
func (w *Writer) endLongTag() {
	w.mode = modeData
	kd := w.ltKind
	switch {
	case kd == kScript:
		w.mode, w.rawName, w.escState = modeScript, "script", escNone
		w.scriptInert = w.ltBlocks
	case kd == kPlaintext:
		w.mode = modePlaintext
	case kinds[kd].raw:
		w.mode, w.rawName = modeRaw, kinds[kd].name
	}
	w.suspect("a tag longer than 1 MiB")
}
