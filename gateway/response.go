package gateway

import (
	"bufio"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/kelisim/kelisim/cookies"
	"github.com/kelisim/kelisim/rewrite"
)

// responseWriter filters Set-Cookie on every response and streams HTML
// bodies through the rewriter. The decision is made once, when the header
// is written (or, if the origin sent no Content-Type, on the first bytes).
type responseWriter struct {
	http.ResponseWriter
	g       *Gateway
	r       *http.Request
	v       *visitor
	dropped []string // tracker cookie names removed from the request
	page    bool     // the request is a page load (wantsHTML)

	status      int    // held until decided, when Content-Type is missing
	sniffBuf    []byte // first bytes of an untyped response, up to 512
	wroteHeader bool   // the header has gone to the client
	rw          *rewrite.Writer
	memoKey     *memoKey // set when the page may be replayed
	recording   bool     // the page is being recorded under memoKey
	dec         *decoder
	sink        *sink
}

func newResponseWriter(g *Gateway, w http.ResponseWriter, r *http.Request, v *visitor, dropped []string, page bool) *responseWriter {
	return &responseWriter{ResponseWriter: w, g: g, r: r, v: v, dropped: dropped, page: page}
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader || w.status != 0 {
		return
	}
	h := w.Header()
	gr := w.v.granted()
	// Link headers can preload or preconnect to a processor (in 103 Early
	// Hints too): keep only those of granted categories.
	filterLinks(h, w.g.cfg.Catalog, gr)
	if code < 200 {
		// 1xx (103 Early Hints, 101 upgrades) pass straight through.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	dropped := cookies.FilterResponse(h, w.g.cfg.Catalog, gr)
	if len(dropped) > 0 {
		w.g.log.Debug("dropped tracker Set-Cookie without consent", "cookies", dropped, "path", w.r.URL.Path)
	}
	if w.page {
		// Once per page view is enough to delete them in the browser; not
		// on every image and script of the page.
		cookies.Expire(h, w.r.Host, w.dropped)
	}
	if h.Get("Content-Type") == "" && bodyAllowed(w.r, code) {
		w.status = code // decide on the first bytes
		return
	}
	w.decide(code, nil)
}

func bodyAllowed(r *http.Request, code int) bool {
	return r.Method != http.MethodHead && code != http.StatusNoContent && code != http.StatusNotModified
}

// decide picks pass-through or rewriting and sends the header.
func (w *responseWriter) decide(code int, sniff []byte) {
	w.status = 0
	w.wroteHeader = true
	h := w.Header()
	if sniff != nil && h.Get("Content-Type") == "" {
		ct := http.DetectContentType(sniff)
		if strings.HasPrefix(ct, "text/html") {
			// Sniffing cannot know the charset: leave it to the page's
			// <meta charset> rather than claim UTF-8.
			ct = "text/html"
		}
		h.Set("Content-Type", ct)
	}
	if w.rewritable(code) {
		w.startRewrite()
	} else if w.r.Method == http.MethodHead && isHTML(h) {
		// HEAD answers with the headers the GET would have.
		varyByConsent(h)
	}
	w.ResponseWriter.WriteHeader(code)
}

func isHTML(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "text/html"
}

// varyByConsent fixes the headers of a page whose body the gateway
// changes: length, ranges and validators of the origin's bytes no longer
// describe it, and it depends on the visitor, so no shared cache (CDN
// headers included) may keep it.
func varyByConsent(h http.Header) {
	h.Del("Content-Length")
	h.Del("Accept-Ranges")
	h.Del("ETag")
	h.Del("Last-Modified")
	h.Del("CDN-Cache-Control")
	h.Del("Cloudflare-CDN-Cache-Control")
	h.Del("Surrogate-Control")
	addVary(h, "Cookie", "Accept-Language")
	makePrivate(h)
}

// OptOutHeader, set to "off" on a response by the handler behind the
// gateway, keeps that response from being rewritten (the gateway removes
// it). The stats dashboard uses it; so can an origin for pages that load
// nothing third-party.
const OptOutHeader = "Kelisim-Rewrite"

func (w *responseWriter) rewritable(code int) bool {
	h := w.Header()
	if h.Get(OptOutHeader) != "" {
		off := strings.EqualFold(h.Get(OptOutHeader), "off")
		h.Del(OptOutHeader)
		if off {
			return false
		}
	}
	if !bodyAllowed(w.r, code) || code == http.StatusPartialContent {
		return false
	}
	if h.Get("Content-Range") != "" {
		return false
	}
	if !isHTML(h) {
		return false
	}
	if enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); enc != "" && enc != "identity" && !canDecode(enc) {
		w.g.log.Error("cannot rewrite HTML in this content encoding; trackers on this page are NOT blocked — configure the origin to honour Accept-Encoding: identity",
			"encoding", enc, "path", w.r.URL.Path)
		return false
	}
	return true
}

