package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// Catalog is a compiled processor list, safe for concurrent use.
type Catalog struct {
	Processors []Processor

	byHost       map[string][]urlRule // host suffix -> rules, longest path first
	necessary    map[string][]string  // host suffix -> path prefixes never blocked ("" = all)
	cookieExact  map[string]int
	cookiePrefix []cookieRule // longest prefix first
	sigs         *signatures
	listHash     [4]string // per category bit index: hash of its processor list
	shown        []bool    // per processor: listed to visitors (clause 5.1)
}

type urlRule struct {
	path string
	proc int
}

type cookieRule struct {
	prefix string
	proc   int
}

// Compile validates ps and builds the lookup structures. necessaryHosts are
// host suffixes the operator declares necessary: URLs on them are never
// blocked, even if a processor pattern also matches.
func Compile(ps []Processor, necessaryHosts []string) (*Catalog, error) {
	c := &Catalog{
		Processors:  ps,
		byHost:      make(map[string][]urlRule),
		necessary:   make(map[string][]string),
		cookieExact: make(map[string]int),
	}
	var pats []sigPattern
	seen := make(map[string]bool, len(ps))
	for i := range ps {
		p := &ps[i]
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("processor %s defined twice", p.ID)
		}
		seen[p.ID] = true
		for _, u := range p.URLs {
			host, path, _ := SplitPattern(u)
			c.byHost[host] = append(c.byHost[host], urlRule{path: path, proc: i})
			// The host (with its path) doubles as an inline signature: an
			// inline loader that names the host loads from it.
			pats = append(pats, sigPattern{text: normalize(host + path), proc: i})
		}
		for _, ck := range p.Cookies {
			if strings.HasSuffix(ck, "*") {
				c.cookiePrefix = append(c.cookiePrefix, cookieRule{prefix: strings.TrimSuffix(ck, "*"), proc: i})
			} else {
				c.cookieExact[ck] = i
			}
		}
		for _, s := range p.Snippets {
			pats = append(pats, sigPattern{text: normalize(s), proc: i})
		}
	}
	for host, rules := range c.byHost {
		sort.SliceStable(rules, func(a, b int) bool { return len(rules[a].path) > len(rules[b].path) })
		c.byHost[host] = rules
	}
	sort.SliceStable(c.cookiePrefix, func(a, b int) bool {
		return len(c.cookiePrefix[a].prefix) > len(c.cookiePrefix[b].prefix)
	})
	for _, h := range necessaryHosts {
		host, path, err := SplitPattern(h)
		if err != nil {
			return nil, fmt.Errorf("necessary host: %v", err)
		}
		c.necessary[host] = append(c.necessary[host], path)
	}
	if len(pats) > 0 {
		c.sigs = buildSignatures(pats)
	}
	c.shown = make([]bool, len(ps))
	for i := range c.shown {
		c.shown[i] = true
	}
	c.hashLists()
	return c, nil
}

// Show limits the processors listed to visitors (and so the lists whose
// change asks for consent again) to ids — the site's own processors, as
// its privacy policy names them. Every catalog processor is still blocked.
func (c *Catalog) Show(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	for i := range c.shown {
		c.shown[i] = false
	}
	for _, id := range ids {
		found := false
		for i := range c.Processors {
			if c.Processors[i].ID == id {
				c.shown[i], found = true, true
			}
		}
		if !found {
			ids := make([]string, len(c.Processors))
			for i, p := range c.Processors {
				ids[i] = p.ID
			}
			return fmt.Errorf("processors: %q is not in the catalog%s; `kelisim catalog` lists it, a processor block adds to it", id, DidYouMean(id, ids))
		}
	}
	c.hashLists()
	return nil
}

// Shown reports whether processor i is listed to visitors.
func (c *Catalog) Shown(i int) bool { return c.shown[i] }

func (c *Catalog) hashLists() {
	for _, cat := range Optional {
		h := sha256.New()
		for i, p := range c.Processors {
			if p.Category == cat && c.shown[i] {
				fmt.Fprintf(h, "%s\x00%s\x00%s\n", p.ID, p.Company, p.Country)
			}
		}
		c.listHash[catIndex(cat)] = hex.EncodeToString(h.Sum(nil))[:12]
	}
}

