// Package scan crawls a site the way an operator setting up Kelisim needs:
// it lists every third-party script, frame, pixel, link and inline loader
// the pages carry, and the tracker cookies the server sets, by processor
// and category — and marks the third-party hosts the catalog does not
// know, which are candidates for a processor block. It parses whole
// documents with goquery; the gateway's hot path never does.
package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/publicsuffix"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/fetching"
)

// Options configure a scan.
type Options struct {
	Catalog *catalog.Catalog
	// MaxPages bounds the crawl (default 30).
	MaxPages int
	Client   *http.Client
}

// Finding is one third-party resource (or tracker cookie) of the site.
type Finding struct {
	Kind      string `json:"kind"` // script, inline, frame, pixel, link, media, cookie
	URL       string `json:"url"`  // the resource, the cookie name, or an inline excerpt
	Host      string `json:"host,omitempty"`
	Processor string `json:"processor,omitempty"` // catalog id; empty if unknown
	Category  string `json:"category,omitempty"`
	Country   string `json:"country,omitempty"`
	// Blocked: a consent gateway in front of the scanned site has
	// neutralised it (scanning through the gateway shows what still
	// loads before consent: every finding not blocked).
	Blocked bool     `json:"blocked,omitempty"`
	Pages   []string `json:"pages"`
}

// Report is the result of a scan.
type Report struct {
	Start    string    `json:"start"`
	Pages    []string  `json:"pages"`
	Findings []Finding `json:"findings"`
	// Processors are the catalog ids found, sorted: the site's
	// `processors` line.
	Processors []string `json:"processors"`
	Errors     []string `json:"errors,omitempty"`
}

// Scan crawls start and the same-site pages it links to.
func Scan(ctx context.Context, start string, o Options) (*Report, error) {
	u, err := url.Parse(start)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("scan: %q is not an http(s) URL", start)
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 30
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 15 * time.Second}
	}
	s := &scanner{o: o, site: siteOf(u.Hostname()), seen: map[string]bool{}, found: map[string]*Finding{}}
	rep := &Report{Start: u.String()}
	queue := []*url.URL{u}
	s.seen[pageKey(u)] = true
	for len(queue) > 0 && len(rep.Pages) < o.MaxPages {
		p := queue[0]
		queue = queue[1:]
		links, err := s.page(ctx, p)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		rep.Pages = append(rep.Pages, p.String())
		for _, l := range links {
			if k := pageKey(l); !s.seen[k] {
				s.seen[k] = true
				queue = append(queue, l)
			}
		}
	}
	for _, f := range s.found {
		rep.Findings = append(rep.Findings, *f)
	}
	sort.Slice(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if (a.Processor == "") != (b.Processor == "") {
			return a.Processor != ""
		}
		if a.Processor != b.Processor {
			return a.Processor < b.Processor
		}
		return a.Kind+a.URL < b.Kind+b.URL
	})
	rep.Processors = []string{}
	for _, f := range rep.Findings {
		if f.Processor != "" && !contains(rep.Processors, f.Processor) {
			rep.Processors = append(rep.Processors, f.Processor)
		}
	}
	return rep, nil
}

type scanner struct {
	o     Options
	site  string // registrable domain of the start URL: first party
	seen  map[string]bool
	found map[string]*Finding
}

func siteOf(host string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

func pageKey(u *url.URL) string {
	c := *u
	c.Fragment = ""
	return c.String()
}

func (s *scanner) page(ctx context.Context, u *url.URL) ([]*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "kelisim-scan")
	res, err := s.o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	for _, c := range res.Cookies() {
		if p := s.o.Catalog.MatchCookie(c.Name); p >= 0 {
			s.add("cookie", c.Name, "", p, u)
		}
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		return nil, nil
	}
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	s.elements(doc.Selection, u)
	// <noscript> content is text to a scripting parser; with JavaScript off
	// it loads, so it is read as markup too.
	doc.Find("noscript").Each(func(_ int, n *goquery.Selection) {
		if inner, err := goquery.NewDocumentFromReader(strings.NewReader(n.Text())); err == nil {
			s.elements(inner.Selection, u)
		}
	})
	var links []*url.URL
	doc.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
		href, _ := a.Attr("href")
		l, err := u.Parse(strings.TrimSpace(href))
		if err != nil || (l.Scheme != "http" && l.Scheme != "https") || l.Hostname() != u.Hostname() {
			return
		}
		l.Fragment = ""
		links = append(links, l)
	})
	return links, nil
}

// elements reports the URLs the elements under sel fetch, by the table of
// package fetching: the one the rewriter neutralises by and the client
// script guards by. (An <image> in HTML has been parsed into an <img>
// already; SVG's <feImage> is looked up in lower case.)
func (s *scanner) elements(sel *goquery.Selection, page *url.URL) {
	sel.Find("*").Each(func(_ int, e *goquery.Selection) {
		n := e.Get(0)
		if id, ok := e.Attr("data-consent-processor"); ok {
			s.blocked(e, id, page)
			return
		}
		el := fetching.Lookup(strings.ToLower(n.Data))
		if el == nil || (el.Name == "link" && !loads(e.AttrOr("rel", ""))) {
			return
		}
		for _, a := range n.Attr {
			name := strings.ToLower(a.Key)
			if a.Namespace != "" {
				name = a.Namespace + ":" + name // xlink:href in SVG
			}
			if !contains(el.Attrs, name) {
				continue
			}
			if !el.IsSrcset(name) {
				s.resource(el.Kind, a.Val, page)
				continue
			}
			for _, u := range srcsetURLs(a.Val) {
				s.resource(el.Kind, u, page)
			}
		}
	})
	sel.Find("script:not([src]):not([data-consent-processor])").Each(func(_ int, e *goquery.Selection) {
		body := e.Text()
		var st catalog.SigState
		s.o.Catalog.ScanInline(&st, []byte(body))
		for _, p := range st.Matched {
			s.add("inline", excerpt(body), "", p, page)
		}
	})
}

