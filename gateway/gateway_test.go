package gateway_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/kelisim/kelisim/banner"
	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/consent"
	"github.com/kelisim/kelisim/gateway"
	"github.com/kelisim/kelisim/internal/oracle"
	"github.com/kelisim/kelisim/store"
)

const page = `<!doctype html><html lang="kk"><head><meta charset="utf-8"><title>T</title>
<script async src="https://mc.yandex.ru/metrika/tag.js?id=1"></script>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
</head><body><h1>Сәлем</h1><iframe src="https://www.youtube.com/embed/x" width="560" height="315"></iframe></body></html>`

type env struct {
	t      testing.TB
	gw     *gateway.Gateway
	srv    *httptest.Server
	store  *store.Embedded
	cat    *catalog.Catalog
	origin http.HandlerFunc
	seen   *http.Request // last request the origin saw
}

func newEnv(t testing.TB, version string, origin http.HandlerFunc, opts ...func(*gateway.Config)) *env {
	t.Helper()
	cat, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := banner.New(banner.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := gateway.Config{Catalog: cat, Banner: b, Store: st, Secret: []byte("0123456789abcdef0123456789abcdef"), PolicyVersion: version}
	for _, o := range opts {
		o(&cfg)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, gw: gw, store: st, cat: cat, origin: origin}
	e.srv = httptest.NewServer(gw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.seen = r.Clone(r.Context())
		e.origin(w, r)
	})))
	t.Cleanup(e.srv.Close)
	return e
}

