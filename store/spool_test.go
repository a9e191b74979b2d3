package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flaky is a real embedded store behind a switch that makes it fail, the
// way a network store fails while its server is down.
type flaky struct {
	*Embedded
	down atomic.Bool
}

var errDown = fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED)

func (f *flaky) Append(ctx context.Context, r Record) error {
	if f.down.Load() {
		return errDown
	}
	return f.Embedded.Append(ctx, r)
}

func (f *flaky) History(ctx context.Context, id string) ([]Record, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Embedded.History(ctx, id)
}

// spoolOver opens a flaky embedded store in a temporary directory and a
// spool over it; down says whether the store starts down. The store is
// closed when the test ends.
func spoolOver(t *testing.T, down bool) (*Spooled, *flaky, string) {
	t.Helper()
	dir := t.TempDir()
	emb, err := OpenEmbedded(filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	inner := &flaky{Embedded: emb}
	inner.down.Store(down)
	path := filepath.Join(dir, "spool.jsonl")
	s, err := NewSpooled(inner, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, inner, path
}

func TestSpoolLosesNothingAcrossOutageAndRestart(t *testing.T) {
	s, inner, spoolPath := spoolOver(t, false)
	emb := inner.Embedded
	var err error
	ctx := t.Context()
	rec := func(i int) Record {
		return Record{ID: fmt.Sprintf("r%03d", i), ConsentID: fmt.Sprintf("c%03d", i), Time: time.Now(), Action: ActionAcceptAll, Granted: []string{"analytics"}}
	}
	var wg sync.WaitGroup
	appendRange := func(a, b int) {
		for i := a; i < b; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if err := s.Append(ctx, rec(i)); err != nil {
					t.Errorf("append %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
	}
	appendRange(0, 30)
	inner.down.Store(true)
	appendRange(30, 60)
	if d := s.Depth(); d != 30 {
		t.Fatalf("spool depth %d, want 30", d)
	}
	if h, err := s.History(ctx, "c045"); err != nil || len(h) != 1 {
		t.Errorf("spooled record not in history while down: %v %v", h, err)
	}
	// Restart during the outage: the spool survives and is replayed.
	s.Close()
	s, err = NewSpooled(inner, spoolPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d := s.Depth(); d != 30 {
		t.Fatalf("after restart spool depth %d, want 30", d)
	}
	appendRange(60, 90)
	inner.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for s.Depth() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if d := s.Depth(); d != 0 {
		t.Fatalf("spool not drained: %d left", d)
	}
	for i := 0; i < 90; i++ {
		h, err := emb.History(ctx, fmt.Sprintf("c%03d", i))
		if err != nil || len(h) != 1 {
			t.Errorf("consent c%03d: %d records, %v", i, len(h), err)
		}
	}
	days, _ := emb.Days(ctx, time.Now().Add(-time.Hour), time.Now())
	if len(days) != 1 || days[0].Total != 90 {
		t.Errorf("aggregates counted %+v, want 90 once each", days)
	}
}

func TestSpoolEraseDuringDrainAndTornLine(t *testing.T) {
	s, inner, path := spoolOver(t, true)
	emb := inner.Embedded
	var err error
	ctx := t.Context()
	for i := range 300 {
		s.Append(ctx, Record{ID: fmt.Sprintf("d%03d", i), ConsentID: fmt.Sprintf("c%03d", i), Time: time.Now(), Action: ActionRejectAll})
	}
	inner.down.Store(false)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s.Erase(ctx, fmt.Sprintf("c%03d", 290+i%10), Record{ID: fmt.Sprintf("p%d", i), ConsentID: "h", Time: time.Now(), Action: ActionWithdraw})
		}(i)
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for s.Depth() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 290 {
		if h, _ := emb.History(ctx, fmt.Sprintf("c%03d", i)); len(h) != 1 {
			t.Fatalf("record c%03d lost while erasing during a drain", i)
		}
	}
	s.Close()

	// A torn last line is cut off, and the next record is not lost with it.
	os.WriteFile(path, []byte(`{"record_id":"t1","id":"x1","action":"accept-all"}`+"\n"+`{"record_id":"t2","id":"x`), 0o600)
	inner.down.Store(true)
	s, err = NewSpooled(inner, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Append(ctx, Record{ID: "t3", ConsentID: "x3", Time: time.Now(), Action: ActionCustom})
	s.Close()
	s, _ = NewSpooled(inner, path, nil)
	defer s.Close()
	if d := s.Depth(); d != 2 {
		t.Errorf("after a torn line and one more append the spool holds %d records, want 2", d)
	}
}

func (f *flaky) Erase(ctx context.Context, id string, proof Record) (int, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Embedded.Erase(ctx, id, proof)
}

// TestErasureWaitsInTheSpool: a withdrawal made while the store is down
// is kept — after the visitor's own spooled decisions — and carried out
// when the store is back, across a restart too; until then the
// visitor's history shows nothing of theirs.
func TestErasureWaitsInTheSpool(t *testing.T) {
	s, inner, path := spoolOver(t, false)
	emb := inner.Embedded
	var err error
	ctx := t.Context()
	now := time.Now()
	s.Append(ctx, Record{ID: "a1", ConsentID: "v1", Time: now, Action: ActionAcceptAll})
	s.Append(ctx, Record{ID: "b1", ConsentID: "v2", Time: now, Action: ActionAcceptAll})
	inner.down.Store(true)
	s.Append(ctx, Record{ID: "a2", ConsentID: "v1", Time: now.Add(time.Second), Action: ActionRejectAll})
	proof := Record{ID: "p1", ConsentID: ConsentIDHash("v1"), Time: now.Add(2 * time.Second), Action: ActionWithdraw}
	if _, err := s.Erase(ctx, "v1", proof); !errors.Is(err, ErrErasePending) {
		t.Fatalf("erase with the store down: %v, want ErrErasePending", err)
	}
	if h, _ := s.History(ctx, "v1"); len(h) != 0 {
		t.Errorf("history of an erased visitor while the erasure waits: %v", h)
	}
	s.Close() // a restart while the store is still down
	s, err = NewSpooled(inner, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inner.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for s.Depth() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h, err := emb.History(ctx, "v1"); err != nil || len(h) != 0 {
		t.Errorf("erased visitor's records in the store: %v %v", h, err)
	}
	if h, _ := emb.History(ctx, "v2"); len(h) != 1 {
		t.Errorf("another visitor's record lost: %v", h)
	}
	days, _ := emb.Days(ctx, now.Add(-time.Hour), now.Add(time.Hour))
	withdrawals := 0
	for _, d := range days {
		withdrawals += d.Actions[ActionWithdraw]
	}
	if withdrawals != 1 {
		t.Errorf("withdrawals counted: %d, want 1", withdrawals)
	}
}

// refusing is a store that answers an erasure with an error of its own.
type refusing struct{ *flaky }

func (refusing) Erase(context.Context, string, Record) (int, error) {
	return 0, errors.New("NOPERM this user has no permissions to run the 'evalsha' command")
}

// TestRefusedErasureIsNotSpooled: an erasure the store refuses (not one
// it could not be reached for) is answered as an error, not kept in the
// spool, where it would hold up every record after it.
func TestRefusedErasureIsNotSpooled(t *testing.T) {
	_, inner, _ := spoolOver(t, false)
	s, err := NewSpooled(refusing{inner}, filepath.Join(t.TempDir(), "spool.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Erase(t.Context(), "v1", Record{ID: "p1", ConsentID: ConsentIDHash("v1"), Time: time.Now(), Action: ActionWithdraw})
	if err == nil || errors.Is(err, ErrErasePending) || s.Depth() != 0 {
		t.Errorf("a refused erasure: %v, spool depth %d", err, s.Depth())
	}
	if err := s.Append(t.Context(), Record{ID: "a1", ConsentID: "v2", Time: time.Now(), Action: ActionAcceptAll}); err != nil || s.Depth() != 0 {
		t.Errorf("a decision after it: %v, spool depth %d", err, s.Depth())
	}
}

// pickyStore refuses, with an answer of its own, records whose ID starts
// with "bad".
type pickyStore struct{ *flaky }

func (p pickyStore) Append(ctx context.Context, r Record) error {
	if strings.HasPrefix(r.ID, "bad") && !p.down.Load() {
		return errors.New("ERR value is not valid")
	}
	return p.flaky.Append(ctx, r)
}

// TestRefusedRecordIsSetAside: a spooled record the store refuses on
// every replay (an answer, not an outage) is set aside in the .refused
// file after three tries, and the records behind it reach the store.
func TestRefusedRecordIsSetAside(t *testing.T) {
	_, inner, _ := spoolOver(t, true)
	path := filepath.Join(t.TempDir(), "spool.jsonl")
	s, err := NewSpooled(pickyStore{inner}, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	for _, id := range []string{"bad1", "good1", "good2"} {
		if err := s.Append(ctx, Record{ID: id, ConsentID: "c-" + id, Time: time.Now(), Action: ActionAcceptAll}); err != nil {
			t.Fatal(err)
		}
	}
	inner.down.Store(false)
	deadline := time.Now().Add(15 * time.Second)
	for s.Depth() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if s.Depth() != 0 {
		t.Fatalf("the spool is stuck behind the refused record: depth %d", s.Depth())
	}
	for _, id := range []string{"good1", "good2"} {
		if h, _ := inner.Embedded.History(ctx, "c-"+id); len(h) != 1 {
			t.Errorf("%s did not reach the store", id)
		}
	}
	b, _ := os.ReadFile(path + ".refused")
	if !strings.Contains(string(b), `"record_id":"bad1"`) {
		t.Errorf("the refused record was not kept aside: %q", b)
	}
}
