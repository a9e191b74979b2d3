// Package gateway is Kelisim's request path as plain net/http middleware:
// it serves the consent endpoints, reads the signed consent cookie, keeps
// non-consented tracker cookies from the origin and the browser, and
// streams HTML responses through the rewriter. Caddy is one adapter
// (package caddymodule); Handler makes it usable with any net/http server.
package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelisim/kelisim/banner"
	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/consent"
	"github.com/kelisim/kelisim/cookies"
	"github.com/kelisim/kelisim/csp"
	"github.com/kelisim/kelisim/store"
)

// Config is what a Gateway needs. Catalog, Banner, Store and Secret are
// required.
type Config struct {
	Catalog *catalog.Catalog
	Banner  *banner.Banner
	Store   store.Store
	// Secret keys the consent cookie's HMAC and the client hints.
	Secret []byte
	// PolicyVersion: a consent given under another version counts as none.
	PolicyVersion string
	// Prefix of the consent endpoints; "/_consent/" if empty.
	Prefix string
	Logger *slog.Logger
	// RateLimit bounds consent posts per client address and minute: 0
	// means 120, negative means no limit.
	RateLimit int
	// ClientIP, if set, returns the visitor's address (behind trusted
	// proxies, Caddy knows it better than RemoteAddr). It keys the rate
	// limit and the client hint.
	ClientIP func(*http.Request) string
	// Metrics, if set, is told about what the gateway does.
	Metrics Metrics
	// ReplayCache is how many bytes of page recordings to keep, so a
	// page the origin sends again unchanged is replayed instead of
	// rewritten (rewrite.Recording): 0 means DefaultReplayCache, negative
	// none.
	ReplayCache int
	// CSP is how the Content-Security-Policy derived from the visitor's
	// consent is sent with pages (package csp): report-only if empty.
	CSP csp.Mode
	// CSPAllow are the operator's hosts (or host paths) the policy
	// allows besides the site, the necessary hosts and the processors
	// of the granted categories.
	CSPAllow []string
	// CSPSeen collects what the policy reported ("third parties seen"),
	// shared with the stats dashboard; a gateway of its own if nil.
	CSPSeen *csp.Seen
}

// Metrics receives counts; the Caddy adapter feeds Prometheus with them.
type Metrics interface {
	Decision(action string, granted catalog.Set, lang string)
	PageRewritten()
	// PageReplayed: a rewritten page was written from a recording.
	PageReplayed()
	// PageBytes: of a finished page's bytes, how many were rewritten and
	// how many replayed.
	PageBytes(rewritten, replayed int)
	Blocked(processor string)
	StoreError()
	// CSPReport: the policy reported a host of processor ("" for a host
	// the catalog does not know).
	CSPReport(processor string)
}

type noMetrics struct{}

func (noMetrics) Decision(string, catalog.Set, string) {}
func (noMetrics) PageRewritten()                       {}
func (noMetrics) PageReplayed()                        {}
func (noMetrics) PageBytes(int, int)                   {}
func (noMetrics) Blocked(string)                       {}
func (noMetrics) StoreError()                          {}
func (noMetrics) CSPReport(string)                     {}

// Gateway enforces consent in front of a site. Safe for concurrent use.
type Gateway struct {
	cfg        Config
	codec      *consent.Codec
	rules      consent.Rules
	policyHash string
	hintKey    []byte
	log        *slog.Logger
	metrics    Metrics
	limiter    *limiter
	memo       *memo         // nil: no replay
	csp        *csp.Policies // nil: csp off
	cspSeen    *csp.Seen
	reports    *limiter // CSP reports per client address
	warned     sync.Map // warnOnce keys already logged
	nWarned    atomic.Int32
}

