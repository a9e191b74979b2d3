// Package store keeps consent records, the proof that a visitor consented
// or refused (Law 94-V Art. 8), on the operator's own machines.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sort"
	"time"
)

// Actions a record can carry.
const (
	ActionAcceptAll = "accept-all"
	ActionRejectAll = "reject-all"
	ActionCustom    = "custom"
	ActionWithdraw  = "withdraw"
)

// Record is one decision, kept as proof.
type Record struct {
	// ID identifies the record itself; appending the same ID twice stores
	// it once, so replays are harmless.
	ID string `json:"record_id"`
	// ConsentID is the visitor's consent ID (the cookie's).
	ConsentID string    `json:"id"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"`
	// Granted and Refused list optional categories.
	Granted []string `json:"categories"`
	Refused []string `json:"refused"`
	Lang    string   `json:"lang,omitempty"`
	// PolicyVersion is the operator's policy_version at the time.
	PolicyVersion string `json:"policy_version"`
	// BannerHash is a hash of the exact banner text shown.
	BannerHash string `json:"banner_hash,omitempty"`
	// ListHash identifies the processor lists the visitor was shown.
	ListHash string `json:"processors_hash,omitempty"`
	Path     string `json:"path,omitempty"`
	GPC      bool   `json:"gpc,omitempty"`
	// ClientHint is a keyed hash of the client address with a key that
	// rotates daily: it links decisions of one day, never reveals the IP.
	ClientHint string `json:"client_hint,omitempty"`
}

// NewRecordID returns a fresh random record ID.
func NewRecordID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// Store keeps records. Implementations are safe for concurrent use.
type Store interface {
	// Append stores r and counts it in the daily aggregates; storing a
	// record ID already present does nothing (replays are harmless).
	Append(ctx context.Context, r Record) error
	// History returns the records of a consent ID, oldest first.
	History(ctx context.Context, consentID string) ([]Record, error)
	// Erase deletes every record of consentID and keeps only proof, the
	// minimal record that a withdrawal happened (policy 6.2.1). It returns
	// how many records were erased. The withdrawal is counted in its day's
	// aggregates; earlier decisions stay counted.
	Erase(ctx context.Context, consentID string, proof Record) (int, error)
	// Days returns the aggregates of each UTC day in [from, to], oldest
	// first; days without decisions are left out.
	Days(ctx context.Context, from, to time.Time) ([]Day, error)
	Close() error
}

// Day aggregates one UTC day's decisions, kept up to date on each Append
// so that a year of statistics is read without scanning records.
type Day struct {
	Date       string         `json:"date"` // YYYY-MM-DD, UTC
	Total      int            `json:"total"`
	Actions    map[string]int `json:"actions"`    // action -> decisions
	Categories map[string]int `json:"categories"` // category -> decisions granting it
	Languages  map[string]int `json:"languages"`  // banner language -> decisions
	GPC        int            `json:"gpc"`        // decisions with Global Privacy Control
}

// DayKey is the aggregate day of t.
func DayKey(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Count adds r to d.
func (d *Day) Count(r Record) {
	if d.Actions == nil {
		d.Actions, d.Categories, d.Languages = map[string]int{}, map[string]int{}, map[string]int{}
	}
	d.Total++
	d.Actions[r.Action]++
	for _, c := range r.Granted {
		d.Categories[c]++
	}
	if r.Lang != "" {
		d.Languages[r.Lang]++
	}
	if r.GPC {
		d.GPC++
	}
}

// DefaultRetention is how long records are kept after a consent ID's last
// decision: two years.
const DefaultRetention = 2 * 365 * 24 * time.Hour

// ErrClosed is returned by a store used after Close.
var ErrClosed = errors.New("store closed")

// sortRecords orders records by time, then record ID.
func sortRecords(rs []Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].Time.Equal(rs[j].Time) {
			return rs[i].Time.Before(rs[j].Time)
		}
		return rs[i].ID < rs[j].ID
	})
}
