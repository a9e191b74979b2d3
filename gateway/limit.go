package gateway

import (
	"sync"
	"time"
)

// limiter bounds consent posts per client address (keyed by the client
// hint, never the raw IP): a visitor decides a few times, a script
// flooding the log with fake decisions is refused with 429.
type limiter struct {
	mu     sync.Mutex
	per    int
	window time.Duration
	start  time.Time
	counts map[string]int
}

func newLimiter(per int, window time.Duration) *limiter {
	return &limiter{per: per, window: window, counts: map[string]int{}}
}

// allow counts one post from key at now; fixed windows keep it O(1) and
// the map bounded by the addresses seen in one window.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.per < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window || now.Before(l.start) {
		l.start = now
		clear(l.counts)
	}
	l.counts[key]++
	return l.counts[key] <= l.per
}
