package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLazyNeverMakesACallerWait: while the store takes its time to open
// (a lock held elsewhere, a server not answering), every call returns at
// once with an error — the spool takes the record — and once it opens,
// calls reach it.
func TestLazyNeverMakesACallerWait(t *testing.T) {
	release := make(chan struct{})
	var attempts atomic.Int32
	emb, err := OpenEmbedded(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	l := NewLazy("test store", func(ctx context.Context) (Store, error) {
		attempts.Add(1)
		<-release
		return emb, nil
	}, nil)
	defer l.Close()
	ctx := t.Context()
	for range 20 {
		start := time.Now()
		if err := l.Append(ctx, Record{ID: "r1", ConsentID: "c1", Time: time.Now(), Action: ActionAcceptAll}); err == nil {
			t.Fatal("an append reached a store that is not open")
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Fatalf("a call waited %v on the store opening", d)
		}
	}
	for i := 0; attempts.Load() == 0 && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := attempts.Load(); n != 1 {
		t.Errorf("%d attempts to open at once, want 1", n)
	}
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if l.Append(ctx, Record{ID: "r1", ConsentID: "c1", Time: time.Now(), Action: ActionAcceptAll}) == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the store never attached after it opened")
}

// TestLazyStartReportsAndRetries: Start makes the first attempt and says
// why it failed; later calls try again in the background, and a store
// that opens after Close is closed, not leaked.
func TestLazyStartReportsAndRetries(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	var opened, closed atomic.Int32
	l := NewLazy("test store", func(context.Context) (Store, error) {
		if fail.Load() {
			return nil, errors.New("connection refused")
		}
		opened.Add(1)
		return closeCounter{&closed}, nil
	}, nil)
	l.retryGap = 10 * time.Millisecond
	if err := l.Start(); err == nil || !strings.Contains(err.Error(), "test store: connection refused") {
		t.Fatalf("Start: %v", err)
	}
	fail.Store(false)
	deadline := time.Now().Add(2 * time.Second)
	for opened.Load() == 0 && time.Now().Before(deadline) {
		l.History(t.Context(), "c1")
		time.Sleep(5 * time.Millisecond)
	}
	if opened.Load() != 1 {
		t.Fatalf("opened %d times after the store came up", opened.Load())
	}
	l.Close()
	if closed.Load() != 1 {
		t.Error("Close did not close the opened store")
	}
}

type closeCounter struct{ n *atomic.Int32 }

func (closeCounter) Append(context.Context, Record) error                      { return nil }
func (closeCounter) History(context.Context, string) ([]Record, error)         { return nil, nil }
func (closeCounter) Erase(context.Context, string, Record) (int, error)        { return 0, nil }
func (closeCounter) Days(context.Context, time.Time, time.Time) ([]Day, error) { return nil, nil }
func (c closeCounter) Close() error                                            { c.n.Add(1); return nil }

// TestLockedFilesSayWhoAndWhy: a second open of a store file, or of a
// spool, is a LockedError at once, naming the file and the fix; a spool
// file in use is not taken over.
func TestLockedFilesSayWhoAndWhy(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "consent.db")
	first, err := OpenEmbedded(db)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	_, err = OpenEmbedded(db)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), db) || !strings.Contains(err.Error(), "store embedded <path>") {
		t.Errorf("second open: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the second open waited %v", d)
	}
	spool := filepath.Join(dir, "spool.jsonl")
	s, err := NewSpooled(first, spool, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := NewSpooled(first, spool, nil); !errors.Is(err, ErrLocked) {
		t.Errorf("a second spool on the same file: %v", err)
	}
	other, err := NewSpooled(first, filepath.Join(dir, "other.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Adopt(spool); !errors.Is(err, ErrLocked) {
		t.Errorf("a spool in use was taken over: %v", err)
	}
}
