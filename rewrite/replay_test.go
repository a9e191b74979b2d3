package rewrite_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/internal/pagegen"
	"github.com/kelisim/kelisim/rewrite"
)

// pass is one rewrite of a page: how it is cut into writes, where Flush
// comes, and what it replays and records.
type pass struct {
	chunks  []int // write sizes, cycled
	flushAt int   // Flush after every flushAt-th write; 0: never
	replay  *rewrite.Recording
	record  bool
}

type passResult struct {
	out      []byte
	blocks   []int
	rec      *rewrite.Recording
	replayed bool
	resumes  int
	blocked  int
	warned   bool // the writer gave up on part of the page (not recorded)
}

// runPass rewrites page under a policy whose injections name the pass
// (id), so a replay that wrote another visitor's injection is caught.
func runPass(t testing.TB, c *catalog.Catalog, granted catalog.Set, id string, page []byte, p pass) passResult {
	t.Helper()
	var res passResult
	pol := &rewrite.Policy{
		Catalog: c, Granted: granted,
		Inject: func(lang string) ([]byte, []byte) {
			return []byte("<!--head " + id + " " + lang + "-->"), []byte("<!--body " + id + "-->")
		},
		Placeholder: func(proc int, lang string) string { return fmt.Sprintf("blocked %d %s", proc, lang) },
		OnBlock:     func(proc int) { res.blocks = append(res.blocks, proc) },
		OnWarn:      func(string) { res.warned = true },
	}
	var out bytes.Buffer
	w := rewrite.NewWriter(&out, pol)
	if p.record {
		w.Record(8<<20, nil)
	}
	w.Replay(p.replay)
	for i, in := 0, page; len(in) > 0; i++ {
		n := min(p.chunks[i%len(p.chunks)], len(in))
		if _, err := w.Write(in[:n]); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
		if p.flushAt > 0 && i%p.flushAt == p.flushAt-1 {
			w.Flush()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res.out, res.rec, res.replayed, res.blocked, res.resumes = out.Bytes(), w.Recording(), w.Replayed(), w.Blocked(), w.Resumes()
	return res
}

// replayPages are the corpus, the vendor snippets and generated pages.
func replayPages(t testing.TB) map[string][]byte {
	pages := map[string][]byte{"gen-30KB": pagegen.Page(30 << 10), "gen-150KB": pagegen.Page(150 << 10)}
	files, _ := filepath.Glob("testdata/corpus/*.html")
	snippets, _ := filepath.Glob("../catalog/testdata/snippets/*.html")
	for _, f := range append(files, snippets...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = b
	}
	return pages
}

// mutate changes page at a random place: a byte flipped, bytes cut out, or
// markup (a tracker, a comment opener, a quote) put in.
func mutate(r *rand.Rand, page []byte) []byte {
	if len(page) == 0 {
		return []byte("<p>x")
	}
	at := r.IntN(len(page))
	inserts := []string{`<script src="https://mc.yandex.ru/metrika/tag.js"></script>`, `<!--`, `"`, `<script>`, `</script>`, `<img src=https://www.facebook.com/tr?id=1>`, "x", `<body>`}
	out := append([]byte{}, page[:at]...)
	switch r.IntN(3) {
	case 0:
		out = append(out, page[at]^0x20)
		out = append(out, page[at+1:]...)
	case 1:
		out = append(out, page[min(len(page), at+1+r.IntN(64)):]...)
	default:
		out = append(out, inserts[r.IntN(len(inserts))]...)
		out = append(out, page[at:]...)
	}
	return out
}

// check compares a pass with a fresh rewrite of the same input, cut the
// same way: the same bytes (with this pass's own injections), the same
// OnBlock calls, the same count.
func check(t *testing.T, what string, got, want passResult) {
	t.Helper()
	if !bytes.Equal(got.out, want.out) {
		i := 0
		for i < min(len(got.out), len(want.out)) && got.out[i] == want.out[i] {
			i++
		}
		t.Fatalf("%s: output differs at byte %d:\n got …%q…\nwant …%q…", what, i, got.out[max(0, i-80):min(len(got.out), i+80)], want.out[max(0, i-80):min(len(want.out), i+80)])
	}
	if fmt.Sprint(got.blocks) != fmt.Sprint(want.blocks) || got.blocked != want.blocked {
		t.Fatalf("%s: blocked %v (%d), want %v (%d)", what, got.blocks, got.blocked, want.blocks, want.blocked)
	}
}

// TestReplay holds replay to rewriting: for every page of the corpus and
// the generated ones, under three consent states, a replay of a recording
// writes what a fresh rewrite writes — whether the input is the same page
// cut into different writes, or a page changed somewhere (then the replay
// hands over to the rewriter mid-page and records the new page).
func TestReplay(t *testing.T) {
	c := builtin(t)
	r := rand.New(rand.NewPCG(1, 2))
	cuts := [][]int{{32 << 10}, {1}, {3, 17, 512}, {4096, 100, 9000}, {1 << 20}}
	for name, page := range replayPages(t) {
		for _, granted := range []catalog.Set{0, catalog.Analytics.Bit(), catalog.All} {
			first := runPass(t, c, granted, "A", page, pass{chunks: cuts[r.IntN(len(cuts))], record: true})
			if first.rec == nil {
				t.Fatalf("%s: nothing recorded", name)
			}
			for i, cut := range cuts {
				what := fmt.Sprintf("%s granted %v cut %d", name, granted, i)
				fresh := runPass(t, c, granted, "B", page, pass{chunks: cut})
				got := runPass(t, c, granted, "B", page, pass{chunks: cut, replay: first.rec, record: true})
				check(t, what+" same page", got, fresh)
				if !got.replayed || got.rec != nil {
					t.Fatalf("%s: same page not replayed to the end (replayed %v, new recording %v)", what, got.replayed, got.rec != nil)
				}

				changed := mutate(r, page)
				fresh = runPass(t, c, granted, "C", changed, pass{chunks: cut})
				got = runPass(t, c, granted, "C", changed, pass{chunks: cut, replay: first.rec, record: true})
				check(t, what+" changed page", got, fresh)
				// A changed page is either recorded anew or, where the
				// change was small, replayed around it.
				if !bytes.Equal(changed, page) && !got.warned && (got.rec == nil) == (got.resumes == 0) {
					t.Fatalf("%s: changed page: recorded anew %v, replay resumed %d times", what, got.rec != nil, got.resumes)
				}
				if got.rec != nil {
					again := runPass(t, c, granted, "D", changed, pass{chunks: cuts[r.IntN(len(cuts))], replay: got.rec})
					fresh = runPass(t, c, granted, "D", changed, pass{chunks: cut})
					check(t, what+" re-recorded page", again, fresh)
					if !again.replayed {
						t.Fatalf("%s: re-recorded page not replayed", what)
					}
				}

				// Flushes (a streaming origin): where they fall changes
				// where the head goes, so the reference flushes alike.
				flushed := pass{chunks: cut, flushAt: 1 + r.IntN(3)}
				rec := runPass(t, c, granted, "E", page, pass{chunks: flushed.chunks, flushAt: flushed.flushAt, record: true}).rec
				fresh = runPass(t, c, granted, "F", page, flushed)
				flushed.replay = rec
				check(t, what+" flushed", runPass(t, c, granted, "F", page, flushed), fresh)
			}
		}
	}
}

// TestReplayResumes: a page that differs from its recording in a few
// places — a token in the head, a date in the middle, a longer text
// near the end — is replayed around them, and what comes out is what a
// fresh rewrite gives.
func TestReplayResumes(t *testing.T) {
	c := builtin(t)
	page := string(pagegen.Page(150 << 10))
	first := runPass(t, c, 0, "A", []byte(page), pass{chunks: []int{32 << 10}, record: true})
	changed := strings.Replace(page, "<title>", `<meta name="csrf" content="8f1c2a">`+"<title>", 1)
	changed = strings.Replace(changed, "card-40", "card-40 new", 1)
	changed = strings.Replace(changed, "card-120", "card-120 sale sale sale", 1)
	for _, cut := range [][]int{{32 << 10}, {16 << 10, 5000}} {
		got := runPass(t, c, 0, "B", []byte(changed), pass{chunks: cut, replay: first.rec, record: true})
		check(t, "changed in three places", got, runPass(t, c, 0, "B", []byte(changed), pass{chunks: cut}))
		if got.resumes < 3 || !got.replayed {
			t.Fatalf("replay resumed %d times (want 3), replayed to the end: %v", got.resumes, got.replayed)
		}
	}
}

// FuzzReplay: recorded on one page, replayed on another, the output is
// that of a fresh rewrite of the other.
//
//	go test ./rewrite -run XXX -fuzz FuzzReplay -fuzztime 5m
func FuzzReplay(f *testing.F) {
	c := builtin(f)
	for _, page := range replayPages(f) {
		f.Add(page, page[:len(page)/2], uint16(7))
	}
	f.Add([]byte(`<html><head><script>ym(1,"init")</script></head><body><p>a</p>`), []byte(`<html><head><script>ym(1,"init")</script></head><body><p>b</p>`), uint16(3))
	f.Fuzz(func(t *testing.T, a, b []byte, cut uint16) {
		chunks := []int{int(cut%97) + 1, int(cut%4099) + 1}
		for _, granted := range []catalog.Set{0, catalog.All} {
			rec := runPass(t, c, granted, "A", a, pass{chunks: chunks[1:], record: true}).rec
			if rec == nil {
				t.Fatal("nothing recorded")
			}
			got := runPass(t, c, granted, "B", b, pass{chunks: chunks, replay: rec, record: true})
			check(t, "replay", got, runPass(t, c, granted, "B", b, pass{chunks: chunks}))
		}
	})
}

// TestReplayFlushPatterns: where a Flush puts the head depends on when
// the origin flushed; a recording made under one Flush pattern, replayed
// under another, still writes what a fresh rewrite under the replay's own
// pattern writes (found in review: the head once followed the
// recording's flushes).
func TestReplayFlushPatterns(t *testing.T) {
	c := builtin(t)
	page := []byte(`<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body><p>x</p></body></html>`)
	cut := bytes.Index(page, []byte("<meta"))
	rec := runPass(t, c, 0, "A", page, pass{chunks: []int{cut, 1 << 20}, flushAt: 1, record: true}).rec
	for _, fl := range []int{0, 1, 2} {
		p := pass{chunks: []int{cut, 1 << 20}, flushAt: fl}
		fresh := runPass(t, c, 0, "B", page, p)
		p.replay = rec
		check(t, fmt.Sprintf("flush every %d writes", fl), runPass(t, c, 0, "B", page, p), fresh)
	}

	// Random pages of odd fragments, changed in a few places, recorded
	// and replayed under random write sizes and Flush patterns.
	r := rand.New(rand.NewPCG(3, 4))
	frags := []string{`<p>text</p>`, `<div class="x">`, `</div>`, `<script>var a=1;</script>`,
		`<script>(function(){var s=document.createElement("script");s.src="https://mc.yandex.ru/metrika/tag.js"})()</script>`,
		`<script src="https://mc.yandex.ru/metrika/tag.js"></script>`, `<img src=https://www.facebook.com/tr?id=1>`,
		`<iframe src="https://www.youtube.com/embed/x"></iframe>`, `<!-- comment -->`, `<!--`, `-->`, `<noscript>`, `</noscript>`,
		`<svg>`, `</svg>`, `<foreignObject>`, `</foreignObject>`, `<math>`, `<mi>`, `</math>`,
		`<style>@import url(https://fonts.googleapis.com/css?family=X);</style>`, `<textarea>`, `</textarea>`, `<title>`, `</title>`,
		`<html lang="ru">`, `<head>`, `</head>`, `<body>`, `<meta charset=utf-8>`, `<!doctype html>`, `<script>`, `</script>`,
		`<script><!--<script>`, `"`, `'`, `<a href="`, `>`, `<link rel=preconnect href=https://mc.yandex.ru>`, `<xmp>`, `</xmp>`,
		`<template>`, `</template>`, `<b>`, `<br/>`, `<![CDATA[ x ]]>`, `<?pi?>`, `</ x>`, `<`, `</`}
	gen := func() []byte {
		var b strings.Builder
		for n := 2000 + r.IntN(30000); b.Len() < n; {
			if r.IntN(3) == 0 {
				b.WriteString(strings.Repeat("lorem ipsum dolor sit amet ", 1+r.IntN(40)))
			} else {
				b.WriteString(frags[r.IntN(len(frags))])
			}
		}
		return []byte(b.String())
	}
	cuts := [][]int{{1 << 20}, {1}, {3, 17, 512}, {4096, 100, 9000}, {700}, {2048}, {47, 48, 49}}
	for it := range 150 {
		page := gen()
		rec := runPass(t, c, 0, "A", page, pass{chunks: cuts[r.IntN(len(cuts))], flushAt: r.IntN(4), record: true}).rec
		in := page
		if it%2 == 1 {
			in = mutate(r, page)
		}
		p := pass{chunks: cuts[r.IntN(len(cuts))], flushAt: r.IntN(4)}
		fresh := runPass(t, c, 0, "B", in, p)
		p.replay = rec
		check(t, fmt.Sprintf("random page %d", it), runPass(t, c, 0, "B", in, p), fresh)
	}
}

// TestLongInlineScriptFailsClosed: an inline script longer than
// MaxHeldScript is decided on its first 512 KiB — a loader found there
// blocks it, and one with no loader there waits for every category,
// however the page is cut into writes — and a page that reached the
// limit is not recorded (what a limit decides may depend on the writes; a
// replay must never be more lenient than a rewrite).
func TestLongInlineScriptFailsClosed(t *testing.T) {
	c := builtin(t)
	page := []byte(`<p>a</p><script>(function(){var s=document.createElement("script");s.src="https://mc.yandex.ru/metrika/tag.js"})();` +
		strings.Repeat("//filler\n", 600<<10/9) + `</script><p>b</p>`)
	for _, cut := range []int{len(page), 32 << 10, 4096} {
		got := runPass(t, c, 0, "A", page, pass{chunks: []int{cut}, record: true})
		if !bytes.Contains(got.out, []byte(`<script type="text/plain" data-consent-category="analytics" data-consent-processor="yandex-metrica">`)) {
			t.Errorf("%d-byte writes: long inline loader not blocked", cut)
		}
		// Written whole, the script is read to its end: no limit is
		// reached and the page may be recorded.
		if cut < len(page) && got.rec != nil {
			t.Errorf("%d-byte writes: page past the held-script limit recorded", cut)
		}
	}
	unread := []byte(`<p>a</p><script>` + strings.Repeat("//filler\n", 600<<10/9) + `var u="https://mc.yandex.ru/metrika/tag.js"</script><p>b</p>`)
	short := []byte(`<p>a</p><script>` + strings.Repeat("//filler\n", 400<<10/9) + `</script><p>b</p>`)
	for _, cut := range []int{len(unread), 32 << 10, 4096} {
		if got := runPass(t, c, 0, "A", unread, pass{chunks: []int{cut}}); !bytes.Contains(got.out, []byte(`<script type="text/plain" data-consent-category="functional analytics marketing" data-consent-processor="">`)) {
			t.Errorf("%d-byte writes: a script too long to read runs", cut)
		}
		if got := runPass(t, c, 0, "A", short, pass{chunks: []int{cut}}); !bytes.Equal(got.out, short) {
			t.Errorf("%d-byte writes: a 400 KiB script without a loader changed", cut)
		}
	}
}

// TestRecordingMemoryBounded: a tag with a hundred thousand attributes
// held as a script does not make every mark a copy of them (found in
// review: 1.1 GiB for a 900 KiB page).
func TestRecordingMemoryBounded(t *testing.T) {
	c := builtin(t)
	attrs := strings.Repeat(" a", 100<<10)
	for name, page := range map[string][]byte{
		"short script":     []byte(`<script` + attrs + `>var x=1</script>` + strings.Repeat("<p>hello world</p>\n", 700<<10/19)),
		"long held script": []byte(`<script` + attrs + `>` + strings.Repeat("var x=1;\n", 300<<10/9) + `</script>`),
	} {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		w := rewrite.NewWriter(io.Discard, &rewrite.Policy{Catalog: c})
		w.Record(1<<20, nil)
		for i := 0; i < len(page); i += 32 << 10 {
			w.Write(page[i:min(len(page), i+32<<10)])
		}
		w.Close()
		rec := w.Recording()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
		if grew > 16<<20 {
			t.Errorf("%s: %d KiB page, heap grew %d MiB", name, len(page)>>10, grew>>20)
		}
		if rec != nil && rec.Size() > 4*len(page) {
			t.Errorf("%s: recording of a %d KiB page holds %d KiB", name, len(page)>>10, rec.Size()>>10)
		}
		runtime.KeepAlive(rec)
	}
}
