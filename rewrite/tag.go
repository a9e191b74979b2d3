package rewrite

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// attr is one attribute of a tag, as offsets into the tag's bytes.
type attr struct {
	nameStart, nameEnd int
	valStart, valEnd   int // value without quotes; valStart < 0 when absent
}

// tag is a parsed start or end tag. Offsets are relative to the start of
// the tag ('<').
type tag struct {
	end         bool // an end tag </x>
	nameStart   int
	nameEnd     int
	selfClosing bool
	attrs       []attr
	length      int // bytes up to and including '>'
}

// Byte classes for the tag scanner.
const (
	clSpace   = 1 << iota // HTML whitespace
	clNameEnd             // ends a tag or attribute name: whitespace, '/', '>'
	clAttrEnd             // ends an attribute name: also '='
)

var class = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\f") {
		t[c] |= clSpace | clNameEnd | clAttrEnd
	}
	t['/'] |= clNameEnd | clAttrEnd
	t['>'] |= clNameEnd | clAttrEnd
	t['='] |= clAttrEnd
	return
}()

func isSpace(c byte) bool { return class[c]&clSpace != 0 }

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// parseTag parses the tag starting at b[0] == '<' following the HTML
// tokenizer's rules for tag names and attributes (quotes only count at the
// start of a value, '=' may begin a name, '/' between attributes is
// ignored). It returns false when b ends before the tag does.
func parseTag(b []byte, t *tag) bool {
	t.attrs = t.attrs[:0]
	t.selfClosing = false
	i := 1
	t.end = false
	if b[1] == '/' {
		t.end = true
		i = 2
	}
	t.nameStart = i
	i = nameEnd(b, i)
	t.nameEnd = i
	n := tagEnd(b, i, t)
	t.length = n
	return n > 0
}

// nameEnd returns the end of the tag name starting at b[i].
func nameEnd(b []byte, i int) int {
	for i < len(b) && class[b[i]]&clNameEnd == 0 {
		i++
	}
	return i
}

// tagEnd reads the attributes of a tag from b[i], just past its name, and
// returns the offset just past its '>', or 0 when b ends first. With t, it
// records them there; without, it only finds the end (for tags nothing
// is done to).
func tagEnd(b []byte, i int, t *tag) int {
	for {
		// Between attributes.
		for i < len(b) && (isSpace(b[i]) || b[i] == '/') {
			if t != nil && b[i] == '/' && i+1 < len(b) && b[i+1] == '>' {
				t.selfClosing = true
			}
			i++
		}
		if i >= len(b) {
			return 0
		}
		if b[i] == '>' {
			return i + 1
		}
		a := attr{nameStart: i, valStart: -1}
		i++ // the first name byte may be '='
		for i < len(b) && class[b[i]]&clAttrEnd == 0 {
			i++
		}
		a.nameEnd = i
		j := i
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j >= len(b) {
			return 0
		}
		if b[j] != '=' {
			if t != nil {
				t.attrs = append(t.attrs, a)
			}
			i = j
			continue
		}
		j++
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j >= len(b) {
			return 0
		}
		switch q := b[j]; q {
		case '"', '\'':
			k := indexQuote(b, j+1, q)
			if k < 0 {
				return 0
			}
			a.valStart, a.valEnd = j+1, k
			i = k + 1
		case '>':
			a.valStart, a.valEnd = j, j
			i = j
		default:
			k := j
			for k < len(b) && (class[b[k]]&clSpace == 0 && b[k] != '>') {
				k++
			}
			a.valStart, a.valEnd = j, k
			i = k
		}
		if t != nil {
			t.attrs = append(t.attrs, a)
		}
	}
}

// lowerName copies name into buf in ASCII lower case, when it is short
// enough to be one of the names we care about.
func lowerName(buf *[16]byte, name []byte) []byte {
	if len(name) > len(buf) {
		return nil
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(name)]
}

// equalFoldASCII reports whether b equals the lower-case ASCII string s,
// ignoring case.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// find returns the attribute named name (lower case), or nil.
func (t *tag) find(b []byte, name string) *attr {
	for i := range t.attrs {
		a := &t.attrs[i]
		if equalFoldASCII(b[a.nameStart:a.nameEnd], name) {
			return a
		}
	}
	return nil
}

// first reports whether attribute i is the first with its name; browsers
// ignore later duplicates.
func (t *tag) first(b []byte, i int) bool {
	name := b[t.attrs[i].nameStart:t.attrs[i].nameEnd]
	for j := 0; j < i; j++ {
		if bytes.EqualFold(b[t.attrs[j].nameStart:t.attrs[j].nameEnd], name) {
			return false
		}
	}
	return true
}

// indexQuote returns the index of the first q in b at or after k, or -1.
// Most attribute values are short: they are searched eight bytes at a
// time in a register before IndexByte, whose setup costs more than that.
func indexQuote(b []byte, k int, q byte) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for n := 0; n < 4 && k+8 <= len(b); n++ {
		x := binary.LittleEndian.Uint64(b[k:]) ^ (lo * uint64(q))
		if m := (x - lo) &^ x & hi; m != 0 {
			return k + bits.TrailingZeros64(m)/8
		}
		k += 8
	}
	if n := bytes.IndexByte(b[k:], q); n >= 0 {
		return k + n
	}
	return -1
}

// attrNameByte marks the bytes skipTag takes in attribute names without
// looking further: letters, digits and "-_:.".
var attrNameByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == ':' || c == '.'
	}
	return
}()

// skipTag returns the offset just past the '>' of the tag whose name ends
// at b[i], or 0 when b ends first, like tagEnd(b, i, nil). Most attributes
// are written ` name="value"`: those are stepped over directly, and at
// the first one written otherwise tagEnd takes over — between two
// attributes, where it starts too.
func skipTag(b []byte, i int) int {
	e, _ := skipTagStyle(b, i, "")
	return e
}

// skipTagStyle is skipTag that also reports whether the tag may hold a
// style that loads something (styleFetches) or an attribute named rare
// (lower case; "" for none): decided on the way for the attributes it
// steps over, on the rest of the tag otherwise.
func skipTagStyle(b []byte, i int, rare string) (end int, hit bool) {
	r0 := byte('s') // no second letter to look for
	if rare != "" {
		r0 = rare[0]
	}
	for i+1 < len(b) && b[i] == ' ' {
		j := i + 1
		for j < len(b) && attrNameByte[b[j]] {
			j++
		}
		if j == i+1 || j+1 >= len(b) || b[j] != '=' || b[j+1] != '"' {
			break
		}
		k := indexQuote(b, j+2, '"')
		if k < 0 {
			return 0, false
		}
		// Names are told apart by their first letter before anything else.
		if c := b[i+1] | 0x20; c == 's' || c == r0 {
			switch n := j - i - 1; {
			case n == 5 && equalFoldASCII(b[i+1:j], "style") && (bytes.IndexByte(b[j+2:k], '(') >= 0 || bytes.IndexByte(b[j+2:k], '&') >= 0):
				hit = true
			case n == len(rare) && n > 0 && equalFoldASCII(b[i+1:j], rare):
				hit = true
			}
		}
		i = k + 1
	}
	if i < len(b) && b[i] == '>' {
		return i + 1, hit
	}
	e := tagEnd(b, i, nil)
	if e > 0 && !hit {
		hit = styleFetches(b[i:e]) || rare != "" && containsFold(b[i:e], rare)
	}
	return e, hit
}
