package e2e

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func postJSON(t *testing.T, url, body, cookie string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

func cookieOf(res *http.Response) string {
	for _, c := range res.Cookies() {
		if c.Name == "kelisim" {
			return "kelisim=" + c.Value
		}
	}
	return ""
}

// TestBareConsentLine: one `consent` line, no global order option, no
// settings — and consent cookies and records survive a restart because the
// secret and the store live in Caddy's data directory.
func TestBareConsentLine(t *testing.T) {
	op, gp := freePort(t), freePort(t)
	cf := fmt.Sprintf(`
http://127.0.0.1:%d {
	root * examples/nlg.kz
	file_server
}
http://127.0.0.1:%d {
	consent
	reverse_proxy 127.0.0.1:%d
}
`, op, gp, op)
	data := t.TempDir()
	gwURL := fmt.Sprintf("http://127.0.0.1:%d", gp)
	g := startGateway(t, cf, data, gwURL+"/")
	_, body := get(t, gwURL+"/")
	if !strings.Contains(body, "data-consent-banner") || strings.Contains(body, `<script async src="https://www.googletagmanager.com`) {
		t.Fatalf("bare consent line did not enforce:\n%.2000s", body)
	}
	if _, err := os.Stat(filepath.Join(data, "caddy", "kelisim", "secret")); err != nil {
		t.Errorf("secret not kept in the data dir: %v", err)
	}
	// Validating the running config (same data dir) neither waits on the
	// store's lock nor fails.
	v := exec.Command(build(t), "validate", "--config", g.config)
	v.Env = append(os.Environ(), "XDG_DATA_HOME="+data, "HOME="+data)
	start := time.Now()
	if out, err := v.CombinedOutput(); err != nil || time.Since(start) > 3*time.Second {
		t.Errorf("validate beside a running instance: %v after %v\n%s", err, time.Since(start), out)
	}
	res, out := postJSON(t, gwURL+"/_consent/consent", `{"action":"accept-all"}`, "")
	cookie := cookieOf(res)
	if res.StatusCode != 200 || cookie == "" {
		t.Fatalf("consent post: %d %v", res.StatusCode, out)
	}
	g.stop()

	startGateway(t, cf, data, gwURL+"/")
	_, body = get(t, gwURL+"/", "Cookie", cookie)
	if strings.Contains(body, "data-consent-banner") {
		t.Error("consent cookie no longer valid after a restart")
	}
	_, hist := get(t, gwURL+"/_consent/consent", "Cookie", cookie)
	if !strings.Contains(hist, `"action":"accept-all"`) || !strings.Contains(hist, out["id"].(string)) {
		t.Errorf("record lost across restart: %s", hist)
	}
}

// TestValidateReportsFileAndLine: config mistakes fail `kelisim validate`
// with the file and line.
func TestValidateReportsFileAndLine(t *testing.T) {
	bin := build(t)
	for name, c := range map[string]struct{ body, want string }{
		"unknown option":   {"consent {\n\tpolicy_verison 1\n}", `unknown consent option "policy_verison"`},
		"bad category":     {"consent {\n\tprocessor w {\n\t\tcategory ads\n\t\thosts w.example.kz\n\t}\n}", `unknown category "ads"`},
		"new needs cat":    {"consent {\n\tprocessor w {\n\t\thosts w.example.kz\n\t}\n}", "needs a category"},
		"extra argument":   {"consent {\n\tprefix /a/ /b/\n}", "wrong argument count"},
		"bad prefix":       {"consent {\n\tprefix consent\n}", "must start and end with /"},
		"bad necessary":    {"consent {\n\tnecessary *\n}", "bad URL pattern"},
		"duplicate option": {"consent {\n\tpolicy_version 1\n\tpolicy_version 2\n}", "more than once"},
		"bad language":     {"consent {\n\tdefault_lang de\n}", `default_lang: unknown language "de"`},
		"argument on line": {"consent on", "wrong argument count"},
		"store type":       {"GLOBAL{\n\tconsent {\n\t\tstore mongo db:1\n\t}\n}", `unknown store type "mongo"`},
		"store address":    {"GLOBAL{\n\tconsent {\n\t\tstore valkey {\n\t\t\tusername u\n\t\t}\n\t}\n}", "needs at least one address"},
		"store field":      {"GLOBAL{\n\tconsent {\n\t\tstore valkey 127.0.0.1:6379 {\n\t\t\tpasswd x\n\t\t}\n\t}\n}", `unknown valkey store field "passwd"`},
		"retention":        {"GLOBAL{\n\tconsent {\n\t\tretention forever\n\t}\n}", `retention "forever"`},
		"processor typo":   {"consent {\n\tprocessors yandex-metrika\n}", "did you mean yandex-metrica?"},
		"short secret":     {"consent {\n\tsecret hunter2\n}", "at least 16 characters"},
		"unset env secret": {"consent {\n\tsecret {env.KELISIM_NEVER_SET}\n}", "is the environment variable set?"},
		"valkey address":   {"GLOBAL{\n\tconsent {\n\t\tstore valkey not-a-host-port\n\t}\n}", "want host:port"},
		"theme accent":     {"consent {\n\ttheme {\n\t\taccent ffcc00\n\t}\n}", "WCAG AA needs 4.5:1; #8e7200"},
		"csp mode":         {"consent {\n\tcsp enforsed\n}", "did you mean enforce?"},
		"csp allow":        {"consent {\n\tcsp allow *.yandex.ru\n}", `csp allow "*.yandex.ru" lets in Yandex`},
	} {
		t.Run(name, func(t *testing.T) {
			cf := filepath.Join(t.TempDir(), "Caddyfile")
			cfg := "http://127.0.0.1:1 {\n" + c.body + "\n\trespond ok\n}\n"
			if g, ok := strings.CutPrefix(c.body, "GLOBAL"); ok {
				cfg = g + "\nhttp://127.0.0.1:1 {\n\tconsent\n\trespond ok\n}\n"
			}
			os.WriteFile(cf, []byte(cfg), 0o644)
			cmd := exec.Command(bin, "validate", "--config", cf)
			cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("validate accepted a bad config:\n%s", out)
			}
			msg := strings.ReplaceAll(string(out), `\"`, `"`)
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, cf+":") {
				t.Errorf("error lacks %q or the file:line:\n%s", c.want, out)
			}
		})
	}
}

