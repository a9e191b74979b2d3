package caddymodule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/kelisim/kelisim/banner"
	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/csp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("consent", parseCaddyfile)
	// Like templates, an HTML rewriter sits after encode, so a bare
	// `consent` line works with no global order option.
	httpcaddyfile.RegisterDirectiveOrder("consent", httpcaddyfile.After, "encode")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var c Handler
	err := c.UnmarshalCaddyfile(h.Dispenser)
	return &c, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	consent {
//	    policy_version <version>
//	    prefix         <path/>
//	    secret         <secret|{env.VAR}>
//	    operator       <name shown in the banner>
//	    policy_url     <url of the privacy policy>
//	    contact        <how to reach the operator about personal data>
//	    default_lang   kk|ru|en
//	    necessary      <host[/path]...>
//	    processors     <id...>
//	    google_consent_mode on|off|auto
//	    reopen         on|off
//	    theme {
//	        accent   <#rrggbb: 4.5:1 with white text>
//	        radius   <length, e.g. 12px>
//	        position bottom|bottom-left|bottom-right|center
//	        font     system|inherit
//	        dark     auto|on|off
//	    }
//	    text           <kk|ru|en> <key> <text>
//	    rate_limit     <decisions per minute per address>|off
//	    replay_cache   <size, e.g. 32MiB>|off
//	    csp            report-only|enforce|off
//	    csp allow      <host[/path]...>
//	    processor <id> {
//	        name       <display name>
//	        company    <legal entity>
//	        category   functional|analytics|marketing
//	        country    <ISO 3166-1 alpha-2>
//	        policy_url <url>
//	        hosts      <host[/path-prefix]...>
//	        cookies    <name|prefix*...>
//	        snippets   <inline loader signature...>
//	    }
//	}
//
// A bare `consent` uses the built-in catalog, the embedded store and a
// secret kept in Caddy's data directory.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	var unknown []pendingID
	for d.NextBlock(0) {
		sub := d.Val()
		if sub != "processor" && sub != "necessary" && sub != "text" && sub != "processors" && sub != "csp" {
			if seen[sub] {
				return d.Errf("%s specified more than once", sub)
			}
			seen[sub] = true
		}
		switch sub {
		case "policy_version":
			if !d.AllArgs(&h.PolicyVersion) {
				return d.ArgErr()
			}
		case "prefix":
			if !d.AllArgs(&h.Prefix) {
				return d.ArgErr()
			}
			if err := checkPrefix(h.Prefix); err != nil {
				return d.Err(err.Error())
			}
		case "secret":
			if !d.AllArgs(&h.Secret) {
				return d.ArgErr()
			}
			if err := checkSecret(h.Secret); err != nil {
				return d.Err(err.Error())
			}
		case "operator":
			if !d.AllArgs(&h.Operator) {
				return d.ArgErr()
			}
		case "contact":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			h.Contact = strings.Join(args, " ")
		case "policy_url":
			if !d.AllArgs(&h.PolicyURL) {
				return d.ArgErr()
			}
			if err := checkPolicyURL(h.PolicyURL); err != nil {
				return d.Err(err.Error())
			}
		case "default_lang":
			if !d.AllArgs(&h.DefaultLang) {
				return d.ArgErr()
			}
			if err := checkLang("default_lang", h.DefaultLang); err != nil {
				return d.Err(err.Error())
			}
		case "processors":
			ids := d.RemainingArgs()
			if len(ids) == 0 {
				return d.ArgErr()
			}
			file, line := d.File(), d.Line()
			for _, id := range ids {
				// Checked at the end of the block, where every processor
				// block is known; the error keeps this line.
				unknown = append(unknown, pendingID{id, func(err error) error {
					return fmt.Errorf("%w, at %s:%d", err, file, line)
				}})
			}
			h.Shown = append(h.Shown, ids...)
		case "google_consent_mode":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			if err := checkGoogleConsentMode(v); err != nil {
				return d.Err(err.Error())
			}
			h.GoogleConsentMode = v
		case "theme":
			th, err := parseTheme(d)
			if err != nil {
				return err
			}
			h.Theme = th
		case "reopen":
			if !d.AllArgs(&h.Reopen) {
				return d.ArgErr()
			}
			if err := checkReopen(h.Reopen); err != nil {
				return d.Err(err.Error())
			}
		case "rate_limit":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			if v == "off" {
				h.RateLimit = -1
				break
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return d.Errf("rate_limit %q: want a positive number of decisions per minute, or off", v)
			}
			h.RateLimit = n
		case "replay_cache":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			if v == "off" {
				h.ReplayCache = -1
				break
			}
			n, err := humanize.ParseBytes(v)
			if err != nil || n == 0 || n > 1<<40 {
				return d.Errf("replay_cache %q: want a size such as 32MiB, or off", v)
			}
			h.ReplayCache = int64(n)
		case "csp":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("csp wants report-only, enforce, off, or allow <host...>")
			}
			if args[0] == "allow" {
				if len(args) == 1 {
					return d.Errf("csp allow wants hosts, e.g. csp allow cdn.example.com fonts.example.net")
				}
				for _, a := range args[1:] {
					if err := csp.CheckAllow(builtinCatalog(), a); err != nil {
						return d.Err(err.Error())
					}
				}
				h.CSPAllow = append(h.CSPAllow, args[1:]...)
				break
			}
			if len(args) > 1 {
				return d.Errf("csp %s takes no more arguments (hosts go on a line of their own: csp allow <host...>)", args[0])
			}
			if _, err := csp.ParseMode(args[0]); err != nil {
				return d.Errf("%v%s", err, catalog.DidYouMean(args[0], []string{"report-only", "enforce", "off", "allow"}))
			}
			if h.CSP != "" {
				return d.Errf("csp %s: the mode is already %s", args[0], h.CSP)
			}
			h.CSP = args[0]
		case "necessary":
			hosts := d.RemainingArgs()
			if len(hosts) == 0 {
				return d.ArgErr()
			}
			for _, host := range hosts {
				if _, err := catalog.Compile(nil, []string{host}); err != nil {
					return d.Errf("necessary %s: %v", host, err)
				}
			}
			h.NecessaryHosts = append(h.NecessaryHosts, hosts...)
		case "text":
			args := d.RemainingArgs()
			if len(args) != 3 {
				return d.Errf("text wants <lang> <key> <text>")
			}
			if err := checkText(args[0], args[1]); err != nil {
				return d.Err(err.Error())
			}
			if h.Texts == nil {
				h.Texts = map[string]map[string]string{}
			}
			if h.Texts[args[0]] == nil {
				h.Texts[args[0]] = map[string]string{}
			}
			h.Texts[args[0]][args[1]] = args[2]
		case "processor":
			p, err := parseProcessor(d)
			if err != nil {
				return err
			}
			h.Processors = append(h.Processors, p)
		default:
			return d.Errf("unknown consent option %q%s", sub, catalog.DidYouMean(sub, options))
		}
	}
	return checkShown(h, unknown)
}

