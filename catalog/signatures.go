package catalog

// signatures is an Aho–Corasick automaton over every processor's inline
// loader snippets and URL hosts, so an inline script is classified in one
// pass over its bytes however many processors the catalog has. It is a
// dense DFA over byte classes: only bytes that occur in some pattern get a
// column, all others share column 0.
type signatures struct {
	class   [256]uint8
	classes int
	next    []uint16 // state*classes + class -> state
	out     [][]int  // state -> processor indexes matched on entering it
}

// normByte maps a script byte to the form patterns are stored in: ASCII
// whitespace vanishes (ok=false), double quote and backtick become the
// single quote. That makes `gtag("config", "G-` and `gtag('config','G-`
// the same text.
func normByte(b byte) (byte, bool) {
	switch b {
	case ' ', '\t', '\n', '\r', '\f':
		return 0, false
	case '"', '`':
		return '\'', true
	}
	return b, true
}

func normalize(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c, ok := normByte(s[i]); ok {
			b = append(b, c)
		}
	}
	return string(b)
}

type sigPattern struct {
	text string
	proc int
}

func buildSignatures(pats []sigPattern) *signatures {
	s := &signatures{classes: 1}
	for _, p := range pats {
		for i := 0; i < len(p.text); i++ {
			if c := p.text[i]; s.class[c] == 0 {
				if s.classes >= skipClass {
					panic("catalog: too many distinct signature bytes")
				}
				s.class[c] = uint8(s.classes)
				s.classes++
			}
		}
	}
	// Trie with goto edges (-1 = none), then BFS for failure links and
	// completion into a DFA.
	type node struct {
		edges []int32
		out   []int
	}
	newNode := func() node {
		e := make([]int32, s.classes)
		for i := range e {
			e[i] = -1
		}
		return node{edges: e}
	}
	nodes := []node{newNode()}
	for _, p := range pats {
		cur := 0
		for i := 0; i < len(p.text); i++ {
			c := s.class[p.text[i]]
			if nodes[cur].edges[c] < 0 {
				nodes = append(nodes, newNode())
				nodes[cur].edges[c] = int32(len(nodes) - 1)
			}
			cur = int(nodes[cur].edges[c])
		}
		nodes[cur].out = appendUnique(nodes[cur].out, p.proc)
	}
	if len(nodes) > 1<<16 {
		panic("catalog: too many signature states")
	}
	// Fold normalisation into the class table: whitespace is skipped,
	// double quote and backtick read as the single quote.
	for _, c := range []byte(" \t\n\r\f") {
		s.class[c] = skipClass
	}
	s.class['"'], s.class['`'] = s.class['\''], s.class['\'']
	fail := make([]int, len(nodes))
	s.next = make([]uint16, len(nodes)*s.classes)
	s.out = make([][]int, len(nodes))
	queue := []int{}
	for c := 0; c < s.classes; c++ {
		if t := nodes[0].edges[c]; t > 0 {
			fail[t] = 0
			queue = append(queue, int(t))
			s.next[c] = uint16(t)
		}
	}
	s.out[0] = nodes[0].out
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		s.out[u] = nodes[u].out
		for _, p := range s.out[fail[u]] {
			s.out[u] = appendUnique(s.out[u], p)
		}
		for c := 0; c < s.classes; c++ {
			t := nodes[u].edges[c]
			if t > 0 {
				fail[t] = int(s.next[fail[u]*s.classes+c])
				queue = append(queue, int(t))
				s.next[u*s.classes+c] = uint16(t)
			} else {
				s.next[u*s.classes+c] = s.next[fail[u]*s.classes+c]
			}
		}
	}
	return s
}

func appendUnique(xs []int, x int) []int {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// skipClass marks bytes the scan ignores (whitespace).
const skipClass = 255

// SigState is the position of a streaming signature scan. The zero value
// is the start. It carries the processors matched so far.
type SigState struct {
	state   uint16
	Matched []int // indexes into Catalog.Processors, each once
}

// Reset starts a new scan, keeping Matched's storage.
func (st *SigState) Reset() { st.state = 0; st.Matched = st.Matched[:0] }

// ScanInline feeds b, the next bytes of an inline script, to the scan.
func (c *Catalog) ScanInline(st *SigState, b []byte) {
	s := c.sigs
	if s == nil {
		return
	}
	state := int(st.state)
	for _, ch := range b {
		c := s.class[ch]
		if c == skipClass {
			continue
		}
		state = int(s.next[state*s.classes+int(c)])
		if o := s.out[state]; o != nil {
			for _, p := range o {
				st.Matched = appendUnique(st.Matched, p)
			}
		}
	}
	st.state = uint16(state)
}
