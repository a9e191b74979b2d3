package stats_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kelisim/kelisim/stats"
	"github.com/kelisim/kelisim/store"
	"github.com/kelisim/kelisim/store/storetest"
)

var end = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fill appends days of decisions: three per day, every kind.
func fill(tb testing.TB, s store.Store, days int) {
	ctx := context.Background()
	acts := []struct {
		action string
		cats   []string
		lang   string
	}{
		{store.ActionAcceptAll, []string{"functional", "analytics", "marketing"}, "kk"},
		{store.ActionRejectAll, nil, "ru"},
		{store.ActionCustom, []string{"analytics"}, "en"},
	}
	for d := 0; d < days; d++ {
		day := end.AddDate(0, 0, -d)
		for i := 0; i < 3; i++ {
			a := acts[(d+i)%3]
			r := store.Record{ID: fmt.Sprintf("r%d-%d", d, i), ConsentID: fmt.Sprintf("c%d-%d", d, i), Time: day, Action: a.action, Granted: a.cats, Lang: a.lang, GPC: i == 0}
			if err := s.Append(ctx, r); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func handler(s store.Store) *stats.Handler {
	return &stats.Handler{Store: s, Authenticated: func(r *http.Request) bool { return r.Header.Get("X-User") != "" }, Now: func() time.Time { return end }}
}

func get(h http.Handler, url string, user bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", url, nil)
	if user {
		req.Header.Set("X-User", "m")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// openStore opens an embedded store in a temporary directory, closed
// when the test ends.
func openStore(tb testing.TB) *store.Embedded {
	tb.Helper()
	s, err := store.OpenEmbedded(filepath.Join(tb.TempDir(), "c.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestReportAndRefusal(t *testing.T) {
	s := openStore(t)
	fill(t, s, 40)
	h := handler(s)
	if rec := get(h, "/?format=json", false); rec.Code != 401 {
		t.Errorf("unauthenticated: %d", rec.Code)
	}
	rec := get(h, "/?format=json&from=2026-11-20&to=2026-11-24", true)
	body := rec.Body.String()
	// 5 days × 3 decisions; each day has one of each kind.
	for _, want := range []string{`"total":15`, `"accept_all":5`, `"reject_all":5`, `"custom":5`, `"analytics":10`, `"marketing":5`, `"functional":5`, `"gpc":5`} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %s: %s", want, body)
		}
	}
	if rec := get(h, "/", true); !strings.Contains(rec.Body.String(), "Келісім статистикасы") || strings.Count(rec.Body.String(), "<tr><td>") != 30 {
		t.Errorf("default dashboard: kk, last 30 days")
	}
	for _, bad := range []string{"/?from=yesterday", "/?from=2026-11-24&to=2026-11-01", "/?format=xml", "/?from=2000-01-01"} {
		if rec := get(h, bad, true); rec.Code != 400 {
			t.Errorf("%s: %d, want 400", bad, rec.Code)
		}
	}
	if rec := get(h, "/?consent=c3-1", true); !strings.Contains(rec.Body.String(), `"record_id":"r3-1"`) {
		t.Errorf("proof records: %s", rec.Body.String())
	}
}

// BenchmarkDashboardYear renders a year of daily data (target: under
// 50 ms server time) from the embedded store and from Valkey.
func BenchmarkDashboardYear(b *testing.B) {
	for _, backend := range []string{"embedded", "valkey"} {
		b.Run(backend, func(b *testing.B) {
			var s store.Store
			var err error
			if backend == "embedded" {
				s, err = store.OpenEmbedded(filepath.Join(b.TempDir(), "c.db"))
			} else {
				s, err = store.OpenValkey(context.Background(), store.ValkeyOptions{Addresses: []string{storetest.StartValkey(b)}})
			}
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fill(b, s, 366)
			h := handler(s)
			for _, format := range []string{"html", "json"} {
				b.Run(format, func(b *testing.B) {
					url := "/?from=2025-11-24&to=2026-11-24&format=" + format
					for b.Loop() {
						rec := get(h, url, true)
						if rec.Code != 200 {
							b.Fatal(rec.Code)
						}
						io.Discard.Write(rec.Body.Bytes())
					}
					b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/render")
				})
			}
		})
	}
}

// TestStoreDownIsNoLeak: with the store down the dashboard, the JSON and
// a proof look-up answer 503, and the store's error text (paths, driver
// messages) stays out of the response; Serve hands it on for the log.
func TestStoreDownIsNoLeak(t *testing.T) {
	s, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, storeErr := s.Days(context.Background(), end, end)
	if storeErr == nil {
		t.Fatal("a closed store answered")
	}
	h := handler(s)
	for _, u := range []string{"/", "/?format=json", "/?consent=abc"} {
		rec := get(h, u, true)
		if rec.Code != 503 || strings.Contains(rec.Body.String(), storeErr.Error()) {
			t.Errorf("%s: %d %q", u, rec.Code, rec.Body.String())
		}
		req := httptest.NewRequest("GET", u, nil)
		req.Header.Set("X-User", "m")
		var e *stats.Error
		if err := h.Serve(httptest.NewRecorder(), req); !errors.As(err, &e) || e.Code != 503 {
			t.Errorf("%s: Serve returned %v, want a 503 *stats.Error", u, err)
		}
	}
	if rec := get(h, "/?format=xml", true); rec.Code != 400 || !strings.Contains(rec.Body.String(), "format must be") {
		t.Errorf("a bad format: %d %q", rec.Code, rec.Body.String())
	}
}

// TestDashboardLanguage: the dashboard speaks the language the reader's
// browser weights highest among its own, never one weighted q=0.
func TestDashboardLanguage(t *testing.T) {
	s := openStore(t)
	fill(t, s, 2)
	h := handler(s)
	for al, want := range map[string]string{"ru;q=0, en": `lang="en"`, "de, ru;q=0.8, en;q=0.5": `lang="ru"`, "fr": `lang="kk"`} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-User", "m")
		req.Header.Set("Accept-Language", al)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("Accept-Language %q: want %s", al, want)
		}
	}
}
