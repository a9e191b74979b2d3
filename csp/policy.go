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
	byGranted map[catalog.Set]string
}

// fetchDirectives are the directives that bound where a document (or a
// worker) fetches from; each gets the same host list, with the extra
// sources it needs. The wall is on where the page may connect, not on
// what code it runs: inline code and eval stay allowed (the rewriter and
// the guard deal with inline loaders), every fetch they make still meets
// the host list.
var fetchDirectives = []struct{ name, extra string }{
	{"default-src", ""},
	{"script-src", "'unsafe-inline' 'unsafe-eval' blob:"},
	{"style-src", "'unsafe-inline' data: blob:"},
	{"img-src", "data: blob:"},
	{"font-src", "data:"},
	{"media-src", "data: blob:"},
	{"connect-src", ""},
	// A blob: or about:blank document inherits this policy: a frame or
	// worker made from one fetches no further than the page.
	{"frame-src", "blob:"},
	{"child-src", "blob:"},
	{"worker-src", "blob:"},
	{"manifest-src", ""},
	{"object-src", ""},
}

// New builds the policies for cat's consent states: 'self', the hosts
// declared necessary, allow (the operator's hosts, "host" or "*.host"),
// and the hosts of the processors of the granted categories that the
// banner lists. reportURI, if set, is where browsers send violations.
//
// An allowed host that would let a processor in whatever the consent is
// an error: CSP cannot allow "*.yandex.ru" and keep mc.yandex.ru out.
func New(cat *catalog.Catalog, allow []string, reportURI string) (*Policies, error) {
	var base []string
	base = append(base, "'self'")
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
	byCat := map[catalog.Category][]string{}
	for i, p := range cat.Processors {
		if !cat.Shown(i) {
			continue
		}
		for _, u := range p.URLs {
			byCat[p.Category] = append(byCat[p.Category], sources(u)...)
		}
	}
	ps := &Policies{byGranted: map[catalog.Set]string{}}
	for s := catalog.Set(0); s <= catalog.All; s++ {
		list := append([]string(nil), base...)
		for _, c := range s.Categories() {
			list = append(list, byCat[c]...)
		}
		list = dedupe(list)
		// A source without a scheme matches a WebSocket URL only on a
		// page of a ws scheme: connect-src names them.
		sockets := append([]string(nil), list...)
		for _, src := range list[1:] { // after 'self'
			sockets = append(sockets, "wss://"+src, "ws://"+src)
		}
		var b strings.Builder
		for i, d := range fetchDirectives {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(d.name)
			b.WriteByte(' ')
			if d.name == "connect-src" {
				b.WriteString(strings.Join(sockets, " "))
			} else {
				b.WriteString(strings.Join(list, " "))
			}
			if d.extra != "" {
				b.WriteByte(' ')
				b.WriteString(d.extra)
			}
		}
		if reportURI != "" {
			b.WriteString("; report-uri ")
			b.WriteString(reportURI)
		}
		ps.byGranted[s] = b.String()
	}
	return ps, nil
}

// For returns the policy of a visitor who granted s.
func (p *Policies) For(s catalog.Set) string { return p.byGranted[s] }

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
