// Package storetest holds one conformance suite that every store.Store
// implementation must pass, and helpers that start real Valkey (or Redis)
// servers for tests.
package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kelisim/kelisim/store"
)

// Run checks the behaviour every store.Store must share. open returns a
// fresh, empty store for each subtest; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("AppendHistory", func(t *testing.T) { testAppendHistory(t, fresh(t)) })
	t.Run("Erase", func(t *testing.T) { testErase(t, fresh(t)) })
	t.Run("Days", func(t *testing.T) { testDays(t, fresh(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, fresh(t)) })
}

// base is a fixed instant, so that days are known in advance.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustAppend(t *testing.T, s store.Store, rs ...store.Record) {
	t.Helper()
	for _, r := range rs {
		if err := s.Append(t.Context(), r); err != nil {
			t.Fatalf("append %s: %v", r.ID, err)
		}
	}
}

func ids(rs []store.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// sameRecord compares two records as stored: times by instant.
func sameRecord(a, b store.Record) bool {
	if !a.Time.Equal(b.Time) {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func testAppendHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := store.Record{ID: "r-a", ConsentID: "aa", Time: base, Action: store.ActionAcceptAll,
		Granted: []string{"functional", "analytics"}, Refused: []string{"marketing"}, Lang: "kk",
		PolicyVersion: "3", BannerHash: "bh", ListHash: "lh", Path: "/x", GPC: true, ClientHint: "ch"}
	b := store.Record{ID: "r-b", ConsentID: "aa", Time: base.Add(time.Second), Action: store.ActionRejectAll}
	c := store.Record{ID: "r-c", ConsentID: "aa", Time: base.Add(time.Second), Action: store.ActionCustom} // same time as b: ID breaks the tie
	d := store.Record{ID: "r-0", ConsentID: "aa", Time: base.Add(-time.Hour), Action: store.ActionWithdraw}
	other := store.Record{ID: "r-o", ConsentID: "aab", Time: base, Action: store.ActionCustom}
	replay := a
	replay.Action = store.ActionRejectAll // same record ID, different content: ignored
	mustAppend(t, s, c, b, a, other, d, replay, a)

	h, err := s.History(ctx, "aa")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(h), []string{"r-0", "r-a", "r-b", "r-c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history order = %v, want %v", got, want)
	}
	if !sameRecord(h[1], a) {
		t.Errorf("record changed by storage or replay:\n got %+v\nwant %+v", h[1], a)
	}
	if h, err := s.History(ctx, "aab"); err != nil || len(h) != 1 || !sameRecord(h[0], other) {
		t.Errorf("history(aab) = %+v, %v", h, err)
	}
	if h, err := s.History(ctx, "a"); err != nil || len(h) != 0 {
		t.Errorf("history(a) = %+v, %v; want none", h, err)
	}
	if h, err := s.History(ctx, "unknown"); err != nil || len(h) != 0 {
		t.Errorf("history(unknown) = %+v, %v", h, err)
	}

	days, err := s.Days(ctx, base.Add(-24*time.Hour), base.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var want store.Day
	want.Date = store.DayKey(base)
	for _, r := range []store.Record{a, b, c, d, other} {
		want.Count(r)
	}
	if len(days) != 1 || !reflect.DeepEqual(days[0], want) {
		t.Errorf("days = %+v\nwant [%+v] (replays counted once)", days, want)
	}

	if err := s.Append(ctx, store.Record{ConsentID: "aa", Time: base}); err == nil {
		t.Error("a record without ID was accepted")
	}
	if err := s.Append(ctx, store.Record{ID: "x", Time: base}); err == nil {
		t.Error("a record without consent ID was accepted")
	}
}

func testErase(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := store.Record{ID: "e-a", ConsentID: "aa", Time: base, Action: store.ActionAcceptAll, Granted: []string{"analytics"}}
	b := store.Record{ID: "e-b", ConsentID: "aa", Time: base.Add(time.Second), Action: store.ActionRejectAll}
	other := store.Record{ID: "e-o", ConsentID: "aab", Time: base, Action: store.ActionCustom}
	mustAppend(t, s, b, a, other, a)
	before, err := s.Days(ctx, base, base)
	if err != nil {
		t.Fatal(err)
	}

	proof := store.Record{ID: "e-p", ConsentID: store.ConsentIDHash("aa"), Time: base.Add(2 * time.Second), Action: store.ActionWithdraw}
	n, err := s.Erase(ctx, "aa", proof)
	if err != nil || n != 2 {
		t.Fatalf("erase = %d, %v; want 2", n, err)
	}
	if h, err := s.History(ctx, "aa"); err != nil || len(h) != 0 {
		t.Errorf("records left after erase: %+v, %v", h, err)
	}
	if h, err := s.History(ctx, "aab"); err != nil || len(h) != 1 || h[0].ID != other.ID {
		t.Errorf("erase touched another consent ID: %+v, %v", h, err)
	}
	// The withdrawal is counted on its day; earlier decisions stay.
	want := append([]store.Day(nil), before...)
	want[0].Count(proof)
	if after, err := s.Days(ctx, base, base); err != nil || !reflect.DeepEqual(after, want) {
		t.Errorf("aggregates after erase:\n got %+v, %v\nwant %+v", after, err, want)
	}
	if n, err := s.Erase(ctx, "aa", proof); err != nil || n != 0 {
		t.Errorf("second erase = %d, %v; want 0", n, err)
	}
	if n, err := s.Erase(ctx, "never-seen", proof); err != nil || n != 0 {
		t.Errorf("erase of an unknown ID = %d, %v; want 0", n, err)
	}

	mustAppend(t, s, a)
	if h, err := s.History(ctx, "aa"); err != nil || len(h) != 1 || !sameRecord(h[0], a) {
		t.Errorf("a record re-appended after erase should be stored again: %+v, %v", h, err)
	}
	mustAppend(t, s, a)
	if h, _ := s.History(ctx, "aa"); len(h) != 1 {
		t.Errorf("replay after re-append stored twice: %+v", h)
	}
}

func testDays(t *testing.T, s store.Store) {
	ctx := t.Context()
	day1 := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Hour) // 01:00 the next UTC day
	// In UTC+5 both instants fall on 2 March: aggregates use UTC days.
	almaty := time.FixedZone("UTC+5", 5*3600)
	recs := []store.Record{
		{ID: "d1", ConsentID: "old", Time: day1.In(almaty), Action: store.ActionAcceptAll, Granted: []string{"functional", "analytics", "marketing"}, Lang: "kk"},
		{ID: "d2", ConsentID: "new", Time: day2, Action: store.ActionCustom, Granted: []string{"analytics"}, Lang: "en", GPC: true},
		{ID: "d3", ConsentID: "new", Time: day2, Action: store.ActionRejectAll, Lang: "ru"},
		{ID: "d3", ConsentID: "new", Time: day2, Action: store.ActionRejectAll, Lang: "ru"}, // replay
		{ID: "d4", ConsentID: "bare", Time: day2.Add(time.Minute), Action: store.ActionRejectAll},
	}
	mustAppend(t, s, recs...)
	want1 := store.Day{Date: "2026-03-01"}
	want1.Count(recs[0])
	want2 := store.Day{Date: "2026-03-02"}
	for _, r := range []store.Record{recs[1], recs[2], recs[4]} {
		want2.Count(r)
	}

	check := func(name string, from, to time.Time, want ...store.Day) {
		t.Helper()
		got, err := s.Days(ctx, from, to)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: days =\n %+v\nwant\n %+v", name, got, want)
		}
	}
	check("wide", day1.Add(-48*time.Hour), day2.Add(48*time.Hour), want1, want2)
	check("exact", day1, day2, want1, want2)
	check("bounds are days, not instants", day1.Add(-22*time.Hour), day2.Add(-30*time.Minute), want1, want2)
	check("first day only", day1, day1, want1)
	check("second day only", day2, day2, want2)
	check("before", day1.Add(-72*time.Hour), day1.Add(-24*time.Hour))
	check("after", day2.Add(24*time.Hour), day2.Add(72*time.Hour))
	check("from after to", day2, day1)
	check("local times", day1.In(almaty), day1.In(almaty), want1)
	check("a year", day2.AddDate(-1, 0, 0), day2, want1, want2)

	if got, _ := s.Days(ctx, day2, day2); len(got) == 1 {
		d := got[0]
		if d.Actions == nil || d.Categories == nil || d.Languages == nil {
			t.Errorf("maps of a non-empty day must be non-nil: %+v", d)
		}
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	const workers, each = 16, 50
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				cid := fmt.Sprintf("c%02d", w)
				if i%2 == 1 {
					cid = "shared"
				}
				r := store.Record{
					ID:        fmt.Sprintf("w%02d-%03d", w, i),
					ConsentID: cid,
					Time:      base.Add(time.Duration(w*each+i) * time.Millisecond),
					Action:    store.ActionCustom,
					Granted:   []string{"analytics"},
				}
				if err := s.Append(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range workers {
		h, err := s.History(ctx, fmt.Sprintf("c%02d", w))
		if err != nil || len(h) != each/2 {
			t.Fatalf("worker %d: %d records, %v; want %d", w, len(h), err, each/2)
		}
	}
	h, err := s.History(ctx, "shared")
	if err != nil || len(h) != workers*each/2 {
		t.Fatalf("shared: %d records, %v; want %d", len(h), err, workers*each/2)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Time.Before(h[i-1].Time) {
			t.Fatalf("shared history out of order at %d", i)
		}
	}
	days, err := s.Days(ctx, base, base)
	if err != nil || len(days) != 1 || days[0].Total != workers*each || days[0].Categories["analytics"] != workers*each {
		t.Fatalf("days = %+v, %v; want total %d", days, err, workers*each)
	}
}