// blocked adds an element a consent gateway neutralised, under the
// processor it names.
func (s *scanner) blocked(e *goquery.Selection, id string, page *url.URL) {
	proc := -1
	for i, p := range s.o.Catalog.Processors {
		if p.ID == id {
			proc = i
		}
	}
	kind, what := "inline", excerpt(e.Text())
	for _, a := range []string{"data-src", "data-srcset", "data-href", "data-data"} {
		if v, ok := e.Attr(a); ok && v != "" {
			if ref, err := page.Parse(strings.TrimSpace(v)); err == nil {
				what = ref.String()
			}
			if el := fetching.Lookup(strings.ToLower(e.Get(0).Data)); el != nil {
				kind = el.Kind
			}
			break
		}
	}
	if what == "" {
		what = "<" + e.Get(0).Data + ">"
	}
	s.addFinding(Finding{Kind: kind, URL: what, Blocked: true}, "blocked "+kind+" "+what, proc, page)
}

// resource adds URL v, found in page, unless it is first party.
func (s *scanner) resource(kind, v string, page *url.URL) {
	ref, err := page.Parse(strings.TrimSpace(v))
	if err != nil || (ref.Scheme != "http" && ref.Scheme != "https") {
		return
	}
	host := ref.Hostname()
	p := s.o.Catalog.MatchURL(ref.String())
	if p < 0 && siteOf(host) == s.site {
		return // first party, not a processor
	}
	s.add(kind, ref.String(), host, p, page)
}

// loads reports whether a link relation fetches or connects.
func loads(rel string) bool {
	for _, r := range strings.Fields(strings.ToLower(rel)) {
		if contains(fetching.FetchRels, r) || contains(fetching.ConnectRels, r) {
			return true
		}
	}
	return false
}

// srcsetURLs returns the URLs of a srcset candidate list ("url
// [descriptor], ..."), split as the HTML standard parses it: a URL ends at
// white space, or at the commas it ends with; descriptors run to the next
// comma outside parentheses. A URL may hold commas of its own.
func srcsetURLs(v string) []string {
	var out []string
	for {
		v = strings.TrimLeft(v, "\t\n\f\r ,")
		if v == "" {
			return out
		}
		i := strings.IndexAny(v, "\t\n\f\r ")
		if i < 0 {
			i = len(v)
		}
		u := v[:i]
		v = v[i:]
		if t := strings.TrimRight(u, ","); t != u {
			u = t
		} else {
			depth, j := 0, 0
			for ; j < len(v) && (v[j] != ',' || depth > 0); j++ {
				switch v[j] {
				case '(':
					depth++
				case ')':
					if depth > 0 {
						depth--
					}
				}
			}
			v = v[j:]
		}
		out = append(out, u)
	}
}

func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func (s *scanner) add(kind, what, host string, proc int, page *url.URL) {
	key := kind + " " + what
	if proc >= 0 && kind == "inline" {
		key = "inline " + s.o.Catalog.Processors[proc].ID // one line per processor's inline loader
	}
	s.addFinding(Finding{Kind: kind, URL: what, Host: host}, key, proc, page)
}

// addFinding records f under key, or adds page to the finding already
// there.
func (s *scanner) addFinding(f Finding, key string, proc int, page *url.URL) {
	if proc >= 0 {
		p := s.o.Catalog.Processors[proc]
		f.Processor, f.Category, f.Country = p.ID, string(p.Category), p.Country
	}
	if old, ok := s.found[key]; ok {
		if len(old.Pages) < 5 && !contains(old.Pages, page.Path) {
			old.Pages = append(old.Pages, page.Path)
		}
		return
	}
	f.Pages = []string{page.Path}
	s.found[key] = &f
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// WriteText prints the report for a terminal.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Scanned %d page(s) from %s\n\n", len(r.Pages), r.Start)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESSOR\tCATEGORY\tCOUNTRY\tKIND\tSTATE\tWHAT\tPAGES")
	for _, f := range r.Findings {
		proc, cat := f.Processor, f.Category
		if proc == "" {
			proc, cat = "UNKNOWN", "-"
		}
		country := f.Country
		if country == "" {
			country = "-"
		}
		state := "loads"
		if f.Blocked {
			state = "blocked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", proc, cat, country, f.Kind, state, f.URL, strings.Join(f.Pages, " "))
	}
	tw.Flush()
	unknown := map[string]bool{}
	for _, f := range r.Findings {
		if f.Processor == "" && f.Host != "" {
			unknown[f.Host] = true
		}
	}
	if len(unknown) > 0 {
		hosts := make([]string, 0, len(unknown))
		for h := range unknown {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		fmt.Fprintf(w, "\nThird-party hosts the catalog does not know (not blocked; add a processor block if they track):\n  %s\n", strings.Join(hosts, "\n  "))
	}
	if len(r.Processors) > 0 {
		fmt.Fprintf(w, "\nThe site's processors, for its consent block (check them against the privacy policy):\n\tprocessors %s\n", strings.Join(r.Processors, " "))
	}
	if len(unknown) > 0 {
		fmt.Fprintf(w, "\nFor each unknown host that tracks, a block such as:\n\tprocessor <id> {\n\t\tname     <name>\n\t\tcategory functional|analytics|marketing\n\t\tcountry  <ISO code>\n\t\thosts    <host>\n\t}\n")
	}
	for _, e := range r.Errors {
		fmt.Fprintln(w, "error:", e)
	}
}

// WriteJSON prints the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
