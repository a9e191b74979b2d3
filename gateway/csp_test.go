package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/csp"
	"github.com/kelisim/kelisim/gateway"
)

// TestPolicyHeaders: a page gets the policy of its visitor's consent in
// the mode's header, besides the origin's own policy, which stays as it
// came; a worker's script gets it too (and varies by consent), the
// site's other scripts do not (they stay shareable); off sends none.
func TestPolicyHeaders(t *testing.T) {
	own := "script-src 'self' 'nonce-abc'"
	origin := func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Cache-Control", "public, max-age=600")
			w.Write([]byte("fetch('/x')"))
			return
		}
		w.Header().Set("Content-Security-Policy", own)
		htmlOrigin("<!doctype html><html><head></head><body>hi</body></html>")(w, r)
	}
	for _, mode := range []csp.Mode{"", csp.Enforce, csp.Off} {
		e := newEnv(t, "v1", origin, func(c *gateway.Config) { c.CSP = mode })
		res := e.do("GET", "/", nil)
		readAll(t, res)
		enforced := res.Header.Values("Content-Security-Policy")
		reported := res.Header.Values("Content-Security-Policy-Report-Only")
		if len(enforced) == 0 || enforced[0] != own {
			t.Errorf("%q: the origin's policy became %q", mode, enforced)
		}
		ours := map[csp.Mode][]string{"": reported, csp.Enforce: enforced[1:], csp.Off: append(reported, enforced[1:]...)}[mode]
		if mode == csp.Off {
			if len(ours) != 0 {
				t.Errorf("off: policies sent: %q", ours)
			}
			continue
		}
		if len(ours) != 1 || !strings.HasPrefix(ours[0], "default-src 'self'") || strings.Contains(ours[0], "mc.yandex.ru") || !strings.HasSuffix(ours[0], "report-uri /_consent/csp-report") {
			t.Fatalf("%q: policy %q", mode, ours)
		}
		worker := e.do("GET", "/w.js", nil, "Sec-Fetch-Dest", "worker")
		readAll(t, worker)
		if worker.Header.Get(mode.Header()) != ours[0] || !strings.Contains(strings.Join(worker.Header.Values("Vary"), ","), "Cookie") || !strings.Contains(worker.Header.Get("Cache-Control"), "private") {
			t.Errorf("%q: a worker's script: %v", mode, worker.Header)
		}
		script := e.do("GET", "/s.js", nil, "Sec-Fetch-Dest", "script")
		readAll(t, script)
		if script.Header.Get(mode.Header()) != "" || script.Header.Get("Cache-Control") != "public, max-age=600" {
			t.Errorf("%q: a plain script: %v", mode, script.Header)
		}
	}
}

// TestCSPReportEndpoint: reports in both browser formats are taken and
// counted; anything else is refused with why.
func TestCSPReportEndpoint(t *testing.T) {
	seen := csp.NewSeen()
	e := newEnv(t, "v1", htmlOrigin("<p>x"), func(c *gateway.Config) { c.CSPSeen = seen })
	post := func(ct, body string) int {
		res := e.do("POST", "/_consent/csp-report", strings.NewReader(body), "Content-Type", ct)
		readAll(t, res)
		return res.StatusCode
	}
	if c := post("application/csp-report", `{"csp-report":{"document-uri":"http://x.kz/a?b","blocked-uri":"https://cdn.example.com/lib.js","effective-directive":"script-src-elem"}}`); c != http.StatusNoContent {
		t.Errorf("report-uri format: %d", c)
	}
	if c := post("application/reports+json", `[{"type":"csp-violation","body":{"documentURL":"http://x.kz/","blockedURL":"https://mc.yandex.ru/watch/1","effectiveDirective":"img-src"}}]`); c != http.StatusNoContent {
		t.Errorf("Reporting API format: %d", c)
	}
	l := seen.List()
	if len(l) != 2 || l[0].Host != "cdn.example.com" || l[0].Processor != "" || l[0].Page != "/a" || l[1].Processor != "yandex-metrica" {
		t.Errorf("seen: %+v", l)
	}
	for _, c := range []struct {
		ct, body string
		want     int
	}{
		{"text/plain", "x", http.StatusBadRequest},
		{"application/csp-report", "{", http.StatusBadRequest},
		{"application/csp-report", strings.Repeat(" ", csp.MaxReport+1), http.StatusRequestEntityTooLarge},
	} {
		if got := post(c.ct, c.body); got != c.want {
			t.Errorf("%s %.20q: %d, want %d", c.ct, c.body, got, c.want)
		}
	}
	if res := e.do("GET", "/_consent/csp-report", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", res.StatusCode)
	}
}

// TestPagesTeachThirdParties: the hosts a rewritten page fetches from
// that are no processor, not the site and not allowed land in third
// parties seen (directive "page") before any browser reports them.
func TestPagesTeachThirdParties(t *testing.T) {
	seen := csp.NewSeen()
	page := `<!doctype html><html><head><script src="https://cdn.example.com/lib.js"></script><script src="https://static.allowed.example/x.js"></script>
<script src="https://mc.yandex.ru/metrika/tag.js"></script></head><body><img src="/own.png"><img src="HOST/own.png"></body></html>`
	var e *env
	e = newEnv(t, "v1", func(w http.ResponseWriter, r *http.Request) {
		htmlOrigin(strings.ReplaceAll(page, "HOST", e.srv.URL))(w, r)
	}, func(c *gateway.Config) { c.CSPSeen, c.CSPAllow = seen, []string{"*.allowed.example"} })
	readAll(t, e.do("GET", "/news/1.html?x=2", nil))
	l := seen.List()
	if len(l) != 1 || l[0].Host != "cdn.example.com" || l[0].Directive != "page" || l[0].Page != "/news/1.html" || l[0].Processor != "" {
		t.Errorf("seen: %+v", l)
	}
}
