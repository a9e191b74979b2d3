package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Lazy is a store that connects on first use and keeps trying: a gateway
// started while its Valkey is down serves visitors at once (records go to
// the spool) and attaches the store when it answers.
type Lazy struct {
	open func(context.Context) (Store, error)
	log  *slog.Logger
	what string

	mu       sync.Mutex
	st       Store
	lastTry  time.Time
	lastErr  error
	closed   bool
	retryGap time.Duration
}

// NewLazy returns a Lazy store that opens with open; what names the store
// in log lines. With tryNow it tries once right away (and logs if the
// store is unreachable); otherwise on first use — so `kelisim validate`
// never touches a store a running instance holds.
func NewLazy(ctx context.Context, what string, open func(context.Context) (Store, error), log *slog.Logger, tryNow bool) *Lazy {
	if log == nil {
		log = slog.Default()
	}
	l := &Lazy{open: open, log: log, what: what, retryGap: time.Second}
	if !tryNow {
		return l
	}
	if _, err := l.get(ctx); err != nil {
		log.Error("consent store unreachable at start; serving anyway, records are spooled until it answers", "store", what, "error", err)
	}
	return l
}

func (l *Lazy) get(ctx context.Context) (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if l.st != nil {
		return l.st, nil
	}
	if time.Since(l.lastTry) < l.retryGap && l.lastErr != nil {
		return nil, l.lastErr
	}
	l.lastTry = time.Now()
	st, err := l.open(ctx)
	if err != nil {
		l.lastErr = fmt.Errorf("%s: %w", l.what, err)
		return nil, l.lastErr
	}
	if l.lastErr != nil {
		l.log.Info("consent store connected", "store", l.what)
	}
	l.st, l.lastErr = st, nil
	return st, nil
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
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.st != nil {
		return l.st.Close()
	}
	return nil
}
