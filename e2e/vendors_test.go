package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/kelisim/kelisim/catalog"
)

// The vendors' own install guides, in a real browser: each vendor's
// snippet (e2e/testdata/vendors/<processor id>.html, the published text
// with fake ids) pasted exactly where its guide says — top of <head>, end
// of <head>, or right after the opening <body> tag — on one page together
// and on one page per vendor. On every page, in Chromium: the banner is
// visible and usable and no processor is requested before consent; none
// after reject-all, reload included; every vendor's processor after
// accept-all, in the same page view and after a reload.

// vendorGuides lists the vendors in the order the combined page carries
// them; each name is a processor id of the built-in catalog and the name
// of its snippet file.
var vendorGuides = []string{
	"google-tag-manager", // as high in <head> as possible + noscript after <body>
	"google-analytics",   // immediately after <head>
	"yandex-metrica",     // in <head>, as close to the top as possible
	"top-mail-ru",
	"vk",
	"tiktok",
	"meta-pixel", // last in <head>, before </head>
}

// vendorSnippet is one vendor's published snippet, split where its guide
// says each part goes.
type vendorSnippet struct {
	id                          string
	headTop, headEnd, bodyStart string
}

var vendorMarker = regexp.MustCompile(`(?m)^<!-- @(head-top|head-end|body-start) -->\n`)

func loadVendorSnippet(t *testing.T, id string) vendorSnippet {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "e2e", "testdata", "vendors", id+".html"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	s := vendorSnippet{id: id}
	marks := vendorMarker.FindAllStringSubmatchIndex(text, -1)
	if len(marks) == 0 {
		t.Fatalf("%s.html has no @head-top/@head-end/@body-start marker", id)
	}
	for i, m := range marks {
		end := len(text)
		if i+1 < len(marks) {
			end = marks[i+1][0]
		}
		part := text[m[1]:end]
		switch text[m[2]:m[3]] {
		case "head-top":
			s.headTop += part
		case "head-end":
			s.headEnd += part
		case "body-start":
			s.bodyStart += part
		}
	}
	return s
}

const vendorSiteCSS = `body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1d2733; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 1rem; }
header nav a { margin-right: 1rem; }
main p { margin: 0 0 1rem; }
`

const vendorPageContent = `<header>
<a href="/" class="logo">ТОО «Пример»</a>
<nav><a href="/all.html">Главная</a><a href="/about.html">О компании</a><a href="/contacts.html">Контакты</a></nav>
</header>
<main>
<h1>Грузоперевозки по Казахстану</h1>
<p>Доставляем грузы из Алматы и Астаны во все областные центры. Собственный парк из сорока машин, страхование груза и отслеживание в реальном времени.</p>
<p>Оставьте заявку, и менеджер перезвонит в течение пятнадцати минут. Работаем без выходных с 8:00 до 22:00.</p>
<h2>Тарифы</h2>
<p>Стоимость перевозки зависит от веса, объёма и расстояния. Для постоянных клиентов действуют скидки до пятнадцати процентов.</p>
<form action="/contacts.html" method="get"><label>Телефон <input name="phone" type="tel"></label> <button type="submit">Перезвоните мне</button></form>
<p>Мы соблюдаем Закон Республики Казахстан «О персональных данных и их защите». Подробнее — в политике конфиденциальности.</p>
</main>
<footer><p>© ТОО «Пример», Алматы</p></footer>
`

// vendorPage builds a page the way a site owner following the guides
// would: the "top of head" snippets right after the charset and title,
// then the site's own head, then the "end of head" snippets before
// </head>; the "after <body>" snippets right after the opening body tag.
func vendorPage(title string, snippets []vendorSnippet) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + title + "</title>\n")
	for _, s := range snippets {
		b.WriteString(s.headTop)
	}
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"stylesheet\" href=\"/site.css\">\n")
	for _, s := range snippets {
		b.WriteString(s.headEnd)
	}
	b.WriteString("</head>\n<body>\n")
	for _, s := range snippets {
		b.WriteString(s.bodyStart)
	}
	b.WriteString(vendorPageContent)
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

// vendorChromium starts one headless Chromium for the whole test; every
// case gets its own fresh browser context (its own cookies and storage) in
// it, which is much cheaper than a process per case.
func vendorChromium(t *testing.T) context.Context {
	t.Helper()
	return startChromium(t)
}

