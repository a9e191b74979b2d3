package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/kelisim/kelisim/catalog"
)

const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium whose requests to anything but loopback
// are intercepted, recorded and answered with stubs: there is no internet
// here, and the test needs to know exactly what the page asked for.
type browser struct {
	t      testing.TB
	ctx    context.Context
	mu     sync.Mutex
	remote []string // third-party URLs requested, in order
}

func requireChromium(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium missing at %s under CI: %v", chromiumPath, err)
		}
		t.Skipf("Chromium not installed at %s", chromiumPath)
	}
}

// startChromium starts one headless Chromium with the tests' options and
// extra ones, and returns its first tab's context; the browser and its
// profile go with the test.
func startChromium(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	requireChromium(t)
	// Not t.TempDir: Chromium's helpers may still write to the profile
	// for a moment after it exits, which fails TempDir's cleanup.
	profile, err := os.MkdirTemp("", "kelisim-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel(); os.RemoveAll(profile) })
	if err := chromedp.Run(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return bctx
}

func newBrowser(t testing.TB, javascript bool) *browser {
	t.Helper()
	return newBrowserFor(t, javascript, 90*time.Second)
}

// newBrowserFor is newBrowser for a test that needs the browser longer
// than 90 seconds.
func newBrowserFor(t testing.TB, javascript bool, limit time.Duration) *browser {
	t.Helper()
	ctx, tcancel := context.WithTimeout(startChromium(t), limit)
	t.Cleanup(tcancel)
	b := &browser{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			go b.answer(e)
		}
	})
	actions := []chromedp.Action{fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: "*"}})}
	if !javascript {
		actions = append(actions, emulation.SetScriptExecutionDisabled(true))
	}
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return b
}

var gif1x1, _ = base64.StdEncoding.DecodeString("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

func (b *browser) answer(e *fetch.EventRequestPaused) {
	ctx := b.ctx
	u, _ := url.Parse(e.Request.URL)
	if u != nil && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost") {
		chromedp.Run(ctx, fetch.ContinueRequest(e.RequestID))
		return
	}
	b.mu.Lock()
	b.remote = append(b.remote, e.Request.URL)
	b.mu.Unlock()
	ctype, body := "text/plain", []byte("")
	switch e.ResourceType {
	case network.ResourceTypeScript:
		ctype, body = "application/javascript", []byte("/* stub */")
	case network.ResourceTypeImage:
		ctype, body = "image/gif", gif1x1
	case network.ResourceTypeDocument:
		ctype, body = "text/html", []byte("<!doctype html><title>stub</title><p>third-party stub")
	case network.ResourceTypeStylesheet:
		ctype = "text/css"
	}
	chromedp.Run(ctx, fetch.FulfillRequest(e.RequestID, 200).
		WithResponseHeaders([]*fetch.HeaderEntry{{Name: "Content-Type", Value: ctype}, {Name: "Access-Control-Allow-Origin", Value: "*"}}).
		WithBody(base64.StdEncoding.EncodeToString(body)))
}

func (b *browser) reset() {
	b.mu.Lock()
	b.remote = nil
	b.mu.Unlock()
}

