package gateway

import (
	"bytes"
	"strconv"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/rewrite"
	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
)

// A style sheet the site serves can @import or url() a processor (Google
// Fonts the common case): the browser fetches it as soon as the sheet
// applies. The gateway reads text/css responses whole (up to maxCSS) and
// names each URL in them, strings included, as CSS resolves it.

// maxCSS bounds the style sheets read; a longer one is refused (no such
// sheet is served by a site that means it).
const maxCSS = 4 << 20

// neutralizedURL stands for a processor's URL in a style sheet: it loads
// nothing.
const neutralizedURL = "about:invalid"

// cssRefs returns the categories of the processors sheet refers to, and
// sheet with the URLs of those not in granted replaced by
// neutralizedURL (nil when nothing is replaced).
func cssRefs(cat *catalog.Catalog, sheet []byte, granted catalog.Set) (cats catalog.Set, out []byte) {
	l := css.NewLexer(parse.NewInputBytes(sheet))
	var buf, text []byte
	pos, written := 0, 0
	for {
		tt, data := l.Next()
		if tt == css.ErrorToken {
			break
		}
		start := pos
		pos += len(data)
		var inner []byte
		if tt == css.FunctionToken && string(rewrite.CSSText(text[:0], data)) == "url(" && !bytes.EqualFold(data, []byte("url(")) {
			// An escaped name (\75 rl() the lexer did not take for url(:
			// the spec does; what follows up to ')' is the URL.
			for {
				t2, d2 := l.Next()
				if t2 == css.ErrorToken {
					break
				}
				pos += len(d2)
				data = sheet[start:pos]
				if t2 == css.RightParenthesisToken {
					break
				}
			}
			tt = css.URLToken
		}
		switch tt {
		case css.URLToken:
			// url( … ), the name possibly escaped: the value is between
			// the '(' and the ')'.
			i := bytes.IndexByte(data, '(')
			if i < 0 || data[len(data)-1] != ')' {
				continue
			}
			inner = bytes.Trim(data[i+1:len(data)-1], " \t\n\r\f")
		case css.StringToken:
			if len(data) < 2 {
				continue
			}
			inner = data[1 : len(data)-1]
		default:
			continue
		}
		text = rewrite.CSSText(text[:0], inner)
		p := cat.MatchURL(string(bytes.Trim(text, `"'`)))
		if p < 0 {
			continue
		}
		c := cat.Category(p).Bit()
		cats |= c
		if granted.Has(c) {
			continue
		}
		buf = append(buf, sheet[written:start]...)
		if tt == css.URLToken {
			buf = append(buf, "url("+neutralizedURL+")"...)
		} else {
			buf = append(buf, data[0])
			buf = append(buf, neutralizedURL...)
			buf = append(buf, data[0])
		}
		written = pos
	}
	if written == 0 {
		return cats, nil
	}
	return cats, append(buf, sheet[written:]...)
}

// finishSheet sends the style sheet read whole: as it came when it names
// no processor; otherwise rewritten for the visitor's consent, and kept
// out of shared caches (it differs by consent either way).
func (w *responseWriter) finishSheet() {
	g, h := w.g, w.Header()
	code := w.status
	w.status = 0
	sheet := w.sheet
	w.sheet = nil
	codings := contentCodings(h)
	plain := sheet
	if len(codings) > 0 {
		for _, c := range codings {
			if !canDecode(c) {
				w.refuse("style sheet in content encoding " + c)
				return
			}
		}
		plain = peekDecoded(codings, sheet, maxCSS+1)
		if len(plain) > maxCSS {
			w.refuse("style sheet longer than 4 MiB")
			return
		}
	}
	cats, out := cssRefs(g.cfg.Catalog, plain, w.v.granted())
	body := sheet // as it came, compressed or not
	if cats != 0 {
		varyByConsent(h)
	}
	if out != nil {
		body = out
		h.Del("Content-Encoding")
	}
	if h.Get("Content-Length") != "" || out != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(code)
	w.ResponseWriter.Write(body)
}
