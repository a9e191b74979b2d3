package rewrite

import (
	"strings"
	"testing"
)

// TestLongTagFailsClosed: a tag longer than MaxTag is not passed
// unexamined: an element that fetches is written neutralised, its URL
// attributes renamed wherever they stand, whatever the writes; one that
// cannot fetch passes unchanged; what follows is read again.
func TestLongTagFailsClosed(t *testing.T) {
	pol := &Policy{Catalog: testCatalog(t)}
	pad := strings.Repeat("x", MaxTag+100)
	after := `<p>after</p><img src="https://mc.yandex.ru/watch/9">`
	cases := []struct{ name, in, want string }{
		{"img", `<img alt="` + pad + `" SRC="https://mc.yandex.ru/watch/1" srcset='/a.png 1x'>` + after,
			`<img data-consent-category="functional analytics marketing" data-consent-processor="" alt="` + pad + `" data-SRC="https://mc.yandex.ru/watch/1" data-srcset='/a.png 1x'>`},
		{"script", `<script data-x=` + pad + ` type=module src=https://mc.yandex.ru/t.js></script>` + after,
			`<script type="text/plain" data-consent-category="functional analytics marketing" data-consent-processor="" data-x=` + pad + ` data-type=module data-src=https://mc.yandex.ru/t.js></script>`},
		{"div", `<div data-props='` + pad + `' class=a>` + after, `<div data-props='` + pad + `' class=a>`},
	}
	for _, c := range cases {
		for _, chunk := range []int{1 << 10, 4093, 64 << 10, 4 << 20} {
			got := rewriteString(t, pol, c.in, chunk)
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("%s (chunk %d): got %.200s … %s", c.name, chunk, got[:min(len(got), 200)], got[max(0, len(got)-300):])
				break
			}
			rest := got[len(c.want):]
			if !strings.Contains(rest, `data-src="https://mc.yandex.ru/watch/9"`) {
				t.Errorf("%s (chunk %d): what follows the long tag not read: %s", c.name, chunk, rest)
				break
			}
		}
	}
}