func htmlOrigin(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Content-Length", itoa(len(body)))
		io.WriteString(w, body)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func (e *env) do(method, path string, body io.Reader, hdr ...string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func readAll(t testing.TB, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func consentCookie(res *http.Response) string {
	for _, c := range res.Cookies() {
		if c.Name == consent.CookieName {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

func (e *env) decide(body string, hdr ...string) (cookie string, resp map[string]any) {
	e.t.Helper()
	res := e.do("POST", "/_consent/consent", strings.NewReader(body), append([]string{"Content-Type", "application/json"}, hdr...)...)
	if res.StatusCode != 200 {
		e.t.Fatalf("consent post: %d %s", res.StatusCode, readAll(e.t, res))
	}
	json.Unmarshal([]byte(readAll(e.t, res)), &resp)
	return consentCookie(res), resp
}

func TestNoConsentBlocksAndShowsBanner(t *testing.T) {
	e := newEnv(t, "1", htmlOrigin(page))
	res := e.do("GET", "/", nil)
	out := readAll(t, res)
	if left := oracle.Blocked(e.cat, oracle.Refs([]byte(out)), 0); len(left) > 0 {
		t.Errorf("trackers active without consent: %+v", left)
	}
	for _, want := range []string{"data-consent-banner", `data-consent-action="accept-all"`, `data-consent-action="reject-all"`,
		`src="https://code.jquery.com/jquery-3.7.1.min.js"`, "/_consent/kelisim.", `lang="kk"`, "Сәлем"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	h := res.Header
	if h.Get("Content-Length") != "" || h.Get("ETag") != "" {
		t.Errorf("stale length/validator kept: %v", h)
	}
	if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Cookie") || !strings.Contains(h.Get("Cache-Control"), "private") {
		t.Errorf("response does not say it varies by consent: %v", h)
	}
}

func TestAcceptAllThenRejectThenWithdraw(t *testing.T) {
	e := newEnv(t, "2024-05", htmlOrigin(page))
	cookie, resp := e.decide(`{"action":"accept-all","lang":"ru"}`)
	if cookie == "" || resp["id"] == "" || resp["policy_version"] != "2024-05" {
		t.Fatalf("bad accept response %v / %q", resp, cookie)
	}
	out := readAll(t, e.do("GET", "/", nil, "Cookie", cookie))
	if !strings.Contains(out, `<script async src="https://mc.yandex.ru/metrika/tag.js?id=1">`) {
		t.Errorf("granted tracker was changed:\n%s", out)
	}
	if strings.Contains(out, "data-consent-banner") || !strings.Contains(out, "data-consent-reopen") {
		t.Errorf("decided visitor should get the reopen button, not the banner")
	}

	// Reject: same consent ID, tracker cookies expired on host and parent.
	res := e.do("POST", "/_consent/consent", strings.NewReader(`{"action":"reject-all"}`), "Content-Type", "application/json",
		"Cookie", cookie+"; _ga=GA1.2.3; _ym_uid=9; PHPSESSID=keep")
	var r2 map[string]any
	json.Unmarshal([]byte(readAll(t, res)), &r2)
	if r2["id"] != resp["id"] {
		t.Errorf("reject got a new consent ID %v, want %v", r2["id"], resp["id"])
	}
	expired := strings.Join(res.Header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"_ga=; Path=/; Max-Age=0", "_ym_uid=; Path=/; Max-Age=0"} {
		if !strings.Contains(expired, want) {
			t.Errorf("reject did not expire %q:\n%s", want, expired)
		}
	}
	if strings.Contains(expired, "PHPSESSID") {
		t.Errorf("site cookie touched: %s", expired)
	}
	cookie = consentCookie(res)
	out = readAll(t, e.do("GET", "/", nil, "Cookie", cookie))
	if left := oracle.Blocked(e.cat, oracle.Refs([]byte(out)), 0); len(left) > 0 {
		t.Errorf("trackers active after reject: %+v", left)
	}

	// History: both decisions, oldest first.
	var hist struct {
		ID      string `json:"id"`
		History []struct {
			Action     string   `json:"action"`
			Categories []string `json:"categories"`
		} `json:"history"`
	}
	json.Unmarshal([]byte(readAll(t, e.do("GET", "/_consent/consent", nil, "Cookie", cookie))), &hist)
	if hist.ID != resp["id"] || len(hist.History) != 2 || hist.History[0].Action != "accept-all" || hist.History[1].Action != "reject-all" ||
		len(hist.History[0].Categories) != 3 || len(hist.History[1].Categories) != 0 {
		t.Errorf("history = %+v", hist)
	}

	// Withdraw: records erased, cookie expired, a proof kept.
	res = e.do("DELETE", "/_consent/consent", nil, "Cookie", cookie+"; _fbp=fb.1")
	body := readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(body, `"erased":2`) {
		t.Errorf("delete: %d %s", res.StatusCode, body)
	}
	sc := strings.Join(res.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(sc, consent.CookieName+"=;") || !strings.Contains(sc, "_fbp=;") {
		t.Errorf("withdraw did not expire cookies:\n%s", sc)
	}
	recs, _ := e.store.History(t.Context(), hist.ID)
	if len(recs) != 0 {
		t.Errorf("%d records left after erase", len(recs))
	}
}

func TestForgedAndStaleCookiesCountAsNone(t *testing.T) {
	e := newEnv(t, "v1", htmlOrigin(page))
	cookie, _ := e.decide(`{"action":"accept-all"}`)
	forged := cookie[:len(cookie)-3] + "AAA"
	flipped := strings.Replace(cookie, ".7.", ".3.", 1)
	for name, c := range map[string]string{"forged signature": forged, "changed categories": flipped, "garbage": consent.CookieName + "=%%%;;"} {
		out := readAll(t, e.do("GET", "/", nil, "Cookie", c))
		if !strings.Contains(out, "data-consent-banner") || len(oracle.Blocked(e.cat, oracle.Refs([]byte(out)), 0)) > 0 {
			t.Errorf("%s: treated as consent", name)
		}
	}
	// The same secret under a new policy version: asked again.
	e2 := newEnv(t, "v2", htmlOrigin(page))
	out := readAll(t, e2.do("GET", "/", nil, "Cookie", cookie))
	if !strings.Contains(out, "data-consent-banner") {
		t.Error("consent under old policy version still counts")
	}
	// Older than 13 months: asked again.
	defer func(f func() time.Time) { consent.Now = f }(consent.Now)
	consent.Now = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
	out = readAll(t, e.do("GET", "/", nil, "Cookie", cookie))
	if !strings.Contains(out, "data-consent-banner") {
		t.Error("consent older than 13 months still counts")
	}
}

func TestCookieFilter(t *testing.T) {
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.1"})
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s3cr3t", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "tok"})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	})
	req, _ := http.NewRequest("GET", e.srv.URL+"/api", nil)
	req.Host = "www.nlg.kz"
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("Cookie", "_ga=GA1.2.3; sessionid=s3cr3t; _ym_uid=1; csrftoken=tok; _hjSession_1=x")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := e.seen.Header.Get("Cookie"); got != "sessionid=s3cr3t; csrftoken=tok" {
		t.Errorf("origin saw Cookie %q", got)
	}
	sc := strings.Join(res.Header.Values("Set-Cookie"), "\n")
	if strings.Contains(sc, "_ga=GA1.1") {
		t.Error("tracker Set-Cookie passed without consent")
	}
	for _, want := range []string{"sessionid=s3cr3t; HttpOnly", "csrftoken=tok", "_ga=; Path=/; Domain=nlg.kz; Max-Age=0", "_ym_uid=; Path=/; Domain=www.nlg.kz; Max-Age=0"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie lacks %q:\n%s", want, sc)
		}
	}
}

func TestConsentAPIRefusesBadInput(t *testing.T) {
	e := newEnv(t, "", htmlOrigin(page))
	for name, c := range map[string]struct {
		body string
		hdr  []string
		code int
	}{
		"cross-site origin": {`{"action":"accept-all"}`, []string{"Content-Type", "application/json", "Origin", "https://evil.example"}, 403},
		"cross-site fetch":  {`{"action":"accept-all"}`, []string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"}, 403},
		"garbage":           {`{"action":`, []string{"Content-Type", "application/json"}, 400},
		"unknown action":    {`{"action":"maybe"}`, []string{"Content-Type", "application/json"}, 400},
		"unknown category":  {`{"action":"save","categories":["ads"]}`, []string{"Content-Type", "application/json"}, 400},
		"oversized":         {`{"action":"accept-all","lang":"` + strings.Repeat("x", 20000) + `"}`, []string{"Content-Type", "application/json"}, 413},
		"wrong type":        {`action=accept-all`, []string{"Content-Type", "text/plain"}, 415},
	} {
		res := e.do("POST", "/_consent/consent", strings.NewReader(c.body), c.hdr...)
		body := readAll(t, res)
		if res.StatusCode != c.code || consentCookie(res) != "" {
			t.Errorf("%s: got %d %s, want %d and no cookie", name, res.StatusCode, body, c.code)
		}
	}
}

func TestFormPostRedirectsSameOriginOnly(t *testing.T) {
	e := newEnv(t, "", htmlOrigin(page))
	for ret, want := range map[string]string{"/news?id=3": "/news?id=3", "//evil.example/": "/", "https://evil.example/": "/", "/\\evil.example": "/"} {
		form := url.Values{"action": {"save"}, "category": {"analytics", "functional"}, "return": {ret}}
		res := e.do("POST", "/_consent/consent", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", e.srv.URL)
		res.Body.Close()
		if res.StatusCode != 303 || res.Header.Get("Location") != want {
			t.Errorf("return %q: %d to %q, want 303 to %q", ret, res.StatusCode, res.Header.Get("Location"), want)
		}
		out := readAll(t, e.do("GET", "/", nil, "Cookie", consentCookie(res)))
		if !strings.Contains(out, `src="https://mc.yandex.ru/metrika/tag.js?id=1"`) || strings.Contains(out, ` src="https://www.youtube.com/embed/x"`) {
			t.Errorf("analytics should load and marketing stay blocked:\n%s", out)
		}
	}
}

// TestLanguageButtonPost: the banner's language buttons post its form
// with action "lang-<code>": the language is remembered, nothing is
// decided, and the visitor goes back to the page.
func TestLanguageButtonPost(t *testing.T) {
	e := newEnv(t, "", htmlOrigin(page))
	form := url.Values{"action": {"lang-ru"}, "return": {"/news?id=3"}, "lang": {"kk"}}
	res := e.do("POST", "/_consent/consent", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", e.srv.URL)
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/news?id=3" || consentCookie(res) != "" {
		t.Fatalf("got %d to %q (consent cookie %q), want 303 to /news?id=3 and no decision", res.StatusCode, res.Header.Get("Location"), consentCookie(res))
	}
	var lang string
	for _, c := range res.Cookies() {
		if c.Name == gateway.LangCookie {
			lang = c.Value
		}
	}
	if lang != "ru" {
		t.Fatalf("language cookie %q, want ru", lang)
	}
	out := readAll(t, e.do("GET", "/", nil, "Cookie", gateway.LangCookie+"=ru"))
	if !strings.Contains(out, `class="kl" lang="ru"`) {
		t.Error("the banner does not speak the chosen language")
	}
	form.Set("action", "lang-xx")
	res = e.do("POST", "/_consent/consent", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", e.srv.URL)
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("unknown language: %d, want 400", res.StatusCode)
	}
}

func TestStoreDownStillAnswers(t *testing.T) {
	e := newEnv(t, "", htmlOrigin(page))
	e.store.Close() // a real store, failing
	cookie, resp := e.decide(`{"action":"accept-all"}`)
	if cookie == "" || resp["id"] == nil {
		t.Fatal("consent post failed with the store down")
	}
}

func TestPassThrough(t *testing.T) {
	js := strings.Repeat("console.log('<script src=https://mc.yandex.ru/x.js>');\n", 50)
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Content-Length", itoa(len(js)))
			w.Header().Set("ETag", `"js1"`)
			io.WriteString(w, js)
		case "/partial":
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Range", "bytes 0-9/100")
			w.WriteHeader(206)
			io.WriteString(w, page[:10])
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: <script src=https://mc.yandex.ru/x.js>\n\n")
		case "/nc":
			w.WriteHeader(304)
		default:
			htmlOrigin(page)(w, r)
		}
	})
	res := e.do("GET", "/app.js", nil)
	if body := readAll(t, res); body != js || res.Header.Get("ETag") != `"js1"` || res.Header.Get("Content-Length") != itoa(len(js)) {
		t.Errorf("JS changed in passing: %v", res.Header)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/partial", nil)
	req.Header.Set("Range", "bytes=0-9") // a script's ranged fetch
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if body := readAll(t, res); body != page[:10] {
		t.Errorf("206 body changed: %q", body)
	}
	// Asked for by no Range header, a range response is a page the
	// browser renders whole: it is read as one.
	if res := e.do("GET", "/partial", nil); res.Header.Get("Content-Range") != "" || !strings.Contains(readAll(t, res), "data-consent-banner") {
		t.Error("a 206 nobody asked for passed unexamined")
	}
	if body := readAll(t, e.do("GET", "/events", nil)); !strings.Contains(body, "<script src=https://mc.yandex.ru/x.js>") {
		t.Errorf("event stream changed: %q", body)
	}
	if res := e.do("GET", "/nc", nil); res.StatusCode != 304 {
		t.Errorf("304 became %d", res.StatusCode)
	}
	res = e.do("HEAD", "/", nil)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("HEAD: %d", res.StatusCode)
	}
}

func TestCompressedOrigin(t *testing.T) {
	enc := map[string]func([]byte) []byte{
		"gzip": func(b []byte) []byte {
			var buf bytes.Buffer
			z := gzip.NewWriter(&buf)
			z.Write(b)
			z.Close()
			return buf.Bytes()
		},
		"br": func(b []byte) []byte {
			var buf bytes.Buffer
			z := brotli.NewWriter(&buf)
			z.Write(b)
			z.Close()
			return buf.Bytes()
		},
		"zstd": func(b []byte) []byte {
			z, _ := zstd.NewWriter(nil)
			return z.EncodeAll(b, nil)
		},
	}
	for name, f := range enc {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
				if ae := r.Header.Get("Accept-Encoding"); ae != "identity" {
					t.Errorf("origin was asked for %q, want identity", ae)
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("Content-Encoding", name) // ignores the request
				w.Write(f([]byte(page)))
			})
			req, _ := http.NewRequest("GET", e.srv.URL+"/", nil)
			req.Header.Set("Accept", "text/html")
			req.Header.Set("Accept-Encoding", "identity")
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			out := readAll(t, res)
			if res.Header.Get("Content-Encoding") != "" {
				t.Errorf("still encoded: %q", res.Header.Get("Content-Encoding"))
			}
			if !strings.Contains(out, "data-consent-banner") || len(oracle.Blocked(e.cat, oracle.Refs([]byte(out)), 0)) > 0 {
				t.Errorf("compressed page not rewritten:\n%s", out)
			}
		})
	}
}

func TestWindows1251PageStaysWindows1251(t *testing.T) {
	// "Привет" in windows-1251.
	cp := []byte{0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2}
	in := append([]byte(`<html><head><meta charset="windows-1251"><script src="https://mc.yandex.ru/metrika/tag.js"></script></head><body><p>`), cp...)
	in = append(in, []byte(`</p></body></html>`)...)
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=windows-1251")
		w.Write(in)
	})
	out := []byte(readAll(t, e.do("GET", "/", nil)))
	if !bytes.Contains(out, cp) {
		t.Error("windows-1251 text was transcoded")
	}
	for _, c := range out {
		if c >= 0x80 && bytes.IndexByte(cp, c) < 0 {
			t.Fatalf("injected non-ASCII byte %#x into a windows-1251 page", c)
		}
	}
	if !bytes.Contains(out, []byte("&#1179;")) && !bytes.Contains(out, []byte("&#1241;")) {
		t.Error("Kazakh banner text should be character references in a non-UTF-8 page")
	}
}

