package scan

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
)

func TestScanDemoSite(t *testing.T) {
	files := http.FileServer(http.Dir("../examples/nlg.kz"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.1"})
			http.SetCookie(w, &http.Cookie{Name: "PHPSESSID", Value: "x"})
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cat, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Scan(t.Context(), srv.URL+"/", Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Pages) < 5 {
		t.Errorf("crawled %d pages: %v", len(rep.Pages), rep.Pages)
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.Processor+" "+f.Kind] = true
	}
	for _, want := range []string{"google-analytics script", "google-tag-manager inline", "google-tag-manager frame", "yandex-metrica inline",
		"yandex-metrica pixel", "meta-pixel inline", "meta-pixel pixel", "jivochat script", "youtube frame", "yandex-maps frame",
		"yandex-maps script", "google-analytics cookie", " script"} {
		if !got[want] {
			t.Errorf("scan missed %q", want)
		}
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	if !strings.Contains(out.String(), "code.jquery.com") || strings.Contains(out.String(), "PHPSESSID") {
		t.Errorf("report:\n%s", out.String())
	}
	if _, err := Scan(t.Context(), "ftp://x", Options{Catalog: cat}); err == nil {
		t.Error("non-http URL accepted")
	}
}
