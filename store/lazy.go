package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Lazy is a store that opens in the background and keeps trying: a
// gateway started while its Valkey is down, or while another process
// holds its embedded file, serves visitors at once (records go to the
// spool) and attaches the store when it answers. No visitor ever waits
// on an attempt to open it.
type Lazy struct {
	open func(context.Context) (Store, error)
	log  *slog.Logger
	what string
	ctx  context.Context // bounds every attempt; cancelled by Close

	mu       sync.Mutex
	st       Store
	lastTry  time.Time
	lastErr  error
	trying   bool
	closed   bool
	retryGap time.Duration
	stop     context.CancelFunc
}

// ErrUnavailable is matched (errors.Is) by every error a Lazy store
// answers while it is not open: the store is down, not wrong.
var ErrUnavailable = errors.New("store not available")

// errNotYet answers a request made before the first attempt to open.
var errNotYet = fmt.Errorf("not opened yet: %w", ErrUnavailable)

// NewLazy returns a Lazy store that opens with open; what names the store
// in log lines. Nothing is opened until Start or first use — so `kelisim
// validate` never touches a store.
func NewLazy(what string, open func(context.Context) (Store, error), log *slog.Logger) *Lazy {
	if log == nil {
		log = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Lazy{open: open, log: log, what: what, ctx: ctx, stop: stop, retryGap: 5 * time.Second, lastErr: errNotYet}
}

// Start makes the first attempt and waits for it, so a store that cannot
// open is reported at start-up, in one clear line; later attempts run in
// the background. It reports that attempt's error.
func (l *Lazy) Start() error {
	l.mu.Lock()
	if l.trying || l.st != nil || l.closed {
		l.mu.Unlock()
		return nil
	}
	l.trying = true
	l.mu.Unlock()
	err := l.attempt()
	if err != nil {
		l.log.Error("consent store cannot be opened; serving anyway, records are spooled until it opens", "store", l.what, "error", err)
	}
	return err
}

// attempt opens the store once; l.trying is set by the caller.
func (l *Lazy) attempt() error {
	st, err := l.open(l.ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trying, l.lastTry = false, time.Now()
	if err != nil {
		l.lastErr = fmt.Errorf("%s: %w (%w)", l.what, err, ErrUnavailable)
		return l.lastErr
	}
	if l.closed {
		st.Close()
		return ErrClosed
	}
	if l.lastErr != errNotYet {
		l.log.Info("consent store opened", "store", l.what)
	}
	l.st, l.lastErr = st, nil
	return nil
}

// get returns the open store, or the last error at once, starting a
// background attempt when the last one is old enough.
func (l *Lazy) get(context.Context) (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if l.st != nil {
		return l.st, nil
	}
	if !l.trying && (l.lastErr == errNotYet || time.Since(l.lastTry) >= l.retryGap) {
		l.trying = true
		go l.attempt()
	}
	return nil, l.lastErr
}

// Append implements Store.
func (l *Lazy) Append(ctx context.Context, r Record) error {
	st, err := l.get(ctx)
	if err != nil {
		return err
	}
	return st.Append(ctx, r)
}

// History implements Store.
func (l *Lazy) History(ctx context.Context, id string) ([]Record, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.History(ctx, id)
}

// Erase implements Store.
func (l *Lazy) Erase(ctx context.Context, id string, proof Record) (int, error) {
	st, err := l.get(ctx)
	if err != nil {
		return 0, err
	}
	return st.Erase(ctx, id, proof)
}

// Days implements Store.
func (l *Lazy) Days(ctx context.Context, from, to time.Time) ([]Day, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.Days(ctx, from, to)
}

// Close implements Store.
func (l *Lazy) Close() error {
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.st != nil {
		return l.st.Close()
	}
	return nil
}