func (w *responseWriter) startRewrite() {
	g, v, h := w.g, w.v, w.Header()
	granted := v.granted()
	_, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	ascii := !strings.EqualFold(params["charset"], "utf-8")
	ret := w.r.URL.RequestURI()
	nonce := cspNonce(h)
	// The banner speaks the page's language when it has one of ours,
	// else the browser's.
	// Order: the visitor's own switch, the page's <html lang>, the
	// browser's Accept-Language, the default.
	langFor := func(pageLang string) string {
		if !v.explicit && pageLang != "" && g.cfg.Banner.Lang(pageLang) == pageLang {
			return pageLang
		}
		return v.language(g, w.r)
	}
	document := isNavigation(w.r)
	pol := &rewrite.Policy{
		Catalog:  g.cfg.Catalog,
		Document: document,
		Granted:  granted,
		Inject: func(pageLang string) (head, body []byte) {
			lang := langFor(pageLang)
			head = g.cfg.Banner.Head(granted, v.decided, lang, nonce)
			if v.decided {
				return head, g.cfg.Banner.Reopen(lang, ascii)
			}
			return head, g.cfg.Banner.Body(lang, granted, ret, ascii, v.gpc)
		},
		Placeholder: func(proc int, pageLang string) string {
			return g.cfg.Banner.Placeholder(langFor(pageLang), &g.cfg.Catalog.Processors[proc], granted, ret)
		},
		OnBlock: func(proc int) { g.metrics.Blocked(g.cfg.Catalog.Processors[proc].ID) },
		OnWarn: func(msg string) {
			g.log.Warn(msg, "path", w.r.URL.Path)
		},
	}
	varyByConsent(h)
	w.sink = newSink(w.ResponseWriter)
	w.rw = writers.Get().(*rewrite.Writer)
	w.rw.Reset(w.sink, pol)
	if g.memo != nil && w.r.Method == http.MethodGet {
		key := &memoKey{host: w.r.Host, uri: ret, granted: granted, lang: v.language(g, w.r), explicit: v.explicit, ascii: ascii, document: document}
		w.memoKey = key
		// A recording slot is taken only when the page turns out to need
		// recording (not for a replay that matches to the end).
		w.rw.Record(g.memo.maxEntry, func() bool {
			w.recording = g.memo.startRecording(*key)
			return w.recording
		})
		w.rw.Replay(g.memo.get(*key))
	}
	if enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); enc != "" && enc != "identity" {
		h.Del("Content-Encoding")
		w.dec = newDecoder(enc, w.rw)
	}
	g.metrics.PageRewritten()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		code := w.status
		if code == 0 {
			w.WriteHeader(http.StatusOK)
			code = w.status
		}
		if !w.wroteHeader {
			// Sniff like net/http does, on the first 512 bytes — not on a
			// first write that may hold a single newline.
			if len(w.sniffBuf)+len(p) < 512 {
				w.sniffBuf = append(w.sniffBuf, p...)
				return len(p), nil
			}
			buf := append(w.sniffBuf, p...)
			w.sniffBuf = nil
			w.decide(code, buf)
			if _, err := w.writeBody(buf); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return w.writeBody(p)
}

func (w *responseWriter) writeBody(p []byte) (int, error) {
	switch {
	case w.dec != nil:
		return w.dec.Write(p)
	case w.rw != nil:
		// Output collects in the sink's 64 KiB buffer: the client gets
		// full chunks, not one per run between rewritten tags. Upstream
		// flushes (streaming responses) pass straight through.
		n, err := w.rw.Write(p)
		if w.recording && !w.rw.IsRecording() {
			// Given up (too large, replay resumed): free the slot now.
			w.stopRecording()
		}
		return n, err
	}
	return w.ResponseWriter.Write(p)
}

