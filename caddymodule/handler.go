// Package caddymodule is the Caddy adapter of Kelisim: module registration,
// Caddyfile parsing and provisioning. The work is done by package gateway.
package caddymodule

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/kelisim/kelisim/banner"
	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/csp"
	"github.com/kelisim/kelisim/gateway"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler enforces visitors' cookie consent in front of a site: it blocks
// third-party trackers in HTML pages and their cookies until the visitor
// agrees, injects the consent banner, and serves the consent API under
// its prefix. Place it before reverse_proxy or file_server; with the
// Caddyfile a bare `consent` line does it.
type Handler struct {
	// PolicyVersion names the privacy policy in force. A consent given
	// under another version counts as none, so changing it asks every
	// visitor again. Default: empty.
	PolicyVersion string `json:"policy_version,omitempty"`

	// Prefix is where the consent endpoints and banner assets live.
	// Default: /_consent/
	Prefix string `json:"prefix,omitempty"`

	// Secret signs consent cookies. Placeholders such as {env.KELISIM_SECRET}
	// are expanded. Gateways that share visitors must share the secret.
	// Default: 32 random bytes generated on first start and kept in Caddy's
	// data directory, so cookies survive restarts.
	Secret string `json:"secret,omitempty"`

	// Operator is the name of the site operator shown in the banner.
	// Default: a neutral "the site owner" in each language.
	Operator string `json:"operator,omitempty"`

	// PolicyURL links the banner to the privacy policy. Default: /privacy
	PolicyURL string `json:"policy_url,omitempty"`

	// Contact tells visitors how to reach the operator about their data
	// (an e-mail address, a phone); shown in the banner.
	Contact string `json:"contact,omitempty"`

	// DefaultLang is the banner language when the visitor's browser asks
	// for none of kk, ru, en. Default: kk
	DefaultLang string `json:"default_lang,omitempty"`

	// Processors add entries to the built-in tracker catalog or override
	// the entry with the same id (fields left empty keep the built-in
	// value).
	Processors []catalog.Processor `json:"processor,omitempty"`

	// NecessaryHosts are hosts (with their subdomains, optionally with a
	// path prefix) that are never blocked, even if a catalog entry names
	// them.
	NecessaryHosts []string `json:"necessary,omitempty"`

	// Shown lists the ids of the site's own processors (its privacy
	// policy's clause on service providers): the banner lists these, and
	// a change to them asks for consent again. Every catalog processor is
	// blocked either way. Default: the whole catalog.
	Shown []string `json:"processors,omitempty"`

	// GoogleConsentMode sets Google Consent Mode v2 defaults first in
	// <head> and updates them on each choice: on, off, or auto (default,
	// the same as on: a default without Google tags on the page is inert).
	GoogleConsentMode string `json:"google_consent_mode,omitempty"`

	// Theme puts the banner in the site's colours and shape: accent
	// (checked for 4.5:1 contrast with the white button text), radius,
	// position, font, dark (auto follows the visitor's system).
	Theme *banner.Theme `json:"theme,omitempty"`

	// Reopen is "off" to leave out the floating button that reopens the
	// choices, for sites that link #consent-settings themselves; default
	// on.
	Reopen string `json:"reopen,omitempty"`

	// RateLimit bounds consent decisions per client address and minute,
	// against scripts flooding the log; over it, 429. 0 means the default
	// 120; -1 turns the limit off.
	RateLimit int `json:"rate_limit,omitempty"`

	// ReplayCache is how many bytes of page recordings to keep: a page
	// the origin sends again byte for byte is written from the recording
	// of its last rewrite instead of being rewritten. 0 means 32 MiB; -1
	// turns replay off.
	ReplayCache int64 `json:"replay_cache,omitempty"`

	// CSP is how the Content-Security-Policy derived from the visitor's
	// consent goes with pages: report-only (the default: the browser
	// reports, blocks nothing), enforce, or off.
	CSP string `json:"csp,omitempty"`

	// CSPAllow are hosts ("cdn.example.com", "*.example.com") or paths
	// on them the policy allows besides the site, the necessary hosts
	// and the granted processors.
	CSPAllow []string `json:"csp_allow,omitempty"`

	// Texts override banner texts: language -> key -> text. Always
	// HTML-escaped.
	Texts map[string]map[string]string `json:"text,omitempty"`

	gw *gateway.Gateway
}

// thirdParties collects what every site's policy reported, for the stats
// dashboard; it lives as long as the process, across config reloads.
var thirdParties = csp.NewSeen()

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.consent",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision builds the catalog, banner and gateway and attaches the store.
func (h *Handler) Provision(ctx caddy.Context) error {
	log := ctx.Slogger()
	if err := h.check(); err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	cat, err := catalog.Compile(catalog.Merge(catalog.Builtin(), h.Processors), h.NecessaryHosts)
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	if err := cat.Show(h.Shown); err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	prefix := h.Prefix
	if prefix == "" {
		prefix = "/_consent/"
	}
	b, err := banner.New(banner.Options{Catalog: cat, Prefix: prefix, Operator: h.Operator,
		PolicyURL: h.PolicyURL, Contact: h.Contact, DefaultLang: h.DefaultLang, Texts: h.Texts, GoogleConsentMode: h.GoogleConsentMode,
		NoReopen: h.Reopen == "off", Theme: h.theme()})
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	appV, err := ctx.App("consent")
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	app := appV.(*App)
	var secret []byte
	if h.Secret != "" {
		if secret, err = configuredSecret(h.Secret); err != nil {
			return fmt.Errorf("consent: %w", err)
		}
	} else {
		secret = app.defaultSecret()
	}
	h.gw, err = gateway.New(gateway.Config{
		Catalog: cat, Banner: b, Store: app.st, Secret: secret,
		PolicyVersion: h.PolicyVersion, Prefix: prefix, Logger: log, RateLimit: h.RateLimit,
		ReplayCache: int(h.ReplayCache),
		CSP:         csp.Mode(h.CSP), CSPAllow: h.CSPAllow, CSPSeen: thirdParties,
		ClientIP: func(r *http.Request) string {
			// Caddy's client IP honours the server's trusted_proxies.
			ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
			return ip
		},
		Metrics: newMetrics(ctx),
	})
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	return nil
}

func (h *Handler) theme() banner.Theme {
	if h.Theme == nil {
		return banner.Theme{}
	}
	return *h.Theme
}

// check runs on a JSON config the checks the Caddyfile parser makes
// with file and line.
func (h *Handler) check() error {
	var errs []error
	if h.Prefix != "" {
		errs = append(errs, checkPrefix(h.Prefix))
	}
	if h.PolicyURL != "" {
		errs = append(errs, checkPolicyURL(h.PolicyURL))
	}
	if h.DefaultLang != "" {
		errs = append(errs, checkLang("default_lang", h.DefaultLang))
	}
	if h.GoogleConsentMode != "" {
		errs = append(errs, checkGoogleConsentMode(h.GoogleConsentMode))
	}
	if h.Reopen != "" {
		errs = append(errs, checkReopen(h.Reopen))
	}
	if h.CSP != "" {
		_, err := csp.ParseMode(h.CSP)
		errs = append(errs, err)
	}
	errs = append(errs, h.theme().Check())
	for lang, texts := range h.Texts {
		for key := range texts {
			errs = append(errs, checkText(lang, key))
		}
	}
	return errors.Join(errs...)
}

// ServeHTTP runs the gateway around the rest of the chain.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return h.gw.Serve(w, r, next.ServeHTTP)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
