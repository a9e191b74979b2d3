package csp

import (
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Violation is one report of what the policy blocked (or, report-only,
// would have blocked).
type Violation struct {
	Page      string // the document's path, query left out
	Host      string // the blocked URL's host
	Directive string // the effective directive, e.g. script-src-elem
}

// MaxReport bounds a report body: a browser's are a few hundred bytes;
// a batch of the Reporting API a few kilobytes.
const MaxReport = 64 << 10

// ParseReports reads a report body as browsers send it: report-uri's
// application/csp-report ({"csp-report": {...}}) or the Reporting API's
// application/reports+json (a list of {"type": "csp-violation", "body":
// {...}}). Violations of inline code, eval and of the site's own origin
// name no third party and are left out.
func ParseReports(contentType string, body []byte) ([]Violation, error) {
	type legacy struct {
		DocumentURI        string `json:"document-uri"`
		BlockedURI         string `json:"blocked-uri"`
		EffectiveDirective string `json:"effective-directive"`
		ViolatedDirective  string `json:"violated-directive"`
	}
	type modern struct {
		DocumentURL        string `json:"documentURL"`
		BlockedURL         string `json:"blockedURL"`
		EffectiveDirective string `json:"effectiveDirective"`
	}
	var raw [][3]string // document, blocked, directive
	switch strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]) {
	case "application/csp-report", "application/json":
		var r struct {
			Report *legacy `json:"csp-report"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Report == nil {
			return nil, errors.New("not a csp-report object")
		}
		d := r.Report.EffectiveDirective
		if d == "" {
			d, _, _ = strings.Cut(r.Report.ViolatedDirective, " ")
		}
		raw = append(raw, [3]string{r.Report.DocumentURI, r.Report.BlockedURI, d})
	case "application/reports+json":
		var rs []struct {
			Type string `json:"type"`
			Body modern `json:"body"`
		}
		if err := json.Unmarshal(body, &rs); err != nil {
			return nil, errors.New("not a list of reports")
		}
		for _, r := range rs {
			if r.Type == "csp-violation" {
				raw = append(raw, [3]string{r.Body.DocumentURL, r.Body.BlockedURL, r.Body.EffectiveDirective})
			}
		}
	default:
		return nil, errors.New("send application/csp-report or application/reports+json")
	}
	var out []Violation
	for _, r := range raw {
		b, err := url.Parse(r[1])
		if err != nil || b.Hostname() == "" || len(r[2]) > 64 {
			continue
		}
		switch b.Scheme {
		case "http", "https", "ws", "wss":
		default:
			continue
		}
		page := "/"
		if d, err := url.Parse(r[0]); err == nil && d.Path != "" {
			page = d.Path
		}
		if d, _ := url.Parse(r[0]); d != nil && strings.EqualFold(d.Host, b.Host) {
			continue // the site itself: not a third party
		}
		out = append(out, Violation{Page: clip(page, 256), Host: strings.ToLower(clip(b.Hostname(), 253)), Directive: r[2]})
	}
	return out, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Seen is "third parties seen": the hosts the policy reported, per host
// and directive, with the catalog's processor where it knows the host.
// Bounded: past MaxSeen entries new hosts are counted as dropped. One
// Seen may take the reports of several gateways (a process's sites).
type Seen struct {
	mu      sync.Mutex
	entries map[seenKey]*Entry
	dropped int64
}

type seenKey struct{ host, directive string }

// Entry is one host and directive seen.
type Entry struct {
	Host      string `json:"host"`
	Directive string `json:"directive"`
	// Processor is the catalog processor owning the host ("" if none):
	// blocked as intended, where the visitor did not consent.
	Processor string    `json:"processor,omitempty"`
	Count     int64     `json:"count"`
	First     time.Time `json:"first_seen"`
	Last      time.Time `json:"last_seen"`
	// Page is the last page the host was reported on.
	Page string `json:"page"`
}

// MaxSeen bounds the hosts and directives kept.
const MaxSeen = 2000

// NewSeen returns an empty Seen.
func NewSeen() *Seen {
	return &Seen{entries: map[seenKey]*Entry{}}
}

// Add counts v, on a host of processor ("" for none), at now. It reports
// whether the host and directive are new, or were last reported on more
// than an hour ago: what is worth a log line.
func (s *Seen) Add(v Violation, processor string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := seenKey{v.Host, v.Directive}
	e := s.entries[k]
	if e == nil {
		if len(s.entries) >= MaxSeen {
			s.dropped++
			return false
		}
		e = &Entry{Host: v.Host, Directive: v.Directive, Processor: processor, First: now}
		s.entries[k] = e
	}
	fresh := e.Count == 0 || now.Sub(e.Last) > time.Hour
	e.Count++
	e.Last, e.Page = now, v.Page
	return fresh
}

// List returns the entries, hosts the catalog does not know first (the
// operator's to-do), then by count.
func (s *Seen) List() []Entry {
	s.mu.Lock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, *e)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Processor == "") != (b.Processor == "") {
			return a.Processor == ""
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Host+a.Directive < b.Host+b.Directive
	})
	return out
}
