package caddymodule

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves "third parties seen" on Caddy's admin endpoint (local
// by default), for `kelisim csp suggest`: GET /kelisim/third-parties.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.kelisim", New: func() caddy.Module { return new(adminAPI) }}
}

// Routes lists the admin routes.
func (adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{
		Pattern: "/kelisim/third-parties",
		Handler: caddy.AdminHandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if r.Method != http.MethodGet {
				return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("method not allowed")}
			}
			w.Header().Set("Content-Type", "application/json")
			return json.NewEncoder(w).Encode(thirdParties.List())
		}),
	}}
}

// Interface guard
var _ caddy.AdminRouter = adminAPI{}
