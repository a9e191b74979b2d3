package gateway_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/gateway"

	"github.com/kelisim/kelisim/internal/oracle"
	"github.com/kelisim/kelisim/internal/testenc"
)

// TestDocumentsTheBrowserReadsAreRead: every response a browser renders
// as a document is rewritten as the browser reads it — whatever its
// headers say to a stricter parser, whatever encoding it is in — or
// refused; none passes with a tracker in it.
func TestDocumentsTheBrowserReadsAreRead(t *testing.T) {
	type resp struct {
		header [][2]string
		code   int
		body   []byte
	}
	xhtml := `<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body><img src="https://mc.yandex.ru/watch/1"/></body></html>`
	svg := `<svg xmlns="http://www.w3.org/2000/svg"><image href="https://mc.yandex.ru/watch/1" width="1" height="1"/></svg>`
	cases := []struct {
		name string
		resp resp
		// want: "rewritten" (the page's trackers neutralised, the banner
		// in for HTML), "refused" (502).
		want string
		ct   string // the Content-Type the browser must get, if set
	}{
		{"utf-16 with a byte order mark under a utf-8 header", resp{[][2]string{{"Content-Type", "text/html; charset=utf-8"}}, 200, testenc.UTF16LE(page, true)}, "rewritten", "text/html; charset=utf-8"},
		{"utf-16 by header", resp{[][2]string{{"Content-Type", "text/html; charset=utf-16"}}, 200, testenc.UTF16LE(page, false)}, "rewritten", "text/html; charset=utf-8"},
		{"iso-2022-jp escapes hiding a script", resp{[][2]string{{"Content-Type", "text/html"}}, 200,
			[]byte("<meta charset=iso-2022-jp><p>x</p><scr\x1b(Bipt src=https://mc.yan\x1b(Bdex.ru/metrika/tag.js></script>")}, "rewritten", "text/html; charset=utf-8"},
		{"two Content-Type headers, the last html", resp{[][2]string{{"Content-Type", "text/plain"}, {"Content-Type", "text/html"}}, 200, []byte(page)}, "rewritten", "text/html"},
		{"a parameter a strict parser refuses", resp{[][2]string{{"Content-Type", "text/html;;charset=utf-8"}}, 200, []byte(page)}, "rewritten", "text/html; charset=utf-8"},
		{"a 200 with Content-Range", resp{[][2]string{{"Content-Type", "text/html"}, {"Content-Range", "bytes 0-99/100"}}, 200, []byte(page)}, "rewritten", ""},
		{"gzip twice", resp{[][2]string{{"Content-Type", "text/html"}, {"Content-Encoding", "gzip, gzip"}}, 200, testenc.Gzip(testenc.Gzip([]byte(page)))}, "rewritten", ""},
		{"gzip in two headers", resp{[][2]string{{"Content-Type", "text/html"}, {"Content-Encoding", "gzip"}, {"Content-Encoding", "gzip"}}, 200, testenc.Gzip(testenc.Gzip([]byte(page)))}, "rewritten", ""},
		{"untyped gzip", resp{[][2]string{{"Content-Encoding", "gzip"}}, 200, testenc.Gzip([]byte(page))}, "rewritten", ""},
		{"an encoding the gateway cannot undo", resp{[][2]string{{"Content-Type", "text/html"}, {"Content-Encoding", "dcb"}}, 200, []byte("\xff\xd8\xff" + page)}, "refused", ""},
		{"xhtml", resp{[][2]string{{"Content-Type", "application/xhtml+xml"}}, 200, []byte(xhtml)}, "rewritten", ""},
		{"svg document", resp{[][2]string{{"Content-Type", "image/svg+xml"}}, 200, []byte(svg)}, "rewritten", ""},
		{"untyped xml", resp{nil, 200, []byte(`<?xml version="1.0"?>` + svg)}, "rewritten", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				h["Content-Type"] = nil
				for _, kv := range c.resp.header {
					h.Add(kv[0], kv[1])
				}
				w.WriteHeader(c.resp.code)
				w.Write(c.resp.body)
			})
			res := e.do("GET", "/", nil, "Sec-Fetch-Dest", "document")
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			out := string(body)
			switch c.want {
			case "refused":
				if res.StatusCode != http.StatusBadGateway || strings.Contains(out, "mc.yandex.ru") {
					t.Fatalf("want a 502 without the page, got %d: %.200s", res.StatusCode, out)
				}
				return
			case "rewritten":
				if res.StatusCode != c.resp.code {
					t.Fatalf("status %d", res.StatusCode)
				}
			}
			if got := res.Header.Values("Content-Type"); c.ct != "" && (len(got) != 1 || got[0] != c.ct) {
				t.Errorf("Content-Type %q, want %q", got, c.ct)
			}
			if res.Header.Get("Content-Range") != "" || res.Header.Get("Content-Encoding") != "" {
				t.Errorf("headers describe the origin's bytes: %v", res.Header)
			}
			// What the browser reads: the text after its decoding.
			text := strings.ReplaceAll(out, "\x1b(B", "")
			if !strings.Contains(text, "mc.yandex.ru") {
				t.Fatalf("the tracker reference is gone instead of neutralised: %.300s", text)
			}
			if blocked := oracle.Blocked(e.cat, oracle.Refs([]byte(text)), 0); len(blocked) > 0 {
				t.Errorf("processor references still active: %v\n%.400s", blocked, text)
			}
			isXML := c.name == "xhtml" || strings.Contains(c.name, "xml") || strings.Contains(c.name, "svg")
			if !isXML && !strings.Contains(text, "data-consent-banner") {
				t.Errorf("no banner: %.300s", text)
			}
			if isXML && strings.Contains(text, "data-consent-banner") {
				t.Errorf("an XML document got the HTML banner")
			}
		})
	}
}

// TestRefusalLoggedOnce: an origin that sends every page in an encoding
// the gateway cannot undo gets each refused, and one log line for the
// lot, not one per response.
func TestRefusalLoggedOnce(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, "v1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "x-proprietary")
		io.WriteString(w, "\x00\x01<html><script src=https://mc.yandex.ru/metrika/tag.js></script>")
	}, func(c *gateway.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	for range 50 {
		if res := e.do("GET", "/page", nil); res.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", res.StatusCode)
		} else {
			res.Body.Close()
		}
	}
	if n := strings.Count(logs.String(), "cannot read was refused"); n != 1 {
		t.Errorf("%d log lines for 50 refusals, want 1:\n%s", n, logs.String())
	}
}
