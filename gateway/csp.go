package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/kelisim/kelisim/consent"
	"github.com/kelisim/kelisim/csp"
)

// The Content-Security-Policy derived from consent (package csp): the
// browser's own wall behind the rewriter and the client guard.

// addPolicy sends the visitor's policy with a document, in addition to
// any policy of the origin's (both apply: the origin's is never
// weakened). The response already varies by consent.
func (w *responseWriter) addPolicy() {
	if w.g.csp != nil {
		w.Header().Add(w.g.cfg.CSP.Header(), w.g.csp.For(w.v.granted(), isHTTPS(w.r)))
	}
}

// addWorkerPolicy sends the policy with a worker's script: a worker
// fetches under its script's policy, not the page's. Only these
// requests vary by consent; the site's other scripts keep their shared
// caching.
func (w *responseWriter) addWorkerPolicy() {
	switch w.r.Header.Get("Sec-Fetch-Dest") {
	case "worker", "sharedworker", "serviceworker":
		if w.g.csp != nil {
			h := w.Header()
			w.addPolicy()
			addVary(h, "Cookie", "Sec-Fetch-Dest")
			makePrivate(h)
		}
	}
}

// seenInPage returns what the rewriter tells of the hosts a page fetches
// from that no processor owns: those the policy does not allow go to
// "third parties seen" (directive "page"), learned without waiting for
// a browser's report. Nil when the policy is off.
func (g *Gateway) seenInPage(r *http.Request) func(host string) {
	if g.csp == nil {
		return nil
	}
	page, own := r.URL.Path, r.Host
	if len(page) > 256 {
		page = page[:256]
	}
	if h, _, err := net.SplitHostPort(own); err == nil {
		own = h
	}
	return func(host string) {
		if host != own && !g.csp.Allows(host) {
			g.cspSeen.Add(csp.Violation{Page: page, Host: host, Directive: "page"}, "", consent.Now())
		}
	}
}

// cspReport takes the browsers' reports of what the policy blocked (or,
// report-only, would have): size-capped and rate-limited per client,
// counted into "third parties seen". In enforce mode a host not allowed
// is logged once an hour: a page of the site may be missing something.
func (g *Gateway) cspReport(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
	if !g.reports.allow(g.clientHint(r, "csp"), consent.Now()) {
		w.Header().Set("Retry-After", "60")
		return writeError(w, http.StatusTooManyRequests, "too many reports from this address")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, csp.MaxReport))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, http.StatusRequestEntityTooLarge, "report too large")
		}
		return writeError(w, http.StatusBadRequest, "unreadable report")
	}
	vs, err := csp.ParseReports(r.Header.Get("Content-Type"), body)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	now := consent.Now()
	for _, v := range vs {
		proc := ""
		if p := g.cfg.Catalog.MatchHostOnly(v.Host); p >= 0 {
			proc = g.cfg.Catalog.Processors[p].ID
		}
		g.metrics.CSPReport(proc)
		if !g.cspSeen.Add(v, proc, now) {
			continue
		}
		args := []any{"host", v.Host, "directive", v.Directive, "page", v.Page}
		if g.cfg.CSP == csp.Enforce && proc == "" {
			g.log.Warn("content security policy blocked a host it does not allow: allow it (csp allow) or declare it as a processor", args...)
		} else {
			g.log.Debug("content security policy report", args...)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
