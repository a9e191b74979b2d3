package rewrite

// CSS names URLs in forms the catalog's matcher does not read as they
// are: escapes anywhere (`\75rl(`, `mc\.yandex\.ru`, `\6d c.yandex.ru`),
// percent-encoded host bytes, upper case. CSSText undoes them into the
// text the browser resolves, which style sheets, style attributes and
// CSS responses are classified by.

// CSSText appends to dst the text of the CSS b with its escapes decoded,
// %XX sequences decoded and ASCII letters lower-cased.
func CSSText(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b):
			i++
			if h := hexVal(b[i]); h >= 0 {
				v := 0
				j := i
				for ; j < len(b) && j < i+6 && hexVal(b[j]) >= 0; j++ {
					v = v<<4 | hexVal(b[j])
				}
				i = j
				if i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\f') {
					// One whitespace ends the escape and is part of it.
				} else if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
					i++
				} else {
					i--
				}
				dst = appendRune(dst, v)
				continue
			}
			if b[i] == '\n' {
				continue // an escaped newline in a string is nothing
			}
			dst = append(dst, lower(b[i]))
		case c == '%' && i+2 < len(b) && hexVal(b[i+1]) >= 0 && hexVal(b[i+2]) >= 0:
			dst = append(dst, lower(byte(hexVal(b[i+1])<<4|hexVal(b[i+2]))))
			i += 2
		default:
			dst = append(dst, lower(c))
		}
	}
	return dst
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func appendRune(dst []byte, v int) []byte {
	if v < 0x80 {
		return append(dst, lower(byte(v)))
	}
	if v > 0x10ffff || v >= 0xd800 && v <= 0xdfff || v == 0 {
		v = 0xfffd
	}
	return append(dst, string(rune(v))...)
}
