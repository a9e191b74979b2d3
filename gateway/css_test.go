package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/internal/testenc"
)

// TestStyleSheetsNameNoProcessor: a style sheet the site serves loads no
// processor before consent — @import, url() and image-set() strings,
// escaped or upper-case hosts, gzip'd or not — and comes back as it was
// after consent; a sheet naming no processor passes untouched, cacheable.
func TestStyleSheetsNameNoProcessor(t *testing.T) {
	sheet := `@import url("https://fonts.googleapis.com/css2?family=Roboto");
@import 'https://fonts.googleapis.com/css2?family=Inter';
.a { background: url(https://mc\.yandex\.ru/watch/1) }
.b { background-image: image-set("https://MC.YANDEX.RU/watch/2" 1x) }
.c { background: \75 rl(https://mc%2Eyandex.ru/watch/3) }
.d { background: url(/own.png) }`
	plain := `.d { background: url(/own.png) }`
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("ETag", `"s1"`)
		body := sheet
		if r.URL.Path == "/plain.css" {
			body = plain
		}
		if r.URL.Path == "/gz.css" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(testenc.Gzip([]byte(body)))
			return
		}
		io.WriteString(w, body)
	})
	for _, path := range []string{"/site.css", "/gz.css"} {
		res := e.do("GET", path, nil, "Sec-Fetch-Dest", "style", "Accept", "text/css")
		out := readAll(t, res)
		for _, bad := range []string{"fonts.googleapis.com", "yandex", "YANDEX", "\\75 rl(https"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: %q still in the sheet before consent:\n%s", path, bad, out)
			}
		}
		if !strings.Contains(out, "url(/own.png)") || strings.Count(out, "about:invalid") != 5 {
			t.Errorf("%s: sheet damaged:\n%s", path, out)
		}
		if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Cookie") || res.Header.Get("ETag") != "" {
			t.Errorf("%s: a sheet that differs by consent is cacheable: %v", path, res.Header)
		}
	}
	cookie, _ := e.decide(`{"action":"accept-all"}`)
	if out := readAll(t, e.do("GET", "/site.css", nil, "Cookie", cookie)); out != sheet {
		t.Errorf("after accept-all the sheet changed:\n%s", out)
	}
	res := e.do("GET", "/plain.css", nil)
	if out := readAll(t, res); out != plain || res.Header.Get("ETag") != `"s1"` {
		t.Errorf("a sheet naming no processor changed: %q %v", out, res.Header)
	}
}