// TestStandardCaddyCommands: the binary is Caddy with the module in it.
func TestStandardCaddyCommands(t *testing.T) {
	bin := build(t)
	out, err := exec.Command(bin, "list-modules").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "http.handlers.consent") || !strings.Contains(string(out), "http.handlers.file_server") ||
		!strings.Contains(string(out), "http.authentication.providers.http_basic") {
		t.Errorf("list-modules: %v\n%.500s", err, out)
	}
	out, err = exec.Command(bin, "hash-password", "--plaintext", "s3cret").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "$2a$") {
		t.Errorf("hash-password: %v %s", err, out)
	}
}

// TestReloadChangesPolicyVersion: `kelisim reload` applies a new policy
// version; consents given under the old one count as none.
func TestReloadChangesPolicyVersion(t *testing.T) {
	op, gp := freePort(t), freePort(t)
	tmpl := `
http://127.0.0.1:%d {
	respond "<!doctype html><html><head></head><body>hi</body></html>" {
		close
	}
	header Content-Type "text/html; charset=utf-8"
}
http://127.0.0.1:%d {
	consent {
		policy_version %s
	}
	reverse_proxy 127.0.0.1:%d
}
`
	gwURL := fmt.Sprintf("http://127.0.0.1:%d", gp)
	g := startGateway(t, fmt.Sprintf(tmpl, op, gp, "v1", op), "", gwURL+"/")
	res, _ := postJSON(t, gwURL+"/_consent/consent", `{"action":"accept-all"}`, "")
	cookie := cookieOf(res)
	if _, body := get(t, gwURL+"/", "Cookie", cookie); strings.Contains(body, "data-consent-banner") {
		t.Fatal("fresh consent not honoured")
	}
	os.WriteFile(g.config, []byte(fmt.Sprintf("{\n\tadmin 127.0.0.1:%d\n}\n", g.admin)+fmt.Sprintf(tmpl, op, gp, "v2", op)), 0o644)
	cmd := exec.Command(build(t), "reload", "--config", g.config, "--address", fmt.Sprintf("127.0.0.1:%d", g.admin))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	if _, body := get(t, gwURL+"/", "Cookie", cookie); !strings.Contains(body, "data-consent-banner") {
		t.Error("consent under the old policy version still honoured after reload")
	}
}

// TestEncodeCompressesRewrittenPages: with `encode` in the site block the
// rewritten page reaches the visitor compressed.
func TestEncodeCompressesRewrittenPages(t *testing.T) {
	_, gw, _ := demo(t, "")
	req, _ := http.NewRequest("GET", gw+"/news.html", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("rewritten page not compressed: %v", res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.Contains(string(body), "data-consent-banner") {
		t.Error("compressed page lacks the banner")
	}
}
