// Package stats serves consent statistics for marketing — a dashboard
// (server-rendered HTML with inline SVG charts), JSON and CSV — and, for
// the data-protection officer, the proof records of one consent ID. It
// reads the stores' daily aggregates, so a year costs one small read.
//
// It has no authentication of its own: put it behind Caddy's basic_auth
// (or any auth middleware); Authenticated decides whether a request got
// through one.
package stats

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kelisim/kelisim/csp"
	"github.com/kelisim/kelisim/store"
)

// Handler serves the statistics of a store.
type Handler struct {
	Store store.Store
	// Authenticated reports whether r passed an authentication layer. A
	// request that did not is refused: stats and consent records are
	// never served to anyone who has not logged in.
	Authenticated func(r *http.Request) bool
	// Now is the clock (tests replace it).
	Now func() time.Time
	// ThirdParties, if set, lists the hosts the Content-Security-Policy
	// reported (csp.Seen): shown as "third parties seen".
	ThirdParties func() []csp.Entry
}

// Report is the JSON answer: totals over [From, To] and the same per day.
type Report struct {
	From string `json:"from"`
	To   string `json:"to"`
	Counts
	Days []DayReport `json:"days"`
	// ThirdParties are the hosts the policy reported since the gateway
	// started (not bound to the period).
	ThirdParties []csp.Entry `json:"third_parties,omitempty"`
}

// Counts are the decisions of a period.
type Counts struct {
	Total      int            `json:"total"`
	Actions    Actions        `json:"actions"`
	Categories map[string]int `json:"categories"`
	Languages  map[string]int `json:"languages"`
	GPC        int            `json:"gpc"`
}

// Actions counts decisions by kind.
type Actions struct {
	AcceptAll int `json:"accept_all"`
	RejectAll int `json:"reject_all"`
	Custom    int `json:"custom"`
	Withdraw  int `json:"withdraw"`
}

// Decisions are the choices made on the banner: accept all, reject all,
// a choice of one's own. Every percentage the dashboard shows is a share
// of these; withdrawals are counted apart (as in the README's PromQL).
func (c Counts) Decisions() int { return c.Actions.AcceptAll + c.Actions.RejectAll + c.Actions.Custom }

// DayReport is one day of a Report.
type DayReport struct {
	Date string `json:"date"`
	Counts
}

var categories = []string{"functional", "analytics", "marketing"}

func newCounts() map[string]int {
	m := make(map[string]int, 3)
	for _, c := range categories {
		m[c] = 0
	}
	return m
}

func actionsOf(m map[string]int) Actions {
	return Actions{AcceptAll: m[store.ActionAcceptAll], RejectAll: m[store.ActionRejectAll], Custom: m[store.ActionCustom], Withdraw: m[store.ActionWithdraw]}
}

// Build sums days into a report over [from, to].
func Build(days []store.Day, from, to time.Time) Report {
	r := Report{From: store.DayKey(from), To: store.DayKey(to), Counts: Counts{Categories: newCounts(), Languages: map[string]int{}}, Days: []DayReport{}}
	var acts = map[string]int{}
	for _, d := range days {
		dr := DayReport{Date: d.Date, Counts: Counts{Total: d.Total, Actions: actionsOf(d.Actions), Categories: newCounts(), Languages: map[string]int{}, GPC: d.GPC}}
		r.Total += d.Total
		r.GPC += d.GPC
		for k, v := range d.Actions {
			acts[k] += v
		}
		for k, v := range d.Categories {
			r.Categories[k] += v
			dr.Categories[k] = v
		}
		for k, v := range d.Languages {
			r.Languages[k] += v
			dr.Languages[k] = v
		}
		r.Days = append(r.Days, dr)
	}
	r.Actions = actionsOf(acts)
	return r
}

// Error is a request the handler could not answer: the HTTP status,
// and why. A 4xx says what was wrong with the request; a 5xx's Err is
// for the server's log, not for the response.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func failf(code int, format string, a ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, a...)}
}

// ServeHTTP is Serve for plain net/http: a failed request is answered
// with its status and, for a 4xx, why (a 5xx's cause stays out of the
// response).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := h.Serve(w, r)
	if err == nil {
		return
	}
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Code: http.StatusInternalServerError, Err: err}
	}
	msg := e.Error()
	if e.Code >= 500 {
		msg = http.StatusText(e.Code)
	}
	http.Error(w, msg, e.Code)
}

