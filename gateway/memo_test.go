package gateway

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/rewrite"
)

func recordingOf(t *testing.T, page string) *rewrite.Recording {
	t.Helper()
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := rewrite.NewWriter(io.Discard, &rewrite.Policy{Catalog: c})
	w.Record(1<<20, nil)
	io.WriteString(w, page)
	w.Close()
	return w.Recording()
}

// TestMemoStaysWithinBudget: the memo drops the least recently used
// recordings to stay within its budget, and lets one request per page
// (and only a few in all) record at a time.
func TestMemoStaysWithinBudget(t *testing.T) {
	rec := recordingOf(t, "<p>"+strings.Repeat("x", 10<<10))
	key := func(i int) memoKey { return memoKey{host: "a", uri: fmt.Sprint("/", i)} }
	one := entrySize(key(10), rec)
	m := newMemo(9*one + one/2)
	for i := range 12 {
		m.put(key(i), rec)
		m.get(key(0)) // keep /0 in use
		if m.size > m.limit {
			t.Fatalf("after %d puts: %d bytes over a budget of %d", i+1, m.size, m.limit)
		}
	}
	if m.get(key(0)) == nil || m.get(key(11)) == nil {
		t.Fatal("recently used recordings dropped")
	}
	if m.get(key(2)) != nil {
		t.Fatal("least recently used recording kept")
	}
	// A recording too large for the budget is not kept, and does not
	// push the others out; a long address counts against the budget.
	n := len(m.items)
	m.put(key(99), recordingOf(t, "<p>"+strings.Repeat("x", 200<<10)))
	if m.get(key(99)) != nil || len(m.items) != n {
		t.Fatalf("oversized recording: kept %v, entries %d → %d", m.get(key(99)) != nil, n, len(m.items))
	}
	long := memoKey{host: "a", uri: "/?" + strings.Repeat("q", 64<<10)}
	m.put(long, rec)
	if m.get(long) != nil {
		t.Fatal("a 64 KiB address did not count against the budget")
	}

	if !m.startRecording(key(1)) || m.startRecording(key(1)) {
		t.Fatal("two requests recording the same page at once")
	}
	m.doneRecording(key(1))
	n = 0
	for i := range 100 {
		if m.startRecording(key(i)) {
			n++
		}
	}
	if n != maxRecording {
		t.Fatalf("%d recordings in flight, want %d", n, maxRecording)
	}
}
