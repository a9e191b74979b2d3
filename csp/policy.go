// Package csp derives a Content-Security-Policy from a visitor's consent:
// a second wall, enforced by the browser, behind the rewriter and the
// client guard. It holds against what no script can wrap — a dynamic
// import(), a Worker's fetch, an about:blank frame's fetch, EventSource,
// WebSocket, CSSOM, a service worker — because it lists where the page
// may fetch from at all: the site itself, the hosts the operator
// declares necessary or allows, and the processors of the categories the
// visitor granted. CSP has no deny-list, so hosts the catalog does not
// know must be allowed by the operator; reports (report.go) say which.
package csp

import (
	"fmt"
	"net"
	"strings"

	"github.com/kelisim/kelisim/catalog"
)

// Mode is how the policy is sent.
type Mode string

const (
	// ReportOnly sends Content-Security-Policy-Report-Only: the browser
	// reports what the policy would block and blocks nothing. Safe on any
	// site; the default.
	ReportOnly Mode = "report-only"
	// Enforce sends Content-Security-Policy: binding.
	Enforce Mode = "enforce"
	// Off sends nothing.
	Off Mode = "off"
)

// Header is the response header the mode sends the policy in ("" for Off).
func (m Mode) Header() string {
	switch m {
	case Enforce:
		return "Content-Security-Policy"
	case ReportOnly, "":
		return "Content-Security-Policy-Report-Only"
	}
	return ""
}

// ParseMode reads a mode as the Caddyfile writes it.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ReportOnly, Enforce, Off:
		return m, nil
	}
	return "", fmt.Errorf("csp %q: want report-only, enforce or off", s)
}

// Policies holds the policy of each consent state, built once: a
// response only picks its string.
type Policies struct {
	byGranted [2]map[catalog.Set]string // [0] http pages, [1] https
	base      []string                  // the necessary and allowed sources
}

// The policy is written short: it goes with every page, and a header of
// tens of kilobytes is refused by proxies and CDNs in front. default-src
// carries the host list once for every fetch directive that falls back
// to it (script, style, frame, child, worker, manifest, object: CSP3's
// fallback lists), with what they need besides: inline code and eval
// (the wall is on where the page fetches from, not on what code it runs;
// the rewriter and the guard deal with inline loaders) and blob: (a
// blob: document or worker inherits this policy and fetches no further).
// Only the directives that need another source repeat the list: data:
// images and fonts (common: icons and fonts inlined in style sheets; a
// data: video is not worth the bytes), and WebSocket URLs, which a
// source without a scheme does not match.
const (
	defaultExtra = "'unsafe-inline' 'unsafe-eval' blob:"
)

var dataDirectives = []struct{ name, extra string }{
	{"img-src", "data: blob:"},
	{"font-src", "data:"},
}

// New builds the policies for cat's consent states: 'self', the hosts
// declared necessary, allow (the operator's hosts, "host" or "*.host",
// or paths on them), and the hosts of the processors of the granted
// categories that the banner lists. reportURI, if set, is where
// browsers send violations.
//
// An allowed host that would let a processor in whatever the consent is
// an error: CSP cannot allow "*.yandex.ru" and keep mc.yandex.ru out.
func New(cat *catalog.Catalog, allow []string, reportURI string) (*Policies, error) {
	base := []string{"'self'"}
	for _, h := range cat.NecessaryHosts() {
		base = append(base, sources(h)...)
	}
	for _, a := range allow {
		src, err := allowed(cat, a)
		if err != nil {
			return nil, err
		}
		base = append(base, src)
	}
	ps := &Policies{byGranted: [2]map[catalog.Set]string{{}, {}}, base: base[1:]}
	for s := catalog.Set(0); s <= catalog.All; s++ {
		list := dedupe(append(append([]string(nil), base...), processorSources(cat, s)...))
		for https, m := range ps.byGranted {
			// A WebSocket URL matches a source with its own scheme only;
			// an http page may open ws: ones, an https page only wss:.
			schemes := []string{"wss://"}
			if https == 0 {
				schemes = append(schemes, "ws://")
			}
			sockets := append([]string(nil), list...)
			for _, src := range list[1:] { // after 'self'
				for _, sc := range schemes {
					sockets = append(sockets, sc+src)
				}
			}
			hosts := strings.Join(list, " ")
			var b strings.Builder
			b.WriteString("default-src " + hosts + " " + defaultExtra)
			for _, d := range dataDirectives {
				b.WriteString("; " + d.name + " " + hosts + " " + d.extra)
			}
			b.WriteString("; connect-src " + strings.Join(sockets, " "))
			if reportURI != "" {
				b.WriteString("; report-uri " + reportURI)
			}
			m[s] = b.String()
		}
	}
	return ps, nil
}

