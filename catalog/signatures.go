package catalog

import "slices"

// signatures is an Aho–Corasick automaton over every processor's inline
// loader snippets and URL hosts, so an inline script is classified in one
// pass over its bytes however many processors the catalog has. It is a
// dense DFA over byte classes: only bytes that occur in some pattern get a
// column, all others share column 0, and whitespace has a column that
// loops back to the same state (so it is skipped without a branch).
//
// The table holds row offsets (state*classes) rather than state numbers,
// and marks with outFlag the transitions into a state that completes a
// pattern: the inner loop is one load per byte and one test.
type signatures struct {
	class   [256]uint8
	classes int
	next    []uint32 // row + class -> row of the next state, | outFlag
	out     [][]int  // state -> processor indexes matched on entering it
}

// outFlag marks a transition into a state with matches.
const outFlag = 1 << 31

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
	s := &signatures{classes: 2} // 0: bytes in no pattern; 1: whitespace
	for _, p := range pats {
		for i := 0; i < len(p.text); i++ {
			if c := p.text[i]; s.class[c] == 0 {
				if s.classes > 255 {
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
		s.class[c] = wsClass
	}
	s.class['"'], s.class['`'] = s.class['\''], s.class['\'']
	fail := make([]int, len(nodes))
	next := make([]uint16, len(nodes)*s.classes)
	s.out = make([][]int, len(nodes))
	queue := []int{}
	for c := 0; c < s.classes; c++ {
		if t := nodes[0].edges[c]; t > 0 {
			fail[t] = 0
			queue = append(queue, int(t))
			next[c] = uint16(t)
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
				fail[t] = int(next[fail[u]*s.classes+c])
				queue = append(queue, int(t))
				next[u*s.classes+c] = uint16(t)
			} else {
				next[u*s.classes+c] = next[fail[u]*s.classes+c]
			}
		}
	}
	s.next = make([]uint32, len(next))
	for i, t := range next {
		s.next[i] = uint32(int(t) * s.classes)
		if len(s.out[t]) > 0 {
			s.next[i] |= outFlag
		}
	}
	for u := range nodes {
		s.next[u*s.classes+wsClass] = uint32(u * s.classes)
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

// wsClass is the column of whitespace, which the scan ignores.
const wsClass = 1

// SigState is the position of a streaming signature scan. The zero value
// is the start. It carries the processors matched so far.
type SigState struct {
	row     uint32 // row offset of the current state
	Matched []int  // indexes into Catalog.Processors, each once
}

// Reset starts a new scan, keeping Matched's storage.
func (st *SigState) Reset() { st.row = 0; st.Matched = st.Matched[:0] }

// Equal reports whether two scans are at the same point with the same
// matches: fed the same bytes from here, they end the same.
func (st *SigState) Equal(o *SigState) bool {
	return st.row == o.row && slices.Equal(st.Matched, o.Matched)
}

// ScanInline feeds b, the next bytes of an inline script, to the scan.
func (c *Catalog) ScanInline(st *SigState, b []byte) {
	s := c.sigs
	if s == nil {
		return
	}
	row, next, class := st.row, s.next, &s.class
	for _, ch := range b {
		t := next[row+uint32(class[ch])]
		row = t &^ outFlag
		if t&outFlag != 0 {
			for _, p := range s.out[int(row)/s.classes] {
				st.Matched = appendUnique(st.Matched, p)
			}
		}
	}
	st.row = row
}
