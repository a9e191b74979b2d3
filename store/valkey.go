package store

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Key layout of the Valkey store (prefix defaults to "kelisim:"):
//
//	<prefix>{<cid>}:h                  list of JSON records of one consent ID (RPUSH order)
//	<prefix>{<cid>}:ids                set of their record IDs (idempotent appends)
//	<prefix>stats:<YYYY-MM-DD>         hash of day aggregates: total, a:<action>,
//	                                   c:<category>, l:<lang>, gpc
//	<prefix>withdrawals:<ConsentIDHash> list of JSON withdrawal proofs
//
// The two keys of a consent ID share the hash tag {<cid>}, so they live in one
// cluster slot and one Lua script may touch both. Both expire Retention after
// the consent ID's last decision (PEXPIRE on every append), so Valkey itself
// enforces retention; aggregates and withdrawal proofs never expire (they hold
// no personal data).

// DefaultKeyPrefix starts every key of a Valkey store unless
// ValkeyOptions.KeyPrefix says otherwise.
const DefaultKeyPrefix = "kelisim:"

// ValkeyOptions configure a Valkey (or Redis 7) store.
type ValkeyOptions struct {
	// Addresses are host:port pairs: one server; several cluster nodes
	// (any subset is enough to discover the cluster); or, when
	// SentinelMaster is set, the sentinels.
	Addresses []string
	// Username and Password authenticate to the data nodes (the master
	// under Sentinel); sentinels themselves are contacted without AUTH.
	Username, Password string
	// TLS, if set, is used for every connection, sentinels included; nil
	// means plain TCP.
	TLS *tls.Config
	// SentinelMaster, if set, makes Addresses sentinels and names the
	// master set they monitor.
	SentinelMaster string
	// KeyPrefix starts every key (default DefaultKeyPrefix). It may not
	// contain '{' or '}', which would change the keys' cluster slots.
	KeyPrefix string
	// Retention is how long records are kept after a consent ID's last
	// decision (default DefaultRetention).
	Retention time.Duration
	// DialTimeout bounds each connection attempt (default 5s).
	DialTimeout time.Duration
}

// Valkey is a store in Valkey or Redis 7: standalone, Sentinel or Cluster.
// Aggregates are kept in per-day hashes so that Days reads a year in one
// round trip.
type Valkey struct {
	c         valkey.Client
	prefix    string
	retention string // milliseconds, as PEXPIRE wants it
	addrs     string // for error messages
	closed    atomic.Bool
}

var _ Store = (*Valkey)(nil)

// appendScript stores a record unless its ID is already known for the
// consent ID. KEYS: list, id set. ARGV: record ID, JSON, retention ms.
// Returns 1 if stored, 0 for a replay. It is idempotent, hence retryable.
var appendScript = valkey.NewLuaScriptRetryable(`
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`)

// eraseScript deletes a consent ID's records atomically and returns how
// many there were. KEYS: list, id set.
var eraseScript = valkey.NewLuaScript(`
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
`)

