// Package catalog is the list of third-party processors the gateway knows:
// who they are, which category of consent they need, which URLs and
// first-party cookies are theirs, and how their inline loaders look.
//
// The built-in list is embedded data (processors.json), reviewed like code.
// Operators add or override entries; Compile turns the result into lookup
// structures built for the hot path: a host-suffix map for URLs, a prefix
// table for cookie names and one Aho–Corasick automaton for all inline
// loader signatures.
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Category is a consent category. Necessary is always granted.
type Category string

// The consent categories, in the order the banner shows them.
const (
	Necessary  Category = "necessary"
	Functional Category = "functional"
	Analytics  Category = "analytics"
	Marketing  Category = "marketing"
)

// Optional lists the categories a visitor can grant or refuse.
var Optional = []Category{Functional, Analytics, Marketing}

// ParseCategory returns the category named s, or an error naming the
// valid ones.
func ParseCategory(s string) (Category, error) {
	switch c := Category(strings.ToLower(strings.TrimSpace(s))); c {
	case Necessary, Functional, Analytics, Marketing:
		return c, nil
	}
	return "", fmt.Errorf("unknown category %q (want necessary, functional, analytics or marketing)", s)
}

// Set is a set of categories as a bit mask; Necessary is implied.
type Set uint8

// Bit returns the set holding only c.
func (c Category) Bit() Set {
	switch c {
	case Functional:
		return 1
	case Analytics:
		return 2
	case Marketing:
		return 4
	}
	return 0
}

// All is every optional category.
const All Set = 7

// Has reports whether every category in o is in s.
func (s Set) Has(o Set) bool { return s&o == o }

// Categories lists the optional categories in s, in banner order.
func (s Set) Categories() []Category {
	out := make([]Category, 0, 3)
	for _, c := range Optional {
		if s.Has(c.Bit()) {
			out = append(out, c)
		}
	}
	return out
}

// String returns the categories in s separated by spaces, the form the
// data-consent-category attribute uses.
func (s Set) String() string {
	var b strings.Builder
	for _, c := range s.Categories() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(c))
	}
	return b.String()
}

// SetOf returns the set of the named categories; Necessary and unknown
// names are ignored.
func SetOf(cats ...Category) Set {
	var s Set
	for _, c := range cats {
		s |= c.Bit()
	}
	return s
}

// Processor is one service provider (policy clause 5.1) whose elements and
// cookies the gateway gates.
type Processor struct {
	// ID is a short stable identifier, lower-case kebab-case.
	ID string `json:"id"`
	// Name is the display name shown in the banner.
	Name string `json:"name,omitempty"`
	// Company is the legal entity receiving the data.
	Company string `json:"company,omitempty"`
	// Country is where the data goes, ISO 3166-1 alpha-2 (KZ stays in
	// Kazakhstan; anything else is a cross-border transfer under Law 94-V).
	Country string `json:"country,omitempty"`
	// Category is the consent the processor needs.
	Category Category `json:"category,omitempty"`
	// PolicyURL is the processor's privacy policy.
	PolicyURL string `json:"policy_url,omitempty"`
	// URLs are patterns "host" or "host/path-prefix". A host matches
	// itself and its subdomains; the longest matching pattern wins.
	URLs []string `json:"hosts,omitempty"`
	// Cookies are first-party cookie names the processor sets on the
	// site's domain; a trailing "*" makes a prefix pattern.
	Cookies []string `json:"cookies,omitempty"`
	// ThirdPartyCookies are set on the processor's own domains. They never
	// reach the site; they are listed for the banner only.
	ThirdPartyCookies []string `json:"third_party_cookies,omitempty"`
	// Snippets identify the processor's inline loader code. They are
	// matched after removing ASCII whitespace and mapping " and ` to '.
	Snippets []string `json:"snippets,omitempty"`
}

// CrossBorder reports whether the processor's data leaves Kazakhstan.
func (p *Processor) CrossBorder() bool { return !strings.EqualFold(p.Country, "KZ") }

