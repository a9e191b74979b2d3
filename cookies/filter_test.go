package cookies

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
)

func testCatalog(t *testing.T) *catalog.Catalog {
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFilterRequestKeepsSiteCookiesByteForByte(t *testing.T) {
	c := testCatalog(t)
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Add("Cookie", `sid="a b"; _ga=GA1.2; csrf=x==; _ym_uid=1`)
	r.Header.Add("Cookie", "_fbp=fb.1")
	r.Header.Add("Cookie", "theme=dark")
	dropped := FilterRequest(r, c, catalog.SetOf(catalog.Analytics))
	if got := r.Header.Values("Cookie"); strings.Join(got, "|") != `sid="a b"; _ga=GA1.2; csrf=x==; _ym_uid=1|theme=dark` {
		t.Errorf("Cookie headers = %q", got)
	}
	if strings.Join(dropped, ",") != "_fbp" {
		t.Errorf("dropped = %v", dropped)
	}
	r.Header.Set("Cookie", "_ga=1; _fbp=2")
	FilterRequest(r, c, 0)
	if _, ok := r.Header["Cookie"]; ok {
		t.Error("an empty Cookie header was left")
	}
}

// TestExpireOnEveryPath: a cookie the browser sends with /shop/cart may
// have been set on /shop/, /shop or /shop/cart: each is expired.
func TestExpireOnEveryPath(t *testing.T) {
	h := http.Header{}
	Expire(h, "127.0.0.1", "/shop/cart", []string{"_ym_uid"})
	got := h.Values("Set-Cookie")
	want := []string{"/", "/shop/cart", "/shop/", "/shop"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i, p := range want {
		if !strings.HasPrefix(got[i], "_ym_uid=; Path="+p+";") {
			t.Errorf("%d: %q, want Path=%s", i, got[i], p)
		}
	}
	if got := cookiePaths("/a/b/c/d/e/f/g/h/i/"); len(got) != maxCookiePaths || got[1] != "/a/b/c/d/e/f/g/h/i/" {
		t.Errorf("deep path: %q", got)
	}
	if got := cookiePaths("/x;Domain=evil"); len(got) != 1 {
		t.Errorf("a path that would inject attributes: %q", got)
	}
}

func TestExpireParentDomains(t *testing.T) {
	h := http.Header{}
	Expire(h, "shop.www.nlg.kz:8443", "/", []string{"_ga", "_ga", "bad;name"})
	got := strings.Join(h.Values("Set-Cookie"), "\n")
	for _, want := range []string{"_ga=; Path=/; Max-Age=0", "Domain=shop.www.nlg.kz;", "Domain=www.nlg.kz;", "Domain=nlg.kz;"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "Domain=kz;") || strings.Contains(got, "bad") || strings.Count(got, "\n") != 3 {
		t.Errorf("unexpected expiry headers:\n%s", got)
	}
	h = http.Header{}
	Expire(h, "127.0.0.1:8080", "/", []string{"_ga"})
	if got := h.Values("Set-Cookie"); len(got) != 1 {
		t.Errorf("IP host: %q", got)
	}
}
