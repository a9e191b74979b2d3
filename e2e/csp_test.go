package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// tracker stands in for a processor's servers: Chromium resolves the
// processor's host to it, so every way a page can reach the host —
// fetches of workers and service workers, WebSocket, EventSource, which
// no request interception sees — arrives here and is counted by path.
type tracker struct {
	mu   sync.Mutex
	hits map[string]int
	port int
}

func newTracker(t *testing.T) *tracker {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &tracker{hits: map[string]int{}, port: l.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.hits[r.URL.Path]++
		tr.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch {
		case strings.HasSuffix(r.URL.Path, ".js"):
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte("export default 1;"))
		case strings.Contains(r.URL.Path, "sse"):
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: x\n\n"))
		default:
			w.Header().Set("Content-Type", "image/gif")
			w.Write(gif1x1)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return tr
}

// take returns the paths hit since the last call, and forgets them.
func (tr *tracker) take() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for p := range tr.hits {
		out = append(out, p)
	}
	sort.Strings(out)
	tr.hits = map[string]int{}
	return out
}

// cspCases are ways a page reaches a processor that no script can wrap:
// only the browser, told by the policy, stops them. T is the tracker
// URL, built at run time so the rewriter never sees it; each case hits
// T + its own name.
var cspCases = []struct{ name, js string }{
	{"dynamic-import", `import(T + 'import.js').catch(function () {})`},
	{"blob-worker", `new Worker(URL.createObjectURL(new Blob(["fetch('" + T + "blob-worker')"], {type: 'text/javascript'})))`},
	{"same-origin-worker", `new Worker('/csp-worker.js?t=' + encodeURIComponent(T + 'worker'))`},
	{"about-blank-frame-fetch", `var f = document.createElement('iframe'); document.body.append(f); f.contentWindow.fetch(T + 'frame-fetch').catch(function () {})`},
	{"event-source", `new EventSource(T + 'sse')`},
	{"websocket", `try { new WebSocket(T.replace('http', 'ws') + 'websocket') } catch (e) {}`},
	{"cssom-insert-rule", `var s = document.createElement('style'); document.head.append(s); s.sheet.insertRule('body { background: url(' + T + 'insert-rule) }')`},
	{"font-face", `new FontFace('x', 'url(' + T + 'font-face)').load().catch(function () {})`},
	{"blob-frame", `var f = document.createElement('iframe'); f.src = URL.createObjectURL(new Blob(['<img src="' + T + 'blob-frame">'], {type: 'text/html'})); document.body.append(f)`},
	{"import-map", `var m = document.createElement('script'); m.type = 'importmap'; m.textContent = JSON.stringify({imports: {tracker: T + 'import-map.js'}}); document.head.append(m); import('tracker').catch(function () {})`},
	{"service-worker", `navigator.serviceWorker.register('/csp-sw.js?t=' + encodeURIComponent(T + 'service-worker') + '&n=' + Date.now()).catch(function () {})`},
	{"lying-to-string", `var n = 0, u = { toString: function () { return n++ ? '/own.png' : T + 'lying' } }; new Image().src = u`},
}

