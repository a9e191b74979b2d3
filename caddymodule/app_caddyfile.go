package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/kelisim/kelisim/catalog"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("consent", parseGlobalOption)
}

// parseGlobalOption sets up the consent app from the global options:
//
//	{
//	    consent {
//	        store embedded [<path>]
//	        store valkey <host:port...>
//	        store valkey {
//	            addresses       <host:port...>
//	            username        <name>
//	            password        <password|{env.VAR}>
//	            tls             [<ca_file>]
//	            tls_server_name <name>
//	            sentinel_master <name>
//	            key_prefix      <prefix>
//	        }
//	        retention <duration>
//	    }
//	}
func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	d.Next() // option name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		opt := d.Val()
		if seen[opt] {
			return nil, d.Errf("%s specified more than once", opt)
		}
		seen[opt] = true
		switch opt {
		case "store":
			sc, err := parseStore(d)
			if err != nil {
				return nil, err
			}
			app.Store = sc
		case "retention":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return nil, d.Errf("retention %q: want a positive duration such as 730d", v)
			}
			app.Retention = caddy.Duration(dur)
		default:
			return nil, d.Errf("unknown consent global option %q%s (want store or retention)", opt, catalog.DidYouMean(opt, []string{"store", "retention"}))
		}
	}
	return httpcaddyfile.App{Name: "consent", Value: caddyconfig.JSON(app, nil)}, nil
}

func parseStore(d *caddyfile.Dispenser) (*StoreConfig, error) {
	if !d.NextArg() {
		return nil, d.Errf("store needs a type: embedded or valkey")
	}
	sc := &StoreConfig{Type: d.Val()}
	switch sc.Type {
	case "embedded":
		if d.NextArg() {
			sc.Path = d.Val()
		}
		if d.NextArg() {
			return nil, d.ArgErr()
		}
		if d.NextBlock(d.Nesting()) {
			return nil, d.Errf("store embedded takes no block")
		}
		return sc, nil
	case "valkey", "redis":
		sc.Type = "valkey"
		sc.Addresses = d.RemainingArgs()
		for nesting := d.Nesting(); d.NextBlock(nesting); {
			field := d.Val()
			args := d.RemainingArgs()
			one := func(dst *string) error {
				if len(args) != 1 {
					return d.Errf("%s takes one value", field)
				}
				*dst = args[0]
				return nil
			}
			var err error
			switch field {
			case "addresses":
				if len(args) == 0 {
					return nil, d.ArgErr()
				}
				sc.Addresses = append(sc.Addresses, args...)
			case "username":
				err = one(&sc.Username)
			case "password":
				err = one(&sc.Password)
			case "tls":
				sc.TLS = true
				if len(args) > 1 {
					return nil, d.ArgErr()
				}
				if len(args) == 1 {
					sc.TLSCAFile = args[0]
				}
			case "tls_server_name":
				err = one(&sc.TLSServerName)
			case "sentinel_master":
				err = one(&sc.SentinelMaster)
			case "key_prefix":
				err = one(&sc.KeyPrefix)
			default:
				return nil, d.Errf("unknown valkey store field %q (want addresses, username, password, tls, tls_server_name, sentinel_master, key_prefix)", field)
			}
			if err != nil {
				return nil, err
			}
		}
		if len(sc.Addresses) == 0 {
			return nil, d.Errf("store valkey needs at least one address (host:port)")
		}
		for _, a := range sc.Addresses {
			if err := checkAddress(a); err != nil {
				return nil, d.Err(err.Error())
			}
		}
		return sc, nil
	}
	return nil, d.Errf("unknown store type %q (want embedded or valkey)", sc.Type)
}
