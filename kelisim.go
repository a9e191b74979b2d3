// Package kelisim is the consent gateway's Caddy plugin, for builds of
// Caddy that add it with
//
//	xcaddy build --with github.com/kelisim/kelisim
//
// or with one import line in their main package:
//
//	import _ "github.com/kelisim/kelisim"
//
// The module's work is in the plain Go packages beside this one; the
// Caddy adapter is package caddymodule.
package kelisim

import _ "github.com/kelisim/kelisim/caddymodule"
