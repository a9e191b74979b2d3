package rewrite

import (
	"strings"
	"testing"

	"github.com/kelisim/kelisim/fetching"
)

// TestKindIn: every name the rewriter knows is found, in any case, and
// names that differ from one by a byte, a prefix or a suffix are not.
func TestKindIn(t *testing.T) {
	for _, e := range shortKinds {
		for _, n := range []string{e.name, strings.ToUpper(e.name), strings.ToUpper(e.name[:1]) + e.name[1:]} {
			if got := kindIn([]byte(n), 0, len(n)); got != e.kind {
				t.Errorf("kindIn(%q) = %d, want %d", n, got, e.kind)
			}
		}
		for _, n := range []string{e.name + "x", "x" + e.name, e.name[1:], e.name[:len(e.name)-1] + "\x00", e.name + "\x00"} {
			if len(n) <= 8 && kindIn([]byte(n), 0, len(n)) != kOther {
				known := false
				for _, f := range shortKinds {
					known = known || f.name == n
				}
				if !known {
					t.Errorf("kindIn(%q) = %d, want kOther", n, kindIn([]byte(n), 0, len(n)))
				}
			}
		}
	}
	for n, want := range map[string]kind{"": kOther, "plaintext": kPlaintext, "BLOCKQUOTE": kBreakout, "foreignObject": kIntegration, "annotation-xml": kIntegration, "custom-element": kOther} {
		if got := kindIn([]byte(n), 0, len(n)); got != want {
			t.Errorf("kindIn(%q) = %d, want %d", n, got, want)
		}
	}
}

// TestKindInPaths: the eight-bytes-at-once path and the byte loop agree on
// every byte value in every position, around every known name.
func TestKindInPaths(t *testing.T) {
	wide := func(n []byte) kind { return kindIn(append(append([]byte{}, n...), "        "...), 0, len(n)) }
	tight := func(n []byte) kind { return kindIn(n, 0, len(n)) }
	for _, e := range shortKinds {
		for pos := 0; pos < len(e.name); pos++ {
			for c := 0; c < 256; c++ {
				n := []byte(e.name)
				n[pos] = byte(c)
				if w, ti := wide(n), tight(n); w != ti {
					t.Fatalf("kindIn(%q): %d eight bytes at a time, %d byte by byte", n, w, ti)
				}
				want := kOther
				if strings.EqualFold(string(n), e.name) && !strings.ContainsAny(string(n), "\x00") {
					want = e.kind
				}
				// Other known names reached by the change (e.g. "dd"/"dl").
				for _, f := range shortKinds {
					if strings.EqualFold(string(n), f.name) && (c < 0x80) {
						want = f.kind
					}
				}
				if got := wide(n); got != want {
					t.Fatalf("kindIn(%q) = %d, want %d", n, got, want)
				}
			}
		}
	}
}

// FuzzSkipTag: the fast path over ` name="value"` attributes ends a tag
// where the full attribute parser does.
func FuzzSkipTag(f *testing.F) {
	for _, s := range []string{` class="a" href="/x">`, ` a="b"c="d">`, ` a=">" b>`, ` a = "x">`, ` a="x' >`, ` data-x="1"/>`, ` a="`, ` =a="b">`, " a=\"b\"\t>", ` a="b" c='>'>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte("<a" + s)
		if got, want := skipTag(b, 2), tagEnd(b, 2, nil); got != want {
			t.Fatalf("%q: skipTag %d, tagEnd %d", b, got, want)
		}
	})
}

// TestGatedNames: the gate's name filter lets through every name an
// element fetches by, and style.
func TestGatedNames(t *testing.T) {
	for _, e := range fetching.Elements {
		for _, a := range append(e.Attrs, "style", "STYLE", "Src") {
			if !mayBeGated([]byte(a)) {
				t.Errorf("%s: %s filtered out", e.Name, a)
			}
		}
	}
	rejected := 0
	for _, a := range []string{"alt", "class", "width", "height", "loading", "id", "title", "aria-label"} {
		if !mayBeGated([]byte(a)) {
			rejected++
		}
	}
	if rejected < 6 {
		t.Errorf("the filter lets %d of 8 common names through", 8-rejected)
	}
}
