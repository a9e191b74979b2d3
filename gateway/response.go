package gateway

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/kelisim/kelisim/cookies"
	"github.com/kelisim/kelisim/rewrite"
	"golang.org/x/text/encoding"
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

	status      int    // held until decided on the first bytes (decide)
	sniffBuf    []byte // first bytes of a held response, up to sniffLen
	wroteHeader bool   // the header has gone to the client
	optOut      bool   // the handler behind set OptOutHeader: off
	refused     bool   // answered 502 in its place; the body is dropped
	rw          *rewrite.Writer
	memoKey     *memoKey  // set when the page may be replayed
	recording   bool      // the page is being recorded under memoKey
	in          *inbound  // undoes content codings and charset before rw
	sheet       []byte    // a style sheet read whole (css.go), nil if none
	mt          mediaType // the response's media type (contentType), read at WriteHeader
	mtOK        bool
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
	filterReporting(h, w.g.cfg.Catalog, gr)
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
		cookies.Expire(h, w.r.Host, w.r.URL.EscapedPath(), w.dropped)
	}
	if blockedRedirect(w.r, code, h, w.g.cfg.Catalog, gr) {
		// The redirect would load the processor in the page: the browser
		// gets a refusal instead, as it would from a blocked URL.
		w.g.log.Debug("redirect to a processor refused without consent", "path", w.r.URL.Path, "location", h.Get("Location"))
		for k := range h {
			if k != "Set-Cookie" && k != "Vary" {
				delete(h, k)
			}
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "private, no-store")
		h.Add("Vary", "Cookie")
		h.Set("X-Content-Type-Options", "nosniff")
		w.refused, w.wroteHeader = true, true
		w.ResponseWriter.WriteHeader(http.StatusForbidden)
		w.ResponseWriter.Write([]byte("403: this redirect leads to a service the visitor has not consented to.\n"))
		return
	}
	// The headers are final here: the media type is read once.
	w.mt, w.mtOK = contentType(h)
	if bodyAllowed(w.r, code) && !w.optedOut() {
		mt, ok := w.mt, w.mtOK
		if ok && mt.essence == "text/css" && w.r.Header.Get("Range") == "" {
			// Read whole before anything is sent (css.go).
			w.status, w.sheet = code, []byte{}
			return
		}
		if sniffable(mt, ok) || kindOf(mt, ok, nil) != docOther {
			// A document, or what may be one: how the browser reads it
			// depends on its first bytes too (sniffing, byte order mark,
			// <meta charset>). Decided on the first 1024 bytes, the first
			// flush or the end, whichever comes first.
			w.status = code
			return
		}
	}
	w.decide(code, nil)
}

func bodyAllowed(r *http.Request, code int) bool {
	return r.Method != http.MethodHead && code != http.StatusNoContent && code != http.StatusNotModified
}

// optedOut reports (once: it removes the header) whether the handler
// behind asked for this response to pass unrewritten (OptOutHeader).
func (w *responseWriter) optedOut() bool {
	h := w.Header()
	if v := h.Get(OptOutHeader); v != "" {
		h.Del(OptOutHeader)
		w.optOut = strings.EqualFold(v, "off")
	}
	return w.optOut
}

// sniffLen is how much of the body the decision reads: the window of the
// <meta charset> prescan, more than MIME sniffing's 512 bytes.
const sniffLen = 1024

