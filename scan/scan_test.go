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

// TestScanEveryFetchingElement: scan reports by the table of package
// fetching, so an element the rewriter neutralises is one scan lists —
// <image> (an <img> in HTML), <input type=image>, a video's poster, an
// object's data, srcset candidates one by one, SVG's image/feImage/use
// through href and xlink:href, and link relations such as
// apple-touch-icon.
func TestScanEveryFetchingElement(t *testing.T) {
	const page = `<!doctype html><html><head>
<link rel="preload" as="image" href="/hero.jpg" imagesrcset="https://mc.yandex.ru/preload.jpg 1x, /hero@2x.jpg 2x">
<link rel="apple-touch-icon" href="https://connect.facebook.net/icon.png">
<link rel="alternate" href="https://www.youtube.com/embed/not-fetched">
</head><body>
<image src="https://mc.yandex.ru/watch/1?image">
<input type="image" src="https://www.facebook.com/tr?id=1&ev=input" alt="">
<video poster="https://i.vimeocdn.com/video/1.jpg"><source src="/clip.mp4"></video>
<object data="https://www.youtube.com/v/abc"></object>
<embed src="https://player.vimeo.com/video/2">
<img src="/logo.png" srcset="https://top-fwz1.mail.ru/counter?id=1;js=na 1x, https://mc.yandex.ru/pixel/a,b.gif 2x,/local.png 3x">
<picture><source srcset="https://ct.pinterest.com/v3/?tid=1 (max-width: 600px), https://analytics.tiktok.com/p.gif"><img src="/p.jpg"></picture>
<svg><image href="https://px.ads.linkedin.com/collect?pid=1"/><feImage xlink:href="https://bat.bing.com/action/0"/><use xlink:href="https://hotjar.com/sprite.svg#i"/></svg>
<img data-src="https://tr.snapchat.com/lazy.gif">
</body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/" {
			w.Write([]byte(page))
		}
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
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.Processor+" "+f.Kind+" "+f.URL] = true
	}
	for _, want := range []string{
		"yandex-metrica link https://mc.yandex.ru/preload.jpg",
		"meta-pixel link https://connect.facebook.net/icon.png",
		"yandex-metrica pixel https://mc.yandex.ru/watch/1?image",
		"meta-pixel pixel https://www.facebook.com/tr?id=1&ev=input",
		"vimeo media https://i.vimeocdn.com/video/1.jpg",
		"youtube frame https://www.youtube.com/v/abc",
		"vimeo frame https://player.vimeo.com/video/2",
		"top-mail-ru pixel https://top-fwz1.mail.ru/counter?id=1;js=na",
		"yandex-direct pixel https://mc.yandex.ru/pixel/a,b.gif",
		"pinterest media https://ct.pinterest.com/v3/?tid=1",
		"tiktok media https://analytics.tiktok.com/p.gif",
		"linkedin-insight pixel https://px.ads.linkedin.com/collect?pid=1",
		"microsoft-uet pixel https://bat.bing.com/action/0",
		"hotjar pixel https://hotjar.com/sprite.svg#i",
		"snap-pixel pixel https://tr.snapchat.com/lazy.gif",
	} {
		if !got[want] {
			t.Errorf("scan missed %q", want)
		}
	}
	for f := range got {
		if strings.Contains(f, "not-fetched") || strings.Contains(f, "/hero") || strings.Contains(f, "local.png") {
			t.Errorf("reported %q", f)
		}
	}
	if len(rep.Findings) != 15 {
		var out bytes.Buffer
		rep.WriteText(&out)
		t.Errorf("%d findings, want 15:\n%s", len(rep.Findings), out.String())
	}
}

func TestSrcsetURLs(t *testing.T) {
	for in, want := range map[string]string{
		"a.jpg":                            "a.jpg",
		" a.jpg 1x, b.jpg 2x ":             "a.jpg|b.jpg",
		"a.jpg 1x,b.jpg 2x":                "a.jpg|b.jpg",
		"a.jpg,b.jpg 2x":                   "a.jpg,b.jpg", // one URL, with a comma
		"a.jpg, b.jpg":                     "a.jpg|b.jpg",
		"a.jpg (max-width: 1px, 2px), b.x": "a.jpg|b.x",
		",, a.jpg 100w,,":                  "a.jpg",
		"":                                 "",
	} {
		if got := strings.Join(srcsetURLs(in), "|"); got != want {
			t.Errorf("srcsetURLs(%q) = %q, want %q", in, got, want)
		}
	}
}
