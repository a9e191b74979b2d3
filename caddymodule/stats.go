package caddymodule

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/kelisim/kelisim/stats"
)

func init() {
	caddy.RegisterModule(Stats{})
	httpcaddyfile.RegisterHandlerDirective("consent_stats", parseStatsCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("consent_stats", httpcaddyfile.Before, "respond")
}

// Stats serves consent statistics from the consent app's store: a
// dashboard, ?format=json, ?format=csv, and ?consent=<id> for one
// visitor's proof records; and the third parties the sites' policies
// reported. It has no login of its own and refuses to answer unless
// Caddy's basic_auth (or another authentication handler) has
// authenticated the request first:
//
//	route /consent-stats* {
//	    basic_auth {
//	        marketing <bcrypt hash from `kelisim hash-password`>
//	    }
//	    consent_stats
//	}
type Stats struct {
	h *stats.Handler
}

// CaddyModule returns the Caddy module information.
func (Stats) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.consent_stats",
		New: func() caddy.Module { return new(Stats) },
	}
}

// Provision attaches the shared store.
func (s *Stats) Provision(ctx caddy.Context) error {
	app, err := ctx.App("consent")
	if err != nil {
		return fmt.Errorf("consent_stats: %w", err)
	}
	s.h = &stats.Handler{Store: app.(*App).st, Authenticated: authenticated, ThirdParties: thirdParties.List}
	return nil
}

// authenticated reports whether an authentication handler earlier in the
// route set the user ID, as basic_auth does.
func authenticated(r *http.Request) bool {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return false
	}
	id, _ := repl.GetString("http.auth.user.id")
	return id != ""
}

// ServeHTTP answers the request; it never calls next.
func (s *Stats) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	// A failure goes to Caddy's error handling (its log, the site's
	// handle_errors): a store error's text never reaches the response.
	if err := s.h.Serve(w, r); err != nil {
		var e *stats.Error
		if errors.As(err, &e) {
			return caddyhttp.Error(e.Code, e.Err)
		}
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	return nil
}

func parseStatsCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(Stats)
	err := s.UnmarshalCaddyfile(h.Dispenser)
	return s, err
}

// UnmarshalCaddyfile parses `consent_stats`, which takes no arguments.
func (s *Stats) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(0) {
		return d.Errf("consent_stats takes no options")
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Stats)(nil)
	_ caddyhttp.MiddlewareHandler = (*Stats)(nil)
	_ caddyfile.Unmarshaler       = (*Stats)(nil)
)