// Serve answers GET with the dashboard, ?format=json or ?format=csv,
// or ?consent=<id> with that ID's proof records. It writes nothing when
// it returns an error (an *Error).
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request) error {
	if h.Authenticated == nil || !h.Authenticated(r) {
		return failf(http.StatusUnauthorized, "consent statistics must be behind authentication (Caddy: basic_auth before consent_stats)")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return failf(http.StatusMethodNotAllowed, "method not allowed")
	}
	q := r.URL.Query()
	if id := q.Get("consent"); id != "" {
		return h.serveProof(w, r, id)
	}
	from, to, err := h.window(q.Get("from"), q.Get("to"))
	if err != nil {
		return &Error{Code: http.StatusBadRequest, Err: err}
	}
	format := q.Get("format")
	switch format {
	case "", "html", "json", "csv":
	default:
		return failf(http.StatusBadRequest, `format must be "json", "csv" or "html"`)
	}
	rep, err := h.Report(r.Context(), from, to)
	if err != nil {
		return &Error{Code: http.StatusServiceUnavailable, Err: fmt.Errorf("consent store unavailable: %w", err)}
	}
	if h.ThirdParties != nil {
		rep.ThirdParties = h.ThirdParties()
	}
	noStore(w.Header())
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="consent-%s-%s.csv"`, rep.From, rep.To))
		writeCSV(w, rep)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		renderDashboard(w, rep, uiLang(q.Get("lang"), r.Header.Get("Accept-Language")))
	}
	return nil
}

// noStore marks a response that holds consent data.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The dashboard is one document with its style inline and its charts
	// as inline SVG: nothing else may load, nobody may frame it.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	// A consent gateway in front must not inject its banner here.
	h.Set("Kelisim-Rewrite", "off")
}

// Report reads the aggregates of [from, to].
func (h *Handler) Report(ctx context.Context, from, to time.Time) (Report, error) {
	days, err := h.Store.Days(ctx, from, to)
	if err != nil {
		return Report{}, err
	}
	return Build(days, from, to), nil
}

// window parses from/to (YYYY-MM-DD, UTC); the default is the last 30
// days, today included.
func (h *Handler) window(fromS, toS string) (from, to time.Time, err error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	to = now().UTC()
	if toS != "" {
		if to, err = time.Parse(time.DateOnly, toS); err != nil {
			return from, to, fmt.Errorf("to %q: want YYYY-MM-DD", toS)
		}
	}
	from = to.AddDate(0, 0, -29)
	if fromS != "" {
		if from, err = time.Parse(time.DateOnly, fromS); err != nil {
			return from, to, fmt.Errorf("from %q: want YYYY-MM-DD", fromS)
		}
	}
	if from.After(to) {
		return from, to, fmt.Errorf("from %s is after to %s", store.DayKey(from), store.DayKey(to))
	}
	if to.Sub(from) > 3*366*24*time.Hour {
		return from, to, fmt.Errorf("range longer than three years")
	}
	return from, to, nil
}

func writeCSV(w http.ResponseWriter, rep Report) {
	cw := csv.NewWriter(w)
	cw.Write([]string{"date", "total", "accept_all", "reject_all", "custom", "withdraw", "functional", "analytics", "marketing", "kk", "ru", "en", "gpc"})
	for _, d := range rep.Days {
		row := []string{d.Date, strconv.Itoa(d.Total), strconv.Itoa(d.Actions.AcceptAll), strconv.Itoa(d.Actions.RejectAll),
			strconv.Itoa(d.Actions.Custom), strconv.Itoa(d.Actions.Withdraw)}
		for _, c := range categories {
			row = append(row, strconv.Itoa(d.Categories[c]))
		}
		for _, l := range []string{"kk", "ru", "en"} {
			row = append(row, strconv.Itoa(d.Languages[l]))
		}
		cw.Write(append(row, strconv.Itoa(d.GPC)))
	}
	cw.Flush()
}

// serveProof answers the data-protection officer: every record kept for
// one consent ID, with all its proof fields.
func (h *Handler) serveProof(w http.ResponseWriter, r *http.Request, id string) error {
	if len(id) > 64 || strings.ContainsAny(id, "\x00\r\n") {
		return failf(http.StatusBadRequest, "bad consent id")
	}
	recs, err := h.Store.History(r.Context(), id)
	if err != nil {
		return &Error{Code: http.StatusServiceUnavailable, Err: fmt.Errorf("consent store unavailable: %w", err)}
	}
	if recs == nil {
		recs = []store.Record{}
	}
	noStore(w.Header())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	return json.NewEncoder(w).Encode(struct {
		ID      string         `json:"id"`
		Records []store.Record `json:"records"`
	}{id, recs})
}
