package store_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelisim/kelisim/store"
	"github.com/kelisim/kelisim/store/storetest"
)

// Every implementation is held to the one standard of storetest.Run.

func TestEmbeddedConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "c.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// writers is the number of concurrent Append callers in the benchmarks.
const writers = 64

// benchmarkAppend appends b.N distinct records from 64 goroutines and
// reports records/s.
func benchmarkAppend(b *testing.B, s store.Store) {
	b.Helper()
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var seq atomic.Int64
	run := store.NewRecordID() // b.N grows over several calls on one store
	now := time.Now().UTC()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := b.Context()
		for pb.Next() {
			n := seq.Add(1)
			r := store.Record{
				ID:            fmt.Sprintf("%s-%d", run, n),
				ConsentID:     fmt.Sprintf("cid-%d", n%10000),
				Time:          now,
				Action:        store.ActionCustom,
				Granted:       []string{"functional", "analytics"},
				Refused:       []string{"marketing"},
				Lang:          "kk",
				PolicyVersion: "2026-01",
				BannerHash:    "3f2a9c",
			}
			if err := s.Append(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkEmbeddedAppend(b *testing.B) {
	s, err := store.OpenEmbedded(filepath.Join(b.TempDir(), "c.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchmarkAppend(b, s)
}
