package rewrite

import "bytes"

// Script data escape states of the HTML tokenizer.
const (
	escNone    = 0 // script data
	escEscaped = 1 // after "<!--"
	escDouble  = 2 // after "<!--" ... "<script"
)

// isEndDelim reports whether c may follow a tag name.
func isEndDelim(c byte) bool { return isSpace(c) || c == '/' || c == '>' }

// rawEnd scans raw text from i for the end tag of w.rawName (script data
// with its escape states when w.mode is modeScript or modeHeld). It
// returns ok with next at the '<' of the end tag — or of a "</noscript"
// that ends an enclosing noscript first — so the data state parses it.
// Without ok, next is the first byte that needs more input to decide;
// everything before it is plain raw text.
func (w *Writer) rawEnd(b []byte, i int, eof bool) (next int, ok bool) {
	name := w.rawName
	script := w.mode != modeRaw && name == "script"
	for {
		var k int
		if script && w.escState != escNone {
			// In escaped states both "-->" and '<' matter.
			k = indexAny2(b[i:], '<', '-')
		} else {
			k = bytes.IndexByte(b[i:], '<')
		}
		if k < 0 {
			return len(b), false
		}
		k += i
		if b[k] == '-' {
			if k+2 >= len(b) {
				if eof {
					return len(b), false
				}
				return k, false
			}
			if b[k+1] == '-' && b[k+2] == '>' {
				w.escState = escNone
				i = k + 3
			} else {
				i = k + 1
			}
			continue
		}
		// b[k] == '<'
		need := k + 2 + len("noscript") + 1
		if need > len(b) && !eof && !w.final {
			return k, false
		}
		rest := b[k+1:]
		if w.nsOn && len(rest) >= 10 && rest[0] == '/' && equalFoldASCII(rest[1:9], "noscript") && isEndDelim(rest[9]) {
			w.escState = escNone
			w.offCut = offRaw
			return k, true
		}
		if len(rest) >= 1 && rest[0] == '/' && len(rest) >= len(name)+2 &&
			equalFoldASCII(rest[1:1+len(name)], name) && isEndDelim(rest[1+len(name)]) {
			if !script || w.escState != escDouble {
				// Only a whole end tag ends the text: one the page's end
				// cuts off is dropped, the element stays open.
				if tagEnd(b, k+2+len(name), nil) == 0 {
					if !eof && !w.final && len(b)-k < MaxTag {
						return k, false
					}
					i = k + 1
					continue
				}
				w.escState = escNone
				return k, true
			}
			w.escState = escEscaped
			i = k + 2 + len(name)
			continue
		}
		if script {
			switch {
			case w.escState == escNone && bytes.HasPrefix(rest, []byte("!--")):
				w.escState = escEscaped
				// Resume at the dashes so "<!-->" ends the escape at once.
				i = k + 2
				continue
			case w.escState == escEscaped && len(rest) >= 7 && equalFoldASCII(rest[:6], "script") && isEndDelim(rest[6]):
				w.escState = escDouble
				i = k + 7
				continue
			}
		}
		i = k + 1
	}
}

func indexAny2(b []byte, c1, c2 byte) int {
	for i, c := range b {
		if c == c1 || c == c2 {
			return i
		}
	}
	return -1
}