// vendorTab is one page in a fresh browser context. Every request the page
// attempts is recorded — from the DevTools network events, which fire
// before the request goes out, and from the fetch interception, which sees
// it before any connection — and every request that leaves loopback is
// failed the way a closed network fails it. A tracker request that fails
// therefore still counts: the test is about what the browser tries.
type vendorTab struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	urls []string
	// sent: the requests that got past the browser's own checks (a
	// Content-Security-Policy's among them) to the network.
	sent []string
	// loaded: the page was navigated to and settled.
	loaded bool
}

func newVendorTab(t *testing.T, chrome context.Context) *vendorTab {
	t.Helper()
	// A new browser context has no window of its own, so the tab must be
	// opened as a new window (chromedp.WithNewBrowserContext opens it
	// without one, which Chromium refuses: "no browser is open").
	browser := cdp.WithExecutor(chrome, chromedp.FromContext(chrome).Browser)
	bcID, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(browser)
	if err != nil {
		t.Fatalf("creating a browser context: %v", err)
	}
	tid, err := target.CreateTarget("about:blank").WithBrowserContextID(bcID).WithNewWindow(true).Do(browser)
	if err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := chromedp.NewContext(chrome, chromedp.WithTargetID(tid))
	ctx, tcancel := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(func() {
		tcancel()
		cancel()
		dctx, dcancel := context.WithTimeout(chrome, 5*time.Second)
		defer dcancel()
		target.DisposeBrowserContext(bcID).Do(cdp.WithExecutor(dctx, chromedp.FromContext(chrome).Browser))
	})
	b := &vendorTab{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.record(e.Request.URL)
		case *fetch.EventRequestPaused:
			go b.answer(e)
		}
	})
	if err := chromedp.Run(ctx, network.Enable(), fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: "*"}})); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return b
}

func (b *vendorTab) record(u string) {
	b.mu.Lock()
	b.urls = append(b.urls, u)
	b.mu.Unlock()
}

func (b *vendorTab) answer(e *fetch.EventRequestPaused) {
	if h := hostOf(e.Request.URL); h == "127.0.0.1" || h == "localhost" {
		chromedp.Run(b.ctx, fetch.ContinueRequest(e.RequestID))
		return
	}
	b.record(e.Request.URL)
	b.mu.Lock()
	b.sent = append(b.sent, e.Request.URL)
	b.mu.Unlock()
	chromedp.Run(b.ctx, fetch.FailRequest(e.RequestID, network.ErrorReasonInternetDisconnected))
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func (b *vendorTab) reset() {
	b.mu.Lock()
	b.urls, b.sent = nil, nil
	b.mu.Unlock()
}

// byProcessor groups the attempted requests that go to a processor by its
// catalog id.
func (b *vendorTab) byProcessor(cat *catalog.Catalog) map[string][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return groupByProcessor(cat, b.urls)
}

// sentByProcessor is byProcessor for the requests that reached the
// network: what a Content-Security-Policy let through.
func (b *vendorTab) sentByProcessor(cat *catalog.Catalog) map[string][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return groupByProcessor(cat, b.sent)
}

func groupByProcessor(cat *catalog.Catalog, urls []string) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, u := range urls {
		if seen[u] {
			continue
		}
		seen[u] = true
		if i := cat.MatchURL(u); i >= 0 {
			id := cat.Processors[i].ID
			out[id] = append(out[id], u)
		}
	}
	return out
}

func describeRequests(m map[string][]string) string {
	if len(m) == 0 {
		return "none"
	}
	var ids []string
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s: %s", id, strings.Join(m[id], " ")))
	}
	return strings.Join(parts, "; ")
}

