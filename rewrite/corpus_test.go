package rewrite_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/internal/oracle"
	"github.com/kelisim/kelisim/rewrite"
	"golang.org/x/net/html"
)

var expectRE = regexp.MustCompile(`^<!-- expect blocked:([^;]*);\s*kept:([^;]*);\s*inline-blocked:\s*(\d+)\s*;\s*inline-kept:\s*(\d+)\s*-->`)

func builtin(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t testing.TB, pol *rewrite.Policy, in []byte, chunk int) []byte {
	var out bytes.Buffer
	w := rewrite.NewWriter(&out, pol)
	for len(in) > 0 {
		n := min(chunk, len(in))
		if _, err := w.Write(in[:n]); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func hostOf(u string) string {
	h, _, ok := catalog.SplitURL(u)
	if !ok {
		return "self"
	}
	return h
}

// countInline counts executable inline scripts in the page parsed with
// scripting off (so noscript content counts), split by whether the
// rewriter neutralised them.
func countInline(page []byte) (neutralised, active int) {
	doc, err := html.ParseWithOptions(bytes.NewReader(page), html.ParseOptionEnableScripting(false))
	if err != nil {
		return -1, -1
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" && (n.Namespace == "" || n.Namespace == "svg") {
			src, typ, hasType, cat, dsrc := "", "", false, false, false
			for _, a := range n.Attr {
				switch a.Key {
				case "src", "href":
					src = a.Val
				case "type":
					typ, hasType = strings.ToLower(strings.TrimSpace(a.Val)), true
				case "data-consent-category":
					cat = true
				case "data-src", "data-href", "data-xlink:href":
					dsrc = true
				}
			}
			exec := !hasType || typ == "" || typ == "module" || strings.Contains(typ, "javascript")
			switch {
			case cat && !dsrc && src == "":
				neutralised++
			case exec && src == "" && !cat:
				active++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return
}

// TestCorpus runs hand-checked pages — odd markup, several trackers per
// page, charsets, fragments — through the rewriter in chunks of several
// sizes and compares the result with each page's reviewed expectations.
func TestCorpus(t *testing.T) {
	c := builtin(t)
	files, _ := filepath.Glob("testdata/corpus/*.html")
	if len(files) < 20 {
		t.Fatalf("corpus has %d pages", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := expectRE.FindSubmatch(bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")))
			if m == nil {
				t.Fatal("no expectation line")
			}
			blocked, kept := strings.Fields(string(m[1])), strings.Fields(string(m[2]))
			inlineBlocked, _ := strconv.Atoi(string(m[3]))
			inlineKept, _ := strconv.Atoi(string(m[4]))
			pol := &rewrite.Policy{Catalog: c}
			ref := run(t, pol, in, len(in))
			for _, chunk := range []int{1, 3, 17, 512} {
				if got := run(t, pol, in, chunk); !bytes.Equal(got, ref) {
					t.Fatalf("output differs when written in %d-byte chunks", chunk)
				}
			}
			active := map[string]bool{}
			for _, r := range oracle.Refs(ref) {
				if !r.Inline {
					active[hostOf(r.URL)] = true
				}
			}
			for _, h := range blocked {
				if active[h] {
					t.Errorf("blocked host %s is still loaded", h)
				}
			}
			for _, h := range kept {
				if !active[h] {
					t.Errorf("kept host %s no longer loads", h)
				}
			}
			if left := oracle.Blocked(c, oracle.Refs(ref), 0); len(left) > 0 {
				t.Errorf("processor elements still active: %+v", left)
			}
			// Everything the page loaded before, except the blocked hosts,
			// still loads: nothing else was touched.
			for _, r := range oracle.Refs(in) {
				h := hostOf(r.URL)
				if !r.Inline && !active[h] && !contains(blocked, h) {
					t.Errorf("%s <%s %s> was blocked but is not expected to be", h, r.Tag, r.Attr)
				}
			}
			n, a := countInline(ref)
			if n != inlineBlocked || a != inlineKept {
				t.Errorf("inline scripts: %d neutralised, %d active; want %d and %d", n, a, inlineBlocked, inlineKept)
			}
			if got := run(t, &rewrite.Policy{Catalog: c, Granted: catalog.All}, in, 7); !bytes.Equal(got, in) {
				t.Errorf("with every category granted the page changed")
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
