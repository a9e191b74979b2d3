// Command kelisim is Caddy with every standard module and the Kelisim
// consent gateway compiled in. It takes Caddy's commands: run, validate,
// reload, hash-password, adapt, fmt, ...
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/kelisim/kelisim"
)

func main() {
	caddycmd.Main()
}