// TestHeadArrivesBeforeOriginFinishes: with an origin that sends the head
// and stalls, the visitor has the head with the consent state before the
// origin finishes — on a first request, and on the next one, replayed
// from the recording of the first.
func TestHeadArrivesBeforeOriginFinishes(t *testing.T) {
	release := make(chan struct{}, 1)
	m := &countingMetrics{}
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><meta charset="utf-8"><title>slow</title>`)
		http.NewResponseController(w).Flush()
		<-release
		io.WriteString(w, `</head><body>done</body></html>`)
	}, func(c *gateway.Config) { c.Metrics = m })
	for i := range 2 {
		res := e.do("GET", "/", nil)
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 4096)
			var acc []byte
			for !bytes.Contains(acc, []byte("kelisim.")) {
				n, err := res.Body.Read(buf)
				acc = append(acc, buf[:n]...)
				if err != nil {
					break
				}
			}
			got <- string(acc)
		}()
		select {
		case s := <-got:
			if !strings.Contains(s, `data-granted=""`) {
				t.Errorf("request %d: head arrived without consent state: %s", i+1, s)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d: the head did not arrive while the origin stalled", i+1)
		}
		release <- struct{}{}
		if rest := readAll(t, res); !strings.Contains(rest, "done</body>") {
			t.Fatalf("request %d: page did not finish: %q", i+1, rest)
		}
	}
	if m.replayed.Load() != 1 {
		t.Errorf("%d of 2 requests replayed, want the second", m.replayed.Load())
	}
}

// TestLargePageConstantMemory: a 1.5 MB page streams through with memory
// bounded by the longest construct, not the page.
func TestLargePageConstantMemory(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`<!doctype html><html><head><script src="https://mc.yandex.ru/metrika/tag.js"></script></head><body>`)
	for sb.Len() < 1536<<10 {
		sb.WriteString(`<div class="item"><a href="/p/1">Тауар</a><img src="/i/1.jpg" alt=""><script>var x=1;</script></div>` + "\n")
	}
	sb.WriteString(`</body></html>`)
	big := sb.String()
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		for i := 0; i < len(big); i += 32 << 10 {
			io.WriteString(w, big[i:min(i+32<<10, len(big))])
		}
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := e.do("GET", "/", nil)
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	runtime.ReadMemStats(&after)
	if n < int64(len(big)) {
		t.Fatalf("got %d bytes of %d", n, len(big))
	}
	if grew := after.HeapInuse - min(after.HeapInuse, before.HeapInuse); grew > 8<<20 {
		t.Errorf("heap grew %d bytes for a %d-byte page", grew, len(big))
	}
}

func TestBannerLanguage(t *testing.T) {
	for _, c := range []struct{ htmlLang, accept, want string }{
		{`lang="kk"`, "en-US,en;q=0.9", "kk"},
		{`lang="ru-KZ"`, "en", "ru"},
		{"", "ru-RU,ru;q=0.9,en;q=0.5", "ru"},
		{`lang="de"`, "en-GB", "en"},
		{"", "", "kk"},
	} {
		e := newEnv(t, "", htmlOrigin(`<!doctype html><html `+c.htmlLang+`><head></head><body>x</body></html>`))
		out := readAll(t, e.do("GET", "/", nil, "Accept-Language", c.accept))
		if !strings.Contains(out, `data-consent-banner class="kl" lang="`+c.want+`"`) || !strings.Contains(out, `data-lang="`+c.want+`"`) {
			t.Errorf("html %s, Accept-Language %q: banner not in %s:\n%.600s", c.htmlLang, c.accept, c.want, out)
		}
	}
}

func TestConsentPostsAreRateLimited(t *testing.T) {
	e := newEnv(t, "", htmlOrigin(page))
	codes := map[int]int{}
	for range 130 {
		res := e.do("POST", "/_consent/consent", strings.NewReader(`{"action":"reject-all"}`), "Content-Type", "application/json")
		res.Body.Close()
		codes[res.StatusCode]++
	}
	if codes[200] != 120 || codes[429] != 10 {
		t.Errorf("status counts %v, want 120×200 and 10×429", codes)
	}
}

func TestLinkHeadersAndRevalidation(t *testing.T) {
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("Range") != "" || r.Header.Get("If-Modified-Since") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Add("Link", `<https://mc.yandex.ru/metrika/tag.js>; rel=preload; as=script, </app.css>; rel=preload; as=style`)
		w.Header().Add("Link", `<https://connect.facebook.net>; rel=preconnect`)
		w.Header().Set("CDN-Cache-Control", "max-age=3600")
		htmlOrigin(page)(w, r)
	})
	res := e.do("GET", "/", nil, "If-None-Match", `"abc"`, "If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT", "Range", "bytes=0-")
	body := readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(body, "data-consent-banner") {
		t.Fatalf("a conditional page request got %d: the origin's cached copy would come back", res.StatusCode)
	}
	if got := strings.Join(res.Header.Values("Link"), ","); got != "</app.css>; rel=preload; as=style" {
		t.Errorf("Link = %q", got)
	}
	if res.Header.Get("CDN-Cache-Control") != "" {
		t.Error("CDN cache header kept on a personalised page")
	}
	res = e.do("HEAD", "/", nil)
	res.Body.Close()
	if res.Header.Get("ETag") != "" || !strings.Contains(res.Header.Get("Cache-Control"), "private") || !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Cookie") {
		t.Errorf("HEAD headers differ from GET: %v", res.Header)
	}
}

