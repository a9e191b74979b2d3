#!/usr/bin/env bash
# Kelisim's test command: installs what the tests need when it is missing
# (Chromium for the browser tests, a Redis/Valkey server for the store
# tests), then runs gofmt, go vet and every test — the core packages under
# the race detector. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")"

sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v valkey-server >/dev/null || command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing: ${need[*]}"
	if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# axe-core, for the accessibility test of the banner, and the libraries
# the demo site uses (jQuery, Bootstrap), for the test that the client
# guard breaks no site script — all run inside Chromium.
if [ ! -f e2e/.axe/node_modules/axe-core/axe.min.js ] || [ ! -f e2e/.axe/node_modules/jquery/dist/jquery.min.js ] ||
	[ ! -f e2e/.axe/node_modules/bootstrap/dist/js/bootstrap.bundle.min.js ]; then
	command -v npm >/dev/null || { $sudo apt-get install -y -qq npm >/dev/null; }
	npm install --silent --no-audit --no-fund --prefix e2e/.axe axe-core@4 jquery@3.7.1 bootstrap@5 >/dev/null
fi

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
# End to end: the built binary in front of a real origin, a Valkey server
# killed and restarted under load, and real headless Chromium. Mostly
# waiting on the browser, so it runs beside the unit tests below.
e2e_log=$(mktemp)
go test -count=1 ./e2e/... >"$e2e_log" 2>&1 &
e2e_pid=$!
# The core packages under the race detector, the store against real
# Valkey/Redis servers (standalone, 3-node cluster, Sentinel) that the
# tests start; the thin Caddy wiring without it (instrumenting all of
# Caddy for its few tests would double a cold run).
wiring='^github.com/kelisim/kelisim(/caddymodule|/cmd/kelisim)?$'
unit=0
go test -race -count=1 $(go list ./... | grep -v /e2e | grep -Ev "$wiring") || unit=$?
go test -count=1 $(go list ./... | grep -E "$wiring") || unit=$?
e2e=0
wait "$e2e_pid" || e2e=$?
cat "$e2e_log"
rm -f "$e2e_log"
[ "$unit" = 0 ] && [ "$e2e" = 0 ]
