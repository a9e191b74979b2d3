package gateway_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/gateway"
	"github.com/kelisim/kelisim/store"
)

// TestSettingsPageWithoutJavaScript: the settings page, with forms only,
// shows a new visitor that nothing is decided; a choice made on it comes
// back to it and shows there, with its history; withdrawing from it
// erases the records and leaves the visitor undecided; the way back
// leads to the page they came from — in each language.
func TestSettingsPageWithoutJavaScript(t *testing.T) {
	e := newEnv(t, "v1", htmlOrigin("<!doctype html><html><head></head><body>hi</body></html>"))
	page := func(cookie, lang string) string {
		t.Helper()
		hdr := []string{}
		if cookie != "" {
			hdr = append(hdr, "Cookie", cookie)
		}
		res := e.do("GET", "/_consent/settings?return=/news/1.html&lang="+lang, nil, hdr...)
		if res.StatusCode != 200 {
			t.Fatalf("settings: %d", res.StatusCode)
		}
		return readAll(t, res)
	}
	post := func(cookie string, form url.Values) *http.Response {
		t.Helper()
		hdr := []string{"Content-Type", "application/x-www-form-urlencoded"}
		if cookie != "" {
			hdr = append(hdr, "Cookie", cookie)
		}
		res := e.do("POST", "/_consent/consent", strings.NewReader(form.Encode()), hdr...)
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("form post: %d", res.StatusCode)
		}
		return res
	}
	for lang, undecided := range map[string]string{"en": "You have not made a choice yet", "ru": "Вы ещё не сделали выбор", "kk": "Сіз әлі таңдау жасамадыңыз"} {
		body := page("", lang)
		host := strings.TrimPrefix(e.srv.URL, "http://")
		for _, want := range []string{"<h1>" + host + "</h1>", undecided, `href="/news/1.html"`, `lang="` + lang + `"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s, new visitor: the page lacks %q", lang, want)
			}
		}
		if strings.Contains(body, `value="withdraw"`) {
			t.Errorf("%s: a withdraw form for a visitor with nothing to withdraw", lang)
		}
	}

	// The banner's form on the page comes back to the page.
	body := page("", "en")
	ret := regexpFind(body, `name="return" value="([^"]+)"`)
	if !strings.HasPrefix(ret, "/_consent/settings?return=") {
		t.Fatalf("the page's form returns to %q, not to the page", ret)
	}
	res := post("", url.Values{"action": {"save"}, "category": {"analytics"}, "lang": {"en"}, "return": {ret}})
	if loc := res.Header.Get("Location"); loc != ret {
		t.Errorf("after the choice the visitor went to %q, want %q", loc, ret)
	}
	cookie := ""
	for _, c := range res.Cookies() {
		if c.Name == "kelisim" {
			cookie = "kelisim=" + c.Value
		}
	}
	body = page(cookie, "en")
	for _, want := range []string{"Analytics: <b>allowed</b>", "Marketing: <b>refused</b>", "<td>Own choice</td><td>Analytics</td>", `value="withdraw"`} {
		if !strings.Contains(body, want) {
			t.Errorf("after a choice the page lacks %q", want)
		}
	}

	// Withdraw: cookies expire, records go, back to the page.
	res = post(cookie, url.Values{"action": {"withdraw"}, "lang": {"en"}, "return": {ret}})
	if loc := res.Header.Get("Location"); loc != ret {
		t.Errorf("after withdrawing the visitor went to %q", loc)
	}
	if sc := strings.Join(res.Header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "kelisim=;") {
		t.Errorf("the consent cookie was not expired: %s", sc)
	}
	if body := page(cookie, "en"); !strings.Contains(body, "No decisions are kept for this browser.") {
		t.Errorf("records still listed after withdrawing:\n%s", body)
	}
}

func regexpFind(s, re string) string {
	if m := regexp.MustCompile(re).FindStringSubmatch(s); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// pendingStore answers every erasure as kept for later, as the spool
// does while the store is down.
type pendingStore struct{ store.Store }

func (pendingStore) Erase(context.Context, string, store.Record) (int, error) {
	return 0, store.ErrErasePending
}

// TestSettingsPageSaysAWithdrawalWaits: a withdrawal from the settings
// page whose erasure must wait comes back to a page that says so, not to
// one that looks like nothing is kept; and the language switch leaves a
// site's own lang= parameter alone.
func TestSettingsPageSaysAWithdrawalWaits(t *testing.T) {
	e := newEnv(t, "v1", htmlOrigin("<!doctype html><html><head></head><body>hi</body></html>"), func(c *gateway.Config) {
		c.Store = pendingStore{c.Store}
	})
	cookie, _ := e.decide(`{"action":"accept-all"}`)
	form := url.Values{"action": {"withdraw"}, "lang": {"en"}, "return": {"/_consent/settings?return=%2Fx"}}
	res := e.do("POST", "/_consent/consent", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie)
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "withdrawn=pending") {
		t.Fatalf("withdrawal: %d to %q", res.StatusCode, loc)
	}
	if body := readAll(t, e.do("GET", loc+"&lang=en", nil)); !strings.Contains(body, "erased as soon as the consent log can be reached again") {
		t.Errorf("the page does not say the erasure waits:\n%s", body)
	}

	res = e.do("GET", "/_consent/lang?l=ru&return="+url.QueryEscape("/shop?lang=de&utm=x"), nil)
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "/shop?lang=de&utm=x" {
		t.Errorf("the language switch changed the site's own query: %q", loc)
	}
}

// TestCustomiseLeadsToTheSecondLayer: the first layer's Customise, posted
// without JavaScript, leads to the settings page's switches in the
// banner's language, and the choice made there goes back to the page
// the visitor was reading — never to another site.
func TestCustomiseLeadsToTheSecondLayer(t *testing.T) {
	e := newEnv(t, "v1", htmlOrigin("<!doctype html><html><head></head><body>hi</body></html>"))
	for ret, back := range map[string]string{"/news/1.html?x=1": "/news/1.html?x=1", "//evil.example/": "/"} {
		form := url.Values{"action": {"customize"}, "lang": {"ru"}, "return": {ret}}
		res := e.do("POST", "/_consent/consent", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
		res.Body.Close()
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/_consent/settings?") {
			t.Fatalf("customise: %d to %q", res.StatusCode, loc)
		}
		page := readAll(t, e.do("GET", loc, nil))
		for _, want := range []string{`<html lang="ru">`, `role="switch" id="kl-c-analytics"`, `name="return" value="` + html.EscapeString(back) + `"`} {
			if !strings.Contains(page, want) {
				t.Errorf("return %q: the page %s lacks %s", ret, loc, want)
			}
		}
		if strings.Contains(page, "evil") {
			t.Errorf("return %q reached the page", ret)
		}
	}
	if res := e.do("GET", "/", nil); !strings.Contains(readAll(t, res), `value="customize"`) {
		t.Error("the page's banner has no Customise")
	}
}