func TestUntypedResponseSniffedOnItsFirstBytes(t *testing.T) {
	e := newEnv(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no Content-Type, no sniffing by net/http
		io.WriteString(w, "\n")
		http.NewResponseController(w).Flush()
		io.WriteString(w, page)
	})
	out := readAll(t, e.do("GET", "/", nil))
	if !strings.Contains(out, "data-consent-banner") || len(oracle.Blocked(e.cat, oracle.Refs([]byte(out)), 0)) > 0 {
		t.Errorf("untyped page with a short first write not rewritten:\n%.300s", out)
	}
}

// A page with no <html>, <head> or <body> tag is still a document when
// the browser navigates to it: it gets the banner. Fetched by a script,
// the same bytes are a fragment and get nothing injected.
func TestTaglessPageIsADocumentOnNavigation(t *testing.T) {
	frag := `<p>Жаңалықтар</p><img src="https://mc.yandex.ru/watch/1">`
	e := newEnv(t, "1", htmlOrigin(frag))
	for _, c := range []struct {
		name    string
		headers []string
		banner  bool
	}{
		{"navigation", []string{"Sec-Fetch-Dest", "document", "Accept", "text/html"}, true},
		{"frame", []string{"Sec-Fetch-Dest", "iframe"}, true},
		{"old browser navigation", []string{"Accept", "text/html,application/xhtml+xml"}, true},
		{"fetch", []string{"Sec-Fetch-Dest", "empty", "Accept", "text/html"}, false},
		{"jQuery load", []string{"Accept", "text/html, */*; q=0.01", "X-Requested-With", "XMLHttpRequest"}, false},
	} {
		// Twice: the second answer may be replayed, and must not be the
		// other kind's recording.
		for i := 0; i < 2; i++ {
			out := readAll(t, e.do("GET", "/news", nil, c.headers...))
			if got := strings.Contains(out, `data-consent-action="accept-all"`); got != c.banner {
				t.Errorf("%s (%d): banner %v, want %v:\n%s", c.name, i, got, c.banner, out)
			}
			if left := oracle.Blocked(e.cat, oracle.Refs([]byte(out)), 0); len(left) > 0 {
				t.Errorf("%s: tracker left active: %+v", c.name, left)
			}
		}
	}
}

// TestReopenOff: with reopen off a decided visitor's pages carry no
// floating button, and the banner tells the script to add none after a
// choice; the settings page stays where it was.
func TestReopenOff(t *testing.T) {
	e := newEnv(t, "v1", htmlOrigin(page), func(c *gateway.Config) {
		b, err := banner.New(banner.Options{Catalog: c.Catalog, NoReopen: true})
		if err != nil {
			t.Fatal(err)
		}
		c.Banner = b
	})
	if out := readAll(t, e.do("GET", "/", nil)); !strings.Contains(out, "data-consent-banner") || strings.Contains(out, "data-reopen=") {
		t.Errorf("undecided: the banner is missing or still names a reopen button")
	}
	cookie, _ := e.decide(`{"action":"accept-all"}`)
	if out := readAll(t, e.do("GET", "/", nil, "Cookie", cookie)); strings.Contains(out, "data-consent-reopen") {
		t.Error("reopen off, yet the decided visitor's page has the floating button")
	}
	if res := e.do("GET", "/_consent/settings", nil, "Cookie", cookie); res.StatusCode != 200 {
		t.Errorf("settings page: %d", res.StatusCode)
	} else {
		res.Body.Close()
	}
}
