package store

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestEmbeddedAppendHistoryErase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	a := Record{ID: NewRecordID(), ConsentID: "aa", Time: t0, Action: ActionAcceptAll, Granted: []string{"analytics"}}
	b := Record{ID: NewRecordID(), ConsentID: "aa", Time: t0.Add(time.Second), Action: ActionRejectAll}
	other := Record{ID: NewRecordID(), ConsentID: "aab", Time: t0, Action: ActionCustom}
	for _, r := range []Record{b, a, other, a} { // out of order, and a replayed
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	h, err := s.History(ctx, "aa")
	if err != nil || len(h) != 2 || h[0].ID != a.ID || h[1].ID != b.ID {
		t.Fatalf("history = %+v, %v", h, err)
	}
	s.Close()

	s, err = OpenEmbedded(path) // survives a restart
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Erase(ctx, "aa", Record{ID: NewRecordID(), ConsentID: ConsentIDHash("aa"), Time: t0, Action: ActionWithdraw})
	if err != nil || n != 2 {
		t.Fatalf("erase = %d, %v", n, err)
	}
	if h, _ := s.History(ctx, "aa"); len(h) != 0 {
		t.Errorf("records left: %+v", h)
	}
	s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if bytes.Contains(k, []byte("aa\x00")) || bytes.HasSuffix(k, []byte("aa")) || bytes.Contains(v, []byte(`"id":"aa"`)) {
					t.Errorf("bucket %s still names the erased consent ID: %q", name, k)
				}
				return nil
			})
		})
	})
	if h, _ := s.History(ctx, "aab"); len(h) != 1 {
		t.Errorf("erase touched another consent ID: %+v", h)
	}
	if err := s.Append(ctx, a); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History(ctx, "aa"); len(h) != 1 {
		t.Errorf("a record re-appended after erase should be stored again: %+v", h)
	}
}

func TestEmbeddedDaysAndRetention(t *testing.T) {
	s, err := OpenEmbedded(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	day1 := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Hour) // next UTC day
	recs := []Record{
		{ID: "r1", ConsentID: "old", Time: day1, Action: ActionAcceptAll, Granted: []string{"functional", "analytics", "marketing"}, Lang: "kk"},
		{ID: "r2", ConsentID: "new", Time: day2, Action: ActionCustom, Granted: []string{"analytics"}, Lang: "en", GPC: true},
		{ID: "r3", ConsentID: "new", Time: day2, Action: ActionRejectAll, Lang: "ru"},
		{ID: "r3", ConsentID: "new", Time: day2, Action: ActionRejectAll, Lang: "ru"}, // replay: counted once
	}
	for _, r := range recs {
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	days, err := s.Days(ctx, day1.Add(-48*time.Hour), day2)
	if err != nil || len(days) != 2 {
		t.Fatalf("days = %+v, %v", days, err)
	}
	d := days[1]
	if d.Date != "2026-03-02" || d.Total != 2 || d.Actions[ActionCustom] != 1 || d.Actions[ActionRejectAll] != 1 ||
		d.Categories["analytics"] != 1 || d.Languages["ru"] != 1 || d.GPC != 1 {
		t.Errorf("day 2 = %+v", d)
	}
	if only, _ := s.Days(ctx, day2, day2); len(only) != 1 {
		t.Errorf("range not honoured: %+v", only)
	}
	s.SetRetention(24 * time.Hour)
	n, err := s.Sweep(ctx, day2.Add(23*time.Hour)) // "old" is 25 h past its last decision, "new" 23 h
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	if h, _ := s.History(ctx, "old"); len(h) != 0 {
		t.Error("expired records kept")
	}
	if h, _ := s.History(ctx, "new"); len(h) != 2 {
		t.Error("live records swept")
	}
	if days, _ := s.Days(ctx, day1, day2); len(days) != 2 || days[0].Total != 1 {
		t.Error("aggregates must outlive swept records")
	}
}