// processorRequests returns the recorded requests that go to a processor.
func (b *browser) processorRequests(cat *catalog.Catalog) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, u := range b.remote {
		if cat.MatchURL(u) >= 0 {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

func (b *browser) requested(host string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.remote {
		if strings.Contains(u, "://"+host+"/") {
			return true
		}
	}
	return false
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// settle waits for the page to load and its scripts to act.
func (b *browser) settle() {
	b.run(chromedp.WaitReady("body", chromedp.ByQuery), chromedp.Sleep(1200*time.Millisecond))
}

func builtinCatalog(t *testing.T) *catalog.Catalog {
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// TestBrowserConsentEndToEnd: through the gateway, a visitor's browser
// makes no request to a processor before consent; after accept-all it
// makes every processor request the page makes without the gateway, in
// the same page view; after reject-all and a reload, none.
func TestBrowserConsentEndToEnd(t *testing.T) {
	// Long and mostly waiting on Chromium: run beside the other long
	// browser tests, after the timing-sensitive ones (go test -parallel).
	t.Parallel()
	_, gw, origin := demo(t, "")
	cat := builtinCatalog(t)
	for _, path := range []string{"/", "/news.html", "/contacts.html", "/ru/contacts.html", "/ru/index.html"} {
		t.Run(path, func(t *testing.T) {
			// What the page loads with no gateway in front.
			base := newBrowser(t, true)
			base.run(chromedp.Navigate(origin + path))
			base.settle()
			want := base.processorRequests(cat)
			if len(want) == 0 {
				t.Fatal("the demo page loads no processor at all; the test would prove nothing")
			}

			b := newBrowser(t, true)
			b.run(chromedp.Navigate(gw + path))
			b.settle()
			if got := b.processorRequests(cat); len(got) > 0 {
				t.Fatalf("before consent the browser requested processors: %v", got)
			}
			if path == "/" && !b.requested("code.jquery.com") {
				t.Error("jQuery (not a tracker) was not loaded before consent")
			}
			var visible bool
			b.run(chromedp.Evaluate(`!!document.querySelector('[data-consent-banner]') && document.querySelector('[data-consent-banner]').getBoundingClientRect().height > 0`, &visible))
			if !visible {
				t.Fatal("banner not visible")
			}

			b.run(chromedp.Evaluate(`window.__sameView = 42`, nil),
				chromedp.Click(`[data-consent-banner] [data-consent-action="accept-all"]`, chromedp.ByQuery))
			deadline := time.Now().Add(10 * time.Second)
			var missing []string
			for time.Now().Before(deadline) {
				got := set(b.processorRequests(cat))
				missing = missing[:0]
				for _, u := range want {
					if !got[u] {
						missing = append(missing, u)
					}
				}
				if len(missing) == 0 {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if len(missing) > 0 {
				t.Errorf("after accept-all these requests were never made: %v", missing)
			}
			var same int
			var bannerGone bool
			b.run(chromedp.Evaluate(`window.__sameView || 0`, &same),
				chromedp.Evaluate(`!document.querySelector('[data-consent-banner]')`, &bannerGone))
			if same != 42 {
				t.Error("accepting reloaded the page")
			}
			if !bannerGone {
				t.Error("banner still shown after accepting")
			}
		})
	}
}

func TestBrowserRejectAndReload(t *testing.T) {
	_, gw, _ := demo(t, "")
	cat := builtinCatalog(t)
	b := newBrowser(t, true)
	b.run(chromedp.Navigate(gw + "/news.html"))
	b.settle()
	b.run(chromedp.Click(`[data-consent-banner] [data-consent-action="reject-all"]`, chromedp.ByQuery))
	b.run(chromedp.Sleep(800 * time.Millisecond))
	if got := b.processorRequests(cat); len(got) > 0 {
		t.Fatalf("reject-all loaded processors: %v", got)
	}
	b.reset()
	b.run(chromedp.Reload())
	b.settle()
	if got := b.processorRequests(cat); len(got) > 0 {
		t.Errorf("after reject-all and a reload the browser requested processors: %v", got)
	}
	var banner bool
	b.run(chromedp.Evaluate(`!!document.querySelector('[data-consent-banner]')`, &banner))
	if banner {
		t.Error("the banner came back after a decision")
	}
}

func TestBrowserWithoutJavaScript(t *testing.T) {
	_, gw, _ := demo(t, "")
	cat := builtinCatalog(t)
	b := newBrowser(t, false)
	for _, path := range []string{"/", "/news.html", "/ru/contacts.html"} {
		b.reset()
		b.run(chromedp.Navigate(gw + path))
		b.settle()
		if got := b.processorRequests(cat); len(got) > 0 {
			t.Errorf("%s with JavaScript off requested processors: %v", path, got)
		}
	}
	// The no-JS form works: accept-all posts, redirects back, and the
	// noscript fallbacks now load.
	b.reset()
	b.run(chromedp.Click(`[data-consent-banner] button[value="accept-all"]`, chromedp.ByQuery))
	b.settle()
	var loc string
	b.run(chromedp.Location(&loc))
	if !strings.HasSuffix(loc, "/ru/contacts.html") {
		t.Errorf("form post returned to %s", loc)
	}
	if evalBool(b, `!!document.querySelector('[data-consent-banner]')`) {
		t.Error("banner still shown after the no-JS decision")
	}
	if !b.requested("yandex.ru") {
		t.Error("after consent without JavaScript the map iframe did not load")
	}
}

// TestBrowserWithoutJavaScriptBaseElsewhere: a page whose <base href>
// names another host still has a banner whose form posts to the gateway
// (a relative action would follow the base away).
func TestBrowserWithoutJavaScriptBaseElsewhere(t *testing.T) {
	gw := siteWith(t, map[string]string{"index.html": `<!doctype html><html lang="en"><head><base href="http://127.0.0.2:9/static/"><title>Base</title></head>` +
		`<body><h1>A page with a base elsewhere</h1><img src="https://mc.yandex.ru/watch/1" alt=""></body></html>`})
	b := newBrowser(t, false)
	b.run(chromedp.Navigate(gw + "/"))
	b.settle()
	b.run(chromedp.Click(`[data-consent-banner] .kl-langs button[lang="ru"]`, chromedp.ByQuery))
	b.settle()
	if got := evalString(b, `location.origin + ' ' + document.querySelector('[data-consent-banner]').lang`); got != gw+" ru" {
		t.Fatalf("after the language button: %q, want the page from the gateway in Russian", got)
	}
	b.reset()
	b.run(chromedp.Click(`[data-consent-banner] button[value="accept-all"]`, chromedp.ByQuery))
	b.settle()
	var loc string
	b.run(chromedp.Location(&loc))
	if !strings.HasPrefix(loc, gw+"/") {
		t.Fatalf("the banner's form went to %s, not the gateway", loc)
	}
	if evalBool(b, `!!document.querySelector('[data-consent-banner]')`) {
		t.Error("banner still shown after the no-JS decision")
	}
	if !b.requested("mc.yandex.ru") {
		t.Error("after accept-all the tracker on the page did not load")
	}
}

// siteWith serves the given pages from a temporary origin behind a
// gateway and returns the gateway URL.
func siteWith(t testing.TB, pages map[string]string) string {
	t.Helper()
	gw, _ := siteWithOrigin(t, pages)
	return gw
}

// siteWithOrigin is siteWith that also returns the origin's URL;
// consent, if given, are lines of the consent block.
func siteWithOrigin(t testing.TB, pages map[string]string, consent ...string) (gw, origin string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range pages {
		if err := os.WriteFile(dir+"/"+name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	op, gp := freePort(t), freePort(t)
	block := ""
	if len(consent) > 0 {
		block = " {\n\t\t" + strings.Join(consent, "\n\t\t") + "\n\t}"
	}
	cf := fmt.Sprintf("http://127.0.0.1:%d {\n\troot * %s\n\tfile_server\n}\nhttp://127.0.0.1:%d {\n\tencode\n\tconsent%s\n\treverse_proxy 127.0.0.1:%d\n}\n", op, dir, gp, block, op)
	gw = fmt.Sprintf("http://127.0.0.1:%d", gp)
	startGateway(t, cf, "", gw+"/")
	return gw, fmt.Sprintf("http://127.0.0.1:%d", op)
}

const liveInternetPage = `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>LI</title>
<style>@import url("https://fonts.googleapis.com/css2?family=Roboto&display=swap"); h1 { color: #123; }</style></head><body>
<h1 id="h">Заголовок страницы</h1>
<!--LiveInternet counter--><script type="text/javascript">
document.write('<a href="//www.liveinternet.ru/click" target="_blank"><img src="//counter.yadro.ru/hit?t52.6;r' +
escape(document.referrer) + ((typeof(screen)=='undefined')?'':';s'+screen.width+'*'+screen.height+'*'+(screen.colorDepth?
screen.colorDepth:screen.pixelDepth)) + ';u' + escape(document.URL) + ';h' + escape(document.title.substring(0,150)) +
';' + Math.random() + '" alt="" title="LiveInternet" border="0" width="88" height="31"><\/a>')
</script><!--/LiveInternet-->
<p id="after">Текст после счётчика</p>
<script>/* a legacy counter that writes its loader */ document.write('<scr' + 'ipt src="https://top-fwz1.mail.ru/js/code.js"></scr' + 'ipt><scr' + 'ipt>window.__written = 1</scr' + 'ipt>');</script>
<div id="slot"></div>
<script>/* built at run time, so only the client guard can see it */
var yt = 'https://www.you' + 'tube.com/embed/abc', ym = 'https://mc.yan' + 'dex.ru/watch/1';
setTimeout(function(){ document.getElementById('slot').innerHTML = '<iframe src="' + yt + '" width="300" height="200"></iframe><img src="' + ym + '">'; }, 100);</script>
</body></html>`

// TestBrowserActivationKeepsThePage: a counter that calls document.write,
// re-activated after the page has loaded, must not replace the page; and
// trackers that page scripts insert as HTML strings wait for consent too.
func TestBrowserActivationKeepsThePage(t *testing.T) {
	gw := siteWith(t, map[string]string{"li.html": liveInternetPage})
	cat := builtinCatalog(t)
	b := newBrowser(t, true)
	b.run(chromedp.Navigate(gw + "/li.html"))
	b.settle()
	if got := b.processorRequests(cat); len(got) > 0 {
		t.Fatalf("before consent: %v", got)
	}
	b.run(chromedp.Click(`[data-consent-banner] [data-consent-action="accept-all"]`, chromedp.ByQuery), chromedp.Sleep(1500*time.Millisecond))
	var text string
	b.run(chromedp.Evaluate(`document.getElementById('h') && document.getElementById('after') ? document.body.innerText : ''`, &text))
	if !strings.Contains(text, "Заголовок страницы") || !strings.Contains(text, "Текст после счётчика") {
		t.Errorf("the page was replaced by a re-activated document.write: %q", text)
	}
	if !b.requested("counter.yadro.ru") {
		t.Error("the counter did not run after consent")
	}
	if !b.requested("fonts.googleapis.com") {
		t.Error("the style sheet's @import did not load after consent")
	}
	if !b.requested("top-fwz1.mail.ru") || !evalBool(b, `window.__written === 1`) {
		t.Error("scripts written by a re-activated document.write did not run")
	}
}

// TestBrowserWithdrawInPlace: rejecting after accepting in the same page
// view reloads it, so the trackers that ran are gone.
func TestBrowserWithdrawInPlace(t *testing.T) {
	_, gw, _ := demo(t, "")
	cat := builtinCatalog(t)
	b := newBrowser(t, true)
	b.run(chromedp.Navigate(gw + "/news.html"))
	b.settle()
	b.run(chromedp.Click(`[data-consent-banner] [data-consent-action="accept-all"]`, chromedp.ByQuery), chromedp.Sleep(time.Second))
	var reopen bool
	b.run(chromedp.Evaluate(`!!document.querySelector('[data-consent-reopen]')`, &reopen))
	if !reopen {
		t.Error("no way to reopen the choices after deciding in place")
	}
	b.run(chromedp.Evaluate(`window.kelisim.choose('reject-all')`, nil), chromedp.Sleep(1500*time.Millisecond))
	var iframeSrc string
	b.run(chromedp.Evaluate(`(document.querySelector('iframe[title="YouTube video player"]')||{}).src || ''`, &iframeSrc))
	if strings.Contains(iframeSrc, "youtube.com") {
		t.Errorf("after withdrawing, the video is still loaded: %s", iframeSrc)
	}
	b.reset()
	b.run(chromedp.Reload())
	b.settle()
	if got := b.processorRequests(cat); len(got) > 0 {
		t.Errorf("after withdrawal: %v", got)
	}
}