//go:embed processors.json
var builtinJSON []byte

// Builtin returns a fresh copy of the embedded processor list.
func Builtin() []Processor {
	var ps []Processor
	if err := json.Unmarshal(builtinJSON, &ps); err != nil {
		panic("catalog: embedded processors.json: " + err.Error())
	}
	return ps
}

// Merge returns base with each of extra added, or replacing the entry with
// the same ID. Fields left empty in an override keep the built-in value, so
// an operator can move a processor to another category with one line.
func Merge(base, extra []Processor) []Processor {
	out := append([]Processor(nil), base...)
	idx := make(map[string]int, len(out))
	for i, p := range out {
		idx[p.ID] = i
	}
	for _, e := range extra {
		i, ok := idx[e.ID]
		if !ok {
			idx[e.ID] = len(out)
			out = append(out, e)
			continue
		}
		p := &out[i]
		if e.Name != "" {
			p.Name = e.Name
		}
		if e.Company != "" {
			p.Company = e.Company
		}
		if e.Country != "" {
			p.Country = e.Country
		}
		if e.Category != "" {
			p.Category = e.Category
		}
		if e.PolicyURL != "" {
			p.PolicyURL = e.PolicyURL
		}
		if e.URLs != nil {
			p.URLs = e.URLs
		}
		if e.Cookies != nil {
			p.Cookies = e.Cookies
		}
		if e.ThirdPartyCookies != nil {
			p.ThirdPartyCookies = e.ThirdPartyCookies
		}
		if e.Snippets != nil {
			p.Snippets = e.Snippets
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Validate reports the first problem with p, in words an operator can act on.
func (p *Processor) Validate() error {
	if p.ID == "" {
		return fmt.Errorf("processor without id")
	}
	if _, err := ParseCategory(string(p.Category)); err != nil {
		return fmt.Errorf("processor %s: %v", p.ID, err)
	}
	if p.Category == Necessary {
		return fmt.Errorf("processor %s: category necessary would never be gated; list its hosts as necessary instead", p.ID)
	}
	if p.Country != "" && (len(p.Country) != 2 || strings.ToUpper(p.Country) != p.Country) {
		return fmt.Errorf("processor %s: country %q is not an ISO 3166-1 alpha-2 code like KZ or US", p.ID, p.Country)
	}
	for _, u := range p.URLs {
		if _, _, err := SplitPattern(u); err != nil {
			return fmt.Errorf("processor %s: %v", p.ID, err)
		}
	}
	for _, c := range p.Cookies {
		if c == "" || c == "*" || strings.ContainsAny(c, " ;=,") || strings.Contains(strings.TrimSuffix(c, "*"), "*") {
			return fmt.Errorf("processor %s: bad cookie pattern %q (a name, or a prefix followed by one trailing *)", p.ID, c)
		}
	}
	for _, s := range p.Snippets {
		if len(normalize(s)) < 6 {
			return fmt.Errorf("processor %s: snippet %q is too short to identify a loader safely", p.ID, s)
		}
	}
	return nil
}

// SplitPattern splits "host/path" into a lower-case host and the path
// prefix (which keeps its leading slash, or is empty).
func SplitPattern(u string) (host, path string, err error) {
	u = strings.TrimSpace(u)
	for _, scheme := range []string{"https://", "http://", "//"} {
		u = strings.TrimPrefix(u, scheme)
	}
	host, path = u, ""
	if i := strings.IndexAny(u, "/?"); i >= 0 {
		host, path = u[:i], u[i:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	host = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(host), "*."), ".")
	if host == "" || strings.ContainsAny(host, "* :@") || !strings.Contains(host, ".") {
		return "", "", fmt.Errorf("bad URL pattern %q (want host or host/path-prefix, e.g. mc.yandex.ru or www.google.com/maps/)", u)
	}
	return host, path, nil
}