// warnOnce logs msg once per key for the life of the gateway: an origin
// that sends what the gateway cannot read does so on every response, and
// one line says it (a bounded number of keys: the rest are not logged).
func (g *Gateway) warnOnce(key, msg string, args ...any) {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "reason" {
			key += "|" + fmt.Sprint(args[i+1])
		}
	}
	if g.nWarned.Load() >= 64 {
		return
	}
	if _, seen := g.warned.LoadOrStore(key, true); !seen {
		g.nWarned.Add(1)
		g.log.Warn(msg, args...)
	}
}

// New checks cfg and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Catalog == nil || cfg.Banner == nil || cfg.Store == nil {
		return nil, errors.New("gateway: catalog, banner and store are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/_consent/"
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("gateway: prefix %q must start and end with /", cfg.Prefix)
	}
	codec, err := consent.NewCodec(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	rate := cfg.RateLimit
	if rate == 0 {
		rate = 120
	}
	ph := consent.PolicyHash(cfg.PolicyVersion)
	m := hmac.New(sha256.New, cfg.Secret)
	m.Write([]byte("kelisim client hint"))
	var mm *memo
	switch {
	case cfg.ReplayCache == 0:
		mm = newMemo(DefaultReplayCache)
	case cfg.ReplayCache > 0:
		mm = newMemo(cfg.ReplayCache)
	}
	var policies *csp.Policies
	if cfg.CSP == "" {
		cfg.CSP = csp.ReportOnly
	}
	if _, err := csp.ParseMode(string(cfg.CSP)); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if cfg.CSPSeen == nil {
		cfg.CSPSeen = csp.NewSeen()
	}
	if cfg.CSP != csp.Off {
		if policies, err = csp.New(cfg.Catalog, cfg.CSPAllow, cfg.Prefix+"csp-report"); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		if n := policies.Longest(); n > 8<<10 {
			cfg.Logger.Warn("the Content-Security-Policy of a visitor who accepts all is long: proxies in front may refuse it; list your own processors (the processors option) to shorten it",
				"bytes", n)
		}
	}
	return &Gateway{
		csp:        policies,
		cspSeen:    cfg.CSPSeen,
		reports:    newLimiter(600, time.Minute),
		memo:       mm,
		cfg:        cfg,
		codec:      codec,
		rules:      consent.Rules{PolicyHash: ph, Catalog: cfg.Catalog},
		policyHash: ph,
		hintKey:    m.Sum(nil),
		log:        cfg.Logger,
		metrics:    cfg.Metrics,
		limiter:    newLimiter(rate, time.Minute),
	}, nil
}

// Handler returns next wrapped by the gateway, for net/http servers.
func (g *Gateway) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := g.Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
			next.ServeHTTP(w, r)
			return nil
		})
		if err != nil {
			g.log.Error("request failed", "path", r.URL.Path, "error", err)
		}
	})
}

// visitor is what the gateway knows about the requester, from the cookie.
type visitor struct {
	state    consent.State
	known    bool // the cookie verified: its consent ID can be reused
	decided  bool // ... and its decision still holds
	lang     string
	explicit bool // lang is the visitor's own choice (the language switch)
	gpc      bool // the browser sends Global Privacy Control
}

// language resolves the banner language from the browser's
// Accept-Language, unless the visitor chose one. Only pages and the API
// need it, so assets never pay for parsing the header.
func (v *visitor) language(g *Gateway, r *http.Request) string {
	if v.lang == "" {
		v.lang = g.cfg.Banner.PickLang(r.Header.Get("Accept-Language"))
	}
	return v.lang
}

func (v *visitor) granted() catalog.Set {
	if v.decided {
		return v.state.Granted
	}
	return 0
}

