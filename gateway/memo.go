package gateway

import (
	"container/list"
	"sync"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/rewrite"
)

// DefaultReplayCache is the memory kept for page recordings when the
// configuration does not say.
const DefaultReplayCache = 32 << 20

// memoKey says which recording may replay for a request: the same page
// address and everything besides the page itself that changes how it is
// rewritten — the granted categories and the language and return address
// of blocked-iframe placeholders. The page's bytes are not in the key;
// a replay compares them as they arrive.
type memoKey struct {
	host, uri string
	granted   catalog.Set
	lang      string
	explicit  bool // the visitor chose lang (it beats the page's)
	ascii     bool // injected text as character references
	document  bool // a navigation (rewrite.Policy.Document)
	charset   string
}

// memo keeps the most recently used recordings within a byte budget.
//
// A recording holds a page's input and output while the page is in
// flight, so memory per in-flight page would grow with the page: only one
// request per key records at a time, and at most maxRecording at once.
type memo struct {
	mu        sync.Mutex
	limit     int
	size      int
	items     map[memoKey]*list.Element
	lru       list.List // of *memoEntry, most recent first
	maxEntry  int
	recording map[memoKey]bool // keys with a recording in flight
}

// maxRecording is how many pages may be recorded at once, and
// maxRecorded the largest page recorded: recordings in flight hold at
// most a few MiB in all.
const (
	maxRecording = 4
	maxRecorded  = 1 << 20
)

type memoEntry struct {
	key  memoKey
	rec  *rewrite.Recording
	size int
}

// entrySize is what an entry costs: its recording, its key (a URI may be
// long) and the bookkeeping.
func entrySize(k memoKey, rec *rewrite.Recording) int {
	return rec.Size() + len(k.host) + len(k.uri) + len(k.lang) + 200
}

func newMemo(limit int) *memo {
	// A page bigger than an eighth of the budget would push out too much,
	// and a recording in flight holds its page (twice): pages over
	// maxRecorded are rewritten every time.
	return &memo{limit: limit, items: map[memoKey]*list.Element{}, maxEntry: min(limit/8, maxRecorded), recording: map[memoKey]bool{}}
}

// startRecording reports whether the caller may record the page of k; if
// so, it must call doneRecording(k) when it ends, whatever the outcome.
func (m *memo) startRecording(k memoKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recording[k] || len(m.recording) >= maxRecording {
		return false
	}
	m.recording[k] = true
	return true
}

func (m *memo) doneRecording(k memoKey) {
	m.mu.Lock()
	delete(m.recording, k)
	m.mu.Unlock()
}

func (m *memo) get(k memoKey) *rewrite.Recording {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.items[k]
	if !ok {
		return nil
	}
	m.lru.MoveToFront(e)
	return e.Value.(*memoEntry).rec
}

// put keeps rec for k. A recording larger than an eighth of the budget
// (placeholders can make the output many times the page) is not kept:
// it would push out many others.
func (m *memo) put(k memoKey, rec *rewrite.Recording) {
	size := entrySize(k, rec)
	if size > m.limit/8 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.items[k]; ok {
		m.size -= e.Value.(*memoEntry).size
		m.lru.Remove(e)
	}
	m.items[k] = m.lru.PushFront(&memoEntry{key: k, rec: rec, size: size})
	m.size += size
	for m.size > m.limit {
		e := m.lru.Back()
		old := e.Value.(*memoEntry)
		m.lru.Remove(e)
		delete(m.items, old.key)
		m.size -= old.size
	}
}