// decide picks pass-through, rewriting or refusal and sends the header.
// head is the start of the body (nil when the decision needs none).
func (w *responseWriter) decide(code int, head []byte) {
	w.status = 0
	w.wroteHeader = true
	h := w.Header()
	mt, ok := w.mt, w.mtOK
	kind := docOther
	// A part the browser asked for (a resumed download, media) is no
	// document it renders.
	asked := w.r.Header.Get("Range") != "" && (code == http.StatusPartialContent || h.Get("Content-Range") != "")
	if bodyAllowed(w.r, code) && !w.optedOut() && !asked {
		kind = kindOf(mt, ok, head)
	}
	if kind == docXML && !rendersDocument(w.r) {
		// An SVG as an <img>, a feed fetched by a script: XML no
		// document is built from, which loads nothing (and, rewritten,
		// would lose its shared caching).
		kind = docOther
	}
	if kind == docOther {
		if head != nil && sniffable(mt, ok) && h.Get("Content-Type") == "" {
			h.Set("Content-Type", http.DetectContentType(head))
		}
		if w.r.Method == http.MethodHead && ok && kindOf(mt, ok, nil) == docHTML {
			// HEAD answers with the headers the GET would have.
			varyByConsent(h)
			w.addPolicy()
		}
		w.addWorkerPolicy()
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if why := w.unreadable(code, kind); why != "" {
		w.refuse(why)
		return
	}
	enc, ct := documentType(mt, ok, kind, head)
	h.Del("Content-Type")
	h.Set("Content-Type", ct)
	w.startRewrite(kind, enc)
	w.addPolicy()
	w.ResponseWriter.WriteHeader(code)
}

// documentType decides how the gateway reads a document of kind (not
// docOther) with media type mt and body start head, and the one
// Content-Type it serves it with, as the gateway read it: a second
// header, a parameter a stricter parser drops, an encoding the browser
// would guess otherwise — none is left to read differently.
func documentType(mt mediaType, ok bool, kind docKind, head []byte) (pageEncoding, string) {
	if sniffable(mt, ok) {
		mt = mediaType{essence: "text/html"}
		if kind == docXML {
			mt.essence = "text/xml"
		}
	}
	enc := decideEncoding(mt, kind, head)
	ct := mt.essence
	switch {
	case enc.transcode:
		ct += "; charset=utf-8"
	case enc.pin || hasParam(mt, "charset"):
		ct += "; charset=" + enc.name
	}
	return enc, ct
}

// rendersDocument reports whether the response to r may become a
// document: a page, a frame, an <object> or <embed> (or a client that
// does not say).
func rendersDocument(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Dest") {
	case "", "document", "iframe", "frame", "object", "embed":
		return true
	}
	return false
}

func hasParam(mt mediaType, name string) bool {
	_, ok := mt.param(name)
	return ok
}

// unreadable says why the document cannot be read as the browser will
// read it, or "".
func (w *responseWriter) unreadable(code int, kind docKind) string {
	h := w.Header()
	// Browsers render the body of a range response nobody asked for as
	// the whole document: so does the gateway.
	h.Del("Content-Range")
	for _, c := range contentCodings(h) {
		if !canDecode(c) {
			return "content encoding " + c + " cannot be undone"
		}
	}
	return ""
}

// contentCodings lists the Content-Encoding codings in the order they
// were applied, identity left out.
func contentCodings(h http.Header) []string {
	var out []string
	for _, line := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(line, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				out = append(out, c)
			}
		}
	}
	return out
}

