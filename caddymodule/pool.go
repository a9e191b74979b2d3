package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelisim/kelisim/store"
)

// pooled is one store configuration's store and spool, shared by every
// config that names it. Nothing is opened until start: provisioning (and
// so `kelisim validate`) leaves the disk and the network alone.
type pooled struct {
	open func(context.Context) (store.Store, error)
	what string
	key  string // of the configuration; names the spool file
	dir  string // the data directory, where the spool lives
	log  *slog.Logger

	once     sync.Once
	startErr error
	inner    *store.Lazy
	sp       atomic.Pointer[store.Spooled] // set once started
}

// start opens the spool (the store opens in the background: connect);
// later calls return the first one's result. A spool that cannot be
// created fails the start: without it records could be lost.
func (p *pooled) start() error {
	p.once.Do(func() {
		inner := store.NewLazy(p.what, p.open, p.log)
		path := filepath.Join(p.dir, "spool-"+p.key+".jsonl")
		sp, err := store.NewSpooled(inner, path, p.log)
		if errors.Is(err, store.ErrLocked) {
			// Another process runs the same store configuration with the
			// same data directory: keep a spool of our own beside it.
			p.log.Warn("consent spool in use by another process; using one of this process's own", "error", err)
			path = filepath.Join(p.dir, "spool-"+p.key+"-"+strconv.Itoa(os.Getpid())+".jsonl")
			sp, err = store.NewSpooled(inner, path, p.log)
		}
		if err != nil {
			inner.Close()
			p.startErr = fmt.Errorf("consent store: %w", err)
			return
		}
		p.inner = inner
		p.sp.Store(sp)
	})
	return p.startErr
}

// connect makes the first attempt to open the store and waits for it, so
// that one that cannot open is reported at start-up; it is retried in the
// background, and records wait in the spool meanwhile. Only the consent
// app's Start calls it: a visitor never waits on it.
func (p *pooled) connect() {
	if p.inner != nil {
		p.inner.Start()
	}
}

// spooled returns the started spool; a request served before the
// consent app started (Caddy starts apps in no set order) starts it.
func (p *pooled) spooled() (*store.Spooled, error) {
	if err := p.start(); err != nil {
		return nil, err
	}
	return p.sp.Load(), nil
}

func (p *pooled) path() string {
	if sp := p.sp.Load(); sp != nil {
		return sp.Path()
	}
	return ""
}

func (p *pooled) adopt(path string) (int, error) {
	sp, err := p.spooled()
	if err != nil {
		return 0, err
	}
	return sp.Adopt(path)
}

// Depth is how many records wait in the spool (0 before start).
func (p *pooled) Depth() int {
	if sp := p.sp.Load(); sp != nil {
		return sp.Depth()
	}
	return 0
}

// Append implements store.Store.
func (p *pooled) Append(ctx context.Context, r store.Record) error {
	sp, err := p.spooled()
	if err != nil {
		return err
	}
	return sp.Append(ctx, r)
}

// History implements store.Store.
func (p *pooled) History(ctx context.Context, id string) ([]store.Record, error) {
	sp, err := p.spooled()
	if err != nil {
		return nil, err
	}
	return sp.History(ctx, id)
}

// Erase implements store.Store.
func (p *pooled) Erase(ctx context.Context, id string, proof store.Record) (int, error) {
	sp, err := p.spooled()
	if err != nil {
		return 0, err
	}
	return sp.Erase(ctx, id, proof)
}

// Days implements store.Store.
func (p *pooled) Days(ctx context.Context, from, to time.Time) ([]store.Day, error) {
	sp, err := p.spooled()
	if err != nil {
		return nil, err
	}
	return sp.Days(ctx, from, to)
}

// Close is a no-op for the handlers: the pool closes the store (Destruct)
// when its last config goes.
func (p *pooled) Close() error { return nil }

// Destruct closes the spool and the store. Records still spooled go to
// the store of the config started last, if that is another one: a store
// change on reload must not strand them until the next start.
func (p *pooled) Destruct() error {
	sp := p.sp.Load()
	if sp == nil {
		return nil
	}
	left := sp.Depth()
	err := errors.Join(sp.Close(), p.inner.Close())
	if left > 0 {
		if a := liveOther(p); a != nil {
			a.adoptSpools()
		}
	}
	return err
}

var _ store.Store = (*pooled)(nil)
