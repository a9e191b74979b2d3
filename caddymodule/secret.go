package caddymodule

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// loadSecret expands placeholders in configured, or else reads the secret
// kept in dir, generating it on first use.
func loadSecret(configured, dir string) ([]byte, error) {
	if configured != "" {
		s := caddy.NewReplacer().ReplaceKnown(configured, "")
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("secret %q expands to nothing (is the environment variable set?)", configured)
		}
		if len(s) < 16 {
			return nil, fmt.Errorf("secret must be at least 16 characters (32 random bytes recommended)")
		}
		return []byte(s), nil
	}
	path := filepath.Join(dir, "secret")
	if b, err := os.ReadFile(path); err == nil {
		return decodeSecret(path, b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading secret: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "secret-*")
	if err != nil {
		return nil, fmt.Errorf("writing secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	// Every step checked: a short file linked into place would fail
	// every later start.
	_, werr := tmp.WriteString(hex.EncodeToString(raw[:]) + "\n")
	if err := errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("writing secret in %s: %w", dir, err)
	}
	// Link fails if another instance got there first; then use theirs.
	err = os.Link(tmp.Name(), path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("writing secret: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading secret: %w", err)
	}
	return decodeSecret(path, b)
}

func decodeSecret(path string, b []byte) ([]byte, error) {
	s, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(s) < 16 {
		return nil, fmt.Errorf("secret file %s is damaged: want 64 hex characters", path)
	}
	return s, nil
}