// refuse answers 502 in place of a document the gateway cannot read: the
// browser might render it, with every tracker in it, unrewritten. The
// origin's body is dropped.
func (w *responseWriter) refuse(why string) {
	w.refused = true
	w.g.warnOnce("refused", "a document the gateway cannot read was refused (502); configure the origin to send it plainly",
		"reason", why, "path", w.r.URL.Path)
	h := w.Header()
	for k := range h {
		if k != "Vary" && k != "Set-Cookie" && k != "Cache-Control" {
			delete(h, k)
		}
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.ResponseWriter.WriteHeader(http.StatusBadGateway)
	w.ResponseWriter.Write([]byte("502 Bad Gateway: the consent gateway cannot read this page (" + why + ").\n"))
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

func (w *responseWriter) startRewrite(kind docKind, enc pageEncoding) {
	g, v, h := w.g, w.v, w.Header()
	granted := v.granted()
	ascii := enc.name != "utf-8" && !enc.transcode
	ret := w.r.URL.RequestURI()
	site := "//" + w.r.Host // a <base href> of the page may point elsewhere
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
				return head, g.cfg.Banner.Reopen(lang, site, ascii)
			}
			return head, g.cfg.Banner.Body(lang, ret, site, ascii, v.gpc)
		},
		Placeholder: func(proc int, pageLang string) string {
			return g.cfg.Banner.Placeholder(langFor(pageLang), &g.cfg.Catalog.Processors[proc], granted, ret, site)
		},
		OnBlock:   func(proc int) { g.metrics.Blocked(g.cfg.Catalog.Processors[proc].ID) },
		OnForeign: g.seenInPage(w.r),
		OnWarn: func(msg string) {
			g.log.Warn(msg, "path", w.r.URL.Path)
		},
	}
	if kind == docXML {
		// Read by XML's rules, neutralised, and left without a banner
		// (rewrite/xml.go).
		pol.XML, pol.Document, pol.Inject, pol.Placeholder = true, false, nil, nil
	}
	varyByConsent(h)
	w.sink = newSink(w.ResponseWriter)
	w.rw = writers.Get().(*rewrite.Writer)
	w.rw.Reset(w.sink, pol)
	if g.memo != nil && w.r.Method == http.MethodGet && kind == docHTML {
		key := &memoKey{host: w.r.Host, uri: ret, granted: granted, lang: v.language(g, w.r), explicit: v.explicit, ascii: ascii, document: document, charset: enc.name}
		w.memoKey = key
		// A recording slot is taken only when the page turns out to need
		// recording (not for a replay that matches to the end).
		w.rw.Record(g.memo.maxEntry, func() bool {
			w.recording = g.memo.startRecording(*key)
			return w.recording
		})
		w.rw.Replay(g.memo.get(*key))
	}
	if codings := contentCodings(h); len(codings) > 0 || enc.transcode {
		h.Del("Content-Encoding")
		var tr encoding.Encoding
		if enc.transcode {
			tr = enc.enc
		}
		w.in = newInbound(codings, tr, w.rw)
	}
	g.metrics.PageRewritten()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader && w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.sheet != nil && !w.wroteHeader {
		if len(w.sheet)+len(p) > maxCSS {
			w.sheet = nil
			w.refuse("style sheet longer than 4 MiB")
			return len(p), nil
		}
		w.sheet = append(w.sheet, p...)
		return len(p), nil
	}
	if !w.wroteHeader {
		code := w.status
		if !w.wroteHeader {
			// Decide on sniffLen bytes — not on a first write that may
			// hold a single newline.
			if len(w.sniffBuf)+len(p) < sniffLen {
				w.sniffBuf = append(w.sniffBuf, p...)
				return len(p), nil
			}
			buf := append(w.sniffBuf, p...)
			w.sniffBuf = nil
			w.decideOn(code, buf)
			if _, err := w.writeBody(buf); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return w.writeBody(p)
}

// decideOn decides on buf, the start of the body as the origin sent it:
// what a browser reads is that start once content codings are undone.
func (w *responseWriter) decideOn(code int, buf []byte) {
	head := buf
	if codings := contentCodings(w.Header()); len(codings) > 0 {
		head = peekDecoded(codings, buf, sniffLen)
	}
	w.decide(code, head)
}

func (w *responseWriter) writeBody(p []byte) (int, error) {
	switch {
	case w.refused:
		return len(p), nil
	case w.in != nil:
		return w.in.Write(p)
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

// ReadFrom keeps the server's sendfile path for a response that passes
// untouched — a static file behind consent; everything the gateway
// reads goes through Write.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader && w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.wroteHeader && !w.refused && w.rw == nil && w.in == nil {
		return io.Copy(w.ResponseWriter, src)
	}
	return io.Copy(writerOnly{w}, src)
}

// writerOnly hides ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// Flush writes through what the rewriter has decided and flushes.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError is Flush reporting the client's error, for
// http.ResponseController.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		if w.status == 0 || w.sheet != nil {
			return nil
		}
		if sniffable(w.mt, w.mtOK) {
			// Sniffing waits for its bytes whatever the flushes, as the
			// browser's does.
			return nil
		}
		// A streaming page: decide on what has come, not wait for more.
		buf := w.sniffBuf
		w.sniffBuf = nil
		w.decideOn(w.status, buf)
		if len(buf) > 0 {
			w.writeBody(buf)
		}
	}
	if w.refused {
		return nil
	}
	if w.rw != nil && (w.in == nil || !w.in.async()) {
		w.rw.Flush()
	}
	if w.sink != nil {
		return w.sink.flush()
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// release returns pooled buffers and, if the response was abandoned with a
// decoder still running, stops it. Safe to call more than once.
func (w *responseWriter) release() {
	if w.in != nil {
		w.in.Abort()
		w.in = nil
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
	if w.sheet != nil && !w.wroteHeader {
		w.finishSheet()
		w.release()
		return nil
	}
	if !w.wroteHeader && w.status != 0 {
		buf := w.sniffBuf
		w.sniffBuf = nil
		if buf == nil {
			buf = []byte{}
		}
		w.decideOn(w.status, buf)
		if len(buf) > 0 {
			w.writeBody(buf)
		}
	}
	var err error
	if w.in != nil {
		err = w.in.Close()
		w.in = nil
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
func (s *sink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.bw.Flush(); err != nil {
		return err
	}
	return http.NewResponseController(s.rw).Flush()
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
