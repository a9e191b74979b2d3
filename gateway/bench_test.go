package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kelisim/kelisim/csp"
	"github.com/kelisim/kelisim/gateway"
	"github.com/kelisim/kelisim/internal/pagegen"
)

// BenchmarkGatewayPage serves the generated 150 KB page through the
// gateway (no consent cookie: the rewriting path) in process, to count
// the gateway's own cost per page beside the rewriter's: rewritten every
// time (replay off), and replayed (the same page again); and both
// without the default report-only Content-Security-Policy, for its cost.
func BenchmarkGatewayPage(b *testing.B) {
	b.Run("rewrite", func(b *testing.B) { benchGatewayPage(b, -1, "") })
	b.Run("replay", func(b *testing.B) { benchGatewayPage(b, 0, "") })
	b.Run("tokens-rewrite", func(b *testing.B) { benchGatewayPage(b, -1, "", tokens) })
	b.Run("tokens-replay", func(b *testing.B) { benchGatewayPage(b, 0, "", tokens) })
	// The default report-only policy's cost: the same without it.
	b.Run("rewrite-csp-off", func(b *testing.B) { benchGatewayPage(b, -1, csp.Off) })
	b.Run("replay-csp-off", func(b *testing.B) { benchGatewayPage(b, 0, csp.Off) })
}

// tokens makes the page differ on every request, as a CMS page does: a
// token in the head and the time near the end (64 variants, made in
// advance so the benchmark does not time the origin).
func tokens(page []byte) func() []byte {
	var variants [][]byte
	for n := range 64 {
		variants = append(variants, pagegen.Personalised(page, uint64(n+1), time.Unix(1790000000+int64(n)*7919, 0)))
	}
	n := 0
	return func() []byte {
		n++
		return variants[n%len(variants)]
	}
}

func benchGatewayPage(b *testing.B, replayCache int, mode csp.Mode, vary ...func([]byte) func() []byte) {
	page := pagegen.Page(150 << 10)
	next := func() []byte { return page }
	if len(vary) > 0 {
		next = vary[0](page)
	}
	e := newEnv(b, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := next()
		for i := 0; i < len(page); i += 32 << 10 {
			w.Write(page[i:min(i+32<<10, len(page))])
		}
	}, func(c *gateway.Config) { c.ReplayCache, c.CSP = replayCache, mode })
	h := e.gw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.origin(w, r) }))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", "ru-RU,ru;q=0.9,en;q=0.8")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		rec := &discardWriter{h: http.Header{}}
		h.ServeHTTP(rec, req.Clone(req.Context()))
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
