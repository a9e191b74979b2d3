package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// BenchmarkGuardSetters measures, in Chromium, what the client guard
// costs a page script: URL setters (script.src, img.srcset, link.href,
// setAttribute) and innerHTML, each wrapped by the guard, against the
// browser's own setter (from a fresh frame's realm) on the same element
// and value, in the same page. The ratio is the guard's factor; a
// third-party URL that is no processor is the worst case (the guard
// reads the whole catalog for it). Issue 12's target: under 2.
//
//	go test ./e2e -run '^$' -bench GuardSetters -benchtime 1x
func BenchmarkGuardSetters(b *testing.B) {
	gw := siteWith(b, map[string]string{"bench.html": `<!doctype html><html lang="en"><head><title>bench</title></head><body><h1>Bench</h1></body></html>`})
	br := newBrowserFor(b, true, 3*time.Minute)
	br.run(chromedp.Navigate(gw+"/bench.html"), chromedp.Sleep(500*time.Millisecond))
	const js = `(function () {
  var f = document.createElement('iframe'); document.body.appendChild(f);
  var W = f.contentWindow, N = 20000, out = {};
  function pristine(proto, prop) { return Object.getOwnPropertyDescriptor(W[proto].prototype, prop).set; }
  function time(fn) { var best = Infinity; for (var r = 0; r < 5; r++) { var t0 = performance.now(); fn(); best = Math.min(best, performance.now() - t0); } return best; }
  function pair(name, el, prop, proto, v) {
    var own = pristine(proto, prop);
    var wrapped = time(function () { for (var i = 0; i < N; i++) el[prop] = v + i; });
    var bare = time(function () { for (var i = 0; i < N; i++) own.call(el, v + i); });
    out[name] = wrapped / bare;
    out[name + '-ns'] = wrapped / N * 1e6;
  }
  var u = 'https://cdn.example.net/lib/app.js?v=';
  pair('script.src', document.createElement('script'), 'src', 'HTMLScriptElement', u);
  pair('link.href', document.createElement('link'), 'href', 'HTMLLinkElement', u);
  pair('img.srcset', document.createElement('img'), 'srcset', 'HTMLImageElement', u);
  var s = document.createElement('script'), sa = W.Element.prototype.setAttribute;
  var wrapped = time(function () { for (var i = 0; i < N; i++) s.setAttribute('src', u + i); });
  var bare = time(function () { for (var i = 0; i < N; i++) sa.call(s, 'src', u + i); });
  out['setAttribute'] = wrapped / bare;
  var div = document.createElement('div'), ih = pristine('Element', 'innerHTML'), html = '<p>text <a href="/x">link</a></p><img src="' + u;
  var wrappedH = time(function () { for (var i = 0; i < N / 20; i++) div.innerHTML = html + i + '">'; });
  var bareH = time(function () { for (var i = 0; i < N / 20; i++) ih.call(div, html + i + '">'); });
  out['innerHTML'] = wrappedH / bareH;
  return out;
})()`
	for b.Loop() {
		var ratios map[string]float64
		br.run(chromedp.Evaluate(js, &ratios, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithTimeout(60000) }))
		for name, r := range ratios {
			unit := name + "-x" // wrapped / the browser's own
			if strings.HasSuffix(name, "-ns") {
				unit = name // wrapped, per call
			}
			b.ReportMetric(r, unit)
		}
	}
}
