package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spooled wraps a store so that no record is lost while it is down: an
// append the store cannot take goes to an append-only local file
// (fsync'd before the visitor is answered) and is replayed in order, by
// record ID — so without duplicates — when the store answers again. A
// restart during an outage replays the file too.
type Spooled struct {
	inner Store
	path  string
	log   *slog.Logger
	lock  *os.File // held while this spool owns path

	mu      sync.Mutex
	drainMu sync.Mutex // one replay at a time (the loop, or an erase)
	// refusals counts, by record ID, the replays in a row the store
	// refused; guarded by drainMu.
	refusals map[string]int
	file     *os.File
	pending  []Record // what the file holds, in order
	down     bool
	since    time.Time
	kick     chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}

	// Timeout bounds one attempt on the inner store before spooling.
	Timeout time.Duration
}

// NewSpooled wraps inner with a spool file at path and starts replaying
// whatever the file already holds. The file is locked (path + ".lock")
// for as long as the spool is open: a spool file another process owns is
// a *LockedError, never shared — each would rewrite the other's records
// away.
func NewSpooled(inner Store, path string, log *slog.Logger) (*Spooled, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("consent spool: %w", err)
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("consent spool: %w", err)
	}
	s := &Spooled{inner: inner, path: path, log: log, lock: lock, kick: make(chan struct{}, 1), done: make(chan struct{}), Timeout: 2 * time.Second}
	if err := s.load(); err != nil {
		lock.Close()
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("consent spool: %w", err)
	}
	s.file = f
	if len(s.pending) > 0 {
		s.down, s.since = true, time.Now()
		log.Warn("consent spool holds records from before a restart; replaying", "path", path, "depth", len(s.pending))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.drainLoop(ctx)
	return s, nil
}

// load reads the spool file; a torn last line (a crash mid-write) is
// dropped with a log line — its visitor was never answered.
func (s *Spooled) load() error {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("consent spool: %w", err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
		// A torn last line (a crash or a full disk mid-write): its visitor
		// was never answered. Cut it off, or the next record appended
		// would be glued to it and lost too.
		s.log.Error("consent spool: dropping a torn last line", "path", s.path, "bytes", len(b)-1-i)
		if err := os.Truncate(s.path, int64(i+1)); err != nil {
			return fmt.Errorf("consent spool: %w", err)
		}
		b = b[:i+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			s.log.Error("consent spool: skipping a damaged line", "path", s.path, "error", err)
			continue
		}
		s.pending = append(s.pending, r)
	}
	return sc.Err()
}

// Depth is how many records wait in the spool.
func (s *Spooled) Depth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Append implements Store. It fails only if neither the store nor the
// spool file can take the record.
func (s *Spooled) Append(ctx context.Context, r Record) error {
	s.mu.Lock()
	spooling := len(s.pending) > 0
	s.mu.Unlock()
	if !spooling {
		actx, cancel := context.WithTimeout(ctx, s.Timeout)
		err := s.inner.Append(actx, r)
		cancel()
		if err == nil {
			return nil
		}
		s.markDown(err)
	}
	return s.spool(r)
}

func (s *Spooled) markDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		s.down, s.since = true, time.Now()
		s.log.Error("consent store is down; spooling records locally", "path", s.path, "error", err)
	}
}

