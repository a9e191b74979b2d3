package store

import (
	"path/filepath"
	"testing"
	"time"
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
