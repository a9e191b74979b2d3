// Command kelisim is Caddy with every standard module and the Kelisim
// consent gateway compiled in. It takes Caddy's commands: run, validate,
// reload, hash-password, adapt, fmt, ...
package main

import (
	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/kelisim/kelisim"
)

func main() {
	caddy.CustomBinaryName = "kelisim"
	caddy.CustomLongDescription = `Kelisim is Caddy with a cookie-consent gateway compiled in: the consent
directive enforces each visitor's choice on the server, injects the
banner and keeps every decision as proof.

Your own site in five minutes:

	kelisim scan https://your.site/       # what it loads, and the processors line
	kelisim catalog yandex                # look up catalog ids
	kelisim validate --config Caddyfile   # checks everything, changes nothing
	kelisim run --config Caddyfile

Every Caddy command works too (run, reload, adapt, fmt, hash-password, ...).`
	caddycmd.Main()
}
