// Package store keeps consent records, the proof that a visitor consented
// or refused (Law 94-V Art. 8), on the operator's own machines.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	// Append stores r; storing a record ID already present does nothing.
	Append(ctx context.Context, r Record) error
	// History returns the records of a consent ID, oldest first.
	History(ctx context.Context, consentID string) ([]Record, error)
	// Erase deletes every record of consentID and keeps only proof, the
	// minimal record that a withdrawal happened (policy 6.2.1). It returns
	// how many records were erased.
	Erase(ctx context.Context, consentID string, proof Record) (int, error)
	Close() error
}

// ErrClosed is returned by a store used after Close.
var ErrClosed = errors.New("store closed")
