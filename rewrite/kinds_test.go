package rewrite

import (
	"strings"
	"testing"
)

// TestKindOf: every name the rewriter knows is found, in any case, and
// names that differ from one by a byte, a prefix or a suffix are not.
func TestKindOf(t *testing.T) {
	for _, e := range shortKinds {
		for _, n := range []string{e.name, strings.ToUpper(e.name), strings.ToUpper(e.name[:1]) + e.name[1:]} {
			if got := kindOf([]byte(n)); got != e.kind {
				t.Errorf("kindOf(%q) = %d, want %d", n, got, e.kind)
			}
		}
		for _, n := range []string{e.name + "x", "x" + e.name, e.name[1:], e.name[:len(e.name)-1] + "\x00", e.name + "\x00"} {
			if len(n) <= 8 && kindOf([]byte(n)) != kOther {
				known := false
				for _, f := range shortKinds {
					known = known || f.name == n
				}
				if !known {
					t.Errorf("kindOf(%q) = %d, want kOther", n, kindOf([]byte(n)))
				}
			}
		}
	}
	for n, want := range map[string]kind{"": kOther, "plaintext": kPlaintext, "BLOCKQUOTE": kBreakout, "foreignObject": kIntegration, "annotation-xml": kIntegration, "custom-element": kOther} {
		if got := kindOf([]byte(n)); got != want {
			t.Errorf("kindOf(%q) = %d, want %d", n, got, want)
		}
	}
}
