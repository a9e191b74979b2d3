package csp

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kelisim/kelisim/catalog"
)

func demoCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Compile(catalog.Builtin(), []string{"pay.kaspi.kz"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Show([]string{"google-analytics", "google-tag-manager", "yandex-metrica", "meta-pixel", "jivochat", "youtube", "yandex-maps"}); err != nil {
		t.Fatal(err)
	}
	return c
}

// sourceExpr is CSP Level 3's source-expression grammar (§2.3.1):
// keyword-source, scheme-source or host-source.
var sourceExpr = regexp.MustCompile(`^('self'|'unsafe-inline'|'unsafe-eval'|[a-z][a-z0-9+.-]*:|` +
	`([a-z][a-z0-9+.-]*://)?(\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*)(:([0-9]+|\*))?(/[^;,\s]*)?)$`)

func directives(policy string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

// fallback is CSP Level 3's directive fallback list (§6.8.3): the
// directives a browser reads, in order, for a fetch of each kind.
var fallback = map[string][]string{
	"script-src-elem": {"script-src-elem", "script-src", "default-src"},
	"style-src-elem":  {"style-src-elem", "style-src", "default-src"},
	"img-src":         {"img-src", "default-src"},
	"font-src":        {"font-src", "default-src"},
	"media-src":       {"media-src", "default-src"},
	"connect-src":     {"connect-src", "default-src"},
	"frame-src":       {"frame-src", "child-src", "default-src"},
	"worker-src":      {"worker-src", "child-src", "script-src", "default-src"},
	"manifest-src":    {"manifest-src", "default-src"},
	"object-src":      {"object-src", "default-src"},
}

// effective returns the source list a browser applies to a fetch of
// kind under ds.
func effective(ds map[string][]string, kind string) []string {
	for _, d := range fallback[kind] {
		if l, ok := ds[d]; ok {
			return l
		}
	}
	return nil
}

// TestPolicyFollowsConsent: the policy lists the site, the necessary
// hosts and the processors of the granted categories the banner shows —
// never one of a category not granted — in every fetch directive, in
// CSP's grammar.
func TestPolicyFollowsConsent(t *testing.T) {
	c := demoCatalog(t)
	ps, err := New(c, []string{"cdn.example.com", "*.static.example.net"}, "/_consent/csp-report")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		granted   catalog.Set
		want, not []string
	}{
		{0, []string{"'self'", "pay.kaspi.kz", "cdn.example.com", "*.static.example.net"}, []string{"mc.yandex.ru", "connect.facebook.net", "www.google-analytics.com", "api-maps.yandex.ru"}},
		{catalog.SetOf(catalog.Analytics), []string{"mc.yandex.ru", "google-analytics.com", "*.google-analytics.com"}, []string{"connect.facebook.net", "api-maps.yandex.ru", "*.mc.yandex.ru"}},
		// Yandex Maps' widget path stays a path: Yandex Direct (marketing,
		// not granted) has /ads/ on the same host.
		{catalog.SetOf(catalog.Functional), []string{"api-maps.yandex.ru", "yandex.ru/map-widget/"}, []string{" yandex.ru ", "*.yandex.ru", "mc.yandex.ru"}},
		{catalog.SetOf(catalog.Marketing), []string{"connect.facebook.net"}, []string{"mc.yandex.ru"}},
		{catalog.All, []string{"mc.yandex.ru", "connect.facebook.net", "api-maps.yandex.ru", "www.youtube.com"}, []string{"static.hotjar.com", "www.youtube.com/embed/"}},
	} {
		p := ps.For(tc.granted, true)
		ds := directives(p)
		for kind := range fallback {
			srcs := effective(ds, kind)
			if len(srcs) == 0 {
				t.Errorf("%v: nothing bounds %s in %s", tc.granted, kind, p)
			}
			for _, s := range srcs {
				if !sourceExpr.MatchString(s) {
					t.Errorf("%v: %s has %q, not a CSP source expression", tc.granted, kind, s)
				}
			}
			have := " " + strings.Join(srcs, " ") + " "
			for _, w := range tc.want {
				if !strings.Contains(have, " "+w+" ") {
					t.Errorf("%v: %s lacks %s", tc.granted, kind, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(have, n) {
					t.Errorf("%v: %s lets in %s", tc.granted, kind, n)
				}
			}
			if strings.Contains(have, " data: ") && (kind == "frame-src" || kind == "worker-src" || kind == "connect-src") {
				t.Errorf("%v: %s allows data:", tc.granted, kind)
			}
		}
		if tc.granted.Has(catalog.SetOf(catalog.Analytics)) && !strings.Contains(strings.Join(ds["connect-src"], " "), " wss://mc.yandex.ru ") {
			t.Errorf("%v: connect-src lets no WebSocket reach mc.yandex.ru: %v", tc.granted, ds["connect-src"])
		}
		if got := ds["report-uri"]; len(got) != 1 || got[0] != "/_consent/csp-report" {
			t.Errorf("report-uri %v", got)
		}
	}
}

// TestAllowCannotLetAProcessorIn: an allowed host that is, or covers, a
// processor's host is refused with the processor named.
func TestAllowCannotLetAProcessorIn(t *testing.T) {
	c := demoCatalog(t)
	for allow, want := range map[string]string{
		"*.yandex.ru":          "lets in Yandex",
		"mc.yandex.ru":         "Yandex Metrica",
		"https://mc.yandex.ru": "Yandex Metrica",
		"www.facebook.com":     "Meta Pixel", // its /tr pixel
		"*.facebook.net":       "Meta Pixel",
		"cdn.example.com":      "",
		"not a host":           "want a host",
		"*":                    "want a host",
	} {
		_, err := New(c, []string{allow}, "")
		switch {
		case want == "" && err != nil:
			t.Errorf("%s refused: %v", allow, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want an error naming %s", allow, err, want)
		}
	}
}

// TestParseReports reads both formats browsers send, as Chromium sends
// them, and leaves out what names no third party.
func TestParseReports(t *testing.T) {
	legacy := `{"csp-report":{"document-uri":"https://www.nlg.kz/news.html?x=1","referrer":"","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"default-src 'self'","disposition":"report","blocked-uri":"https://mc.yandex.ru/metrika/tag.js","status-code":200,"script-sample":""}}`
	modern := `[{"age":1,"body":{"blockedURL":"https://cdn.example.com/lib.js","disposition":"enforce","documentURL":"https://www.nlg.kz/","effectiveDirective":"script-src-elem","originalPolicy":"x","statusCode":200},"type":"csp-violation","url":"https://www.nlg.kz/","user_agent":"x"},
{"body":{"blockedURL":"inline","documentURL":"https://www.nlg.kz/","effectiveDirective":"script-src-elem"},"type":"csp-violation"},
{"body":{"blockedURL":"https://www.nlg.kz/self.js","documentURL":"https://www.nlg.kz/","effectiveDirective":"script-src-elem"},"type":"csp-violation"},
{"body":{},"type":"deprecation"}]`
	got, err := ParseReports("application/csp-report", []byte(legacy))
	if err != nil || len(got) != 1 || got[0] != (Violation{Page: "/news.html", Host: "mc.yandex.ru", Directive: "script-src-elem"}) {
		t.Errorf("report-uri: %+v %v", got, err)
	}
	got, err = ParseReports("application/reports+json", []byte(modern))
	if err != nil || len(got) != 1 || got[0] != (Violation{Page: "/", Host: "cdn.example.com", Directive: "script-src-elem"}) {
		t.Errorf("Reporting API: %+v %v", got, err)
	}
	for ct, body := range map[string]string{"text/plain": legacy, "application/csp-report": `[]`, "application/reports+json": `{"x":1}`} {
		if _, err := ParseReports(ct, []byte(body)); err == nil {
			t.Errorf("%s %s accepted", ct, body)
		}
	}
}

// TestSeen: hosts the catalog does not know come first, counts and
// times are kept, a host is worth a log line once an hour, and the table
// stays bounded.
func TestSeen(t *testing.T) {
	s := NewSeen()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		s.Add(Violation{Page: "/", Host: "mc.yandex.ru", Directive: "script-src-elem"}, "yandex-metrica", t0.Add(time.Duration(i)*time.Minute))
	}
	if !s.Add(Violation{Page: "/news.html", Host: "cdn.example.com", Directive: "script-src-elem"}, "", t0) {
		t.Error("a new host is not reported new")
	}
	if s.Add(Violation{Page: "/", Host: "cdn.example.com", Directive: "script-src-elem"}, "", t0.Add(30*time.Minute)) ||
		!s.Add(Violation{Page: "/", Host: "cdn.example.com", Directive: "script-src-elem"}, "", t0.Add(91*time.Minute)) {
		t.Error("a host is not worth a log line once an hour")
	}
	l := s.List()
	if len(l) != 2 || l[0].Host != "cdn.example.com" || l[0].Processor != "" || l[0].Count != 3 || l[1].Processor != "yandex-metrica" || l[1].Count != 3 || !l[1].Last.Equal(t0.Add(2*time.Minute)) || !l[1].First.Equal(t0) {
		t.Errorf("%+v", l)
	}
	for i := 0; i < MaxSeen+10; i++ {
		s.Add(Violation{Host: "h" + strings.Repeat("x", i%50) + ".example.org", Directive: "img-src" + string(rune('a'+i/50%26)) + string(rune('a'+i/1300))}, "", t0)
	}
	if n := len(s.List()); n > MaxSeen {
		t.Errorf("%d entries kept, bound %d", n, MaxSeen)
	}
}

// TestPolicyIsShort: the policy goes with every page; with a site's own
// processors listed it stays under 8 KB, what proxies in front accept
// for a header (nginx's default buffer is 4 or 8 KB for them all).
func TestPolicyIsShort(t *testing.T) {
	ps, err := New(demoCatalog(t), []string{"cdn.jsdelivr.net/npm/dayjs@1.11.13/", "code.jquery.com"}, "/_consent/csp-report")
	if err != nil {
		t.Fatal(err)
	}
	if n := ps.Longest(); n > 6<<10 {
		t.Errorf("the demo's longest policy is %d bytes, over 6 KB", n)
	}
	whole, _ := catalog.Compile(catalog.Builtin(), nil)
	all, _ := New(whole, nil, "/_consent/csp-report")
	t.Logf("longest policy: the demo's seven processors %d B, the whole catalog %d B", ps.Longest(), all.Longest())
}