func (b *vendorTab) run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// settle waits until the page has loaded and its scripts had a moment to
// act (the loaders run during parsing; their async parts right after).
func (b *vendorTab) settle() {
	b.t.Helper()
	b.run(chromedp.WaitReady("body", chromedp.ByQuery),
		chromedp.Poll(`document.readyState === 'complete'`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Sleep(700*time.Millisecond))
}

// waitFor waits until every processor in want has been requested, and
// returns those that never were.
func (b *vendorTab) waitFor(cat *catalog.Catalog, want []string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		got := b.byProcessor(cat)
		var missing []string
		for _, id := range want {
			if len(got[id]) == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bannerProblemJS says why the banner or one of its controls is not
// really there for the visitor, or "" when it is: the root element exists
// in the rendered DOM (not as text of a <noscript> or inside a
// <template>), has a box in the viewport, is not hidden, and the control
// is the element actually hit at its centre.
const bannerProblemJS = `(function(action){
	var b = document.querySelector('[data-consent-banner]');
	if (!b) {
		var hidden = Array.prototype.some.call(document.querySelectorAll('noscript, template'), function (n) {
			return /data-consent-banner/.test(n.tagName === 'TEMPLATE' ? n.innerHTML : n.textContent);
		});
		return 'no [data-consent-banner] element in the rendered DOM' +
			(hidden ? ' (its markup is inside a <noscript> or <template>, which the browser does not render)' : '');
	}
	if (b.closest('noscript, template')) return 'the banner is inside a <noscript> or <template>';
	var cs = getComputedStyle(b);
	if (cs.display === 'none' || cs.visibility !== 'visible' || parseFloat(cs.opacity) === 0)
		return 'the banner is hidden (display ' + cs.display + ', visibility ' + cs.visibility + ', opacity ' + cs.opacity + ')';
	var r = b.getBoundingClientRect();
	if (r.width < 1 || r.height < 1) return 'the banner has no box (' + r.width + 'x' + r.height + ')';
	if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) return 'the banner is outside the viewport';
	var a = b.querySelector('[data-consent-action="' + action + '"]');
	if (!a) return 'the banner has no ' + action + ' control';
	a.scrollIntoView({block: 'nearest'});
	var ar = a.getBoundingClientRect();
	if (ar.width < 1 || ar.height < 1) return 'the ' + action + ' control has no box';
	var hit = document.elementFromPoint(ar.left + ar.width / 2, ar.top + ar.height / 2);
	if (!hit || !(hit === a || a.contains(hit)))
		return 'the ' + action + ' control is covered by ' + (hit ? hit.outerHTML.slice(0, 160) : 'nothing');
	return '';
})(%s)`

func (b *vendorTab) bannerProblem(action string) string {
	var problem string
	b.run(chromedp.Evaluate(fmt.Sprintf(bannerProblemJS, strconv.Quote(action)), &problem))
	return problem
}

// decide clicks action in the banner with a real mouse click. When the
// banner cannot be clicked the case has failed; to still learn whether
// the rest works, the decision is then made through the page API, if the
// banner script is there at all. It reports whether a decision was made.
func (b *vendorTab) decide(action string) bool {
	b.t.Helper()
	problem := b.bannerProblem(action)
	if problem == "" {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err := chromedp.Run(ctx, chromedp.Click(`[data-consent-banner] [data-consent-action="`+action+`"]`, chromedp.ByQuery))
		cancel()
		if err == nil {
			return true
		}
		problem = "clicking it failed: " + err.Error()
	}
	b.t.Errorf("the visitor cannot click %s: %s", action, problem)
	var api bool
	b.run(chromedp.Evaluate(`!!(window.kelisim && typeof window.kelisim.choose === 'function')`, &api))
	if !api {
		b.t.Errorf("and window.kelisim.choose is not there either: the banner script did not run")
		return false
	}
	b.t.Logf("(diagnostic) deciding %s through window.kelisim.choose instead, to check the rest", action)
	b.run(chromedp.Evaluate(`window.kelisim.choose(`+strconv.Quote(action)+`), true`, nil))
	return true
}

var bannerTagRE = regexp.MustCompile(`<[a-zA-Z][a-zA-Z0-9-]*\s[^<>]*\bdata-consent-banner\b`)

// bannerPlacement says where the gateway put the banner element in the
// HTML it served (to a visitor with no consent).
func bannerPlacement(page string) string {
	if strings.HasPrefix(page, "(could not") {
		return page
	}
	loc := bannerTagRE.FindStringIndex(page)
	if loc == nil {
		return "no element with data-consent-banner in the served HTML"
	}
	before := strings.ToLower(page[:loc[0]])
	where := "in <head>"
	if strings.Contains(before, "<body") {
		where = "in <body>"
	}
	if o := strings.LastIndex(before, "<noscript"); o >= 0 && o > strings.LastIndex(before, "</noscript") {
		ctx := page[o:loc[0]]
		if len(ctx) > 200 {
			ctx = ctx[:200] + "…"
		}
		return fmt.Sprintf("the banner element (byte %d) is %s INSIDE an unclosed <noscript>: %q", loc[0], where, ctx)
	}
	return fmt.Sprintf("the banner element (byte %d) is %s, right after %q", loc[0], where, page[max(0, loc[0]-120):loc[0]])
}

// servedHTML is the page as the gateway serves it to a first-time
// visitor's navigation, or a description of why it could not be fetched.
func servedHTML(pageURL string) string {
	req, err := http.NewRequest("GET", pageURL, nil)
	if err != nil {
		return "(bad URL: " + err.Error() + ")"
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "(could not fetch the page: " + err.Error() + ")"
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "(could not read the page: " + err.Error() + ")"
	}
	return string(body)
}

// pageCase is one page of the test site and the processors its snippets
// load.
type pageCase struct {
	name, file string
	vendors    []string
}

// TestVendorInstallGuides: see the comment at the top of this file.
func TestVendorInstallGuides(t *testing.T) {
	// Long and mostly waiting on Chromium: run beside the other long
	// browser tests, after the timing-sensitive ones (go test -parallel).
	t.Parallel()
	cat := builtinCatalog(t)
	var all []vendorSnippet
	pages := map[string]string{"site.css": vendorSiteCSS}
	var cases []pageCase
	for _, id := range vendorGuides {
		if cat.ByID(id) == nil {
			t.Fatalf("%s is not a processor of the built-in catalog", id)
		}
		s := loadVendorSnippet(t, id)
		all = append(all, s)
		pages[id+".html"] = vendorPage(cat.ByID(id).Name+" — ТОО «Пример»", []vendorSnippet{s})
		cases = append(cases, pageCase{id, id + ".html", []string{id}})
	}
	pages["all.html"] = vendorPage("Все счётчики — ТОО «Пример»", all)
	cases = append([]pageCase{{"all-together", "all.html", vendorGuides}}, cases...)

	gw := siteWith(t, pages)
	chrome := vendorChromium(t)
	shots := os.Getenv("KELISIM_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// Each page is visited in two flows, each in a fresh browser context
	// (its own cookies and storage): before consent, then accept-all; and
	// before consent, then reject-all. The flows run concurrently
	// (goroutines rather than t.Parallel, whose limit is GOMAXPROCS and
	// would serialise them on a small machine), at most this many tabs at
	// once: Chromium, the gateway and the origin share the machine.
	slots := make(chan struct{}, 4)

	// beforeConsent is where both flows start: the page as a first-time
	// visitor sees it.
	beforeConsent := func(t *testing.T, b *vendorTab, pc pageCase, pageURL string, screenshot bool) {
		b.t = t
		placement := bannerPlacement(servedHTML(pageURL))
		if screenshot {
			t.Logf("served HTML: %s", placement)
		}
		b.run(chromedp.Navigate(pageURL))
		b.settle()
		b.loaded = true
		if problem := b.bannerProblem("accept-all"); problem != "" {
			t.Errorf("banner not visible and usable: %s; served HTML: %s", problem, placement)
		}
		if got := b.byProcessor(cat); len(got) > 0 {
			t.Errorf("before consent the browser requested processors: %s", describeRequests(got))
		}
		if screenshot {
			var png []byte
			b.run(chromedp.CaptureScreenshot(&png))
			shot := filepath.Join(shots, pc.name+"-before-consent.png")
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", shot)
		}
	}

	flows := []struct {
		name string
		run  func(t *testing.T, b *vendorTab, pc pageCase, pageURL string)
	}{
		{"accept-all", func(t *testing.T, b *vendorTab, pc pageCase, pageURL string) {
			t.Run("before-consent", func(t *testing.T) { beforeConsent(t, b, pc, pageURL, true) })
			if !b.loaded {
				return
			}
			decided := false
			t.Run("in-place", func(t *testing.T) {
				b.t = t
				b.run(chromedp.Evaluate(`window.__kelisimSameView = 42`, nil))
				if decided = b.decide("accept-all"); !decided {
					return
				}
				if missing := b.waitFor(cat, pc.vendors, 8*time.Second); len(missing) > 0 {
					t.Errorf("after accept-all (no reload) these processors were never requested: %v; processor requests seen: %s",
						missing, describeRequests(b.byProcessor(cat)))
				}
				var same int
				var banner bool
				b.run(chromedp.Evaluate(`window.__kelisimSameView || 0`, &same),
					chromedp.Evaluate(`!!document.querySelector('[data-consent-banner]')`, &banner))
				if same != 42 {
					t.Error("accepting reloaded the page instead of activating the snippets in place")
				}
				if banner {
					t.Error("the banner is still shown after accept-all")
				}
			})
			if !decided {
				return
			}
			t.Run("after-reload", func(t *testing.T) {
				b.t = t
				b.reset()
				b.run(chromedp.Reload())
				b.settle()
				if missing := b.waitFor(cat, pc.vendors, 8*time.Second); len(missing) > 0 {
					t.Errorf("after accept-all and a reload these processors were never requested: %v; processor requests seen: %s",
						missing, describeRequests(b.byProcessor(cat)))
				}
			})
		}},
		{"reject-all", func(t *testing.T, b *vendorTab, pc pageCase, pageURL string) {
			t.Run("before-consent", func(t *testing.T) { beforeConsent(t, b, pc, pageURL, false) })
			if !b.loaded {
				return
			}
			decided := false
			t.Run("in-place", func(t *testing.T) {
				b.t = t
				if decided = b.decide("reject-all"); !decided {
					return
				}
				b.run(chromedp.Sleep(800 * time.Millisecond))
				if got := b.byProcessor(cat); len(got) > 0 {
					t.Errorf("with reject-all the browser requested processors: %s", describeRequests(got))
				}
			})
			if !decided {
				return
			}
			t.Run("after-reload", func(t *testing.T) {
				b.t = t
				b.reset()
				b.run(chromedp.Reload())
				b.settle()
				if got := b.byProcessor(cat); len(got) > 0 {
					t.Errorf("after reject-all and a reload the browser requested processors: %s", describeRequests(got))
				}
				var banner bool
				b.run(chromedp.Evaluate(`!!document.querySelector('[data-consent-banner]')`, &banner))
				if banner {
					t.Error("after reject-all and a reload the banner came back")
				}
			})
		}},
	}

	var pagesDone sync.WaitGroup
	for _, pc := range cases {
		pageURL := gw + "/" + pc.file
		pagesDone.Add(1)
		go func() {
			defer pagesDone.Done()
			t.Run(pc.name, func(t *testing.T) {
				var flowsDone sync.WaitGroup
				for _, fl := range flows {
					flowsDone.Add(1)
					go func() {
						defer flowsDone.Done()
						slots <- struct{}{}
						defer func() { <-slots }()
						t.Run(fl.name, func(t *testing.T) {
							fl.run(t, newVendorTab(t, chrome), pc, pageURL)
						})
					}()
				}
				flowsDone.Wait()
			})
		}()
	}
	pagesDone.Wait()
}

// TestVendorSnippetsUnderCSPEnforce: the vendors' own snippets, exactly as
// published, on one page, with `csp enforce`: the policy lets none of
// them reach its processor before consent or after reject-all, and every
// one after accept-all — the hosts their loaders use are the catalog's,
// and the policy follows the choice on the next page.
func TestVendorSnippetsUnderCSPEnforce(t *testing.T) {
	t.Parallel()
	cat := builtinCatalog(t)
	var all []vendorSnippet
	for _, id := range vendorGuides {
		all = append(all, loadVendorSnippet(t, id))
	}
	gw, _ := siteWithOrigin(t, map[string]string{"site.css": vendorSiteCSS, "all.html": vendorPage("Все счётчики — ТОО «Пример»", all)}, "csp enforce")
	if res, err := http.Get(gw + "/all.html"); err != nil || !strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("the page is not served under the enforced policy: %v %v", err, res)
	}
	chrome := vendorChromium(t)
	for _, action := range []string{"reject-all", "accept-all"} {
		b := newVendorTab(t, chrome)
		b.run(chromedp.Navigate(gw + "/all.html"))
		b.settle()
		if got := b.byProcessor(cat); len(got) > 0 {
			t.Errorf("%s flow, before consent: %s", action, describeRequests(got))
		}
		if !b.decide(action) {
			continue
		}
		b.run(chromedp.Sleep(800 * time.Millisecond))
		b.reset()
		b.run(chromedp.Reload())
		b.settle()
		if action == "reject-all" {
			if got := b.byProcessor(cat); len(got) > 0 {
				t.Errorf("after reject-all and a reload: %s", describeRequests(got))
			}
			continue
		}
		deadline := time.Now().Add(8 * time.Second)
		var missing []string
		for {
			sent := b.sentByProcessor(cat)
			missing = slices.DeleteFunc(slices.Clone(vendorGuides), func(id string) bool { return len(sent[id]) > 0 })
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(missing) > 0 {
			t.Errorf("after accept-all and a reload the policy kept these vendors' loaders out: %v; requests attempted: %s", missing, describeRequests(b.byProcessor(cat)))
		}
	}
}