// OpenValkey connects to Valkey as o says and checks that it answers PING.
func OpenValkey(ctx context.Context, o ValkeyOptions) (*Valkey, error) {
	addrs := strings.Join(o.Addresses, ",")
	if len(o.Addresses) == 0 {
		return nil, errors.New("consent store valkey: no address")
	}
	prefix := o.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("consent store valkey: key prefix %q may not contain '{' or '}'", prefix)
	}
	retention := o.Retention
	if retention <= 0 {
		retention = DefaultRetention
	}
	if retention < time.Millisecond {
		retention = time.Millisecond
	}
	dt := o.DialTimeout
	if dt <= 0 {
		dt = 5 * time.Second
	}
	opt := valkey.ClientOption{
		InitAddress: slices.Clone(o.Addresses),
		Username:    o.Username,
		Password:    o.Password,
		TLSConfig:   o.TLS,
		Dialer:      net.Dialer{Timeout: dt},
		// No client-side caching: nothing is read twice, and it would
		// send CLIENT TRACKING on every connection.
		DisableCache: true,
	}
	if o.SentinelMaster != "" {
		opt.Sentinel = valkey.SentinelOption{
			MasterSet: o.SentinelMaster,
			TLSConfig: o.TLS,
			Dialer:    net.Dialer{Timeout: dt}, // not inherited: zero would wait for the OS
			// Without it a single missed +switch-master event binds the
			// client to a demoted master until restart.
			TopologyRefreshInterval: 5 * time.Second,
		}
	}
	// NewClient dials synchronously (and, for one address, tells a
	// cluster node from a standalone server), but has no context: bound
	// it by ctx ourselves.
	type result struct {
		c   valkey.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := valkey.NewClient(opt)
		ch <- result{c, err}
	}()
	var c valkey.Client
	select {
	case r := <-ch:
		if errors.Is(r.err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("consent store valkey %s: no answer within %v: %w", addrs, dt, r.err)
		}
		if r.err != nil {
			return nil, fmt.Errorf("consent store valkey %s: %w", addrs, r.err)
		}
		c = r.c
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, fmt.Errorf("consent store valkey %s: %w", addrs, ctx.Err())
	}
	v := &Valkey{
		c:         c,
		prefix:    prefix,
		retention: strconv.FormatInt(retention.Milliseconds(), 10),
		addrs:     addrs,
	}
	pctx, cancel := context.WithTimeout(ctx, dt)
	defer cancel()
	if err := v.Ping(pctx); err != nil {
		c.Close()
		return nil, err
	}
	return v, nil
}

// slotTag is the hash tag of a consent ID's keys. A consent ID that holds
// a brace could end the tag early (or leave it empty, which makes Valkey
// hash the whole key and split the two keys across slots), so such IDs,
// and IDs starting with '%' to keep the mapping one-to-one, are hex-encoded.
func slotTag(consentID string) string {
	if strings.ContainsAny(consentID, "{}") || strings.HasPrefix(consentID, "%") {
		return "%" + hex.EncodeToString([]byte(consentID))
	}
	return consentID
}

func (v *Valkey) recordKeys(consentID string) []string {
	base := v.prefix + "{" + slotTag(consentID) + "}:"
	return []string{base + "h", base + "ids"}
}

func (v *Valkey) dayKey(day string) string { return v.prefix + "stats:" + day }

func (v *Valkey) err(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, valkey.ErrClosing) {
		return ErrClosed
	}
	return fmt.Errorf("consent store valkey %s: %s: %w", v.addrs, op, err)
}

// Append implements Store. The record and its ID are written by one Lua
// script; only if it was new are the day's aggregates incremented, in one
// pipeline. (Should that pipeline fail, the record is kept but not counted:
// aggregates may undercount, never overcount.)
func (v *Valkey) Append(ctx context.Context, r Record) error {
	if v.closed.Load() {
		return ErrClosed
	}
	if r.ID == "" || r.ConsentID == "" {
		return fmt.Errorf("consent store: record without id")
	}
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	added, err := appendScript.Exec(ctx, v.c, v.recordKeys(r.ConsentID), []string{r.ID, string(js), v.retention}).AsInt64()
	if err != nil {
		return v.err("append", err)
	}
	if added == 0 {
		return nil
	}
	return v.countDay(ctx, r)
}

// countDay adds r to its day's aggregate hash in one pipeline.
func (v *Valkey) countDay(ctx context.Context, r Record) error {
	key := v.dayKey(DayKey(r.Time))
	cmds := make(valkey.Commands, 0, 4+len(r.Granted))
	incr := func(field string) {
		cmds = append(cmds, v.c.B().Hincrby().Key(key).Field(field).Increment(1).Build())
	}
	incr("total")
	incr("a:" + r.Action)
	for _, c := range r.Granted {
		incr("c:" + c)
	}
	if r.Lang != "" {
		incr("l:" + r.Lang)
	}
	if r.GPC {
		incr("gpc")
	}
	for _, res := range v.c.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			return v.err("count day", err)
		}
	}
	return nil
}

