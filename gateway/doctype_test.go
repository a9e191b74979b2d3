package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/encoding/htmlindex"
)

// latin1 is the bytes a header carries for s, whose code points are
// bytes (the tests' JSON writes them as code points); ok is false for
// code points no header byte stands for.
func latin1(s string) (string, bool) {
	var b []byte
	for _, r := range s {
		if r > 0xff {
			return "", false
		}
		b = append(b, byte(r))
	}
	return string(b), true
}

// TestMediaTypeWPT: MIME types are parsed as web-platform-tests says
// (mimesniff/mime-types), and text/html is a document with the charset
// the test names.
func TestMediaTypeWPT(t *testing.T) {
	raw, err := os.ReadFile("testdata/wpt/mime-types.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []json.RawMessage
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vectors {
		var c struct {
			Input     string  `json:"input"`
			Output    *string `json:"output"`
			Navigable bool    `json:"navigable"`
			Encoding  *string `json:"encoding"`
		}
		if json.Unmarshal(v, &c) != nil {
			continue // a section title
		}
		in, ok := latin1(c.Input)
		if !ok {
			continue
		}
		n++
		mt, ok := parseMediaType(in)
		switch {
		case c.Output == nil && ok:
			t.Errorf("%q: parsed as %q, want failure", c.Input, mt)
			continue
		case c.Output == nil:
			continue
		case !ok:
			t.Errorf("%q: failed, want %q", c.Input, *c.Output)
			continue
		}
		if want, _ := latin1(*c.Output); mt.String() != want {
			t.Errorf("%q: %q, want %q", c.Input, mt.String(), want)
		}
		if c.Navigable != (kindOf(mt, true, nil) == docHTML) {
			t.Errorf("%q: HTML document %v, want %v", c.Input, !c.Navigable, c.Navigable)
		}
		if c.Navigable {
			got := ""
			if cs, has := mt.param("charset"); has {
				if e, err := htmlindex.Get(cs); err == nil {
					got, _ = htmlindex.Name(e)
				}
			}
			want := ""
			if c.Encoding != nil {
				want = strings.ToLower(*c.Encoding)
			}
			if got != want {
				t.Errorf("%q: encoding %q, want %q", c.Input, got, want)
			}
		}
	}
	if n < 45 {
		t.Fatalf("only %d vectors read", n)
	}
}

// TestContentTypeAsFetchExtracts: several Content-Type headers, or one
// with several values, are read as Fetch's "extract a MIME type" does.
func TestContentTypeAsFetchExtracts(t *testing.T) {
	cases := []struct {
		values []string
		want   string // "" for failure
	}{
		{[]string{"text/plain", "text/html"}, "text/html"},
		{[]string{"text/html", "text/plain"}, "text/plain"},
		{[]string{"text/html;charset=gbk", "text/html"}, "text/html;charset=gbk"},
		{[]string{"text/html;charset=gbk", "text/plain", "text/html"}, "text/html"},
		{[]string{"text/html;charset=gbk, text/html;x=\",text/plain\""}, "text/html;x=\",text/plain\";charset=gbk"},
		{[]string{"text/html, */*"}, "text/html"},
		{[]string{"text/html, bogus"}, "text/html"},
		{[]string{"text/html;;charset=utf-8"}, "text/html;charset=utf-8"},
		{[]string{"bogus"}, ""},
		{nil, ""},
	}
	for _, c := range cases {
		h := http.Header{"Content-Type": c.values}
		mt, ok := contentType(h)
		got := ""
		if ok {
			got = mt.String()
		}
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.values, got, c.want)
		}
	}
}

// TestDocumentKind: what is rendered as a document that can fetch, by
// type or, for the types browsers sniff, by the first bytes (MIME
// Sniffing, "rules for identifying an unknown MIME type").
func TestDocumentKind(t *testing.T) {
	cases := []struct {
		ct   string // "" for none
		body string
		want docKind
	}{
		{"text/html", "", docHTML},
		{"TEXT/HTML ; charset=utf-8", "", docHTML},
		{"application/xhtml+xml", "", docXML},
		{"image/svg+xml", "", docXML},
		{"text/xml", "", docXML},
		{"application/rss+xml", "", docXML},
		{"text/plain", "<html><script src=x></script>", docOther},
		{"application/json", "<html>", docOther},
		{"text/css", "", docOther},
		{"", "  <!DOCTYPE html><p>", docHTML},
		{"", "<SCRIPT src=x>", docHTML},
		{"", "<?xml version=\"1.0\"?><svg/>", docXML},
		{"", "hello", docOther},
		{"unknown/unknown", "<html>", docHTML},
		{"application/unknown", "<body>", docHTML},
		{"*/*", "<html>", docHTML},
		{"text/html;;charset=utf-8", "", docHTML},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.ct != "" {
			h.Set("Content-Type", c.ct)
		}
		mt, ok := contentType(h)
		if got := kindOf(mt, ok, []byte(c.body)); got != c.want {
			t.Errorf("%q %q: kind %d, want %d", c.ct, c.body, got, c.want)
		}
	}
}

