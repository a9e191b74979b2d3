package rewrite

import (
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
)

// TestXMLDocuments: XHTML and SVG documents are read by XML's rules and
// what fetches from a processor is neutralised, staying well-formed.
func TestXMLDocuments(t *testing.T) {
	pol := &Policy{Catalog: testCatalog(t), XML: true}
	cases := []struct{ name, in, want string }{
		{"xhtml img", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><img src="https://mc.yandex.ru/watch/1"/></body></html>`,
			`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><img data-consent-category="analytics" data-consent-processor="yandex-metrica" data-src="https://mc.yandex.ru/watch/1"/></body></html>`},
		{"prefixed svg image", `<s:svg xmlns:s="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><s:image xlink:href="https://mc.yandex.ru/watch/2"/></s:svg>`,
			`<s:svg xmlns:s="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><s:image data-consent-category="analytics" data-consent-processor="yandex-metrica" data-xlink:href="https://mc.yandex.ru/watch/2"/></s:svg>`},
		{"inline script", `<svg xmlns="http://www.w3.org/2000/svg"><script><![CDATA[ym(12345,'init',{})]]></script></svg>`,
			`<svg xmlns="http://www.w3.org/2000/svg"><script type="text/plain" data-consent-category="analytics" data-consent-processor="yandex-metrica"><![CDATA[ym(12345,'init',{})]]></script></svg>`},
		{"script text is markup-free", `<svg xmlns="http://www.w3.org/2000/svg"><script>var a = "&lt;img src=x&gt;"</script></svg>`,
			`<svg xmlns="http://www.w3.org/2000/svg"><script>var a = "&lt;img src=x&gt;"</script></svg>`},
		{"cdata hides a tag", `<svg xmlns="http://www.w3.org/2000/svg"><text><![CDATA[<img src="https://mc.yandex.ru/watch/3">]]></text></svg>`,
			`<svg xmlns="http://www.w3.org/2000/svg"><text><![CDATA[<img src="https://mc.yandex.ru/watch/3">]]></text></svg>`},
		{"stylesheet instruction", `<?xml-stylesheet type="text/css" href="https://mc.yandex.ru/s.css"?><svg/>`,
			`<?xml-stylesheet data-consent-category="analytics" data-consent-processor="yandex-metrica" type="text/css" data-href="https://mc.yandex.ru/s.css"?><svg/>`},
		{"entity holding markup", `<!DOCTYPE svg [<!ENTITY t "<image href='https://mc.yandex.ru/watch/4'/>">]><svg xmlns="http://www.w3.org/2000/svg">&t;</svg>`,
			`<!DOCTYPE svg []><svg xmlns="http://www.w3.org/2000/svg">&t;</svg>`},
		{"style sheet", `<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://fonts.googleapis.com/css?family=X);</style></svg>`,
			`<svg xmlns="http://www.w3.org/2000/svg"><style type="text/plain" data-consent-category="functional" data-consent-processor="google-fonts">@import url(https://fonts.googleapis.com/css?family=X);</style></svg>`},
		{"nothing to do", `<rss version="2.0"><channel><title>&lt;img src=x&gt;</title></channel></rss>`, `<rss version="2.0"><channel><title>&lt;img src=x&gt;</title></channel></rss>`},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 3, 1 << 20} {
			if got := rewriteString(t, pol, c.in, chunk); got != c.want {
				t.Errorf("%s (chunk %d):\n got %s\nwant %s", c.name, chunk, got, c.want)
				break
			}
		}
	}
	all := &Policy{Catalog: pol.Catalog, XML: true, Granted: catalog.All}
	in := cases[0].in
	if got := rewriteString(t, all, in, 7); got != in {
		t.Errorf("granted: %s", got)
	}
	if strings.Contains(rewriteString(t, pol, cases[0].in, 5), "data-consent-banner") {
		t.Error("an XML document got the banner")
	}
}
