package caddymodule

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	t.Setenv("KELISIM_SECRET", "0123456789abcdef0123")
	d := caddyfile.NewTestDispenser(`consent {
		policy_version 2024-05
		prefix /cc/
		secret {env.KELISIM_SECRET}
		operator "NLG.KZ LLP"
		policy_url /privacy.html
		default_lang ru
		necessary www.google.com/recaptcha/ cdn.example.kz
		text en title "Cookies & <you>"
		processor google-tag-manager {
			category marketing
		}
		processor own-widget {
			name Own widget
			category functional
			country KZ
			hosts widget.example.kz
			cookies ow_id ow_*
			snippets OwnWidget.init(
		}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h)
	want := `{"policy_version":"2024-05","prefix":"/cc/","secret":"{env.KELISIM_SECRET}","operator":"NLG.KZ LLP","policy_url":"/privacy.html","default_lang":"ru",` +
		`"processor":[{"id":"google-tag-manager","category":"marketing"},{"id":"own-widget","name":"Own widget","country":"KZ","category":"functional","hosts":["widget.example.kz"],"cookies":["ow_id","ow_*"],"snippets":["OwnWidget.init("]}],` +
		`"necessary":["www.google.com/recaptcha/","cdn.example.kz"],"text":{"en":{"title":"Cookies \u0026 \u003cyou\u003e"}}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestBareDirective(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`consent`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(h); string(got) != "{}" {
		t.Errorf("bare consent = %s", got)
	}
}

// TestCaddyfileOptions: each sub-directive lands in its JSON field, whose
// name is the sub-directive's (what `caddy adapt` users see).
func TestCaddyfileOptions(t *testing.T) {
	t.Setenv("KELISIM_TEST_SECRET", "a-secret-of-twenty-chars")
	for _, c := range []struct{ in, want string }{
		{`policy_version 7`, `"policy_version":"7"`},
		{`prefix /cc/`, `"prefix":"/cc/"`},
		{`secret {env.KELISIM_TEST_SECRET}`, `"secret":"{env.KELISIM_TEST_SECRET}"`},
		{`secret 0123456789abcdef`, `"secret":"0123456789abcdef"`},
		{`operator NLG`, `"operator":"NLG"`},
		{`contact dpo@nlg.kz +7 727 000`, `"contact":"dpo@nlg.kz +7 727 000"`},
		{`policy_url https://nlg.kz/privacy`, `"policy_url":"https://nlg.kz/privacy"`},
		{`default_lang en`, `"default_lang":"en"`},
		{"necessary a.kz\n necessary b.kz/x/", `"necessary":["a.kz","b.kz/x/"]`},
		{"processors yandex-metrica\n processors hotjar", `"processors":["yandex-metrica","hotjar"]`},
		{"processors own\n processor own {\n category analytics\n hosts own.kz\n }", `"processors":["own"]`},
		{`google_consent_mode off`, `"google_consent_mode":"off"`},
		{`reopen off`, `"reopen":"off"`},
		{"theme {\n accent \"#1B5E20\"\n radius 12px\n position bottom-right\n font inherit\n dark off\n }", `"theme":{"accent":"#1B5E20","radius":"12px","position":"bottom-right","font":"inherit","dark":"off"}`},
		{`text kk title Cookie`, `"text":{"kk":{"title":"Cookie"}}`},
		{`rate_limit 30`, `"rate_limit":30`},
		{`rate_limit off`, `"rate_limit":-1`},
		{`replay_cache 1MiB`, `"replay_cache":1048576`},
		{`csp enforce`, `"csp":"enforce"`},
		{"csp allow cdn.example.com *.static.example.net\n csp allow cdn.jsdelivr.net/npm/bootstrap@5/", `"csp_allow":["cdn.example.com","*.static.example.net","cdn.jsdelivr.net/npm/bootstrap@5/"]`},
		{`replay_cache off`, `"replay_cache":-1`},
		{"processor hotjar {\n country IE\n cookies _hj*\n }", `"processor":[{"id":"hotjar","country":"IE","cookies":["_hj*"]}]`},
		{"processor w {\n name W  widget\n company W LLP\n category functional\n country KZ\n policy_url https://w.kz/p\n hosts w.kz\n snippets W.init(\n }",
			`"processor":[{"id":"w","name":"W widget","company":"W LLP","country":"KZ","category":"functional","policy_url":"https://w.kz/p","hosts":["w.kz"],"snippets":["W.init("]}]`},
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("consent {\n" + c.in + "\n}")); err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got, _ := json.Marshal(h); !strings.Contains(string(got), c.want) {
			t.Errorf("%q: got %s, want it to hold %s", c.in, got, c.want)
		}
	}
}

// TestCaddyfileErrors: every mistake is an error naming the file and the
// line it is on, with what was wrong and, where one exists, the fix.
func TestCaddyfileErrors(t *testing.T) {
	t.Setenv("KELISIM_SHORT", "short")
	os.Unsetenv("KELISIM_UNSET_FOR_TEST")
	for _, c := range []struct {
		in   string
		line int
		want string
	}{
		{"consent on", 1, "wrong argument count"},
		{"consent {\n csp enforse\n}", 2, `csp "enforse": want report-only, enforce or off (did you mean enforce?)`},
		{"consent {\n csp\n}", 2, "csp wants report-only, enforce, off, or allow <host...>"},
		{"consent {\n csp allow\n}", 2, "csp allow wants hosts"},
		{"consent {\n csp enforce\n csp off\n}", 3, "csp off: the mode is already enforce"},
		{"consent {\n csp enforce cdn.example.com\n}", 2, "csp allow <host...>"},
		{"consent {\n policy_version 1\n csp allow cdn.example.com *.yandex.ru\n}", 3, `csp allow "*.yandex.ru" lets in Yandex`},
		{"consent {\n csp allow cdn.jsdelivr.net\n}", 2, `lets in Yandex Metrica (cdn.jsdelivr.net/npm/yandex-metrica-watch/, analytics)`},
		{"consent {\n policy_verison 1\n}", 2, `unknown consent option "policy_verison" (did you mean policy_version?)`},
		{"consent {\n policy_version 1\n policy_version 2\n}", 3, "more than once"},
		{"consent {\n policy_version\n}", 2, "wrong argument count"},
		{"consent {\n prefix consent\n}", 2, "must start and end with /"},
		{"consent {\n prefix /a/ /b/\n}", 2, "wrong argument count"},
		{"consent {\n secret tooshort\n}", 2, "at least 16 characters"},
		{"consent {\n secret {env.KELISIM_SHORT}\n}", 2, "openssl rand -hex 32"},
		{"consent {\n secret {env.KELISIM_UNSET_FOR_TEST}\n}", 2, "is the environment variable set?"},
		{"consent {\n operator\n}", 2, "wrong argument count"},
		{"consent {\n contact\n}", 2, "wrong argument count"},
		{"consent {\n policy_url privacy.html\n}", 2, "want a path on this site"},
		{"consent {\n default_lang de\n}", 2, `default_lang: unknown language "de"`},
		{"consent {\n\n processors yandex-metrika\n}", 3, "(did you mean yandex-metrica?)"},
		{"consent {\n processors\n}", 2, "wrong argument count"},
		{"consent {\n processors own\n processor other {\n category analytics\n hosts o.kz\n }\n}", 2, `processors: "own" is not in the catalog`},
		{"consent {\n google_consent_mode yes\n}", 2, "want on, off or auto"},
		{"consent {\n reopen never\n}", 2, "reopen \"never\": want on or off"},
		{"consent {\n theme {\n radius 4px\n accent ffcc00\n }\n}", 4, "contrast of 1.5:1, WCAG AA needs 4.5:1; #8e7200 (the same hue, darker) would pass"},
		{"consent {\n theme {\n accent blue\n }\n}", 3, "want a colour as #rgb or #rrggbb"},
		{"consent {\n theme {\n accent #0b57d0\n }\n}", 3, "# starts a comment"},
		{"consent {\n theme {\n positon center\n }\n}", 3, "(did you mean position?)"},
		{"consent {\n theme {\n font comic sans\n }\n}", 3, "theme font takes one value"},
		{"consent {\n theme {\n accent 1b5e20\n dark always\n }\n}", 4, `theme dark "always": want auto, on or off`},
		{"consent {\n text kk titel Cookie\n}", 2, `unknown key "titel" (did you mean title?)`},
		{"consent {\n text de title Cookie\n}", 2, `unknown language "de"`},
		{"consent {\n text kk title\n}", 2, "text wants <lang> <key> <text>"},
		{"consent {\n rate_limit many\n}", 2, "want a positive number"},
		{"consent {\n rate_limit 0\n}", 2, "want a positive number"},
		{"consent {\n replay_cache lots\n}", 2, "want a size such as 32MiB"},
		{"consent {\n necessary *\n}", 2, "bad URL pattern"},
		{"consent {\n necessary\n}", 2, "wrong argument count"},
		{"consent {\n processor {\n }\n}", 2, "processor needs an id"},
		{"consent {\n processor a b {\n }\n}", 2, "wrong argument count"},
		{"consent {\n processor w {\n category ads\n hosts w.kz\n }\n}", 3, `unknown category "ads"`},
		{"consent {\n processor w {\n category necessary\n hosts w.kz\n }\n}", 3, "hosts that must never be blocked go in `necessary`"},
		{"consent {\n processor w {\n hosts w.kz\n }\n}", 4, "needs a category"},
		{"consent {\n processor w {\n category analytics\n }\n}", 4, "needs hosts"},
		{"consent {\n processor w {\n category analytics\n urls w.kz\n }\n}", 4, `unknown field "urls"`},
		{"consent {\n processor w {\n category analytics\n country\n }\n}", 4, "country needs a value"},
		{"consent {\n processor w {\n category analytics\n country KZ RU\n }\n}", 4, "country takes one value"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.in))
		if err == nil {
			t.Errorf("%q: accepted", c.in)
			continue
		}
		if at := fmt.Sprintf("Testfile:%d", c.line); !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), at) {
			t.Errorf("%q:\n got  %v\n want %q at %s", c.in, err, c.want, at)
		}
	}
}