func (g *Gateway) visitor(r *http.Request) visitor {
	v := visitor{gpc: r.Header.Get("Sec-GPC") == "1"}
	var value string
	found := false
	for _, c := range r.Cookies() { // one parse for both cookies
		switch c.Name {
		case LangCookie:
			if g.cfg.Banner.Lang(c.Value) == c.Value {
				v.lang, v.explicit = c.Value, true
			}
		case consent.CookieName:
			if !found {
				value, found = c.Value, true
			}
		}
	}
	if !found {
		return v
	}
	st, err := g.codec.Decode(value)
	if err != nil {
		// Forged or damaged: no consent. Not an error worth more than debug.
		g.log.Debug("consent cookie rejected", "error", err)
		return v
	}
	v.state, v.known = st, true
	v.decided = g.rules.Current(st)
	return v
}

// Serve runs the gateway for one request; next is the rest of the chain.
func (g *Gateway) Serve(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request) error) error {
	if strings.HasPrefix(r.URL.Path, g.cfg.Prefix) {
		return g.serveAPI(w, r, strings.TrimPrefix(r.URL.Path, g.cfg.Prefix))
	}
	if r.Context().Value(servingKey{}) != nil {
		// A second consent handler on the same request (two `consent`
		// lines, or nested routes): the first one does the work.
		return next(w, r)
	}
	r = r.WithContext(context.WithValue(r.Context(), servingKey{}, true))
	v := g.visitor(r)
	dropped := cookies.FilterRequest(r, g.cfg.Catalog, v.granted())
	page := wantsHTML(r)
	if page {
		// The page body is rewritten; ask for it uncompressed and let
		// Caddy's encode compress the result for the client.
		r.Header.Set("Accept-Encoding", "identity")
		// Never let a browser revalidate, or fetch a range of, a page
		// cached before the gateway (or under another consent): the
		// origin's 304 or 206 would bring back the unrewritten copy.
		for _, h := range []string{"If-None-Match", "If-Modified-Since", "If-Range", "Range"} {
			r.Header.Del(h)
		}
	}
	rw := newResponseWriter(g, w, r, &v, dropped, page)
	// Runs also when the chain panics (reverse_proxy aborts a response
	// with http.ErrAbortHandler): stop a decoder goroutine, free buffers.
	defer rw.release()
	if err := next(rw, r); err != nil {
		return err
	}
	return rw.finish()
}

type servingKey struct{}

// LangCookie remembers the banner language a visitor chose with the
// switch; it is part of the consent interface itself (necessary).
const LangCookie = "kelisim_lang"

// wantsHTML reports whether r looks like a page load.
func wantsHTML(r *http.Request) bool {
	if d := r.Header.Get("Sec-Fetch-Dest"); d == "document" || d == "iframe" || d == "frame" {
		return true
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// isNavigation reports whether r loads a whole document (a page or a
// frame), which gets the consent state and banner even when it has no
// <html>, <head> or <body> tag; a fragment fetched by a script does not.
func isNavigation(r *http.Request) bool {
	if d := r.Header.Get("Sec-Fetch-Dest"); d != "" {
		return d == "document" || d == "iframe" || d == "frame"
	}
	return r.Header.Get("X-Requested-With") == "" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// clientHint is a keyed hash of the client address under a key that
// changes daily, so records of one day can be linked and no IP is kept.
func (g *Gateway) clientHint(r *http.Request, day string) string {
	var ip string
	if g.cfg.ClientIP != nil {
		ip = g.cfg.ClientIP(r)
	}
	if ip == "" {
		ip = r.RemoteAddr
		if i := strings.LastIndexByte(ip, ':'); i > 0 && !strings.HasSuffix(ip, "]") {
			ip = ip[:i]
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(ip, "[]")); err == nil && a.Is6() && !a.Is4In6() {
		// One visitor holds a whole /64: count it as one address.
		p, _ := a.Prefix(64)
		ip = p.String()
	}
	m := hmac.New(sha256.New, g.hintKey)
	m.Write([]byte(day))
	k := m.Sum(nil)
	m = hmac.New(sha256.New, k)
	m.Write([]byte(strings.Trim(ip, "[]")))
	return fmt.Sprintf("%x", m.Sum(nil)[:8])
}
