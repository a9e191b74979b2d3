package caddymodule

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

// stores shares one open store per configuration across config reloads:
// the new config opens it before the old one lets go, as Caddy's
// acmeserver does with its database.
var stores = caddy.NewUsagePool()

// pooled is an open store with its spool and background work.
type pooled struct {
	*store.Spooled
	inner  store.Store
	cancel context.CancelFunc
}

func (p *pooled) Destruct() error {
	p.cancel()
	p.Spooled.Close()
	return p.inner.Close()
}

// Provision opens (or shares) the store.
func (a *App) Provision(ctx caddy.Context) error {
	log := ctx.Slogger()
	cfg := StoreConfig{Type: "embedded"}
	if a.Store != nil {
		cfg = *a.Store
		if cfg.Type == "" {
			cfg.Type = "embedded"
		}
	}
	dataDir := filepath.Join(caddy.AppDataDir(), "kelisim")
	if cfg.Type == "embedded" && cfg.Path == "" {
		cfg.Path = filepath.Join(dataDir, "consent.db")
	}
	retention := time.Duration(a.Retention)
	if retention <= 0 {
		retention = store.DefaultRetention
	}
	keyJSON, _ := json.Marshal(struct {
		C StoreConfig
		R time.Duration
	}{cfg, retention})
	sum := sha256.Sum256(keyJSON)
	a.key = hex.EncodeToString(sum[:8])

	v, _, err := stores.LoadOrNew(a.key, func() (caddy.Destructor, error) {
		return openPooled(cfg, retention, filepath.Join(dataDir, "spool-"+a.key+".jsonl"), log)
	})
	if err != nil {
		return fmt.Errorf("consent store: %w", err)
	}
	a.st = v.(*pooled)
	a.dataDir, a.log = dataDir, log
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "kelisim", Name: "spool_depth",
			Help: "Consent records waiting in the local spool for the store to come back.",
		}, func() float64 { return float64(a.st.Depth()) }))
	}
	return nil
}

// adoptSpools takes over spool files of store configurations no longer in
// use (the store address or settings changed during an outage): their
// records would otherwise wait on disk forever.
func (a *App) adoptSpools(dir string, log *slog.Logger) {
	files, _ := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	for _, f := range files {
		key := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "spool-"), ".jsonl")
		if key == a.key {
			continue
		}
		if n, inUse := stores.References(key); inUse && n > 0 {
			continue // another live config still writes it
		}
		n, err := a.st.Adopt(f)
		if err != nil {
			log.Error("consent spool: could not take over an old spool file", "path", f, "error", err)
			continue
		}
		if n > 0 {
			log.Warn("consent spool: took over records spooled under a previous store configuration", "path", f, "records", n)
		}
	}
}

func openPooled(cfg StoreConfig, retention time.Duration, spoolPath string, log *slog.Logger) (*pooled, error) {
	bg, cancel := context.WithCancel(context.Background())
	var inner store.Store
	switch cfg.Type {
	case "embedded":
		// Opened on first use: `kelisim validate` provisions too, and must
		// not wait on the lock a running instance holds on the file.
		inner = store.NewLazy(bg, "embedded "+cfg.Path, func(context.Context) (store.Store, error) {
			e, err := store.OpenEmbedded(cfg.Path)
			if err != nil {
				return nil, err
			}
			e.SetRetention(retention)
			go e.RunSweeper(bg, time.Hour, func(n int, err error) {
				if err != nil {
					log.Error("consent store: retention sweep failed", "error", err)
				} else if n > 0 {
					log.Info("consent store: expired records deleted", "consent_ids", n)
				}
			})
			return e, nil
		}, log, false)
	case "valkey":
		o, err := cfg.valkeyOptions(retention)
		if err != nil {
			cancel()
			return nil, err
		}
		octx, ocancel := context.WithTimeout(bg, 5*time.Second)
		inner = store.NewLazy(octx, "valkey "+fmt.Sprint(o.Addresses), func(ctx context.Context) (store.Store, error) {
			return store.OpenValkey(ctx, o)
		}, log, true)
		ocancel()
	default:
		cancel()
		return nil, fmt.Errorf("unknown store type %q (want embedded or valkey)", cfg.Type)
	}
	sp, err := store.NewSpooled(inner, spoolPath, log)
	if err != nil {
		cancel()
		inner.Close()
		return nil, err
	}
	return &pooled{Spooled: sp, inner: inner, cancel: cancel}, nil
}

func (c StoreConfig) valkeyOptions(retention time.Duration) (store.ValkeyOptions, error) {
	repl := caddy.NewReplacer()
	o := store.ValkeyOptions{
		Addresses: c.Addresses, Username: repl.ReplaceKnown(c.Username, ""), Password: repl.ReplaceKnown(c.Password, ""),
		SentinelMaster: c.SentinelMaster, KeyPrefix: c.KeyPrefix, Retention: retention,
	}
	if len(o.Addresses) == 0 {
		return o, fmt.Errorf("valkey store needs at least one address")
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

// Store returns the shared store.
func (a *App) store() store.Store { return a.st }

// Start implements caddy.App. The store opened in Provision; here, not
// there, old spool files are taken over, because `kelisim validate`
// provisions but never starts, and must not touch a running instance's
// spool.
func (a *App) Start() error {
	a.adoptSpools(a.dataDir, a.log)
	return nil
}

// Stop implements caddy.App. The store is shared with the next config and
// is closed by Cleanup when its last user goes.
func (a *App) Stop() error { return nil }

// Cleanup releases this config's hold on the store.
func (a *App) Cleanup() error {
	if a.key != "" {
		_, err := stores.Delete(a.key)
		return err
	}
	return nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
