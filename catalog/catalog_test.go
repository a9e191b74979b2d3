package catalog_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/internal/oracle"
	"github.com/kelisim/kelisim/rewrite"
)

func builtin(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rewriteAll(c *catalog.Catalog, granted catalog.Set, in []byte) []byte {
	var out bytes.Buffer
	w := rewrite.NewWriter(&out, &rewrite.Policy{Catalog: c, Granted: granted})
	w.Write(in)
	w.Close()
	return out.Bytes()
}

func TestBuiltinCatalog(t *testing.T) {
	c := builtin(t)
	if n := len(c.Processors); n < 40 {
		t.Fatalf("catalog has %d processors, want at least 40", n)
	}
	for _, p := range c.Processors {
		if p.Name == "" || p.Company == "" || p.Country == "" || p.PolicyURL == "" || len(p.URLs) == 0 {
			t.Errorf("%s: name, company, country, policy_url and urls are all required", p.ID)
		}
		if !strings.HasPrefix(p.PolicyURL, "https://") {
			t.Errorf("%s: policy_url %q is not https", p.ID, p.PolicyURL)
		}
	}
}

// TestVendorSnippets proves each processor's canonical snippet, as its
// vendor tells sites to paste it, is neutralised without consent and left
// byte-identical with consent.
func TestVendorSnippets(t *testing.T) {
	c := builtin(t)
	for _, p := range c.Processors {
		t.Run(p.ID, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "snippets", p.ID+".html"))
			if err != nil {
				t.Fatalf("no canonical snippet: %v", err)
			}
			before := oracle.Blocked(c, oracle.Refs(in), 0)
			own := 0
			for _, r := range before {
				if r.Inline || c.Processors[c.MatchURL(r.URL)].ID == p.ID {
					own++
				}
			}
			if own == 0 {
				t.Fatalf("snippet loads nothing the catalog attributes to %s", p.ID)
			}
			out := rewriteAll(c, 0, in)
			if left := oracle.Blocked(c, oracle.Refs(out), 0); len(left) > 0 {
				t.Errorf("still active after rewriting: %+v\n%s", left, out)
			}
			if got := rewriteAll(c, catalog.All, in); !bytes.Equal(got, in) {
				t.Errorf("with every category granted the snippet changed:\n%s", got)
			}
		})
	}
}

func TestSiteCodeIsNotATracker(t *testing.T) {
	c := builtin(t)
	for _, s := range []string{
		`window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);} gtag('consent', 'default', {ad_storage: 'denied', analytics_storage: 'denied', wait_for_update: 500});`,
		`$(function(){ $('.menu').on('click', function(){ $(this).toggleClass('open'); }); });`,
		`document.cookie = "nlg_lang=ru; path=/"; fetch('/api/cart').then(r => r.json())`,
		`var rhythm = 1; function ym(a){return a} widget.method(); comments.append(x);`,
	} {
		var st catalog.SigState
		c.ScanInline(&st, []byte(s))
		for _, p := range st.Matched {
			t.Errorf("site code %q matched processor %s", s, c.Processors[p].ID)
		}
	}
	for _, u := range []string{"https://code.jquery.com/jquery-3.7.1.min.js", "https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/bootstrap.bundle.min.js",
		"https://cdnjs.cloudflare.com/ajax/libs/lodash.js/4.17.21/lodash.min.js", "/static/app.js", "https://unpkg.com/htmx.org@2.0.0"} {
		if p := c.MatchURL(u); p >= 0 {
			t.Errorf("%s matched processor %s", u, c.Processors[p].ID)
		}
	}
}

func TestCookies(t *testing.T) {
	c := builtin(t)
	for name, want := range map[string]string{
		"_ga": "google-analytics", "_ga_ABC123": "google-analytics", "_ym_uid": "yandex-metrica", "_fbp": "meta-pixel",
		"PHPSESSID": "", "csrftoken": "", "sessionid": "", "nlg_lang": "", "kelisim": "", "uid": "", "XSRF-TOKEN": "",
	} {
		got := ""
		if p := c.MatchCookie(name); p >= 0 {
			got = c.Processors[p].ID
		}
		if got != want {
			t.Errorf("cookie %s: got processor %q, want %q", name, got, want)
		}
	}
}

func TestSplitURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://mc.yandex.ru/metrika/tag.js":                    "mc.yandex.ru /metrika/tag.js",
		"//MC.Yandex.RU./watch/1":                                "mc.yandex.ru /watch/1",
		" https://user:pw@mc.yandex.ru:443/x ":                   "mc.yandex.ru /x",
		"https:\\\\mc.yandex.ru\\tag.js":                         "mc.yandex.ru /tag.js",
		"https://mc.yan\n\tdex.ru/x":                             "mc.yandex.ru /x",
		"https://mc%2Eyandex.ru/x":                               "mc.yandex.ru /x",
		"https://www.googletagmanager.com/gtag/../%67tm.js?id=1": "www.googletagmanager.com /gtm.js?id=1",
		"https://x.kz/a/./b/%2e%2e/c?q=/../":                     "x.kz /a/c?q=/../",
		"https://www.googletagmanager.com?id=G-1":                "www.googletagmanager.com /?id=G-1",
		"/static/app.js":                                         "",
		"data:text/javascript,alert(1)":                          "",
		"javascript:void(0)":                                     "",
	} {
		h, pq, ok := catalog.SplitURL(in)
		got := ""
		if ok {
			got = h + " " + pq
		}
		if got != want {
			t.Errorf("SplitURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOverride(t *testing.T) {
	ps := catalog.Merge(catalog.Builtin(), []catalog.Processor{
		{ID: "google-tag-manager", Category: catalog.Marketing},
		{ID: "own-widget", Category: catalog.Functional, URLs: []string{"widget.example.kz"}},
	})
	c, err := catalog.Compile(ps, []string{"www.google.com/maps/"})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.MatchURL("https://www.google.com/recaptcha/api.js"); p < 0 {
		t.Error("a necessary path declaration unblocked the whole host")
	}
	if got := c.Category(c.MatchURL("https://www.googletagmanager.com/gtm.js?id=GTM-X")); got != catalog.Marketing {
		t.Errorf("override kept category %s", got)
	}
	if p := c.MatchURL("https://widget.example.kz/w.js"); p < 0 || c.Processors[p].ID != "own-widget" {
		t.Errorf("added processor not matched")
	}
	if p := c.MatchURL("https://www.google.com/maps/embed?pb=1"); p >= 0 {
		t.Errorf("necessary host still blocked by %s", c.Processors[p].ID)
	}
	if _, err := catalog.Compile([]catalog.Processor{{ID: "x", Category: "ads"}}, nil); err == nil {
		t.Error("bad category accepted")
	}
}

// FuzzMatchURLBytes: the allocation-free classifier agrees with the full
// one on every input.
func FuzzMatchURLBytes(f *testing.F) {
	c, err := catalog.Compile(catalog.Builtin(), []string{"www.google.com/recaptcha/"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"https://mc.yandex.ru/metrika/tag.js", "//www.googletagmanager.com/gtag/js?id=AW-1", "/local.js", "a/b",
		"HTTPS://MC.YANDEX.RU/x", "https:\\\\mc.yandex.ru", "https://user@mc.yandex.ru:443/x", "https://www.googletagmanager.com?id=G-1",
		"https://www.google.com/recaptcha/api.js", "data:text/html,x", " //connect.facebook.net/en_US/fbevents.js ", "https:mc.yandex.ru/x",
		"https://mc.yandex.ru.", "https://[::1]/", "ftp://mc.yandex.ru/", "//", "https://", "https://mc%2Eyandex.ru/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := c.MatchURLBytes([]byte(s)), c.MatchURL(s); got != want {
			t.Errorf("MatchURLBytes(%q) = %d, MatchURL = %d", s, got, want)
		}
	})
}

// TestSuggest: a typo of a catalog id gets the id; a name nothing like
// one gets nothing.
func TestSuggest(t *testing.T) {
	var ids []string
	for _, p := range catalog.Builtin() {
		ids = append(ids, p.ID)
	}
	for typo, want := range map[string]string{
		"yandex-metrika":     "yandex-metrica",
		"google-analytic":    "google-analytics",
		"googleanalytics":    "google-analytics",
		"meta-pixle":         "meta-pixel",
		"hotjar":             "hotjar",
		"my-own-crm":         "",
		"x":                  "",
		"linkedin":           "",
		"microsoft-claritty": "microsoft-clarity",
	} {
		if got := catalog.Suggest(typo, ids); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", typo, got, want)
		}
	}
}
