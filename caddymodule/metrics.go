package caddymodule

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kelisim/kelisim/catalog"
)

// metrics feeds Caddy's Prometheus registry (served by Caddy's own metrics
// handler) with what the gateway does.
type metrics struct {
	decisions  *prometheus.CounterVec
	categories *prometheus.CounterVec
	rewritten  prometheus.Counter
	replayed   prometheus.Counter
	pageBytes  *prometheus.CounterVec
	blocked    *prometheus.CounterVec
	storeErrs  prometheus.Counter
	csp        *prometheus.CounterVec
}

func newMetrics(ctx caddy.Context) *metrics {
	reg := ctx.GetMetricsRegistry()
	m := &metrics{
		decisions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "decisions_total",
			Help: "Consent decisions by action and banner language.",
		}, []string{"action", "lang"})),
		categories: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "categories_granted_total",
			Help: "Consent decisions granting each optional category.",
		}, []string{"category"})),
		rewritten: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "pages_rewritten_total",
			Help: "HTML responses streamed through the rewriter.",
		})),
		replayed: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "pages_replayed_total",
			Help: "Rewritten HTML responses the origin sent unchanged, written from a recording of an earlier rewrite.",
		})),
		pageBytes: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "page_bytes_total",
			Help: "Bytes of HTML pages from the origin, by how they went through: rewritten, or replayed from a recording.",
		}, []string{"how"})),
		blocked: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "elements_blocked_total",
			Help: "Page elements neutralised until consent, by processor.",
		}, []string{"processor"})),
		storeErrs: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "store_errors_total",
			Help: "Consent store operations that failed.",
		})),
		csp: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kelisim", Name: "csp_reports_total",
			Help: "Hosts the Content-Security-Policy reported blocking, by processor (unknown: a host the catalog does not know, to allow or declare).",
		}, []string{"processor"})),
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (several site blocks share the metrics).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) Decision(action string, granted catalog.Set, lang string) {
	m.decisions.WithLabelValues(action, lang).Inc()
	for _, c := range granted.Categories() {
		m.categories.WithLabelValues(string(c)).Inc()
	}
}

func (m *metrics) PageRewritten() { m.rewritten.Inc() }
func (m *metrics) PageReplayed()  { m.replayed.Inc() }
func (m *metrics) PageBytes(rewritten, replayed int) {
	m.pageBytes.WithLabelValues("rewritten").Add(float64(rewritten))
	m.pageBytes.WithLabelValues("replayed").Add(float64(replayed))
}
func (m *metrics) Blocked(proc string) { m.blocked.WithLabelValues(proc).Inc() }
func (m *metrics) StoreError()         { m.storeErrs.Inc() }
func (m *metrics) CSPReport(processor string) {
	if processor == "" {
		processor = "unknown"
	}
	m.csp.WithLabelValues(processor).Inc()
}