// History implements Store: records sorted by time, ties by record ID, the
// order of the embedded store's keys.
func (v *Valkey) History(ctx context.Context, consentID string) ([]Record, error) {
	if v.closed.Load() {
		return nil, ErrClosed
	}
	items, err := v.c.Do(ctx, v.c.B().Lrange().Key(v.recordKeys(consentID)[0]).Start(0).Stop(-1).Build()).AsStrSlice()
	if err != nil {
		return nil, v.err("history", err)
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]Record, len(items))
	for i, s := range items {
		if err := json.Unmarshal([]byte(s), &out[i]); err != nil {
			return nil, fmt.Errorf("consent store valkey: record of %q: %w", consentID, err)
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int {
		// uint64 like the embedded store's big-endian key.
		if c := compareUint64(uint64(a.Time.UnixNano()), uint64(b.Time.UnixNano())); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Erase implements Store: the records go in one script, then the proof is
// appended to the withdrawals of the consent ID's hash.
func (v *Valkey) Erase(ctx context.Context, consentID string, proof Record) (int, error) {
	if v.closed.Load() {
		return 0, ErrClosed
	}
	js, err := json.Marshal(proof)
	if err != nil {
		return 0, err
	}
	n, err := eraseScript.Exec(ctx, v.c, v.recordKeys(consentID), nil).AsInt64()
	if err != nil {
		return 0, v.err("erase", err)
	}
	key := v.prefix + "withdrawals:" + ConsentIDHash(consentID)
	if err := v.c.Do(ctx, v.c.B().Rpush().Key(key).Element(string(js)).Build()).Error(); err != nil {
		return int(n), v.err("erase proof", err)
	}
	return int(n), v.countDay(ctx, proof)
}

// daysPerPipeline bounds one DoMulti of Days; a year is one round trip.
const daysPerPipeline = 4096

// Days implements Store.
func (v *Valkey) Days(ctx context.Context, from, to time.Time) ([]Day, error) {
	if v.closed.Load() {
		return nil, ErrClosed
	}
	first, err := time.Parse(time.DateOnly, DayKey(from))
	if err != nil {
		return nil, err
	}
	last := DayKey(to)
	var out []Day
	var dates []string
	flush := func() error {
		if len(dates) == 0 {
			return nil
		}
		cmds := make(valkey.Commands, len(dates))
		for i, d := range dates {
			cmds[i] = v.c.B().Hgetall().Key(v.dayKey(d)).Build()
		}
		for i, res := range v.c.DoMulti(ctx, cmds...) {
			m, err := res.AsStrMap()
			if err != nil {
				return v.err("days", err)
			}
			if len(m) > 0 {
				out = append(out, dayFromHash(dates[i], m))
			}
		}
		dates = dates[:0]
		return nil
	}
	for d := first; ; d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		if k > last || d.Year() > 9999 {
			break
		}
		dates = append(dates, k)
		if len(dates) == daysPerPipeline {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// dayFromHash builds the Day that Day.Count would have built.
func dayFromHash(date string, m map[string]string) Day {
	d := Day{Date: date, Actions: map[string]int{}, Categories: map[string]int{}, Languages: map[string]int{}}
	for f, s := range m {
		n, _ := strconv.Atoi(s)
		switch {
		case f == "total":
			d.Total = n
		case f == "gpc":
			d.GPC = n
		case strings.HasPrefix(f, "a:"):
			d.Actions[f[2:]] = n
		case strings.HasPrefix(f, "c:"):
			d.Categories[f[2:]] = n
		case strings.HasPrefix(f, "l:"):
			d.Languages[f[2:]] = n
		}
	}
	return d
}

// Ping checks that Valkey answers.
func (v *Valkey) Ping(ctx context.Context) error {
	if v.closed.Load() {
		return ErrClosed
	}
	return v.err("ping", v.c.Do(ctx, v.c.B().Ping().Build()).Error())
}

// Close implements Store; it waits for calls under way.
func (v *Valkey) Close() error {
	if v.closed.Swap(true) {
		return nil
	}
	v.c.Close()
	return nil
}