// catIndex numbers categories 0 (necessary) to 3 (marketing).
func catIndex(c Category) int { return bits.Len8(uint8(c.Bit())) }

// ListHash identifies the processor list of a category, so that a consent
// given before the list changed can be recognised as stale.
func (c *Catalog) ListHash(cat Category) string { return c.listHash[catIndex(cat)] }

// ListsHash combines the list hashes of the categories in s.
func (c *Catalog) ListsHash(s Set) string {
	h := sha256.New()
	for _, cat := range s.Categories() {
		h.Write([]byte(c.ListHash(cat)))
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// ByID returns the processor with the given ID, or nil.
func (c *Catalog) ByID(id string) *Processor {
	for i := range c.Processors {
		if c.Processors[i].ID == id {
			return &c.Processors[i]
		}
	}
	return nil
}

// MatchHost returns the index of the processor owning host and pathQuery
// (the URL's path and query, starting with "/"), or -1. Hosts the operator
// declared necessary never match. The lookup walks the host's parent
// domains: one map probe per label.
func (c *Catalog) MatchHost(host, pathQuery string) int {
	if host == "" {
		return -1
	}
	if c.isNecessary(host, pathQuery, false) {
		return -1
	}
	for h := host; ; {
		for _, r := range c.byHost[h] {
			if strings.HasPrefix(pathQuery, r.path) {
				return r.proc
			}
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return -1
		}
		h = h[i+1:]
	}
}

// isNecessary reports whether a URL on host (or a parent domain) with
// pathQuery was declared necessary; with hostOnly, only a declaration of
// the whole host counts.
func (c *Catalog) isNecessary(host, pathQuery string, hostOnly bool) bool {
	for h := host; ; {
		for _, p := range c.necessary[h] {
			if p == "" || (!hostOnly && strings.HasPrefix(pathQuery, p)) {
				return true
			}
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
	}
}

// MatchURL classifies an attribute value as a browser would resolve it
// (entities already decoded): it returns the processor index, or -1 for
// relative URLs, other schemes and hosts the catalog does not know.
func (c *Catalog) MatchURL(raw string) int {
	host, pq, ok := SplitURL(raw)
	if !ok {
		return -1
	}
	return c.MatchHost(host, pq)
}

// MatchCookie returns the index of the processor that sets the first-party
// cookie name, or -1.
func (c *Catalog) MatchCookie(name string) int {
	if i, ok := c.cookieExact[name]; ok {
		return i
	}
	for _, r := range c.cookiePrefix {
		if strings.HasPrefix(name, r.prefix) {
			return r.proc
		}
	}
	return -1
}

// Category returns the category of processor i.
func (c *Catalog) Category(i int) Category { return c.Processors[i].Category }

// Rule is one compiled URL pattern: a host suffix and a path prefix.
type Rule struct {
	Host, Path string
	Category   Category
}

// Rules lists every URL pattern, for clients that classify URLs themselves
// (the banner script's run-time guard).
func (c *Catalog) Rules() []Rule {
	var out []Rule
	for host, rules := range c.byHost {
		for _, r := range rules {
			out = append(out, Rule{Host: host, Path: r.path, Category: c.Processors[r.proc].Category})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// NecessaryHosts lists the hosts declared necessary.
func (c *Catalog) NecessaryHosts() []string {
	out := make([]string, 0, len(c.necessary))
	for h, paths := range c.necessary {
		for _, p := range paths {
			out = append(out, h+p)
		}
	}
	sort.Strings(out)
	return out
}

// MatchHostOnly returns a processor with any URL pattern on host or one of
// its parent domains, whatever the path: what a bare connection to the
// host (<link rel=preconnect>, dns-prefetch) reveals to. -1 if none.
func (c *Catalog) MatchHostOnly(host string) int {
	if c.isNecessary(host, "", true) {
		return -1
	}
	for h := host; ; {
		if rules := c.byHost[h]; len(rules) > 0 {
			return rules[len(rules)-1].proc // the least specific path
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return -1
		}
		h = h[i+1:]
	}
}
