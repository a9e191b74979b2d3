package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket layout of the embedded store:
//
//	records:     consentID \x00 time(8, big-endian ns) recordID -> JSON Record
//	ids:         recordID -> records key (idempotent appends)
//	withdrawals: sha256(consentID) time(8) -> JSON proof
//	days:        YYYY-MM-DD -> JSON Day (aggregates)
//	last:        consentID -> time(8) of its latest decision
//	expiry:      time(8) consentID -> nil (retention order)
var (
	bucketRecords     = []byte("records")
	bucketIDs         = []byte("ids")
	bucketWithdrawals = []byte("withdrawals")
	bucketDays        = []byte("days")
	bucketLast        = []byte("last")
	bucketExpiry      = []byte("expiry")
	allBuckets        = [][]byte{bucketRecords, bucketIDs, bucketWithdrawals, bucketDays, bucketLast, bucketExpiry}
)

// Embedded is a store in one bbolt file: no server to run, durable across
// restarts. Concurrent appends are grouped into one transaction and one
// fsync by bolt's Batch.
type Embedded struct {
	db        *bolt.DB
	retention time.Duration
}

// OpenEmbedded opens (creating if needed) the bbolt file at path, keeping
// records DefaultRetention after each consent ID's last decision. A file
// another process holds is a *LockedError at once: nobody waits on it.
func OpenEmbedded(path string) (*Embedded, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("consent store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 100 * time.Millisecond})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, &LockedError{Path: path, Holder: lockHolder(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("consent store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("consent store %s: %w", path, err)
	}
	return &Embedded{db: db, retention: DefaultRetention}, nil
}

// SetRetention sets how long records are kept after a consent ID's last
// decision (0: DefaultRetention).
func (e *Embedded) SetRetention(d time.Duration) {
	if d <= 0 {
		d = DefaultRetention
	}
	e.retention = d
}

// Path is the file the store lives in.
func (e *Embedded) Path() string { return e.db.Path() }

func recordKey(r Record) []byte {
	k := make([]byte, 0, len(r.ConsentID)+1+8+len(r.ID))
	k = append(k, r.ConsentID...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(r.Time.UnixNano()))
	return append(k, r.ID...)
}

// Append implements Store.
func (e *Embedded) Append(ctx context.Context, r Record) error {
	if r.ID == "" || r.ConsentID == "" {
		return fmt.Errorf("consent store: record without id")
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return e.db.Batch(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketIDs)
		if ids.Get([]byte(r.ID)) != nil {
			return nil
		}
		k := recordKey(r)
		if err := tx.Bucket(bucketRecords).Put(k, v); err != nil {
			return err
		}
		if err := ids.Put([]byte(r.ID), k); err != nil {
			return err
		}
		if err := touch(tx, r.ConsentID, r.Time); err != nil {
			return err
		}
		return countDay(tx, r)
	})
}

// touch moves consentID's place in the retention order to t, if later.
func touch(tx *bolt.Tx, consentID string, t time.Time) error {
	last, exp := tx.Bucket(bucketLast), tx.Bucket(bucketExpiry)
	if old := last.Get([]byte(consentID)); old != nil {
		if int64(binary.BigEndian.Uint64(old)) >= t.UnixNano() {
			return nil
		}
		if err := exp.Delete(append(append([]byte{}, old...), consentID...)); err != nil {
			return err
		}
	}
	ts := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	if err := last.Put([]byte(consentID), ts); err != nil {
		return err
	}
	return exp.Put(append(ts, consentID...), nil)
}

func countDay(tx *bolt.Tx, r Record) error {
	b := tx.Bucket(bucketDays)
	key := []byte(DayKey(r.Time))
	d := Day{Date: string(key)}
	if v := b.Get(key); v != nil {
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("consent store: day %s: %w", key, err)
		}
	}
	d.Count(r)
	v, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return b.Put(key, v)
}

// Days implements Store.
func (e *Embedded) Days(ctx context.Context, from, to time.Time) ([]Day, error) {
	var out []Day
	lo, hi := []byte(DayKey(from)), DayKey(to)
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDays).Cursor()
		for k, v := c.Seek(lo); k != nil && string(k) <= hi; k, v = c.Next() {
			var d Day
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("consent store: day %s: %w", k, err)
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// Sweep deletes the records of every consent ID whose last decision is
// older than the retention period, and returns how many IDs it expired.
func (e *Embedded) Sweep(ctx context.Context, now time.Time) (int, error) {
	cutoff := binary.BigEndian.AppendUint64(nil, uint64(now.Add(-e.retention).UnixNano()))
	var expired []string
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketExpiry).Cursor()
		for k, _ := c.First(); k != nil && string(k[:8]) < string(cutoff); k, _ = c.Next() {
			expired = append(expired, string(k[8:]))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range expired {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		err := e.db.Update(func(tx *bolt.Tx) error {
			if err := deleteRecords(tx, id); err != nil {
				return err
			}
			if old := tx.Bucket(bucketLast).Get([]byte(id)); old != nil {
				tx.Bucket(bucketExpiry).Delete(append(append([]byte{}, old...), id...))
			}
			return tx.Bucket(bucketLast).Delete([]byte(id))
		})
		if err != nil {
			return 0, err
		}
	}
	return len(expired), nil
}

// RunSweeper sweeps every interval until ctx ends; report, if set, is told
// each sweep's result.
func (e *Embedded) RunSweeper(ctx context.Context, every time.Duration, report func(int, error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := e.Sweep(ctx, time.Now())
		if report != nil {
			report(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func deleteRecords(tx *bolt.Tx, consentID string) error {
	prefix := append([]byte(consentID), 0)
	recs, ids := tx.Bucket(bucketRecords), tx.Bucket(bucketIDs)
	c := recs.Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Seek(prefix) {
		var r Record
		if json.Unmarshal(v, &r) == nil {
			ids.Delete([]byte(r.ID))
		}
		if err := recs.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// History implements Store.
func (e *Embedded) History(ctx context.Context, consentID string) ([]Record, error) {
	var out []Record
	prefix := append([]byte(consentID), 0)
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("consent store: record %q: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Erase implements Store.
func (e *Embedded) Erase(ctx context.Context, consentID string, proof Record) (int, error) {
	n := 0
	prefix := append([]byte(consentID), 0)
	v, err := json.Marshal(proof)
	if err != nil {
		return 0, err
	}
	err = e.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		if err := deleteRecords(tx, consentID); err != nil {
			return err
		}
		// The retention index names the raw ID: it goes too.
		if old := tx.Bucket(bucketLast).Get([]byte(consentID)); old != nil {
			tx.Bucket(bucketExpiry).Delete(append(append([]byte{}, old...), consentID...))
			tx.Bucket(bucketLast).Delete([]byte(consentID))
		}
		h := ConsentIDHash(consentID)
		key := binary.BigEndian.AppendUint64([]byte(h), uint64(proof.Time.UnixNano()))
		if err := tx.Bucket(bucketWithdrawals).Put(key, v); err != nil {
			return err
		}
		return countDay(tx, proof)
	})
	return n, err
}

// ConsentIDHash is what a withdrawal proof keeps instead of the consent ID.
func ConsentIDHash(consentID string) string {
	s := sha256.Sum256([]byte(consentID))
	return hex.EncodeToString(s[:16])
}

// Close implements Store.
func (e *Embedded) Close() error { return e.db.Close() }

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}
