package gateway_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/gateway"
	"github.com/kelisim/kelisim/internal/pagegen"
)

type countingMetrics struct {
	rewritten, replayed, blocked  atomic.Int64
	bytesRewritten, bytesReplayed atomic.Int64
}

func (m *countingMetrics) Decision(string, catalog.Set, string) {}
func (m *countingMetrics) PageRewritten()                       { m.rewritten.Add(1) }
func (m *countingMetrics) PageReplayed()                        { m.replayed.Add(1) }
func (m *countingMetrics) PageBytes(rewritten, replayed int) {
	m.bytesRewritten.Add(int64(rewritten))
	m.bytesReplayed.Add(int64(replayed))
}
func (m *countingMetrics) Blocked(string)   { m.blocked.Add(1) }
func (m *countingMetrics) StoreError()      {}
func (m *countingMetrics) CSPReport(string) {}

// TestReplayFollowsTheOrigin: a page the origin sends again is replayed,
// byte for byte what rewriting gives (compared with a gateway that never
// replays, on the same requests); a page the origin changed, a visitor
// with another consent, language or address get what rewriting gives them,
// not a recording of someone else's page.
func TestReplayFollowsTheOrigin(t *testing.T) {
	body := string(pagegen.Page(150 << 10))
	origin := func(w http.ResponseWriter, r *http.Request) { htmlOrigin(body)(w, r) }
	m := &countingMetrics{}
	on := newEnv(t, "1", origin, func(c *gateway.Config) { c.Metrics = m })
	off := newEnv(t, "1", origin, func(c *gateway.Config) { c.ReplayCache = -1 })
	cookieOn, _ := on.decide(`{"action":"accept-all"}`)
	cookieOff, _ := off.decide(`{"action":"accept-all"}`)

	type req struct {
		name, path string
		hdr        []string
		accepted   bool
		replay     bool // expected to be a replay
	}
	steps := []req{
		{"first visit", "/", nil, false, false},
		{"second visit", "/", nil, false, true},
		{"other address", "/?utm=1", nil, false, false},
		{"other language", "/", []string{"Accept-Language", "ru"}, false, false},
		{"accepted", "/", nil, true, false},
		{"accepted again", "/", nil, true, true},
		{"third visit", "/", nil, false, true},
	}
	get := func(e *env, s req, cookie string) string {
		hdr := s.hdr
		if s.accepted {
			hdr = append(hdr, "Cookie", cookie)
		}
		// The banner names the gateway's host: each env has its own.
		return strings.ReplaceAll(readAll(t, e.do("GET", s.path, nil, hdr...)), strings.TrimPrefix(e.srv.URL, "http:"), "//gateway")
	}
	check := func(s req) {
		t.Helper()
		before, bytesBefore := m.replayed.Load(), m.bytesReplayed.Load()
		got, want := get(on, s, cookieOn), get(off, s, cookieOff)
		if replayedBytes := m.bytesReplayed.Load() - bytesBefore; s.replay && replayedBytes < int64(len(body))*8/10 || !s.replay && replayedBytes > 0 {
			t.Fatalf("%s: %d of %d bytes replayed", s.name, replayedBytes, len(body))
		}
		if got != want {
			t.Fatalf("%s: replaying gateway wrote %d bytes, rewriting %d; they differ", s.name, len(got), len(want))
		}
		if replayed := m.replayed.Load() > before; replayed != s.replay {
			t.Fatalf("%s: replayed %v, want %v", s.name, replayed, s.replay)
		}
		if !s.accepted && (!strings.Contains(got, `data-consent-processor="yandex-metrica"`) || strings.Contains(got, `<script async src="https://mc.yandex.ru`)) {
			t.Fatalf("%s: tracker not blocked", s.name)
		}
		if s.accepted && strings.Contains(got, `data-consent-processor="yandex-metrica"`) {
			t.Fatalf("%s: tracker blocked after consent", s.name)
		}
	}
	for _, s := range steps {
		check(s)
	}

	// The origin changes the page in the middle: a new tracker there is
	// blocked, the rest of the page is replayed around it.
	mid := strings.Index(body[len(body)/2:], "<article") + len(body)/2
	body = body[:mid] + `<script src="https://connect.facebook.net/en_US/fbevents.js"></script>` + body[mid:]
	check(req{"changed page", "/", nil, false, true})
	got := get(on, req{path: "/"}, "")
	if !strings.Contains(got, `data-consent-processor="meta-pixel"`) {
		t.Fatal("tracker added to the page not blocked")
	}
	// Another page altogether at the same address: rewritten, recorded,
	// then replayed.
	body = strings.ToUpper(body)
	check(req{"new page", "/", nil, false, false})
	check(req{"new page again", "/", nil, false, true})
}
