package caddymodule

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kelisim/kelisim/store"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the global `consent` app. It owns the consent store that every
// site's consent handler and the consent_stats handler share, so one
// connection (or one open bbolt file) serves them all and survives config
// reloads.
type App struct {
	// Store says where consent records live. Default: the embedded store,
	// a bbolt file in Caddy's data directory.
	Store *StoreConfig `json:"store,omitempty"`

	// Retention is how long records are kept after a consent ID's last
	// decision; then the store deletes them. Default: 730d (two years).
	Retention caddy.Duration `json:"retention,omitempty"`

	st      *pooled
	key     string
	dataDir string
	log     *slog.Logger

	// secret is the data directory's secret (or one to write there at
	// Start, when secretNew), for handlers with none configured.
	secret                []byte
	secretNew, secretUsed bool
}

// StoreConfig selects and configures the store.
type StoreConfig struct {
	// Type is "embedded" (default) or "valkey" (Valkey, or Redis 7).
	Type string `json:"type,omitempty"`

	// Path of the embedded store's file. Default:
	// <data dir>/kelisim/consent.db
	Path string `json:"path,omitempty"`

	// Addresses (host:port) of the Valkey server, of cluster nodes, or of
	// sentinels when SentinelMaster is set.
	Addresses []string `json:"addresses,omitempty"`

	// Username and Password authenticate to Valkey; placeholders such as
	// {env.VALKEY_PASSWORD} are expanded.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// TLS turns on TLS to Valkey; TLSCAFile adds a CA to trust,
	// TLSServerName overrides the name checked in the certificate.
	TLS           bool   `json:"tls,omitempty"`
	TLSCAFile     string `json:"tls_ca_file,omitempty"`
	TLSServerName string `json:"tls_server_name,omitempty"`

	// SentinelMaster names the master set monitored by the sentinels in
	// Addresses.
	SentinelMaster string `json:"sentinel_master,omitempty"`

	// KeyPrefix starts every Valkey key. Default: "kelisim:".
	KeyPrefix string `json:"key_prefix,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "consent",
		New: func() caddy.Module { return new(App) },
	}
}

// stores shares one store per configuration across config reloads: the
// new config takes it over before the old one lets go, as Caddy's
// acmeserver does with its database.
var stores = caddy.NewUsagePool()

// live holds the started Apps not yet cleaned up: a store configuration
// dropped by a reload hands one of them the records still in its spool
// (after a failed reload, the config still running).
var live sync.Map // *App -> struct{}

// liveOther returns a live App whose store is not p.
func liveOther(p *pooled) *App {
	var found *App
	live.Range(func(k, _ any) bool {
		if a := k.(*App); a.st != p {
			found = a
			return false
		}
		return true
	})
	return found
}

// Provision checks the store configuration and takes (or shares) the
// store — without opening anything: `kelisim validate` provisions too,
// and must leave disk and network alone. Files are created and
// connections made in Start.
func (a *App) Provision(ctx caddy.Context) error {
	a.log = ctx.Slogger()
	cfg := StoreConfig{Type: "embedded"}
	if a.Store != nil {
		cfg = *a.Store
		if cfg.Type == "" {
			cfg.Type = "embedded"
		}
	}
	a.dataDir = filepath.Join(caddy.AppDataDir(), "kelisim")
	if cfg.Type == "embedded" && cfg.Path == "" {
		cfg.Path = filepath.Join(a.dataDir, "consent.db")
	}
	retention := time.Duration(a.Retention)
	if retention <= 0 {
		retention = store.DefaultRetention
	}
	open, what, err := cfg.opener(retention, a.log)
	if err != nil {
		return err
	}
	keyJSON, _ := json.Marshal(struct {
		C StoreConfig
		R time.Duration
	}{cfg, retention})
	sum := sha256.Sum256(keyJSON)
	a.key = hex.EncodeToString(sum[:8])
	v, _, _ := stores.LoadOrNew(a.key, func() (caddy.Destructor, error) {
		return &pooled{open: open, what: what, key: a.key, dir: a.dataDir, log: a.log}, nil
	})
	a.st = v.(*pooled)
	if err := a.readSecret(); err != nil {
		return err
	}
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "kelisim", Name: "spool_depth",
			Help: "Consent records waiting in the local spool for the store to come back.",
		}, func() float64 { return float64(a.st.Depth()) }))
	}
	return nil
}

// opener returns how to open the configured store and its name in logs;
// every setting that can be checked without the network is checked here.
func (c StoreConfig) opener(retention time.Duration, log *slog.Logger) (func(context.Context) (store.Store, error), string, error) {
	switch c.Type {
	case "embedded":
		return func(ctx context.Context) (store.Store, error) {
			e, err := store.OpenEmbedded(c.Path)
			if err != nil {
				return nil, err
			}
			e.SetRetention(retention)
			go e.RunSweeper(ctx, time.Hour, func(n int, err error) {
				if err != nil {
					log.Error("consent store: retention sweep failed", "error", err)
				} else if n > 0 {
					log.Info("consent store: expired records deleted", "consent_ids", n)
				}
			})
			return e, nil
		}, "embedded " + c.Path, nil
	case "valkey":
		o, err := c.valkeyOptions(retention)
		if err != nil {
			return nil, "", err
		}
		return func(ctx context.Context) (store.Store, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return store.OpenValkey(ctx, o)
		}, "valkey " + strings.Join(o.Addresses, " "), nil
	}
	return nil, "", fmt.Errorf("consent store: unknown type %q (want embedded or valkey)", c.Type)
}

// Start opens the store and its spool, writes a newly generated secret,
// and takes over spool files no configuration uses any more.
func (a *App) Start() error {
	if err := a.writeSecret(); err != nil {
		return err
	}
	if err := a.st.start(); err != nil {
		return err
	}
	a.st.connect()
	live.Store(a, struct{}{})
	a.adoptSpools()
	return nil
}

// Stop implements caddy.App. The store is shared with the next config and
// is closed by Cleanup when its last user goes.
func (a *App) Stop() error { return nil }

// Cleanup releases this config's hold on the store.
func (a *App) Cleanup() error {
	live.Delete(a)
	if a.key != "" {
		_, err := stores.Delete(a.key)
		return err
	}
	return nil
}

// adoptSpools takes over spool files of store configurations no longer in
// use (the store address or settings changed during an outage, or a
// process that could not open the store is gone): their records would
// otherwise wait on disk forever. Files still owned by a live spool are
// locked and stay where they are.
func (a *App) adoptSpools() {
	files, _ := filepath.Glob(filepath.Join(a.dataDir, "spool-*.jsonl"))
	for _, f := range files {
		if f == a.st.path() {
			continue
		}
		n, err := a.st.adopt(f)
		if errors.Is(err, store.ErrLocked) {
			continue
		}
		if err != nil {
			a.log.Error("consent spool: could not take over an old spool file", "path", f, "error", err)
			continue
		}
		if n > 0 {
			a.log.Warn("consent spool: took over records spooled under a previous store configuration", "path", f, "records", n)
		}
	}
}

func (c StoreConfig) valkeyOptions(retention time.Duration) (store.ValkeyOptions, error) {
	repl := caddy.NewReplacer()
	o := store.ValkeyOptions{
		Addresses: slices.Clone(c.Addresses), Username: repl.ReplaceKnown(c.Username, ""), Password: repl.ReplaceKnown(c.Password, ""),
		SentinelMaster: c.SentinelMaster, KeyPrefix: c.KeyPrefix, Retention: retention,
	}
	if len(o.Addresses) == 0 {
		return o, fmt.Errorf("valkey store needs at least one address")
	}
	for i, a := range o.Addresses {
		o.Addresses[i] = repl.ReplaceKnown(a, "")
		if err := checkAddress(o.Addresses[i]); err != nil {
			return o, err
		}
	}
	if c.TLS || c.TLSCAFile != "" || c.TLSServerName != "" {
		t := &tls.Config{ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return o, fmt.Errorf("valkey tls_ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("valkey tls_ca_file %s holds no PEM certificate", c.TLSCAFile)
			}
			t.RootCAs = pool
		}
		o.TLS = t
	}
	return o, nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