func (s *Spooled) spool(r Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.file.Write(line); err != nil {
		return fmt.Errorf("consent spool: %w", err)
	}
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("consent spool: %w", err)
	}
	s.pending = append(s.pending, r)
	if n := len(s.pending); n == 1 || n%1000 == 0 {
		s.log.Warn("consent records waiting in the spool", "depth", n)
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// drainLoop replays the spool whenever it holds records, backing off
// while the store stays down.
func (s *Spooled) drainLoop(ctx context.Context) {
	defer close(s.done)
	wait := 250 * time.Millisecond
	for {
		if s.Depth() > 0 {
			if s.drainOnce(ctx) {
				wait = 250 * time.Millisecond
				continue
			}
			wait = min(wait*2, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-time.After(wait):
		}
	}
}

// drainOnce replays the pending records in order; it reports whether the
// spool is now empty.
func (s *Spooled) drainOnce(ctx context.Context) bool {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	s.mu.Lock()
	batch := append([]Record(nil), s.pending...)
	s.mu.Unlock()
	done := 0
	for _, r := range batch {
		actx, cancel := context.WithTimeout(ctx, s.Timeout)
		err := s.replay(actx, r)
		cancel()
		if err != nil && (unreachable(err) || !s.setAside(r, err)) {
			break
		}
		if err == nil && s.refusals != nil {
			delete(s.refusals, r.ID)
		}
		done++
	}
	if done == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = s.pending[done:]
	if err := s.rewrite(); err != nil {
		s.log.Error("consent spool: rewriting after replay failed; records stay spooled and replay again (harmless: by record ID)", "error", err)
		return false
	}
	if len(s.pending) == 0 {
		s.log.Info("consent store is back; spool drained", "replayed", done, "outage", time.Since(s.since).Round(time.Millisecond).String())
		s.down = false
		return true
	}
	return false
}

// refusalsToSetAside is how many replays in a row a store must refuse a
// record (answer, not fail to be reached) before it is set aside.
const refusalsToSetAside = 3

// setAside counts a refusal of record r and, at the third in a row,
// moves it to the spool's .refused file (kept, fsync'd, logged with its
// ID) so that the records behind it are replayed; it reports whether it
// did. A record the store will never take must not hold up the rest.
func (s *Spooled) setAside(r Record, err error) bool {
	if s.refusals == nil {
		s.refusals = map[string]int{}
	}
	s.refusals[r.ID]++
	if s.refusals[r.ID] < refusalsToSetAside {
		return false
	}
	delete(s.refusals, r.ID)
	line, _ := json.Marshal(r)
	f, ferr := os.OpenFile(s.path+".refused", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if ferr == nil {
		_, ferr = f.Write(append(line, '\n'))
		ferr = errors.Join(ferr, f.Sync(), f.Close())
	}
	if ferr != nil {
		s.log.Error("consent spool: could not set a refused record aside; it stays first in the spool", "record_id", r.ID, "error", ferr)
		return false
	}
	s.log.Error("consent spool: the store refuses a record on every replay; set aside so the rest go on",
		"record_id", r.ID, "action", r.Action, "path", s.path+".refused", "error", err)
	return true
}

// rewrite replaces the spool file with s.pending; called with s.mu held.
func (s *Spooled) rewrite() error {
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, r := range s.pending {
		line, _ := json.Marshal(r)
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	s.file.Close()
	s.file, err = os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	return err
}

// History implements Store: the store's records plus those still spooled.
func (s *Spooled) History(ctx context.Context, consentID string) ([]Record, error) {
	hctx, cancel := context.WithTimeout(ctx, s.Timeout)
	recs, err := s.inner.History(hctx, consentID)
	cancel()
	s.mu.Lock()
	var spooled []Record
	for _, r := range s.pending {
		if r.ConsentID == consentID {
			if r.Action == actionErase {
				spooled = spooled[:0] // erased when replayed
				continue
			}
			spooled = append(spooled, r)
		}
	}
	s.mu.Unlock()
	if err != nil {
		if len(spooled) > 0 {
			return spooled, nil
		}
		return nil, err
	}
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[r.ID] = true
	}
	for _, r := range spooled {
		if !seen[r.ID] {
			recs = append(recs, r)
		}
	}
	sortRecords(recs)
	return recs, nil
}

// Erase implements Store. With the store down the erasure waits in the
// spool, after the visitor's spooled decisions, and is carried out when
// the store is back: the withdrawal has already cleared the visitor's
// cookie, so nobody could ask again. It then reports ErrErasePending. A
// store that answers with an error of its own (not unreachable) gets it
// back: a marker it would refuse on every replay would hold up every
// record behind it.
func (s *Spooled) Erase(ctx context.Context, consentID string, proof Record) (int, error) {
	if s.Depth() == 0 {
		actx, cancel := context.WithTimeout(ctx, s.Timeout)
		n, err := s.inner.Erase(actx, consentID, proof)
		cancel()
		if err == nil {
			return n, nil
		}
		if !unreachable(err) {
			return 0, err
		}
		s.markDown(err)
	}
	// Records wait in the spool: the erasure goes after them, in order,
	// without making the visitor wait for their replay.
	// The spool line carries the consent ID itself (the proof only its
	// hash): replay needs it to find the records.
	marker := proof
	marker.ConsentID, marker.Action = consentID, actionErase
	if err := s.spool(marker); err != nil {
		return 0, err
	}
	return 0, ErrErasePending
}

// unreachable reports whether err says the store could not be reached
// (closed connection, timeout, not open yet) rather than that it refused.
func unreachable(err error) bool {
	var ne net.Error
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	// Valkey's replies while it loads, fails over or is busy: down for
	// now, not a refusal.
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS"} {
		if strings.HasPrefix(err.Error(), p) || strings.Contains(err.Error(), ": "+p+" ") {
			return true
		}
	}
	return false
}

// ErrErasePending reports an erasure that waits in the spool for the
// store to come back.
var ErrErasePending = errors.New("consent store is down; the erasure is kept and carried out when it is back")

// actionErase marks a spooled erasure; no record stored carries it.
const actionErase = "kelisim-erase"

// replay sends one spooled line to the store: a decision, or an erasure.
func (s *Spooled) replay(ctx context.Context, r Record) error {
	if r.Action != actionErase {
		return s.inner.Append(ctx, r)
	}
	proof := r
	proof.ConsentID, proof.Action = ConsentIDHash(r.ConsentID), ActionWithdraw
	_, err := s.inner.Erase(ctx, r.ConsentID, proof)
	return err
}

// Days implements Store (aggregates of spooled records appear once they
// are replayed).
func (s *Spooled) Days(ctx context.Context, from, to time.Time) ([]Day, error) {
	return s.inner.Days(ctx, from, to)
}

// Close stops replaying and closes the spool file (not the inner store).
func (s *Spooled) Close() error {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.file.Close(), s.lock.Close())
}

// Adopt moves the records of another spool file — one left by a store
// configuration no longer in use, or by a process gone — into this
// spool, in order, and removes the file. A file still owned by a live
// spool is a *LockedError and stays as it is. Records are replayed by ID,
// so adopting twice is harmless.
func (s *Spooled) Adopt(path string) (int, error) {
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	other := &Spooled{path: path, log: s.log}
	if err := other.load(); err != nil {
		return 0, err
	}
	for _, r := range other.pending {
		if err := s.spool(r); err != nil {
			return 0, err
		}
	}
	if err := os.Remove(path); err != nil {
		return 0, err
	}
	// The .lock file stays: removing it while locked would let another
	// process lock a new one of the same name beside a holder of the old.
	return len(other.pending), nil
}

// Path is the spool file's path.
func (s *Spooled) Path() string { return s.path }