// options are the consent directive's sub-directives.
var options = []string{"policy_version", "prefix", "secret", "operator", "contact", "policy_url", "default_lang",
	"necessary", "processors", "google_consent_mode", "reopen", "theme", "text", "rate_limit", "replay_cache", "csp", "processor"}

// pendingID is an id of a `processors` line, with the error that points
// at the line should it be in no catalog.
type pendingID struct {
	id   string
	wrap func(error) error
}

// checkShown fails on the first id of a `processors` line that neither
// the built-in catalog nor a processor block defines.
func checkShown(h *Handler, ids []pendingID) error {
	var known []string
	for _, p := range catalog.Merge(catalog.Builtin(), h.Processors) {
		known = append(known, p.ID)
	}
	for _, p := range ids {
		if !slices.Contains(known, p.id) {
			return p.wrap(fmt.Errorf("processors: %q is not in the catalog%s; `kelisim catalog` lists the catalog, a processor block adds to it",
				p.id, catalog.DidYouMean(p.id, known)))
		}
	}
	return nil
}

// parseProcessor reads a processor block; an override of a built-in entry
// may name only the fields it changes.
func parseProcessor(d *caddyfile.Dispenser) (catalog.Processor, error) {
	var p catalog.Processor
	if !d.NextArg() {
		return p, d.Errf("processor needs an id, e.g. processor my-widget { ... }")
	}
	p.ID = d.Val()
	if d.NextArg() {
		return p, d.ArgErr()
	}
	builtin := false
	for _, b := range catalog.Builtin() {
		if b.ID == p.ID {
			builtin = true
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		field := d.Val()
		args := d.RemainingArgs()
		if len(args) == 0 {
			return p, d.Errf("processor %s: %s needs a value", p.ID, field)
		}
		one := func() (string, error) {
			if len(args) != 1 {
				return "", d.Errf("processor %s: %s takes one value", p.ID, field)
			}
			return args[0], nil
		}
		var err error
		switch field {
		case "name":
			p.Name = strings.Join(args, " ")
		case "company":
			p.Company = strings.Join(args, " ")
		case "category":
			var v string
			if v, err = one(); err == nil {
				c, perr := catalog.ParseCategory(v)
				if perr != nil || c == catalog.Necessary {
					return p, d.Errf("processor %s: unknown category %q (want functional, analytics or marketing; hosts that must never be blocked go in `necessary`)", p.ID, v)
				}
				p.Category = c
			}
		case "country":
			p.Country, err = one()
		case "policy_url":
			p.PolicyURL, err = one()
		case "hosts":
			p.URLs = append(p.URLs, args...)
		case "cookies":
			p.Cookies = append(p.Cookies, args...)
		case "snippets":
			p.Snippets = append(p.Snippets, args...)
		default:
			return p, d.Errf("processor %s: unknown field %q (want name, company, category, country, policy_url, hosts, cookies, snippets)", p.ID, field)
		}
		if err != nil {
			return p, err
		}
	}
	// Check what can be checked now, so `kelisim validate` points here.
	check := p
	if builtin {
		for _, m := range catalog.Merge(catalog.Builtin(), []catalog.Processor{p}) {
			if m.ID == p.ID {
				check = m
			}
		}
	} else if p.Category == "" {
		return p, d.Errf("processor %s: a new processor needs a category (functional, analytics or marketing)", p.ID)
	} else if len(p.URLs) == 0 && len(p.Snippets) == 0 {
		return p, d.Errf("processor %s: a new processor needs hosts (or snippets) to recognise it by", p.ID)
	}
	if err := check.Validate(); err != nil {
		return p, d.Errf("%v", err)
	}
	return p, nil
}

// parseTheme reads a theme block; each setting is checked on its line.
func parseTheme(d *caddyfile.Dispenser) (*banner.Theme, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	th := &banner.Theme{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		field := d.Val()
		var v string
		if !d.AllArgs(&v) {
			if field == "accent" && !d.NextArg() {
				// "accent #0b57d0" reads as accent and a comment.
				return nil, d.Errf(`theme accent needs a colour; in a Caddyfile # starts a comment: write "#0b57d0" (quoted) or 0b57d0`)
			}
			return nil, d.Errf("theme %s takes one value", field)
		}
		var one banner.Theme
		switch field {
		case "accent":
			if !strings.HasPrefix(v, "#") {
				v = "#" + v
			}
			th.Accent, one.Accent = v, v
		case "radius":
			th.Radius, one.Radius = v, v
		case "position":
			th.Position, one.Position = v, v
		case "font":
			th.Font, one.Font = v, v
		case "dark":
			th.Dark, one.Dark = v, v
		default:
			return nil, d.Errf("unknown theme setting %q%s (want accent, radius, position, font, dark)", field,
				catalog.DidYouMean(field, []string{"accent", "radius", "position", "font", "dark"}))
		}
		if err := one.Check(); err != nil {
			return nil, d.Err(err.Error())
		}
	}
	return th, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)

// builtinCatalog is the built-in catalog compiled, for checks made at
// parse time (the site's own processors come later in the block; the
// gateway checks against them at start).
var builtinCatalog = sync.OnceValue(func() *catalog.Catalog {
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		panic("caddymodule: built-in catalog: " + err.Error()) // tested in package catalog
	}
	return c
})