// processorSources lists the sources of the shown processors of the
// categories in granted, short: a host whose patterns are all of granted
// categories — and under which no processor of another category has a
// pattern — is allowed whole, not path by path; a registrable domain
// ("google-analytics.com") with its subdomains, as the catalog matches
// it (unless a processor not granted is below it), a longer host alone.
func processorSources(cat *catalog.Catalog, granted catalog.Set) []string {
	type pattern struct{ host, path string }
	var mine []pattern
	// foreign: the hosts of processors not granted and their parents;
	// under: those parents alone (a *.host source would cover them).
	foreign, under := map[string]bool{}, map[string]bool{}
	for i, p := range cat.Processors {
		ok := granted.Has(p.Category.Bit())
		for _, u := range p.URLs {
			host, path, err := catalog.SplitPattern(u)
			if err != nil {
				continue
			}
			if !ok {
				foreign[host] = true
				for h := host; strings.IndexByte(h, '.') >= 0; {
					h = h[strings.IndexByte(h, '.')+1:]
					foreign[h], under[h] = true, true
				}
				continue
			}
			if cat.Shown(i) {
				mine = append(mine, pattern{host, path})
			}
		}
	}
	whole := map[string]bool{}
	for _, p := range mine {
		if p.path == "" || !foreign[p.host] {
			whole[p.host] = true
		}
	}
	var out []string
	for _, p := range mine {
		path := p.path
		if whole[p.host] {
			path = ""
		} else if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i] // CSP matches no query
		}
		out = append(out, p.host+path)
		if strings.Count(p.host, ".") == 1 && !under[p.host] {
			out = append(out, "*."+p.host+path)
		}
	}
	return out
}

// Allows reports whether host is allowed whatever the consent: a
// necessary host or one of csp allow (a path on it counts).
func (p *Policies) Allows(host string) bool {
	for _, src := range p.base {
		h, _, _ := strings.Cut(src, "/")
		if wild, ok := strings.CutPrefix(h, "*."); ok && strings.HasSuffix(host, "."+wild) || h == host {
			return true
		}
	}
	return false
}

// Longest returns the length of the longest policy: it is sent with
// every page of a visitor who accepted all.
func (p *Policies) Longest() int {
	n := 0
	for _, m := range p.byGranted {
		for _, v := range m {
			n = max(n, len(v))
		}
	}
	return n
}

// For returns the policy of a visitor who granted s, on a page served
// over https or not.
func (p *Policies) For(s catalog.Set, https bool) string {
	if https {
		return p.byGranted[1][s]
	}
	return p.byGranted[0][s]
}

// sources turns a catalog pattern ("host" or "host/path-prefix", a host
// matching its subdomains) into CSP source expressions. CSP matches a
// path exactly unless it ends in "/", and never a query: a pattern's
// query is dropped (so the policy is coarser there than the rewriter).
func sources(pattern string) []string {
	host, path, err := catalog.SplitPattern(pattern)
	if err != nil {
		return nil
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return []string{host + path, "*." + host + path}
}

// CheckAllow reports what is wrong with one `csp allow` entry for cat.
func CheckAllow(cat *catalog.Catalog, a string) error {
	_, err := allowed(cat, a)
	return err
}

// allowed checks one `csp allow` entry — a host ("cdn.example.com"),
// its subdomains ("*.example.com"), or a path on one
// ("cdn.jsdelivr.net/npm/bootstrap@5/", CSP's path matching: a prefix
// when it ends in "/") — and returns its source expression.
func allowed(cat *catalog.Catalog, a string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(a))
	for _, scheme := range []string{"https://", "http://"} {
		h = strings.TrimPrefix(h, scheme)
	}
	host, path, _ := strings.Cut(h, "/")
	if path != "" || strings.HasSuffix(h, "/") {
		path = "/" + path
	}
	name, wild := strings.CutPrefix(host, "*.")
	if name == "" || !strings.Contains(name, ".") || strings.ContainsAny(name, "*?#@:; '\"") || strings.ContainsAny(path, "?#;, '\"") || net.ParseIP(name) != nil && wild {
		return "", fmt.Errorf("csp allow %q: want a host such as cdn.example.com, *.example.com or cdn.example.com/path/", a)
	}
	// A processor there would be let in whatever the visitor chose: the
	// one on exactly that host, all of it, is named first.
	var hit *catalog.Processor
	hitHost, best := "", -1
	for i, p := range cat.Processors {
		for _, u := range p.URLs {
			ph, pp, err := catalog.SplitPattern(u)
			if err != nil {
				continue
			}
			hosts := ph == name || strings.HasSuffix(name, "."+ph) || wild && strings.HasSuffix(ph, "."+name)
			paths := path == "" || pp == "" || strings.HasPrefix(pp, path) || strings.HasPrefix(path, pp)
			score := 0
			if ph == name {
				score += 2
			}
			if pp == "" {
				score++
			}
			if hosts && paths && score > best {
				hit, hitHost, best = &cat.Processors[i], ph+pp, score
			}
		}
	}
	if hit != nil {
		return "", fmt.Errorf("csp allow %q lets in %s (%s, %s) whatever the visitor chose: a processor's hosts are allowed only with its category's consent; allow the hosts or paths you need one by one (e.g. cdn.example.com/your-library/)",
			a, hit.Name, hitHost, hit.Category)
	}
	return h, nil
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
