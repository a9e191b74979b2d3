package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
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
var (
	bucketRecords     = []byte("records")
	bucketIDs         = []byte("ids")
	bucketWithdrawals = []byte("withdrawals")
)

// Embedded is a store in one bbolt file: no server to run, durable across
// restarts. Concurrent appends are grouped into one transaction and one
// fsync by bolt's Batch.
type Embedded struct {
	db *bolt.DB
}

// OpenEmbedded opens (creating if needed) the bbolt file at path.
func OpenEmbedded(path string) (*Embedded, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("consent store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("consent store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketIDs, bucketWithdrawals} {
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
	return &Embedded{db: db}, nil
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
		return ids.Put([]byte(r.ID), k)
	})
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
			n++
		}
		h := ConsentIDHash(consentID)
		key := binary.BigEndian.AppendUint64([]byte(h), uint64(proof.Time.UnixNano()))
		return tx.Bucket(bucketWithdrawals).Put(key, v)
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