// TestGlobalOption: the store and retention settings, and their mistakes.
func TestGlobalOption(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"consent", `{}`},
		{"consent {\n store embedded\n}", `{"store":{"type":"embedded"}}`},
		{"consent {\n store embedded /var/lib/k/c.db\n}", `{"store":{"type":"embedded","path":"/var/lib/k/c.db"}}`},
		{"consent {\n store valkey 10.0.0.5:6379 [::1]:6380\n}", `{"store":{"type":"valkey","addresses":["10.0.0.5:6379","[::1]:6380"]}}`},
		{"consent {\n store redis {\n addresses {env.VALKEY_ADDR}\n username k\n password {env.P}\n tls /ca.pem\n tls_server_name v.internal\n sentinel_master m\n key_prefix x:\n }\n retention 90d\n}",
			`{"store":{"type":"valkey","addresses":["{env.VALKEY_ADDR}"],"username":"k","password":"{env.P}","tls":true,"tls_ca_file":"/ca.pem","tls_server_name":"v.internal","sentinel_master":"m","key_prefix":"x:"},"retention":7776000000000000}`},
	} {
		v, err := parseGlobalOption(caddyfile.NewTestDispenser(c.in), nil)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := string(v.(httpcaddyfile.App).Value); got != c.want {
			t.Errorf("%q:\n got  %s\n want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		line int
		want string
	}{
		{"consent on", 1, "wrong argument count"},
		{"consent {\n stor embedded\n}", 2, `unknown consent global option "stor" (did you mean store?)`},
		{"consent {\n store\n}", 2, "store needs a type"},
		{"consent {\n store mongo db:1\n}", 2, `unknown store type "mongo"`},
		{"consent {\n store embedded a b\n}", 2, "wrong argument count"},
		{"consent {\n store valkey not-a-host-port\n}", 2, `valkey address "not-a-host-port": want host:port`},
		{"consent {\n store valkey host:port\n}", 2, "want host:port"},
		{"consent {\n store valkey {\n username u\n }\n}", 4, "needs at least one address"},
		{"consent {\n store valkey 127.0.0.1:6379 {\n passwd x\n }\n}", 3, `unknown valkey store field "passwd"`},
		{"consent {\n store valkey 127.0.0.1:6379 {\n username a b\n }\n}", 3, "username takes one value"},
		{"consent {\n retention forever\n}", 2, `retention "forever"`},
		{"consent {\n retention 30d\n retention 60d\n}", 3, "more than once"},
	} {
		_, err := parseGlobalOption(caddyfile.NewTestDispenser(c.in), nil)
		if at := fmt.Sprintf("Testfile:%d", c.line); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), at) {
			t.Errorf("%q:\n got  %v\n want %q at %s", c.in, err, c.want, at)
		}
	}
}
