package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReplayThroughCaddy: the real binary, two consent sites in front of
// the same origin, one replaying (the default) and one with replay_cache
// off. Every demo page, asked for again, comes from the recording and is
// byte for byte what the rewriting site sends; a page changed on disk is
// what rewriting gives too, its new tracker blocked.
func TestReplayThroughCaddy(t *testing.T) {
	site := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(repoRoot, "examples", "nlg.kz")+"/.", site).CombinedOutput(); err != nil {
		t.Fatalf("copy demo site: %v\n%s", err, out)
	}
	op, on, off := freePort(t), freePort(t), freePort(t)
	cf := fmt.Sprintf(`{
	admin 127.0.0.1:{ADMIN}
	metrics
}
http://127.0.0.1:%d {
	root * %s
	file_server
}
http://127.0.0.1:%d {
	consent
	reverse_proxy 127.0.0.1:%d
}
http://127.0.0.1:%d {
	consent {
		replay_cache off
	}
	reverse_proxy 127.0.0.1:%d
}
`, op, site, on, op, off, op)
	onURL, offURL := fmt.Sprintf("http://127.0.0.1:%d", on), fmt.Sprintf("http://127.0.0.1:%d", off)
	g := startGateway(t, cf, "", onURL+"/_consent/kelisim.css", offURL+"/_consent/kelisim.css")
	pages := []string{"/", "/news.html", "/contacts.html", "/privacy.html", "/ru/", "/ru/contacts.html"}
	// The banner names the host it was served from: each site has its own.
	host := func(base, body string) string {
		return strings.ReplaceAll(body, strings.TrimPrefix(base, "http:"), "//gateway")
	}
	same := func(path string, hdr ...string) string {
		t.Helper()
		_, want := get(t, offURL+path, hdr...)
		want = host(offURL, want)
		for i := range 2 {
			if _, got := get(t, onURL+path, hdr...); host(onURL, got) != want {
				t.Fatalf("%s (request %d): replaying site sent %d bytes, rewriting site %d; they differ", path, i+1, len(got), len(want))
			}
		}
		return want
	}
	for _, p := range pages {
		same(p)
		same(p, "Accept-Language", "en")
	}
	replayed := metric(t, g, `kelisim_pages_replayed_total`)
	if replayed < float64(2*len(pages)) {
		t.Errorf("%v pages replayed, want at least %d", replayed, 2*len(pages))
	}

	index := filepath.Join(site, "index.html")
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	mid := strings.Index(string(b), "</main>")
	changed := string(b[:mid]) + `<script src="https://connect.facebook.net/en_US/fbevents.js"></script>` + string(b[mid:])
	if err := os.WriteFile(index, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if body := same("/"); !strings.Contains(body, `data-consent-processor="meta-pixel" data-src="https://connect.facebook.net`) {
		t.Error("tracker added to a replayed page not blocked")
	}
}

// metric reads a counter's total from the gateway's metrics endpoint.
func metric(t *testing.T, g *gateway, name string) float64 {
	t.Helper()
	_, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", g.admin))
	var sum float64
	for _, m := range regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`(\{[^}]*\})? ([0-9.e+]+)$`).FindAllStringSubmatch(body, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		sum += v
	}
	return sum
}