// TestCSPEnforce: with `csp enforce`, each technique reaches the
// processor straight from the origin (the test's teeth), not at all
// through the gateway before consent and after reject-all, and again
// once the visitor accepts all (the policy follows the choice: no stale
// header).
func TestCSPEnforce(t *testing.T) {
	t.Parallel()
	tr := newTracker(t)
	dir := t.TempDir()
	files := map[string]string{
		"csp-worker.js": `fetch(decodeURIComponent(location.search.slice(3)))`,
		"csp-sw.js":     `self.addEventListener('install', function () { fetch(new URL(location.href).searchParams.get('t')) })`,
		"blank.html":    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>blank</title></head><body></body></html>`,
	}
	for _, c := range cspCases {
		files[c.name+".html"] = fmt.Sprintf(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s</title></head>
<body><h1>CSP: %s</h1><script>var T = 'http://mc.yan' + 'dex.ru/watch/';
%s</script></body></html>`, c.name, c.name, c.js)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	op, gp := freePort(t), freePort(t)
	origin, gw := fmt.Sprintf("http://127.0.0.1:%d", op), fmt.Sprintf("http://127.0.0.1:%d", gp)
	startGateway(t, fmt.Sprintf("http://127.0.0.1:%d {\n\troot * %s\n\tfile_server\n}\nhttp://127.0.0.1:%d {\n\tconsent {\n\t\tcsp enforce\n\t}\n\treverse_proxy 127.0.0.1:%d\n}\n", op, dir, gp, op),
		"", origin+"/", gw+"/")

	ctx, cancel := context.WithTimeout(startChromium(t, chromedp.Flag("host-resolver-rules", fmt.Sprintf("MAP mc.yandex.ru 127.0.0.1:%d", tr.port))), 4*time.Minute)
	defer cancel()
	run := func(actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	// visit loads one page on a clean slate (no service worker left from
	// the one before) and returns the tracker's hits.
	visit := func(base, page string) []string {
		run(chromedp.Navigate(base+"/blank.html"), chromedp.Evaluate(`navigator.serviceWorker.getRegistrations().then(rs => Promise.all(rs.map(r => r.unregister())))`, nil,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		tr.take()
		run(chromedp.Navigate(base+"/"+page+".html"), chromedp.Sleep(900*time.Millisecond))
		return tr.take()
	}
	choose := func(action string) {
		run(network.ClearBrowserCookies(), chromedp.Navigate(gw+"/_consent/settings"))
		if action != "" {
			var status float64
			run(chromedp.Evaluate(`fetch('/_consent/consent', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"action":"`+action+`"}'}).then(r => r.status)`,
				&status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
			if status != 200 {
				t.Fatalf("%s: %v", action, status)
			}
		}
	}
	for _, c := range cspCases {
		if got := visit(origin, c.name); len(got) == 0 {
			t.Errorf("%s: straight from the origin nothing reached the tracker: the case tests nothing", c.name)
		}
	}
	for _, phase := range []string{"before consent", "after reject-all", "after accept-all"} {
		choose(map[string]string{"after reject-all": "reject-all", "after accept-all": "accept-all"}[phase])
		for _, c := range cspCases {
			got := visit(gw, c.name)
			if phase == "after accept-all" && len(got) == 0 {
				t.Errorf("%s, %s: the tracker was not reached: the policy does not follow the choice", c.name, phase)
			}
			if phase != "after accept-all" && len(got) > 0 {
				t.Errorf("%s, %s: the tracker was reached: %v", c.name, phase, got)
			}
		}
	}
}

// TestThirdPartiesSeen: a page that loads a host the catalog does not
// know gets a report-only policy by default (the host still loads);
// Chromium's report of it lands in "third parties seen" on the
// dashboard, marked as the operator's to do, and in its JSON — for
// someone logged in only.
func TestThirdPartiesSeen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	page := `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>third</title></head><body>
<img src="https://cdn.example.com/pixel.gif" alt=""></body></html>`
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	base := statsGateway(t, "root * "+dir+"\n\tfile_server")
	b := newBrowser(t, true)
	b.run(chromedp.Navigate(base+"/"), chromedp.Sleep(2*time.Second))
	if !b.requested("cdn.example.com") {
		t.Fatal("report-only blocked the page's own third party")
	}
	get := func(q string, auth bool) string {
		req, _ := http.NewRequest("GET", base+"/consent-stats"+q, nil)
		if auth {
			req.SetBasicAuth("marketing", "s3cret-pass")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body)
	}
	var dash string
	row := "<td>cdn.example.com</td><td>unknown: allow it or declare it</td><td>img-src</td>"
	for i := 0; i < 20; i++ { // the browser sends its reports on its own time
		if dash = get("?lang=en", true); strings.Contains(dash, row) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The rewriter told it first, from the page itself.
	if !strings.Contains(dash, "<td>cdn.example.com</td><td>unknown: allow it or declare it</td><td>page</td>") {
		t.Error("the rewriter did not tell the page's third party")
	}
	if !strings.Contains(dash, row) {
		t.Errorf("the dashboard does not list cdn.example.com as a host to allow or declare:\n%s", dash[strings.Index(dash, "Third parties"):])
	}
	js := get("?format=json", true)
	if !strings.Contains(js, `"third_parties":[`) || !strings.Contains(js, `"host":"cdn.example.com"`) {
		t.Errorf("JSON: %s", js)
	}
	if body := get("?format=json", false); strings.Contains(body, "cdn.example.com") {
		t.Error("third parties seen without logging in")
	}
}

// TestDemoUnderCSPEnforce: the demo site works under `csp enforce` once
// its own third parties are allowed: its CDN scripts load, the banner
// works, and the only violations are processors blocked before consent —
// none after accept-all, none of the site's own resources or the
// gateway's.
func TestDemoUnderCSPEnforce(t *testing.T) {
	t.Parallel()
	cat := builtinCatalog(t)
	_, gw, _ := demo(t, "csp enforce\n\t\tcsp allow cdn.jsdelivr.net/npm/dayjs@1.11.13/ code.jquery.com")
	b := newBrowser(t, true)
	b.run(chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`addEventListener('securitypolicyviolation', function (e) { (window.__violations = window.__violations || []).push(e.effectiveDirective + ' ' + e.blockedURI) })`).Do(ctx)
		return err
	}))
	violations := func() []string {
		var v []string
		b.run(chromedp.Evaluate(`window.__violations || []`, &v))
		return v
	}
	pages := []string{"/", "/news.html", "/contacts.html", "/ru/index.html"}
	for _, phase := range []string{"before consent", "after accept-all"} {
		for _, p := range pages {
			b.reset()
			b.run(chromedp.Navigate(gw+p), chromedp.WaitReady("body", chromedp.ByQuery), chromedp.Sleep(1200*time.Millisecond))
			if cdn := map[string]string{"/": "code.jquery.com", "/news.html": "cdn.jsdelivr.net"}[p]; cdn != "" && !b.requested(cdn) {
				t.Errorf("%s, %s: the site's own script from %s did not load", phase, p, cdn)
			}
			for _, v := range violations() {
				dir, u, _ := strings.Cut(v, " ")
				if phase == "after accept-all" || cat.MatchURL(u) < 0 {
					t.Errorf("%s, %s: the policy blocked %s (%s)", phase, p, u, dir)
				}
			}
		}
		if phase == "before consent" {
			b.run(chromedp.Navigate(gw+"/"), chromedp.WaitVisible(`[data-consent-action="accept-all"]`, chromedp.ByQuery),
				chromedp.Click(`[data-consent-action="accept-all"]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-consent-reopen]`, chromedp.ByQuery))
		}
	}
	if !b.requested("mc.yandex.ru") {
		t.Error("after accept-all Yandex Metrica never loaded")
	}
}

// TestCSPSuggest: `kelisim csp suggest` asks the running gateway what its
// policy reported and prints the csp allow line for the hosts the
// catalog does not know, the processors apart; with no gateway it says
// where it looked.
func TestCSPSuggest(t *testing.T) {
	t.Parallel()
	gp := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gp)
	g := startGateway(t, fmt.Sprintf("http://127.0.0.1:%d {\n\tconsent\n\trespond \"ok\"\n}\n", gp), "", base+"/")
	suggest := func(addr string) (string, error) {
		out, err := exec.Command(build(t), "csp", "suggest", "--address", addr).CombinedOutput()
		return string(out), err
	}
	if out, err := suggest(fmt.Sprintf("127.0.0.1:%d", g.admin)); err != nil || !strings.Contains(out, "nothing to allow") {
		t.Errorf("before any report: %v\n%s", err, out)
	}
	for _, r := range []string{
		`{"csp-report":{"document-uri":"` + base + `/news.html","blocked-uri":"https://cdn.example.com/lib.js","effective-directive":"script-src-elem"}}`,
		`{"csp-report":{"document-uri":"` + base + `/","blocked-uri":"https://fonts.example.net/a.woff2","effective-directive":"font-src"}}`,
		`{"csp-report":{"document-uri":"` + base + `/","blocked-uri":"https://mc.yandex.ru/watch/1","effective-directive":"img-src"}}`,
	} {
		res, err := http.Post(base+"/_consent/csp-report", "application/csp-report", strings.NewReader(r))
		if err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("report: %v %v", err, res)
		}
		res.Body.Close()
	}
	out, err := suggest(fmt.Sprintf("127.0.0.1:%d", g.admin))
	if err != nil || !strings.Contains(out, "\tcsp allow cdn.example.com fonts.example.net\n") || !strings.Contains(out, "/news.html") ||
		!strings.Contains(out, "blocked as intended: mc.yandex.ru (yandex-metrica)") {
		t.Errorf("suggest: %v\n%s", err, out)
	}
	if out, err := suggest(fmt.Sprintf("127.0.0.1:%d", freePort(t))); err == nil || !strings.Contains(out, "is it running?") {
		t.Errorf("with no gateway: %v\n%s", err, out)
	}
}
