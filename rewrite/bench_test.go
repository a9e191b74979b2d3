package rewrite_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/net/html"

	"github.com/kelisim/kelisim/internal/pagegen"
	"github.com/kelisim/kelisim/rewrite"
)

// benchPages are the generated pages of issue 6 plus the demo's own.
func benchPages(b *testing.B) []struct {
	name string
	page []byte
} {
	pages := []struct {
		name string
		page []byte
	}{
		{"30KB", pagegen.Page(30 << 10)},
		{"150KB", pagegen.Page(150 << 10)},
		{"1.5MB", pagegen.Page(1536 << 10)},
	}
	for _, f := range []string{"index.html", "news.html", "privacy.html"} {
		p, err := os.ReadFile(filepath.Join("..", "examples", "nlg.kz", f))
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, struct {
			name string
			page []byte
		}{"demo-" + f, p})
	}
	return pages
}

// chunked writes page in 32 KiB writes, as a proxy delivers it.
func chunked(w io.Writer, page []byte) {
	for i := 0; i < len(page); i += 32 << 10 {
		w.Write(page[i:min(i+32<<10, len(page))])
	}
}

// BenchmarkRewrite compares, in one run, the rewriter with two baselines:
// a plain copy and a pass-through with golang.org/x/net/html's Tokenizer.
// Compare MB/s within a run; absolute numbers depend on the machine.
func BenchmarkRewrite(b *testing.B) {
	c := builtin(b)
	head, body := []byte(`<script src="/_consent/kelisim.js"></script>`), []byte(`<div data-consent-banner></div>`)
	for _, p := range benchPages(b) {
		b.Run(p.name+"/copy", func(b *testing.B) {
			b.SetBytes(int64(len(p.page)))
			b.ReportAllocs()
			var sink bytes.Buffer
			sink.Grow(len(p.page))
			for b.Loop() {
				sink.Reset()
				chunked(&sink, p.page)
			}
		})
		b.Run(p.name+"/tokenizer", func(b *testing.B) {
			b.SetBytes(int64(len(p.page)))
			b.ReportAllocs()
			for b.Loop() {
				z := html.NewTokenizer(bytes.NewReader(p.page))
				for z.Next() != html.ErrorToken {
					io.Discard.Write(z.Raw())
				}
			}
		})
		b.Run(p.name+"/rewrite", func(b *testing.B) {
			b.SetBytes(int64(len(p.page)))
			b.ReportAllocs()
			pol := &rewrite.Policy{Catalog: c, Head: head, Body: body}
			w := rewrite.NewWriter(io.Discard, pol)
			for b.Loop() {
				w.Reset(io.Discard, pol)
				chunked(w, p.page)
				w.Close()
			}
		})
		// The same page again, replayed from a recording (replay.go).
		b.Run(p.name+"/replay", func(b *testing.B) {
			b.SetBytes(int64(len(p.page)))
			b.ReportAllocs()
			pol := &rewrite.Policy{Catalog: c, Head: head, Body: body}
			w := rewrite.NewWriter(io.Discard, pol)
			w.Record(len(p.page), nil)
			chunked(w, p.page)
			w.Close()
			rec := w.Recording()
			for b.Loop() {
				w.Reset(io.Discard, pol)
				w.Replay(rec)
				chunked(w, p.page)
				w.Close()
			}
		})
	}
}