// TestDecideEncoding: a byte order mark beats the header, the header beats
// <meta>; encodings in which markup can hide from a byte-level reading
// are transcoded; an undeclared page with ESC or NUL bytes gets its
// reading pinned.
func TestDecideEncoding(t *testing.T) {
	cases := []struct {
		ct, body  string
		name      string
		transcode bool
		pin       bool
	}{
		{"text/html; charset=utf-8", "<p>", "utf-8", false, false},
		{"text/html; charset=UTF8", "<p>", "utf-8", false, false},
		{"text/html; charset=utf-8", "\xff\xfe<\x00p\x00", "utf-16le", true, true},
		{"text/html; charset=windows-1251", "\xfe\xff\x00<", "utf-16be", true, true},
		{"text/html; charset=windows-1251", "\xef\xbb\xbf<p>", "utf-8", false, false},
		{"text/html; charset=utf-16", "<p>", "utf-16le", true, true},
		{"text/html; charset=iso-2022-jp", "<p>", "iso-2022-jp", true, true},
		{"text/html; charset=csiso2022kr", "<p>", "replacement", true, true},
		{"text/html; charset=koi8-r", "<meta charset=utf-8>", "koi8-r", false, false},
		{"text/html", `<meta charset="windows-1251"><p>`, "windows-1251", false, false},
		{"text/html", `<meta http-equiv="Content-Type" content="text/html; charset=iso-2022-jp">`, "iso-2022-jp", true, true},
		{"text/html", `<meta charset="utf-16"><p>`, "utf-8", false, false},
		{"text/html", "<p>plain", "windows-1252", false, false},
		{"text/html", "<p>\x1b$B", "windows-1252", false, true},
		{"text/html", "<\x00p\x00", "windows-1252", false, true},
		{"text/html; charset=nonsense", "<p>", "windows-1252", false, false},
	}
	for _, c := range cases {
		h := http.Header{"Content-Type": {c.ct}}
		mt, _ := contentType(h)
		pe := decideEncoding(mt, docHTML, []byte(c.body))
		if pe.name != c.name || pe.transcode != c.transcode || pe.pin != c.pin {
			t.Errorf("%q %q: %s transcode %v pin %v, want %s %v %v", c.ct, c.body, pe.name, pe.transcode, pe.pin, c.name, c.transcode, c.pin)
		}
	}
	if pe := decideEncoding(mediaType{essence: "application/xhtml+xml"}, docXML, []byte(`<?xml version="1.0" encoding="ISO-8859-1"?>`)); pe.name != "windows-1252" {
		t.Errorf("XML declaration: %s", pe.name)
	}
	if !bytes.HasPrefix(utf8BOM, []byte{0xef}) {
		t.Fatal("utf8BOM")
	}
}

// FuzzDocumentType: whatever Content-Type headers and body start an
// origin sends, a browser reading what the gateway serves — its one
// Content-Type and the body as the gateway passes it on (transcoded to
// UTF-8 where the gateway transcodes) — renders the same kind of
// document in the same encoding the gateway read, and never in one
// whose bytes under 0x80 are not ASCII (where markup could hide from a
// byte-level reading). Run longer with
// go test ./gateway -run '^$' -fuzz FuzzDocumentType -fuzztime 10m.
func FuzzDocumentType(f *testing.F) {
	f.Add("text/html;;charset=utf-8", "", []byte("<!doctype html><p>x"))
	f.Add("text/plain", "text/html", []byte("<p>x"))
	f.Add("text/html; charset=utf-8", "", []byte("\xff\xfe<\x00p\x00>\x00"))
	f.Add("", "", []byte("<?xml version=\"1.0\" encoding=\"utf-16\"?><svg/>"))
	f.Add("text/html", "", []byte("<meta charset=iso-2022-jp>\x1b$B<scr\x1b(Bipt>"))
	f.Add("application/xhtml+xml", "", []byte("\xef\xbb\xbf<html/>"))
	f.Add("text/html; charset=\"utf-16\"", "text/html", []byte("<p>"))
	f.Add("unknown/unknown", "", []byte("<!-- x --><p>"))
	f.Add("text/html", "", []byte("<p>\x1b$B<img\x1b(B src=x>"))
	f.Fuzz(func(t *testing.T, ct1, ct2 string, head []byte) {
		if len(head) > sniffLen {
			head = head[:sniffLen]
		}
		h := http.Header{}
		for _, v := range []string{ct1, ct2} {
			if v != "" {
				h.Add("Content-Type", v)
			}
		}
		mt, ok := contentType(h)
		kind := kindOf(mt, ok, head)
		if kind == docOther {
			return
		}
		enc, ct := documentType(mt, ok, kind, head)
		if _, valid := parseMediaType(ct); !valid {
			t.Fatalf("serves Content-Type %q, which does not parse", ct)
		}
		served := head
		if enc.transcode {
			dec, err := enc.enc.NewDecoder().Bytes(head)
			if err != nil {
				return // a body cut mid-character: the test's, not the page's
			}
			served = dec
		}
		mt2, ok2 := contentType(http.Header{"Content-Type": {ct}})
		kind2 := kindOf(mt2, ok2, served)
		enc2 := decideEncoding(mt2, kind2, served)
		want := enc.name
		if enc.transcode {
			want = "utf-8"
		}
		if kind2 != kind || enc2.name != want {
			t.Fatalf("gateway read %v/%s, serves %q; a browser reads %v/%s", kind, want, ct, kind2, enc2.name)
		}
		// Undeclared, the browser guesses (Chromium's detector, not the
		// gateway's): harmless among ASCII-compatible encodings, not where
		// ESC or NUL bytes let it land on ISO-2022-JP or UTF-16.
		if _, declared := mt2.param("charset"); !declared && !bytes.HasPrefix(served, utf8BOM) &&
			bytes.IndexAny(served, "\x1b\x00") >= 0 {
			t.Fatalf("serves %q for a body with ESC or NUL bytes: the browser guesses its encoding", ct)
		}
		if asciiUnsafe(enc2.name) {
			t.Fatalf("served %q is read in %s, not ASCII-compatible", ct, enc2.name)
		}
	})
}