// Flush writes through what the rewriter has decided and flushes.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		// Without a Content-Type the decision waits for the first bytes
		// to sniff; a flush before them has nothing to send anyway.
		return
	}
	if w.rw != nil && w.dec == nil {
		w.rw.Flush()
	}
	if w.sink != nil {
		w.sink.flush()
		return
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// release returns pooled buffers and, if the response was abandoned with a
// decoder still running, stops it. Safe to call more than once.
func (w *responseWriter) release() {
	if w.dec != nil {
		w.dec.Abort()
		w.dec = nil
	}
	if w.rw != nil {
		w.rw.Reset(nil, nil)
		writers.Put(w.rw)
		w.sink.release()
		w.rw = nil
	}
	w.stopRecording()
}

func (w *responseWriter) stopRecording() {
	if w.recording {
		w.recording = false
		w.g.memo.doneRecording(*w.memoKey)
	}
}

// finish ends the body after the handler chain returned without error.
func (w *responseWriter) finish() error {
	if !w.wroteHeader && w.status != 0 {
		buf := w.sniffBuf
		w.sniffBuf = nil
		if buf == nil {
			buf = []byte{}
		}
		w.decide(w.status, buf)
		if len(buf) > 0 {
			w.writeBody(buf)
		}
	}
	var err error
	if w.dec != nil {
		err = w.dec.Close()
		w.dec = nil
	}
	if w.rw != nil {
		if cerr := w.rw.Close(); err == nil {
			err = cerr
		}
		w.g.metrics.PageBytes(w.rw.InputBytes()-w.rw.ReplayedBytes(), w.rw.ReplayedBytes())
		if w.rw.Replayed() {
			w.g.metrics.PageReplayed()
		} else if rec := w.rw.Recording(); rec != nil && err == nil {
			w.g.memo.put(*w.memoKey, rec)
		}
		if ferr := w.sink.flushBuffer(); err == nil {
			err = ferr
		}
	}
	w.release()
	if err != nil {
		w.g.log.Error("rewriting page failed", "path", w.r.URL.Path, "error", err)
	}
	return nil
}

func addVary(h http.Header, names ...string) {
	have := strings.ToLower(strings.Join(h.Values("Vary"), ","))
	for _, n := range names {
		if !strings.Contains(have, strings.ToLower(n)) {
			h.Add("Vary", n)
		}
	}
}

// makePrivate keeps shared caches from serving one visitor's page to
// another.
func makePrivate(h http.Header) {
	cc := h.Get("Cache-Control")
	lc := strings.ToLower(cc)
	if strings.Contains(lc, "private") || strings.Contains(lc, "no-store") {
		return
	}
	var keep []string
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		ld := strings.ToLower(d)
		if d == "" || ld == "public" || strings.HasPrefix(ld, "s-maxage") {
			continue
		}
		keep = append(keep, d)
	}
	h.Set("Cache-Control", strings.Join(append([]string{"private"}, keep...), ", "))
}

// writers reuses rewriters (and their buffers) across responses.
var writers = sync.Pool{New: func() any { return rewrite.NewWriter(nil, nil) }}

var buffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// sink is where the rewriter writes: a 64 KiB buffer in front of the
// client connection, so the many short runs between rewritten tags leave
// in one write, and a lock, because with a compressed origin a decoder
// goroutine writes while the handler may flush.
type sink struct {
	mu sync.Mutex
	bw *bufio.Writer
	rw http.ResponseWriter
}

func newSink(rw http.ResponseWriter) *sink {
	bw := buffers.Get().(*bufio.Writer)
	bw.Reset(rw)
	return &sink{bw: bw, rw: rw}
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bw.Write(p)
}

func (s *sink) flushBuffer() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bw.Flush()
}

// flush sends everything buffered to the client now.
func (s *sink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bw.Flush()
	http.NewResponseController(s.rw).Flush()
}

func (s *sink) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bw.Reset(nil)
	buffers.Put(s.bw)
	s.bw = nil
}

var nonceRE = regexp.MustCompile(`'nonce-([A-Za-z0-9+/=_-]+)'`)

// cspNonce returns a nonce the page's Content-Security-Policy allows
// scripts with, so the injected script and stylesheet may load.
func cspNonce(h http.Header) string {
	for _, v := range h.Values("Content-Security-Policy") {
		if m := nonceRE.FindStringSubmatch(v); m != nil {
			return m[1]
		}
	}
	return ""
}
