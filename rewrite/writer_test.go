package rewrite

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
)

func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Compile([]catalog.Processor{
		{ID: "google-fonts", Category: catalog.Functional, URLs: []string{"fonts.googleapis.com"}},
		{ID: "yandex-metrica", Category: catalog.Analytics, URLs: []string{"mc.yandex.ru"}, Snippets: []string{"ym(12345,'init'"}},
		{ID: "meta-pixel", Category: catalog.Marketing, URLs: []string{"connect.facebook.net", "www.facebook.com/tr"}, Snippets: []string{"fbq('init'"}},
		{ID: "youtube", Category: catalog.Marketing, URLs: []string{"www.youtube.com/embed/"}},
		{ID: "yandex-maps", Category: catalog.Functional, URLs: []string{"api-maps.yandex.ru", "yandex.ru/map-widget/"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rewriteString(t testing.TB, pol *Policy, in string, chunk int) string {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, pol)
	for len(in) > 0 {
		n := min(chunk, len(in))
		if _, err := w.Write([]byte(in[:n])); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestRewriteBasics(t *testing.T) {
	pol := &Policy{Catalog: testCatalog(t), Head: []byte("<!--HEAD-->"), Body: []byte("<!--BODY-->")}
	cases := []struct{ name, in, want string }{
		{"script src", `<!doctype html><html><head><meta charset=utf-8><script async src="https://mc.yandex.ru/metrika/tag.js"></script></head><body>x</body></html>`,
			`<!doctype html><html><head><meta charset=utf-8><!--HEAD--><script type="text/plain" data-consent-category="analytics" data-consent-processor="yandex-metrica" async data-src="https://mc.yandex.ru/metrika/tag.js"></script></head><body><!--BODY-->x</body></html>`},
		{"inline", `<html><body><script>ym(12345, "init", {});</script><script>var a=1</script></body>`,
			`<html><!--HEAD--><body><!--BODY--><script type="text/plain" data-consent-category="analytics" data-consent-processor="yandex-metrica">ym(12345, "init", {});</script><script>var a=1</script></body>`},
		{"comment untouched", `<!-- <script src="https://mc.yandex.ru/x.js"></script> --><p>`, `<!-- <script src="https://mc.yandex.ru/x.js"></script> --><p>`},
		{"attr with tag", `<div title="<script src=x>"><script src=//connect.facebook.net/en_US/fbevents.js></script>`,
			`<div title="<script src=x>"><script type="text/plain" data-consent-category="marketing" data-consent-processor="meta-pixel" data-src=//connect.facebook.net/en_US/fbevents.js></script>`},
		{"iframe", `<IFRAME width=560 SRC='https://www.youtube.com/embed/abc'></IFRAME>`,
			`<IFRAME data-consent-category="marketing" data-consent-processor="youtube" width=560 data-SRC='https://www.youtube.com/embed/abc'></IFRAME>`},
		{"noscript img", `<noscript><img src="https://mc.yandex.ru/watch/1" alt=""></noscript>`,
			`<noscript><img data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src="https://mc.yandex.ru/watch/1" alt=""></noscript>`},
		{"textarea raw", `<textarea><script src="https://mc.yandex.ru/t.js"></script></textarea>`, `<textarea><script src="https://mc.yandex.ru/t.js"></script></textarea>`},
		{"entities", `<img src="https:&#x2F;&#x2F;mc.yandex.ru/watch/1">`, `<img data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src="https:&#x2F;&#x2F;mc.yandex.ru/watch/1">`},
		{"jquery kept", `<script src="https://code.jquery.com/jquery.js"></script>`, `<script src="https://code.jquery.com/jquery.js"></script>`},
		// "<!--<script>" makes the first </script> part of the script, as in a browser.
		{"script double escape", `<script>var s="<!--<script>";</script>ym(12345,'init')</script><p>`, `<script type="text/plain" data-consent-category="analytics" data-consent-processor="yandex-metrica">var s="<!--<script>";</script>ym(12345,'init')</script><p>`},
		{"script string end", `<script>var s="<\/script>";</script>ym(12345,'init')<p>`, `<script>var s="<\/script>";</script>ym(12345,'init')<p>`},
		{"svg self-closing script", `<svg><script href="/local.js"/></svg><script src="https://mc.yandex.ru/t.js"></script>`,
			`<svg><script href="/local.js"/></svg><script type="text/plain" data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src="https://mc.yandex.ru/t.js"></script>`},
		{"style import", `<style>@import url("https://fonts.googleapis.com/css2?family=Roboto");body{font-family:Roboto}</style><style>p{color:red}</style>`,
			`<script type="text/plain" data-consent-style data-consent-category="functional" data-consent-processor="google-fonts">@import url("https://fonts.googleapis.com/css2?family=Roboto");body{font-family:Roboto}</script><style>p{color:red}</style>`},
		{"style with type", `<STYLE type="text/css" media=screen>.x{background:url(//mc.yandex.ru/watch/1)}</STYLE>`,
			`<script type="text/plain" data-consent-style data-consent-category="analytics" data-consent-processor="yandex-metrica" data-type="text/css" media=screen>.x{background:url(//mc.yandex.ru/watch/1)}</script>`},
		{"style holding </script>", `<style>/*</script>*/@import "https://fonts.googleapis.com/x";</style>`,
			`<style type="text/plain" data-consent-category="functional" data-consent-processor="google-fonts">/*</script>*/@import "https://fonts.googleapis.com/x";</style>`},
		{"frameset", `<html><head></head><frameset><frame src="/a"></frameset></html>`, `<html><head><!--HEAD--></head><frameset><frame src="/a"></frameset></html>`},
		{"body background", `<html><head></head><body background="https://mc.yandex.ru/watch/1" class=x>y`,
			`<html><head><!--HEAD--></head><body data-consent-category="analytics" data-consent-processor="yandex-metrica" data-background="https://mc.yandex.ru/watch/1" class=x><!--BODY-->y`},
		{"second body adds its background", `<body>x<body background=//mc.yandex.ru/watch/1>`,
			`<!--HEAD--><body><!--BODY-->x<body data-consent-category="analytics" data-consent-processor="yandex-metrica" data-background=//mc.yandex.ru/watch/1>`},
		{"table cells", `<table background="/bg.png"><tr><TD BACKGROUND='https://mc.yandex.ru/watch/2'>x<td background=/local.png>`,
			`<table background="/bg.png"><tr><TD data-consent-category="analytics" data-consent-processor="yandex-metrica" data-BACKGROUND='https://mc.yandex.ru/watch/2'>x<td background=/local.png>`},
		{"link ping", `<a href="/next" ping="https://mc.yandex.ru/watch/3">n</a><area ping=/local>`,
			`<a data-consent-category="analytics" data-consent-processor="yandex-metrica" href="/next" data-ping="https://mc.yandex.ru/watch/3">n</a><area ping=/local>`},
		{"srcset comma as a reference", `<img srcset="/a.png 1x&#44;https://mc.yandex.ru/watch/4 2x">`,
			`<img data-consent-category="analytics" data-consent-processor="yandex-metrica" data-srcset="/a.png 1x&#44;https://mc.yandex.ru/watch/4 2x">`},
		{"srcdoc", `<iframe srcdoc="<p>hi<img src=https://mc.yandex.ru/watch/5>" src="https://mc.yandex.ru/x"></iframe>`,
			`<iframe srcdoc="&lt;p&gt;hi&lt;img data-consent-category=&#34;analytics&#34; data-consent-processor=&#34;yandex-metrica&#34; data-src=https://mc.yandex.ru/watch/5&gt;" src="https://mc.yandex.ru/x"></iframe>`},
		{"srcdoc in references, nested", `<iframe srcdoc='&lt;iframe srcdoc="&amp;lt;img src=&amp;quot;//mc.yandex.ru/watch/6&amp;quot;&amp;gt;"&gt;&lt;/iframe&gt;'></iframe>`,
			`<iframe srcdoc="&lt;iframe srcdoc=&#34;&amp;lt;img data-consent-category=&amp;#34;analytics&amp;#34; data-consent-processor=&amp;#34;yandex-metrica&amp;#34; data-src=&amp;#34;//mc.yandex.ru/watch/6&amp;#34;&amp;gt;&#34;&gt;&lt;/iframe&gt;"></iframe>`},
		{"srcdoc with nothing to do", `<iframe srcdoc='<b>x</b>'></iframe>`, `<iframe srcdoc='<b>x</b>'></iframe>`},
		{"base on a processor", `<base href="https://mc.yandex.ru/"><img src="watch/7"><base href="/local/">`,
			`<base data-consent-category="analytics" data-consent-processor="yandex-metrica" data-href="https://mc.yandex.ru/"><img src="watch/7"><base href="/local/">`},
		{"style attribute", `<div class=hero style="background:url(https://mc.yandex.ru/watch/8)">x</div><p style="color:red">`,
			`<div data-consent-category="analytics" data-consent-processor="yandex-metrica" class=hero data-style="background:url(https://mc.yandex.ru/watch/8)">x</div><p style="color:red">`},
		{"style attribute with escapes", `<span style='background: \75 rl("https://MC\.YANDEX%2Eru/watch/9")'>`,
			`<span data-consent-category="analytics" data-consent-processor="yandex-metrica" data-style='background: \75 rl("https://MC\.YANDEX%2Eru/watch/9")'>`},
		{"style sheet with escapes", `<style>.a{background:url(https://mc\2e yandex.RU/watch/10)}</style>`,
			`<script type="text/plain" data-consent-style data-consent-category="analytics" data-consent-processor="yandex-metrica">.a{background:url(https://mc\2e yandex.RU/watch/10)}</script>`},
		{"data frame", `<iframe src="data:text/html,%3Cimg%20src%3Dhttps://mc.yandex.ru/watch/11%3E"></iframe>`,
			`<iframe data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src="data:text/html,%3Cimg%20src%3Dhttps://mc.yandex.ru/watch/11%3E"></iframe>`},
		{"base64 data style sheet", `<link rel=stylesheet href="data:text/css;base64,QGltcG9ydCB1cmwoaHR0cHM6Ly9mb250cy5nb29nbGVhcGlzLmNvbS9jc3MyKTs=">`,
			`<link data-consent-category="functional" data-consent-processor="google-fonts" rel=stylesheet data-href="data:text/css;base64,QGltcG9ydCB1cmwoaHR0cHM6Ly9mb250cy5nb29nbGVhcGlzLmNvbS9jc3MyKTs=">`},
		{"javascript frame", `<iframe src="javascript:'<script src=https://mc.yandex.ru/metrika/tag.js></script>'"></iframe><iframe src="javascript:void(0)"></iframe>`,
			`<iframe data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src="javascript:'<script src=https://mc.yandex.ru/metrika/tag.js></script>'"></iframe><iframe src="javascript:void(0)"></iframe>`},
		{"javascript frame with a tab and a newline in the scheme", `<iframe src=" java&#9;scr&#10;ipt:'<img src=https://mc.yandex.ru/watch/12>'"></iframe>`,
			`<iframe data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src=" java&#9;scr&#10;ipt:'<img src=https://mc.yandex.ru/watch/12>'"></iframe>`},
		{"data frame, upper case, newline in the payload", `<iframe src="DATA:text/html,<img src=https://mc.yan&#10;dex.ru/watch/13>"></iframe><iframe src="dat:x"></iframe>`,
			`<iframe data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src="DATA:text/html,<img src=https://mc.yan&#10;dex.ru/watch/13>"></iframe><iframe src="dat:x"></iframe>`},
		{"form posted into a frame", `<form action="https://mc.yandex.ru/collect" method=post target=sink></form><form action="https://mc.yandex.ru/visible"></form>`,
			`<form data-consent-category="analytics" data-consent-processor="yandex-metrica" data-action="https://mc.yandex.ru/collect" method=post target=sink></form><form action="https://mc.yandex.ru/visible"></form>`},
		{"noscript comment hides end", `<noscript><!-- </noscript><script src="https://connect.facebook.net/x.js"></script> --></noscript>`,
			`<noscript><!-- </noscript><script type="text/plain" data-consent-category="marketing" data-consent-processor="meta-pixel" data-src="https://connect.facebook.net/x.js"></script> --></noscript>`},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 2, 3, 7, 64, 1 << 20} {
			got := rewriteString(t, pol, c.in, chunk)
			if got != c.want {
				t.Errorf("%s (chunk %d):\n got %s\nwant %s", c.name, chunk, got, c.want)
				break
			}
		}
	}
}

func TestGranted(t *testing.T) {
	pol := &Policy{Catalog: testCatalog(t), Granted: catalog.All}
	in := `<script src="https://mc.yandex.ru/metrika/tag.js"></script><script>fbq('init','1')</script>`
	if got := rewriteString(t, pol, in, 5); got != in {
		t.Errorf("granted page changed: %s", got)
	}
	if !strings.Contains(in, "fbq") {
		t.Fatal()
	}
}

// TestOnForeign: the hosts a page fetches from that no processor owns
// are told, whatever the spelling (scheme-relative, a srcset candidate,
// character references, upper case); relative URLs, processors, links
// that fetch nothing and text are not.
func TestOnForeign(t *testing.T) {
	var got []string
	pol := &Policy{Catalog: testCatalog(t), OnForeign: func(h string) { got = append(got, h) }}
	in := `<!doctype html><html><head><script src="https://cdn.example.com/a.js"></script><link rel=stylesheet href="HTTPS://Fonts.Example.NET/css">
<script src="https://mc.yandex.ru/metrika/tag.js"></script></head><body><p>https://text.example.org/ is text</p><a href="https://link.example.org/">a link</a>
<img src="/local.png" srcset="//img.example.net/a.jpg 1x, /b.jpg 2x"><img src="https:&#x2F;&#x2F;ent.example.com/x.gif"><img src="https://cdn.example.com/b.png">
<iframe src="https://www.youtube.com/embed/x"></iframe><video poster="https://media.example.com/p.jpg"></video></body></html>`
	for _, chunk := range []int{len(in), 7} {
		got = nil
		rewriteString(t, pol, in, chunk)
		want := "cdn.example.com fonts.example.net img.example.net ent.example.com cdn.example.com media.example.com"
		if strings.Join(got, " ") != want {
			t.Errorf("chunk %d: told %q, want %q", chunk, strings.Join(got, " "), want)
		}
	}
}
