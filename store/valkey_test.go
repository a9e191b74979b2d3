package store_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelisim/kelisim/store"
	"github.com/kelisim/kelisim/store/storetest"
)

// These tests run against real servers started by storetest: valkey-server,
// or redis-server 7. Without one they are skipped, or fail under CI=true.

var prefixSeq atomic.Int64

// openValkey opens a store on o with a key prefix of its own, so that
// tests sharing a server see empty stores.
func openValkey(t testing.TB, o store.ValkeyOptions) *store.Valkey {
	t.Helper()
	if o.KeyPrefix == "" {
		o.KeyPrefix = fmt.Sprintf("kt%d:", prefixSeq.Add(1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := store.OpenValkey(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func conformance(t *testing.T, o store.ValkeyOptions) {
	storetest.Run(t, func(t *testing.T) store.Store { return openValkey(t, o) })
}

func TestValkeyStandaloneConformance(t *testing.T) {
	conformance(t, store.ValkeyOptions{Addresses: []string{storetest.StartValkey(t)}})
}

func TestValkeyClusterConformance(t *testing.T) {
	addrs := storetest.StartValkeyCluster(t)
	o := store.ValkeyOptions{Addresses: addrs}
	conformance(t, o)

	// Consent IDs with braces would break the hash tag; and the keys of
	// one consent ID must stay in one slot for the scripts to run.
	v := openValkey(t, o)
	ctx := t.Context()
	weird := []string{"}x", "a}b", "{}", "{a}", "%7d78", "%", "A"}
	for i, cid := range weird {
		r := store.Record{ID: fmt.Sprint("w", i), ConsentID: cid, Time: time.Now(), Action: store.ActionCustom}
		if err := v.Append(ctx, r); err != nil {
			t.Fatalf("append %q: %v", cid, err)
		}
	}
	for i, cid := range weird {
		h, err := v.History(ctx, cid)
		if err != nil || len(h) != 1 || h[0].ID != fmt.Sprint("w", i) {
			t.Errorf("history(%q) = %+v, %v", cid, h, err)
		}
		if n, err := v.Erase(ctx, cid, store.Record{ID: "p", Time: time.Now()}); err != nil || n != 1 {
			t.Errorf("erase(%q) = %d, %v", cid, n, err)
		}
	}

	// The suite's keys must have been spread over the nodes, or the
	// client was not in cluster mode.
	used := 0
	for _, a := range addrs {
		if n, err := storetest.Do(a, "DBSIZE"); err == nil && n.(int64) > 0 {
			used++
		}
	}
	if used < 2 {
		t.Errorf("keys on %d of 3 cluster nodes", used)
	}
}

func TestValkeySentinelConformance(t *testing.T) {
	sentinel, master := storetest.StartSentinel(t)
	conformance(t, store.ValkeyOptions{Addresses: []string{sentinel}, SentinelMaster: "mymaster"})
	if n, err := storetest.Do(master, "DBSIZE"); err != nil || n.(int64) == 0 {
		t.Errorf("nothing written to the master %s: %v, %v", master, n, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := store.OpenValkey(ctx, store.ValkeyOptions{Addresses: []string{sentinel}, SentinelMaster: "nosuchmaster", DialTimeout: time.Second}); err == nil {
		t.Error("opened a master set the sentinel does not monitor")
	}
}

func TestValkeyKeyLayout(t *testing.T) {
	addr := storetest.StartValkey(t)
	v := openValkey(t, store.ValkeyOptions{Addresses: []string{addr}, KeyPrefix: "kl:"})
	ctx := t.Context()
	r := store.Record{ID: "r1", ConsentID: "c1", Time: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC),
		Action: store.ActionCustom, Granted: []string{"analytics", "functional"}, Lang: "kk", GPC: true}
	if err := v.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	do := func(args ...string) any {
		t.Helper()
		x, err := storetest.Do(addr, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return x
	}
	for key, typ := range map[string]string{"kl:{c1}:h": "list", "kl:{c1}:ids": "set", "kl:stats:2026-03-02": "hash"} {
		if got := do("TYPE", key); got != typ {
			t.Errorf("TYPE %s = %v, want %s", key, got, typ)
		}
	}
	fields := map[string]string{}
	kv := do("HGETALL", "kl:stats:2026-03-02").([]any)
	for i := 0; i+1 < len(kv); i += 2 {
		fields[kv[i].(string)] = kv[i+1].(string)
	}
	want := map[string]string{"total": "1", "a:custom": "1", "c:analytics": "1", "c:functional": "1", "l:kk": "1", "gpc": "1"}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Errorf("day hash = %v, want %v", fields, want)
	}
	for _, key := range []string{"kl:{c1}:h", "kl:{c1}:ids"} {
		ttl := do("PTTL", key).(int64)
		if d := time.Duration(ttl) * time.Millisecond; d < store.DefaultRetention-time.Minute || d > store.DefaultRetention {
			t.Errorf("PTTL %s = %v, want the default retention", key, d)
		}
	}
	if ttl := do("PTTL", "kl:stats:2026-03-02"); ttl != int64(-1) {
		t.Errorf("aggregates must not expire: PTTL = %v", ttl)
	}
	if n, err := v.Erase(ctx, "c1", store.Record{ID: "p1", ConsentID: store.ConsentIDHash("c1"), Time: r.Time, Action: store.ActionWithdraw}); err != nil || n != 1 {
		t.Fatalf("erase = %d, %v", n, err)
	}
	if n := do("EXISTS", "kl:{c1}:h", "kl:{c1}:ids"); n != int64(0) {
		t.Errorf("%v record keys left after erase", n)
	}
	proofs := do("LRANGE", "kl:withdrawals:"+store.ConsentIDHash("c1"), "0", "-1").([]any)
	if len(proofs) != 1 || !strings.Contains(proofs[0].(string), `"record_id":"p1"`) || strings.Contains(proofs[0].(string), `"c1"`) {
		t.Errorf("withdrawal proofs = %v", proofs)
	}
	keys := do("KEYS", "*").([]any)
	for _, k := range keys {
		if !strings.HasPrefix(k.(string), "kl:") {
			t.Errorf("key %q outside the prefix", k)
		}
	}
}

func TestValkeyRetention(t *testing.T) {
	addr := storetest.StartValkey(t)
	v := openValkey(t, store.ValkeyOptions{Addresses: []string{addr}, Retention: time.Second})
	ctx := t.Context()
	now := time.Now()
	for i, cid := range []string{"x", "x", "y"} {
		if err := v.Append(ctx, store.Record{ID: strconv.Itoa(i), ConsentID: cid, Time: now, Action: store.ActionAcceptAll}); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := v.History(ctx, "x"); err != nil || len(h) != 2 {
		t.Fatalf("history = %+v, %v", h, err)
	}
	time.Sleep(2500 * time.Millisecond)
	for _, cid := range []string{"x", "y"} {
		if h, err := v.History(ctx, cid); err != nil || len(h) != 0 {
			t.Errorf("history(%s) after retention = %+v, %v", cid, h, err)
		}
	}
	if d, err := v.Days(ctx, now, now); err != nil || len(d) != 1 || d[0].Total != 3 {
		t.Errorf("aggregates must outlive records: %+v, %v", d, err)
	}
	// The record IDs expired with the records: appending again stores.
	if err := v.Append(ctx, store.Record{ID: "0", ConsentID: "x", Time: now, Action: store.ActionAcceptAll}); err != nil {
		t.Fatal(err)
	}
	if h, _ := v.History(ctx, "x"); len(h) != 1 {
		t.Errorf("history after re-append = %+v", h)
	}
}

func TestValkeyUnreachable(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(storetest.FreePort(t)) // closed
	const dial = 2 * time.Second
	start := time.Now()
	v, err := store.OpenValkey(t.Context(), store.ValkeyOptions{Addresses: []string{addr}, DialTimeout: dial})
	if err == nil {
		v.Close()
		t.Fatal("opened a store with no server")
	}
	if el := time.Since(start); el > dial {
		t.Errorf("failed after %v, dial timeout %v", el, dial)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error does not name %s: %v", addr, err)
	}
	t.Log(err)

	// A server that accepts but never answers: the dial timeout bounds
	// the handshake too.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := l.Addr().String()
	start = time.Now()
	v, err = store.OpenValkey(t.Context(), store.ValkeyOptions{Addresses: []string{silent}, DialTimeout: 500 * time.Millisecond})
	if err == nil {
		v.Close()
		t.Fatal("opened a store on a silent server")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("silent server: failed after %v", el)
	}
	if !strings.Contains(err.Error(), silent) {
		t.Errorf("error does not name %s: %v", silent, err)
	}
	t.Log(err)

	// ctx bounds OpenValkey as well.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if v, err := store.OpenValkey(ctx, store.ValkeyOptions{Addresses: []string{silent}, DialTimeout: 10 * time.Second}); err == nil {
		v.Close()
		t.Fatal("opened a store on a silent server")
	} else if el := time.Since(start); el > 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx deadline: failed after %v with %v", el, err)
	}
}

func TestValkeyOptions(t *testing.T) {
	if _, err := store.OpenValkey(t.Context(), store.ValkeyOptions{}); err == nil {
		t.Error("opened without an address")
	}
	if _, err := store.OpenValkey(t.Context(), store.ValkeyOptions{Addresses: []string{"127.0.0.1:1"}, KeyPrefix: "a{b}:"}); err == nil {
		t.Error("accepted a prefix with a hash tag")
	}
}

func TestValkeyClosed(t *testing.T) {
	v := openValkey(t, store.ValkeyOptions{Addresses: []string{storetest.StartValkey(t)}})
	ctx := t.Context()
	if err := v.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if err := v.Append(ctx, store.Record{ID: "a", ConsentID: "b", Time: time.Now()}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("append after close: %v", err)
	}
	if _, err := v.History(ctx, "b"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("history after close: %v", err)
	}
	if err := v.Ping(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ping after close: %v", err)
	}
}

func TestValkeyTLSAuth(t *testing.T) {
	dir := t.TempDir()
	pool := writeTestCerts(t, dir)
	tlsPort := storetest.FreePort(t)
	storetest.StartValkey(t,
		"--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", filepath.Join(dir, "server.pem"),
		"--tls-key-file", filepath.Join(dir, "server.key"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"),
		"--tls-auth-clients", "no",
		"--user", "kelisim", "on", ">s3cret", "~*", "&*", "+@all")
	addr := "127.0.0.1:" + strconv.Itoa(tlsPort)
	o := store.ValkeyOptions{Addresses: []string{addr}, Username: "kelisim", Password: "s3cret",
		TLS: &tls.Config{RootCAs: pool}, DialTimeout: 2 * time.Second}
	v := openValkey(t, o)
	ctx := t.Context()
	r := store.Record{ID: "r", ConsentID: "c", Time: time.Now(), Action: store.ActionAcceptAll}
	if err := v.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	if h, err := v.History(ctx, "c"); err != nil || len(h) != 1 {
		t.Fatalf("history over TLS = %+v, %v", h, err)
	}

	bad := o
	bad.Password = "wrong"
	if v, err := store.OpenValkey(ctx, bad); err == nil {
		v.Close()
		t.Error("opened with a wrong password")
	} else {
		t.Log(err)
	}
	plain := o
	plain.TLS = nil
	start := time.Now()
	if v, err := store.OpenValkey(ctx, plain); err == nil {
		v.Close()
		t.Error("opened a TLS port without TLS")
	} else if el := time.Since(start); el > 3*o.DialTimeout {
		t.Errorf("plain TCP to a TLS port failed after %v", el)
	}
}

// writeTestCerts writes ca.pem, server.pem and server.key (for 127.0.0.1)
// to dir and returns a pool trusting the CA.
func writeTestCerts(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kelisim test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":     {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

func BenchmarkValkeyAppend(b *testing.B) {
	v := openValkey(b, store.ValkeyOptions{Addresses: []string{storetest.StartValkey(b)}})
	benchmarkAppend(b, v)
}
