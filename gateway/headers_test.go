package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/gateway"
)

// TestRedirectToAProcessor: a redirect an <img> or <script> of the site
// follows to a processor is refused before consent, followed after; a
// visitor following a link is not stopped.
func TestRedirectToAProcessor(t *testing.T) {
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "_ym_uid=1; Path=/")
		http.Redirect(w, r, "https://mc.yandex.ru/watch/1", http.StatusFound)
	})
	res := e.do("GET", "/go", nil, "Sec-Fetch-Dest", "image", "Accept", "image/*")
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Location") != "" {
		t.Errorf("subresource redirect before consent: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "_ym_uid=1") {
		t.Error("the refused redirect kept the tracker cookie")
	}
	res = e.do("GET", "/go", nil, "Sec-Fetch-Dest", "document")
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Errorf("top-level navigation redirect: %d", res.StatusCode)
	}
	cookie, _ := e.decide(`{"action":"accept-all"}`)
	res = e.do("GET", "/go", nil, "Sec-Fetch-Dest", "script", "Cookie", cookie)
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "https://mc.yandex.ru/watch/1" {
		t.Errorf("subresource redirect after accept-all: %d", res.StatusCode)
	}
}

// TestReportingEndpointsOnProcessors: CSP reports, Report-To groups and
// Reporting-Endpoints on a processor are removed before consent; others
// stay.
func TestReportingEndpointsOnProcessors(t *testing.T) {
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain")
		h.Set("Content-Security-Policy", "default-src 'self'; report-uri https://mc.yandex.ru/csp /own-reports")
		h.Set("Content-Security-Policy-Report-Only", "img-src *; report-uri https://www.google-analytics.com/r")
		h.Set("Reporting-Endpoints", `main="https://mc.yandex.ru/r", own="/reports"`)
		h.Set("Report-To", `{"group":"nel","max_age":1,"endpoints":[{"url":"https://www.google-analytics.com/nel"}]}, {"group":"own","max_age":1,"endpoints":[{"url":"https://example.org/r"}]}`)
		w.Write([]byte("x"))
	})
	res := e.do("GET", "/", nil, "Accept", "*/*")
	res.Body.Close()
	h := res.Header
	if got := h.Get("Content-Security-Policy"); strings.Contains(got, "yandex") || !strings.Contains(got, "report-uri /own-reports") || !strings.Contains(got, "default-src 'self'") {
		t.Errorf("CSP: %q", got)
	}
	if got := h.Get("Content-Security-Policy-Report-Only"); strings.Contains(got, "report-uri") || !strings.Contains(got, "img-src *") {
		t.Errorf("CSP report-only: %q", got)
	}
	if got := h.Get("Reporting-Endpoints"); got != `own="/reports"` {
		t.Errorf("Reporting-Endpoints: %q", got)
	}
	if got := h.Get("Report-To"); strings.Contains(got, "google") || !strings.Contains(got, "example.org") {
		t.Errorf("Report-To: %q", got)
	}
}

// TestOwnResponsesHeaders: every response the gateway itself makes —
// API, banner, settings page, assets, the language switch, errors —
// carries its strict Content-Security-Policy and nosniff, so nothing
// the gateway answers can be sniffed into a script or framed elsewhere.
func TestOwnResponsesHeaders(t *testing.T) {
	e := newEnv(t, "v1", htmlOrigin("<!doctype html><html><head></head><body>hi</body></html>"))
	body := readAll(t, e.do("GET", "/", nil))
	asset := regexp.MustCompile(`/_consent/[^"]+\.js`).FindString(body)
	if asset == "" {
		t.Fatalf("no script asset in %q", body)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/_consent/consent"},
		{"POST", "/_consent/consent"},
		{"PUT", "/_consent/consent"},
		{"GET", "/_consent/banner"},
		{"GET", "/_consent/settings"},
		{"GET", "/_consent/lang?l=ru&return=/"},
		{"GET", "/_consent/lang?l=xx"},
		{"GET", asset},
		{"GET", "/_consent/nothing-here"},
	} {
		res := e.do(c.method, c.path, strings.NewReader(`{"action":"accept-all"}`), "Content-Type", "application/json")
		res.Body.Close()
		if res.Header.Get("Content-Security-Policy") != gateway.OwnCSP || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s (%d): CSP %q, nosniff %q", c.method, c.path, res.StatusCode,
				res.Header.Get("Content-Security-Policy"), res.Header.Get("X-Content-Type-Options"))
		}
	}
}

// readFromRecorder is a ResponseWriter that, like net/http's, can take
// a body by ReadFrom (sendfile), and counts the bytes that came so.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	viaReadFrom int64
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	n, err := io.Copy(r.ResponseRecorder, src)
	r.viaReadFrom += n
	return n, err
}

// TestStaticFileKeepsSendfile: a file the gateway passes untouched
// reaches the server's ReadFrom (its sendfile path); a page it must
// rewrite does not slip through it unread.
func TestStaticFileKeepsSendfile(t *testing.T) {
	e := newEnv(t, "v1", nil)
	dir := t.TempDir()
	img := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 4096)
	os.WriteFile(filepath.Join(dir, "a.png"), img, 0o644)
	os.WriteFile(filepath.Join(dir, "p.html"), []byte(`<!doctype html><html><head><script src="https://mc.yandex.ru/metrika/tag.js"></script></head><body>hi</body></html>`), 0o644)
	files := http.FileServer(http.Dir(dir))
	serve := func(path string) *readFromRecorder {
		rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Accept", "text/html,*/*")
		err := e.gw.Serve(rec, req, func(w http.ResponseWriter, r *http.Request) error {
			files.ServeHTTP(w, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := serve("/a.png"); rec.viaReadFrom != int64(len(img)) || !bytes.Equal(rec.Body.Bytes(), img) {
		t.Errorf("static image: %d of %d bytes by ReadFrom, body intact %v", rec.viaReadFrom, len(img), bytes.Equal(rec.Body.Bytes(), img))
	}
	rec := serve("/p.html")
	if body := rec.Body.String(); strings.Contains(body, `<script src="https://mc.yandex.ru`) || !strings.Contains(body, "data-consent-banner") {
		t.Errorf("a page passed unread: %s", body)
	}
}
