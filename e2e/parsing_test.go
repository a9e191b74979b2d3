package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/internal/html5libdat"
)

// TestParsingInChromium holds the rewriter to real Chromium's reading of
// HTML instead of x/net/html's (rewrite/html5lib_test.go).
//
// Pages: the inputs of the html5lib-tests tree-construction files, each
// with one tracker inserted after one of its '>' (the position chosen by
// a fixed hash of the input, the tracker by rotation over all inputs);
// every parsingSampleEvery-th input is tested (KELISIM_PARSING_SAMPLE=1
// tests all 1 791, which takes minutes). And hand-written pages
// (parsingAdversarial) that attack the corners a streaming scanner can
// get wrong: foreign content, integration points, breakouts, CDATA,
// <noscript> read both ways, script escapes, comments, attributes.
//
// Each page is served through the real gateway binary with no consent
// cookie and loaded in Chromium: it must attempt no request to a
// processor (catalog classification of every URL Chromium tries, its
// preload scanner's included). Each page is also loaded straight from
// the origin, to count how many fetch a processor unrewritten (the
// test's teeth). Through the gateway, the accept button must be a
// rendered element of <body>, outside <noscript>, <template>, SVG and
// MathML, with a box; frameset documents, and pages whose own markup
// leaves <body> with no box, are reported, not failed. The hand-written
// pages with a <noscript> are loaded again with JavaScript off, where
// <noscript> is markup.
//
// The origin writes each page in 16-byte flushed pieces, so the rewriter
// sees it in many reads. Pages load in several tabs of one Chromium.
func TestParsingInChromium(t *testing.T) {
	// Long and mostly waiting on Chromium: run beside the other long
	// browser tests, after the timing-sensitive ones (go test -parallel).
	t.Parallel()
	requireChromium(t)
	started := time.Now()
	cat := builtinCatalog(t)
	gtm := parsingGTMSnippet(t)
	every := parsingSampleEvery
	if n, err := strconv.Atoi(os.Getenv("KELISIM_PARSING_SAMPLE")); err == nil && n > 0 {
		every = n
	}
	all := parsingHTML5LibPages(t, gtm)
	var pages []parsingPage
	for i, p := range all {
		if i%every == 0 {
			pages = append(pages, p)
		}
	}
	nLib := len(pages)
	pages = append(pages, parsingAdversarialPages(gtm)...)
	var noscript []int // hand-written pages loaded with JavaScript off too
	for i := nLib; i < len(pages); i++ {
		if bytes.Contains(bytes.ToLower(pages[i].html), []byte("noscript")) {
			noscript = append(noscript, i)
		}
	}

	// The origin: page i at /p/<i>, and the slow script of the
	// hand-written pages.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow.js" {
			time.Sleep(100 * time.Millisecond)
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Cache-Control", "no-store")
			io.WriteString(w, "/* a parser-blocking script */")
			return
		}
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || i < 0 || i >= len(pages) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		body := pages[i].html
		piece := 16
		if len(body) > 64<<10 {
			piece = 64 << 10 // the big pages: fewer pieces
		}
		f, _ := w.(http.Flusher)
		for len(body) > 0 {
			n := min(piece, len(body))
			w.Write(body[:n])
			body = body[n:]
			if f != nil {
				f.Flush()
			}
		}
	}))
	t.Cleanup(origin.Close)
	gp := freePort(t)
	gw := fmt.Sprintf("http://127.0.0.1:%d", gp)
	cf := fmt.Sprintf("http://127.0.0.1:%d {\n\tencode\n\tconsent\n\treverse_proxy %s\n}\n", gp, strings.TrimPrefix(origin.URL, "http://"))
	g := startGateway(t, cf, "", gw+"/_consent/kelisim.css")

	chrome := parsingChromium(t)
	// Chromium's browser process, not the tabs, is what limits the pace
	// on a small machine; a few tabs per core keep it busy.
	tabs := min(max(2, 3*runtime.GOMAXPROCS(0)), 8)
	t.Logf("%d pages: every %d-th of %d html5lib-tests inputs (%d), %d hand-written (%d of them with JavaScript off too); %d tabs; gateway up after %s",
		len(pages), every, len(all), nLib, len(pages)-nLib, len(noscript), tabs, time.Since(started).Round(time.Millisecond))

	results := make([]parsingResult, len(pages))
	// JavaScript on: every page through the gateway (requests and
	// banner), then straight from the origin.
	parsingPool(t, chrome, tabs, true, false, len(pages), func(tab *parsingTab, i int) {
		r := &results[i]
		r.gateway, r.gatewayErr = tab.load(cat, fmt.Sprintf("%s/p/%d", gw, i))
		if r.gatewayErr == "" {
			r.banner = tab.bannerCheck()
		}
		r.direct, r.directErr = tab.load(cat, fmt.Sprintf("%s/p/%d", origin.URL, i))
		if r.directErr == "" {
			r.directFrameset, r.directNoBox = tab.shape()
		}
	})
	// JavaScript off: the hand-written pages with a <noscript>.
	parsingPool(t, chrome, min(tabs, 4), false, false, len(noscript), func(tab *parsingTab, j int) {
		i := noscript[j]
		r := &results[i]
		r.off = true
		r.gatewayOff, r.gatewayOffErr = tab.load(cat, fmt.Sprintf("%s/p/%d", gw, i))
		r.directOff, r.directOffErr = tab.load(cat, fmt.Sprintf("%s/p/%d", origin.URL, i))
	})

	// Every page that leaked is loaded again, alone, in a fresh tab (so a
	// request left over from the tab's previous page cannot be blamed on
	// it); Chromium says which elements of its DOM hold the URL; and a
	// second Chromium with its preload scanner off (the speculative
	// fetcher that reads the HTML text ahead of the parser with a simpler
	// tokenizer) loads it too, to tell the scanner's requests from the
	// DOM's.
	diagStart := time.Now()
	var noPreload context.Context
	for _, js := range []bool{true, false} {
		var leaked []int
		for i, r := range results {
			if (js && len(r.gateway) > 0) || (!js && len(r.gatewayOff) > 0) {
				leaked = append(leaked, i)
			}
		}
		if len(leaked) == 0 {
			continue
		}
		if noPreload == nil {
			noPreload = parsingChromium(t, chromedp.Flag("blink-settings", "doHtmlPreloadScanning=false"))
		}
		diags := make([]parsingDiag, len(leaked))
		parsingPool(t, chrome, min(tabs, 4), js, true, len(leaked), func(tab *parsingTab, j int) {
			d := &diags[j]
			d.again, _ = tab.loadWait(cat, fmt.Sprintf("%s/p/%d", gw, leaked[j]), 400*time.Millisecond)
			d.initiators, d.inDOM = map[string]string{}, map[string]string{}
			for _, x := range d.again {
				d.initiators[x] = tab.initiator(x)
				d.inDOM[x] = tab.inDOM(x)
			}
		})
		parsingPool(t, noPreload, min(tabs, 4), js, true, len(leaked), func(tab *parsingTab, j int) {
			diags[j].noPreload, _ = tab.loadWait(cat, fmt.Sprintf("%s/p/%d", gw, leaked[j]), 400*time.Millisecond)
		})
		for j, i := range leaked {
			if js {
				results[i].diag = &diags[j]
			} else {
				results[i].diagOff = &diags[j]
			}
		}
	}
	diagTime := time.Since(diagStart)

	// Report.
	var (
		leakJS, leakOff, navErrs     []string
		libFetch, advFetch, offFetch int
		perTracker                   = map[string][2]int{} // tracker → {fetched unrewritten, pages}
		bannerOK, bannerFrameset     [2]int                // html5lib, hand-written
		bannerFail, bannerHidden     []string
		noTeeth, noTeethOff          []string
		framesLost                   []string
		gwRequests, gwRequestsOff    int
	)
	for i, r := range results {
		p := pages[i]
		gwRequests += len(r.gateway)
		gwRequestsOff += len(r.gatewayOff)
		for _, e := range []struct{ what, err string }{{"gateway", r.gatewayErr}, {"origin", r.directErr}, {"gateway, JavaScript off", r.gatewayOffErr}, {"origin, JavaScript off", r.directOffErr}} {
			if e.err != "" {
				navErrs = append(navErrs, fmt.Sprintf("%s (%s): %s", p.name, e.what, e.err))
			}
		}
		if p.lib {
			c := perTracker[p.tracker]
			c[1]++
			if len(r.direct) > 0 {
				libFetch++
				c[0]++
			}
			perTracker[p.tracker] = c
		} else {
			if len(r.direct) > 0 {
				advFetch++
			} else {
				noTeeth = append(noTeeth, p.name)
			}
			if r.off && len(r.directOff) > 0 {
				offFetch++
			} else if r.off {
				noTeethOff = append(noTeethOff, p.name)
			}
		}
		if len(r.gateway) > 0 {
			leakJS = append(leakJS, parsingLeakReport(gw, i, p, r.gateway, r.diag, "JavaScript on"))
		}
		if len(r.gatewayOff) > 0 {
			leakOff = append(leakOff, parsingLeakReport(gw, i, p, r.gatewayOff, r.diagOff, "JavaScript off"))
		}
		if r.gatewayErr != "" {
			continue
		}
		b := r.banner
		k := 0
		if !p.lib {
			k = 1
		}
		if r.directFrameset && !b.Frameset {
			framesLost = append(framesLost, fmt.Sprintf("%s %q", p.name, parsingClip(p.html, 300)))
		}
		switch {
		case b.Problem == "":
			bannerOK[k]++
		case b.Frameset && r.directFrameset:
			bannerFrameset[k]++
		case b.Frameset:
			bannerFail = append(bannerFail, fmt.Sprintf("%s: a frameset document through the gateway, not straight from the origin\n    page: %q", p.name, parsingClip(p.html, 400)))
		case b.BodyNoBox && r.directNoBox && b.InBody && b.BadAncestor == "":
			bannerHidden = append(bannerHidden, fmt.Sprintf("%s: %s (%s)\n    page: %q", p.name, b.Problem, b.Detail, parsingClip(p.html, 300)))
		default:
			bannerFail = append(bannerFail, fmt.Sprintf("%s: %s%s\n    page: %q\n    served: %s", p.name, b.Problem, parsingIf(b.Detail != "", " ("+b.Detail+")"),
				parsingClip(p.html, 400), bannerPlacement(servedHTML(fmt.Sprintf("%s/p/%d", gw, i)))))
		}
	}
	nAdv := len(pages) - nLib
	t.Logf("pages tested: %d (%d html5lib-tests inputs with a tracker, %d hand-written) with JavaScript on; %d hand-written again with JavaScript off",
		len(pages), nLib, nAdv, len(noscript))
	t.Logf("processor requests through the gateway: %d with JavaScript on (%d pages), %d with JavaScript off (%d pages)",
		gwRequests, len(leakJS), gwRequestsOff, len(leakOff))
	t.Logf("straight from the origin (unrewritten), pages that requested a processor: html5lib %d of %d; hand-written %d of %d with JavaScript on, %d of %d with it off",
		libFetch, nLib, advFetch, nAdv, offFetch, len(noscript))
	var kinds []string
	for k := range perTracker {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("  unrewritten, %-14s %4d of %4d html5lib pages fetched", k+":", perTracker[k][0], perTracker[k][1])
	}
	t.Logf("hand-written pages that request no processor even unrewritten, JavaScript on (%d): %s", len(noTeeth), strings.Join(noTeeth, " "))
	t.Logf("hand-written pages that request no processor even unrewritten, JavaScript off (%d): %s", len(noTeethOff), strings.Join(noTeethOff, " "))
	t.Logf("banner (JavaScript on, through the gateway): usable on %d html5lib and %d hand-written pages; frameset documents (no banner by design): %d html5lib, %d hand-written; the page's own markup leaves <body> without a box (reported, not failed): %d; wrong: %d",
		bannerOK[0], bannerOK[1], bannerFrameset[0], bannerFrameset[1], len(bannerHidden), len(bannerFail))
	if len(framesLost) > 0 {
		t.Logf("  frameset documents unrewritten that the gateway turns into body documents (the README's limit: a <frameset> after body content loses its frames to the banner) (%d):\n    %s",
			len(framesLost), strings.Join(framesLost, "\n    "))
	}
	for _, s := range bannerHidden {
		t.Logf("  banner not failed, the page hides its body: %s", s)
	}
	for _, s := range navErrs {
		t.Errorf("navigation failed: %s", s)
	}
	for _, s := range append(leakJS, leakOff...) {
		t.Errorf("%s", s)
	}
	for _, s := range bannerFail {
		t.Errorf("banner: %s", s)
	}
	if libFetch < nLib/2 {
		t.Errorf("only %d of %d html5lib pages fetch a processor unrewritten: the test has lost its teeth", libFetch, nLib)
	}
	if g.grepLogs("panic") {
		t.Errorf("the gateway logged a panic:\n%s", g.logs.String())
	}
	t.Logf("run time: %s (of which loading the leaking pages again: %s)", time.Since(started).Round(time.Millisecond), diagTime.Round(time.Millisecond))
}

// parsingSampleEvery: every how many html5lib-tests inputs one is tested
// by default, to keep the run near a minute and a half on two cores.
const parsingSampleEvery = 10

// parsingPage is one page of the test.
type parsingPage struct {
	name    string
	html    []byte
	lib     bool   // an html5lib-tests input (else hand-written)
	tracker string // html5lib: which tracker was inserted
	at      int    // html5lib: where
}

type parsingResult struct {
	gateway, direct, gatewayOff, directOff             []string
	gatewayErr, directErr, gatewayOffErr, directOffErr string
	off                                                bool // loaded with JavaScript off too
	directFrameset                                     bool // a frameset document unrewritten
	directNoBox                                        bool // unrewritten, <body> or <html> has no box
	diag, diagOff                                      *parsingDiag
	banner                                             parsingBanner
}

// parsingDiag is what a leaking page does when loaded again alone.
type parsingDiag struct {
	again      []string          // processor requests
	initiators map[string]string // URL → who asked for it
	inDOM      map[string]string // URL → the elements of the DOM that hold it
	noPreload  []string          // processor requests with the preload scanner off
}

// parsingTrackerNames name the trackers in the order of the rotation.
var parsingTrackerNames = []string{"script-src", "img", "image", "iframe", "link-preload", "video-poster", "object-data", "input-image", "inline-gtm"}

func parsingTrackers(gtm string) []string {
	return []string{
		`<script src="https://mc.yandex.ru/metrika/tag.js"></script>`,
		`<img src="https://mc.yandex.ru/watch/1">`,
		`<image src="https://mc.yandex.ru/watch/2">`,
		`<iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X"></iframe>`,
		`<link rel="preload" as="script" href="https://connect.facebook.net/en_US/fbevents.js">`,
		`<video poster="https://mc.yandex.ru/watch/3"></video>`,
		`<object data="https://mc.yandex.ru/watch/4"></object>`,
		`<input type="image" src="https://mc.yandex.ru/watch/5">`,
		gtm,
	}
}

// parsingGTMSnippet is the inline loader of Google Tag Manager's install
// snippet, exactly as published (catalog/testdata/snippets).
func parsingGTMSnippet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "catalog", "testdata", "snippets", "google-tag-manager.html"))
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`(?s)<script>.*?</script>`).FindString(string(b))
	if !strings.Contains(s, "googletagmanager.com/gtm.js") {
		t.Fatalf("no GTM loader in google-tag-manager.html")
	}
	return s
}

// parsingHTML5LibPages: every input of tree-construction/*.dat with one
// tracker inserted after one '>' of it (chosen by FNV-1a of the input; at
// the start for an input with no '>'), the trackers taken in rotation.
func parsingHTML5LibPages(t *testing.T, gtm string) []parsingPage {
	t.Helper()
	dats, _ := filepath.Glob(filepath.Join(repoRoot, "rewrite", "testdata", "html5lib-tests", "tree-construction", "*.dat"))
	sort.Strings(dats)
	trackers := parsingTrackers(gtm)
	var out []parsingPage
	for _, f := range dats {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for j, in := range html5libdat.Inputs(b) {
			var gts []int
			for k, c := range in {
				if c == '>' {
					gts = append(gts, k+1)
				}
			}
			at := 0
			if len(gts) > 0 {
				h := fnv.New64a()
				h.Write(in)
				at = gts[h.Sum64()%uint64(len(gts))]
			}
			k := len(out) % len(trackers)
			page := make([]byte, 0, len(in)+len(trackers[k]))
			page = append(append(append(page, in[:at]...), trackers[k]...), in[at:]...)
			out = append(out, parsingPage{name: fmt.Sprintf("%s#%d", filepath.Base(f), j+1), html: page, lib: true, tracker: parsingTrackerNames[k], at: at})
		}
	}
	if len(out) < 1500 {
		t.Fatalf("only %d tree-construction inputs found", len(out))
	}
	return out
}

// parsingAdversarial are hand-written pages aimed at a streaming scanner's
// blind spots. Placeholders: {img} an image URL of a processor, {js} a
// script URL, {frame} a frame URL, {css} a style sheet URL, {gtm} GTM's
// inline loader (script element), {gtmcode} its code, {gtmentity},
// {gtmcomment}, {gtmcdata} its code with the host spelt with a character
// reference, split by a comment, split by CDATA sections (which SVG
// script text allows), {n} the page's id. Each page gets its own URLs. A comment says what the HTML spec's tree builder does with
// the page unrewritten; Chromium's preload scanner, which reads the text
// ahead of the parser with a simpler tokenizer (no SVG/MathML, no CDATA),
// may fetch more, and what it fetches counts too. The test reports what
// Chromium actually requests.
//
// Every page starts with a parser-blocking script the origin answers
// after 100 ms (parsingBlocking), as most sites' pages do (jQuery in
// <head>): while the parser waits, Chromium's preload scanner reads the
// rest of the page and fetches what it takes for a resource. Without it
// whether the scanner gets ahead of the parser is a matter of timing.
var parsingAdversarial = []struct{ name, html string }{
	// SVG and MathML: breakouts, integration points, CDATA.
	{"svg-script-img", `<svg><script><img src={img}></script>`},                                    // img breaks out of svg: fetch
	{"svg-endp-cdata", `<svg></p><![CDATA[><img src={img}>]]>`},                                    // </p> breaks out; CDATA is then a bogus comment: fetch
	{"svg-endbr-cdata", `<svg></br><![CDATA[><img src={img}>]]>`},                                  // same with </br>
	{"svg-br-cdata", `<p><svg><br><![CDATA[><img src={img}>]]>`},                                   // same with <br>
	{"svg-font-color-cdata", `<svg><font color=red><![CDATA[><img src={img}>]]>`},                  // font with color breaks out
	{"svg-font-SIZE-cdata", `<svg><font SIZE=1><![CDATA[><img src={img}>]]>`},                      // attribute names are case-insensitive
	{"svg-font-face-cdata", `<svg><g><font face=x><![CDATA[><img src={img}>]]>`},                   // face too
	{"svg-font-nobreak-cdata", `<svg><font><![CDATA[><img src={img}>]]>`},                          // bare font stays SVG: CDATA, no element (the preload scanner fetches)
	{"svg-font-color-img", `<svg><font color=red><img src={img}>`},                                 // fetch
	{"svg-font-style-img", `<svg><font><style><img src={img}></style>`},                            // svg style is not raw text: img breaks out
	{"svg-font-color-style-comment", `<svg><font color=red><style><!--</style><img src={img}>-->`}, // HTML style after the breakout: fetch
	{"math-title-textarea", `<math><title><textarea><img src={img}></textarea>`},                   // MathML title/textarea are not RCDATA: fetch
	{"math-ms-mglyph-textarea", `<math><ms><mglyph><textarea></mglyph><img src={img}>`},            // mglyph stays MathML in ms: fetch
	{"select-svg-style", `<select><svg><style><img src={img}></style>`},                            // Chromium's select parser keeps the svg: fetch
	{"select-img", `<select><img src={img}></select>`},                                             // x/net/html drops the img; Chromium keeps it: fetch
	{"select-math-mi-style", `<select><math><mi><style></mi><img src={img}></style>`},              // mi: HTML style, no fetch
	{"div-svg-enddiv-style", `<div><svg></div><style><!--</style><img src={img}>-->`},              // </div> closes svg and div: HTML style, fetch
	{"b-svg-endb-cdata", `<p><b><svg></b><![CDATA[><img src={img}>]]>`},                            // </b> closes svg through the adoption agency
	{"math-svg-endmath-cdata", `<math><svg></math><![CDATA[><img src={img}>]]>`},                   // fetch
	{"svg-endsvg-space-cdata", `<svg></svg ><![CDATA[><img src={img}>]]>`},                         // fetch
	{"svg-endSVG-attr-cdata", `<svg></SVG foo="a>b"><![CDATA[><img src={img}>]]>`},                 // fetch
	{"svg-endsvg-slash-cdata", `<svg></svg/><![CDATA[><img src={img}>]]>`},                         // fetch
	{"svg-svg-endsvg-cdata", `<svg><svg></svg><![CDATA[><img src={img}>]]>`},                       // still in the outer svg: CDATA, no element (the preload scanner fetches)
	{"svg-style-endsvg", `<svg><style></svg><img src={img}>`},                                      // fetch
	{"svg-textarea-endsvg", `<svg><textarea></svg><img src={img}>`},                                // fetch
	{"svg-iframe-img", `<svg><iframe><img src={img}></iframe>`},                                    // fetch
	{"svg-plaintext-endsvg", `<svg><plaintext></svg><img src={img}>`},                              // fetch
	{"math-xmp-endmath", `<math><xmp></math><img src={img}>`},                                      // fetch
	{"svg-noembed-comment", `<svg><noembed><!--</noembed><img src={img}>--></svg>`},                // a comment in svg: no element (the preload scanner fetches)
	{"svg-script-comment", `<svg><script><!--</script><img src={img}>--></svg>`},                   // a comment in svg: no element (the preload scanner fetches)
	{"svg-style-comment", `<svg><style><!--</style><img src={img}>--></svg>`},                      // a comment in svg style: no element (a tokenizer that reads style as raw text fetches)
	{"svg-title-comment", `<svg><title><!--</title><img src={img}>--></svg>`},                      // svg title is not RCDATA: a comment
	{"svg-textarea-comment", `<svg><textarea><!--</textarea><img src={img}>--></svg>`},             // a comment
	{"math-style-comment", `<math><style><!--</style><img src={img}>--></math>`},                   // a comment
	{"svg-endp-script-comment", `<svg></p><script><!--</script><img src={img}>-->`},                // HTML script after the breakout: fetch
	{"svg-cdata-endsvg", `<svg><![CDATA[</svg><img src={img}>]]>`},                                 // CDATA text, no element (the preload scanner fetches)
	{"svg-desc-style", `<svg><desc><style><img src={img}></style></desc></svg>`},                   // desc is an HTML integration point: no fetch
	{"svg-desc-svg-style", `<svg><desc><svg><style><img src={img}></style>`},                       // fetch
	{"svg-desc-i-cdata", `<svg><desc><i><![CDATA[><img src={img}>]]>`},                             // HTML i: bogus comment, fetch
	{"svg-desc-cdata", `<svg><desc><![CDATA[><img src={img}>]]>`},                                  // desc is SVG: CDATA, no element (the preload scanner fetches)
	{"svg-fo-div-cdata", `<svg><foreignObject><div><![CDATA[><img src={img}>]]>`},                  // fetch
	{"svg-fo-lower-div-cdata", `<svg><foreignobject><div><![CDATA[><img src={img}>]]>`},            // the name is adjusted: fetch
	{"svg-fo-iframe", `<svg><foreignObject><iframe src={frame}></iframe></foreignObject></svg>`},   // fetch
	{"math-mi-style", `<math><mi><style><img src={img}></style>`},                                  // mi: HTML style, no fetch
	{"math-mi-mglyph-style", `<math><mi><mglyph><style><img src={img}></style>`},                   // mglyph stays MathML: fetch
	{"math-mi-b-cdata", `<math><mi><b><![CDATA[><img src={img}>]]>`},                               // fetch
	{"math-mi-cdata", `<math><mi><![CDATA[><img src={img}>]]>`},                                    // CDATA, no element (the preload scanner fetches)
	{"math-mtext-table-mglyph-style", `<math><mtext><table><mglyph><style><img src={img}></style>`},
	{"math-axml-html-style", `<math><annotation-xml encoding="text/html"><style><img src={img}></style>`},    // integration point: no fetch
	{"math-axml-HTML-b-cdata", `<math><annotation-xml encoding="Text/HTML"><b><![CDATA[><img src={img}>]]>`}, // fetch
	{"math-axml-html5-style", `<math><annotation-xml encoding="text/html5"><style><img src={img}></style>`},  // not an integration point: fetch
	{"math-axml-space-style", `<math><annotation-xml encoding=" text/html"><style><img src={img}></style>`},  // not an integration point: fetch
	{"math-axml-svg-style", `<math><annotation-xml><svg><style><img src={img}></style>`},                     // fetch
	{"math-axml-xhtml-p-cdata", `<math><annotation-xml encoding="application/xhtml+xml"><p><![CDATA[><img src={img}>]]>`},
	{"table-svg-style", `<table><svg><style><img src={img}></style></svg></table>`}, // fetch
	{"svg-endsvg-cdata-after", `<svg></svg><![CDATA[><img src={img}>]]>`},           // fetch
	// SVG that fetches or runs by itself.
	{"svg-image-href", `<svg><image href={img} width=1 height=1></image></svg>`},
	{"svg-image-xlink", `<svg><image xlink:href={img} width=1 height=1 /></svg>`},
	{"svg-feimage", `<svg><filter id=f><feImage href={img} /></filter><rect filter="url(#f)" width=10 height=10 /></svg>`},
	{"svg-script-href", `<svg><script href={js}></script></svg>`},
	{"svg-script-xlink", `<svg><script xlink:href={js}></script></svg>`},
	{"svg-script-gtm", `<svg><script>{gtmcode}</script></svg>`},
	{"svg-script-cdata-gtm", `<svg><script><![CDATA[{gtmcode}]]></script></svg>`},
	{"svg-script-gtm-entity", `<svg><script>{gtmentity}</script></svg>`},   // the host spelt with &#46;
	{"svg-script-gtm-comment", `<svg><script>{gtmcomment}</script></svg>`}, // the host split by <!---->
	{"svg-script-gtm-cdata-split", `<svg><script>{gtmcdata}</script></svg>`},
	{"svg-fo-gtm", `<svg><foreignObject>{gtm}</foreignObject></svg>`},
	{"math-mi-gtm", `<math><mi>{gtm}</mi></math>`},
	// <template>.
	{"template-img", `<template><img src={img}></template>`}, // inert: no fetch even unrewritten
	{"template-svg-endtemplate", `<template><svg></template><img src={img}>`},
	{"template-style", `<template><style></template><img src={img}></style></template>`},
	{"template-noscript", `<template><noscript></template><img src={img}></noscript>`},
	// <noscript>, raw text with JavaScript, markup without.
	{"noscript-style", `<noscript><style></noscript><img src={img}></style>`},
	{"noscript-comment", `<noscript><!--</noscript><img src={img}>-->`},
	{"noscript-attr", `<noscript><p title="</noscript><img src={img}>">`},
	{"noscript-textarea", `<noscript><textarea></noscript><img src={img}></textarea>`},
	{"noscript-title", `<noscript><title></noscript><img src={img}></title>`},
	{"noscript-script", `<noscript><script></noscript><img src={img}></script>`},
	{"noscript-iframe", `<noscript><iframe></noscript><img src={img}></iframe>`},
	{"noscript-plaintext", `<noscript><plaintext></noscript><img src={img}>`},
	{"noscript-svg", `<noscript><svg></noscript><img src={img}>`},
	{"noscript-template", `<noscript><template></noscript><img src={img}></template>`},
	{"noscript-img", `<noscript><img src={img}></noscript>`},
	{"noscript-nested", `<noscript><noscript></noscript><img src={img}></noscript>`},
	{"noscript-endtag-attr", `<noscript></noscript x="<img src={img}>">`},
	{"noscript-NOSCRIPT-end", `<NoScript><style></noScript foo><img src={img}></style>`},
	{"head-noscript-div-img", `<head><noscript><div><img src={img}></div></noscript></head>`},
	{"head-noscript-style", `<head><noscript><style></noscript><img src={img}></style></noscript></head>`},
	{"head-noscript-link", `<head><noscript><link rel=stylesheet href={css}></noscript></head>`},
	{"head-noscript-comment-img", `<head><noscript><!--</noscript><img src={img}>--></noscript></head>`},
	{"svg-noscript-img", `<svg><noscript><img src={img}></noscript></svg>`},
	{"math-mi-noscript-img", `<math><mi><noscript><img src={img}></noscript>`},
	{"select-noscript-img", `<select><noscript><img src={img}></noscript></select>`},
	{"noscript-frame-srcdoc", `<noscript><iframe srcdoc="<img src={img}>"></iframe></noscript>`},
	// Script data escapes.
	{"script-double-escaped", `<script><!--<script></script><img src={img}></script>`},
	{"script-double-escape-exit", `<script><!--<script>--></script><img src={img}>`},
	{"script-escaped-end", `<script><!--</script><img src={img}>-->`},
	{"script-scripts-not-double", `<script><!--<scripts></script><img src={img}>`},
	{"script-end-attrs", `<script></SCRIPT foo="bar"><img src={img}>`},
	{"script-double-escape-slash", `<script><!--<script/></script><img src={img}></script>`},
	// Comments and bogus comments.
	{"comment-abrupt", `<!--><img src={img}>-->`},
	{"comment-abrupt-dash", `<!---><img src={img}>-->`},
	{"comment-bang-close", `<!-- --!><img src={img}>-->`},
	{"cdata-in-html", `<![CDATA[><img src={img}>]]>`},
	{"pi-bogus", `<?xml <img src={img}> ?>`},
	{"endtag-empty", `</><img src={img}>`},
	{"title-comment", `<title><!--</title><img src={img}>-->`},
	{"iframe-comment", `<iframe><!--</iframe><img src={img}>--></iframe>`},
	{"plaintext-img", `<plaintext></plaintext><img src={img}>`},
	// Tags and attributes.
	{"img-slash-src", `<img/src={img}>`},
	{"img-dup-src-first", `<img src={img} src=/x.gif>`},
	{"img-srcset", `<img srcset="{img} 1x">`},
	{"picture-source-srcset", `<picture><source srcset={img}><img alt=""></picture>`},
	{"body-background", `<body background={img}>x`},
	{"table-background", `<table background={img}><tr><td>x</td></tr></table>`},
	{"iframe-srcdoc", `<iframe srcdoc="<img src={img}>"></iframe>`},
	{"iframe-srcdoc-entities", `<iframe srcdoc="&lt;img src=&quot;{img}&quot;&gt;"></iframe>`},
	{"frameset-frame", `<frameset><frame src={frame}></frameset>`},
	{"img-entity-scheme", `<img src="ht&#x74;ps://mc.yandex.ru/watch/{n}e">`},
	{"img-scheme-relative", `<img src="//mc.yandex.ru/watch/{n}s">`},
	{"img-backslashes", `<img src="https:\\mc.yandex.ru\watch\{n}b">`},
	{"img-newline-in-url", "<img src=\"htt\nps://mc.yandex.ru/watch/{n}n\">"},
	{"base-href", `<base href="https://mc.yandex.ru/"><img src="watch/{n}r">`},
	{"embed-src", `<embed src={img}>`},
	{"audio-src", `<audio src={img}></audio>`},
	{"video-source", `<video><source src={img}></video>`},
	{"script-module", `<script type=module src={js}></script>`},
	{"link-modulepreload", `<link rel=modulepreload href={js}>`},
	{"link-stylesheet-body", `<p>x<link rel=stylesheet href={css}>`},
	{"link-icon", `<link rel=icon href={img}>`},
	// Limits of a streaming scanner.
	{"deep-nesting", strings.Repeat("<div>", 300) + "<svg>" + strings.Repeat("<g>", 300) + "</svg><![CDATA[><img src={img}>]]>"},
	{"big-inline-gtm", "<script>/*" + strings.Repeat("padding ", 80<<10) + "*/</script>{gtm}<script>/*" + strings.Repeat("x", 600<<10) + "*/\n{gtmcode}</script>"},
	{"big-tag", `<img alt="` + strings.Repeat("a", 1100<<10) + `" src={img}>`},
}

// parsingBlocking starts every hand-written page.
const parsingBlocking = `<script src="/slow.js"></script>`

// parsingAdversarialPages fills the placeholders of parsingAdversarial.
func parsingAdversarialPages(gtm string) []parsingPage {
	code := strings.TrimSuffix(strings.TrimPrefix(gtm, "<script>"), "</script>")
	var out []parsingPage
	for n, a := range parsingAdversarial {
		id := fmt.Sprintf("a%03d", n+1)
		// Each page loads GTM with its own container id, so its requests
		// name it.
		c := strings.ReplaceAll(code, "GTM-XXXXXXX", "GTM-"+strings.ToUpper(id))
		r := strings.NewReplacer(
			"{img}", "https://mc.yandex.ru/watch/"+id,
			"{js}", "https://mc.yandex.ru/metrika/tag.js?"+id,
			"{frame}", "https://www.googletagmanager.com/ns.html?id=GTM-"+strings.ToUpper(id),
			"{css}", "https://mc.yandex.ru/metrika/"+id+".css",
			"{gtm}", "<script>"+c+"</script>",
			"{gtmcode}", c,
			"{gtmentity}", strings.ReplaceAll(c, "googletagmanager.com", "googletagmanager&#46;com"),
			"{gtmcomment}", strings.ReplaceAll(c, "googletagmanager.com", "googletag<!---->manager.com"),
			"{gtmcdata}", strings.ReplaceAll(c, "googletagmanager.com", "googletag<![CDATA[manager]]>.com"),
			"{n}", id,
		)
		out = append(out, parsingPage{name: a.name, html: []byte(parsingBlocking + r.Replace(a.html))})
	}
	return out
}

// parsingChromium starts one headless Chromium. Every host but loopback
// resolves to nothing, so a request to a processor fails at once, before
// any connection (the DevTools network event that records it fires
// first; this is cheaper than intercepting every request, which on two
// cores costs a fifth of the pace). Site isolation is off so that every
// frame's requests (srcdoc, frames) are seen by its page's DevTools
// session.
func parsingChromium(t *testing.T, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return startChromium(t, append([]chromedp.ExecAllocatorOption{
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "IsolateOrigins,site-per-process"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
	}, flags...)...)
}

// parsingPool runs do for 0..n-1 on tabs tabs at once; with fresh, every
// job gets a tab of its own.
func parsingPool(t *testing.T, chrome context.Context, tabs int, js, fresh bool, n int, do func(tab *parsingTab, i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range tabs {
		var tab *parsingTab
		if !fresh {
			var err error
			if tab, err = newParsingTab(chrome, js); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				tab := tab
				if fresh {
					var err error
					if tab, err = newParsingTab(chrome, js); err != nil {
						t.Error(err)
						continue
					}
					do(tab, i)
					tab.close()
					continue
				}
				do(tab, i)
			}
			if tab != nil {
				tab.close()
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// parsingTab is one tab. Every request the page attempts is recorded from
// the DevTools network events, which fire before the request goes out
// (and before the host fails to resolve).
type parsingTab struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	urls   []string
	who    map[string][]string // URL → initiator and resource type, from the network events
}

func newParsingTab(chrome context.Context, js bool) (*parsingTab, error) {
	ctx, cancel := chromedp.NewContext(chrome)
	b := &parsingTab{ctx: ctx, cancel: cancel, who: map[string][]string{}}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.record(e.Request.URL)
			if e.Initiator != nil {
				b.mu.Lock()
				b.who[e.Request.URL] = append(b.who[e.Request.URL], fmt.Sprintf("%s (%s)", e.Initiator.Type, e.Type))
				b.mu.Unlock()
			}
		case *page.EventJavascriptDialogOpening:
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		}
	})
	actions := []chromedp.Action{network.Enable()}
	if !js {
		actions = append(actions, emulation.SetScriptExecutionDisabled(true))
	}
	if err := chromedp.Run(ctx, actions...); err != nil {
		cancel()
		return nil, fmt.Errorf("opening a tab: %v", err)
	}
	return b, nil
}

func (b *parsingTab) close() { b.cancel() }

func (b *parsingTab) record(u string) {
	b.mu.Lock()
	b.urls = append(b.urls, u)
	b.mu.Unlock()
}

// load navigates to u, waits for the load event and 150 ms more, and
// returns the processor requests the page attempted.
func (b *parsingTab) load(cat *catalog.Catalog, u string) ([]string, string) {
	return b.loadWait(cat, u, 150*time.Millisecond)
}

func (b *parsingTab) loadWait(cat *catalog.Catalog, u string, wait time.Duration) ([]string, string) {
	b.mu.Lock()
	b.urls, b.who = nil, map[string][]string{}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	err := chromedp.Run(ctx, chromedp.Navigate(u), chromedp.Sleep(wait))
	cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, x := range b.urls {
		if !seen[x] && cat.MatchURL(x) >= 0 {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	if err != nil {
		return out, err.Error()
	}
	return out, ""
}

// shape reports whether the page loaded is a frameset document, and
// whether its <body> or <html> has no box.
func (b *parsingTab) shape() (frameset, noBox bool) {
	var r []bool
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	err := chromedp.Run(ctx, chromedp.Evaluate(`(function(){
		var body = document.body, de = document.documentElement;
		var boxless = function (el) { return !el || getComputedStyle(el).display === 'none' || el.getClientRects().length === 0; };
		return [!!body && body.tagName === 'FRAMESET', boxless(body) || boxless(de)];
	})()`, &r))
	if err != nil || len(r) != 2 {
		return false, false
	}
	return r[0], r[1]
}

// initiator says who asked for u on the page last loaded: "parser",
// "preload" (the preload scanner), "script"…, with the resource type.
func (b *parsingTab) initiator(u string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.who[u]) == 0 {
		return "unknown"
	}
	return strings.Join(b.who[u], ", ")
}

// inDOMJS lists the elements of the document (and of same-origin frames,
// SVG and MathML included) with an attribute that holds the URL.
const inDOMJS = `(function(u){
	var out = [];
	var scan = function (doc, where) {
		doc.querySelectorAll('*').forEach(function (el) {
			for (var i = 0; i < el.attributes.length; i++) {
				var a = el.attributes[i];
				var v = a.value;
				try { v = new URL(v, doc.baseURI).href; } catch (e) {}
				if (v === u || a.value.indexOf(u.replace(/^https?:/, '')) >= 0) {
					var path = [];
					for (var p = el; p && p.nodeType === 1; p = p.parentNode) path.unshift(p.localName);
					out.push(where + '<' + el.localName + ' ' + a.name + '> in ' + path.slice(0, -1).join('>'));
				}
			}
			if (el.localName === 'iframe') { try { if (el.contentDocument) scan(el.contentDocument, where + 'iframe: '); } catch (e) {} }
		});
	};
	scan(document, '');
	return out.length ? out.join('; ') : 'no element holds it (a request from the HTML text, not from the DOM)';
})(%s)`

// inDOM says which elements of the DOM hold u.
func (b *parsingTab) inDOM(u string) string {
	var s string
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(inDOMJS, strconv.Quote(u)), &s)); err != nil {
		return "(could not look: " + err.Error() + ")"
	}
	return s
}

// parsingBanner is where Chromium has the accept button.
type parsingBanner struct {
	Problem     string `json:"problem"`     // "" when the button is a visible element of <body>
	Detail      string `json:"detail"`      // why, where
	Frameset    bool   `json:"frameset"`    // a frameset document
	InBody      bool   `json:"inBody"`      // the button is in document.body
	BadAncestor string `json:"badAncestor"` // noscript, template, svg or math around it
	BodyNoBox   bool   `json:"bodyNoBox"`   // the page leaves <body> (or <html>) with no box
}

const parsingBannerJS = `(function(){
	var r = {problem: '', detail: '', frameset: false, inBody: false, badAncestor: '', bodyNoBox: false};
	var body = document.body;
	r.frameset = !!body && body.tagName === 'FRAMESET';
	var de = document.documentElement;
	var boxless = function (el) {
		if (!el) return true;
		var cs = getComputedStyle(el);
		return cs.display === 'none' || el.getClientRects().length === 0;
	};
	r.bodyNoBox = !body || boxless(body) || boxless(de);
	var b = document.querySelector('[data-consent-action="accept-all"]');
	if (!b) {
		r.problem = 'no accept button in the DOM';
		var where = [];
		document.querySelectorAll('noscript, template, textarea, title, style, script, xmp, iframe, noembed, noframes, plaintext').forEach(function (n) {
			if (/data-consent-action/.test(n.tagName === 'TEMPLATE' ? n.innerHTML : n.textContent)) where.push(n.tagName.toLowerCase());
		});
		if (where.length) r.detail = 'its markup is the text or content of <' + where.join('>, <') + '>';
		return JSON.stringify(r);
	}
	r.inBody = !!body && body !== b && body.contains(b);
	var chain = [];
	for (var p = b.parentNode; p && p.nodeType === 1; p = p.parentNode) {
		var name = p.localName;
		if (p.namespaceURI !== 'http://www.w3.org/1999/xhtml') { r.badAncestor = r.badAncestor || (p.namespaceURI + ' ' + name); name = name + '(' + (p.namespaceURI || '').split('/').pop() + ')'; }
		if (name === 'noscript' || name === 'template') r.badAncestor = r.badAncestor || name;
		var cs = getComputedStyle(p);
		chain.unshift(name + (cs.display !== 'block' ? '{' + cs.display + '}' : '') + (cs.visibility !== 'visible' ? '{' + cs.visibility + '}' : ''));
	}
	var rect = b.getBoundingClientRect();
	if (!r.inBody) r.problem = 'the accept button is not inside <body>';
	else if (r.badAncestor) r.problem = 'the accept button is inside ' + r.badAncestor;
	else if (rect.width < 1 || rect.height < 1) r.problem = 'the accept button has no box (' + rect.width + 'x' + rect.height + ')';
	if (r.problem) r.detail = 'ancestors: ' + chain.join(' > ');
	return JSON.stringify(r);
})()`

func (b *parsingTab) bannerCheck() parsingBanner {
	var s string
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Evaluate(parsingBannerJS, &s)); err != nil {
		return parsingBanner{Problem: "evaluating the banner check failed: " + err.Error()}
	}
	var r parsingBanner
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return parsingBanner{Problem: "bad banner check result: " + s}
	}
	return r
}

// parsingLeakReport describes a page through which Chromium requested a
// processor: the requests, who asked for them, the page, and the served
// HTML around every mention of the requested hosts.
func parsingLeakReport(gw string, i int, p parsingPage, reqs []string, d *parsingDiag, mode string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): through the gateway Chromium requested %s", p.name, mode, strings.Join(reqs, " "))
	if d != nil {
		if len(d.again) == 0 {
			fmt.Fprintf(&b, "\n  loaded again alone in a fresh tab: no processor request (the first may have been left over from the tab's previous page)")
		}
		for _, u := range d.again {
			fmt.Fprintf(&b, "\n  loaded again alone: %s requested by %s; in the DOM: %s", u, d.initiators[u], d.inDOM[u])
			if !slices.Contains(d.noPreload, u) {
				fmt.Fprintf(&b, "\n    not requested with the preload scanner off: Chromium's preload scanner fetched it from the HTML text")
			} else {
				fmt.Fprintf(&b, "\n    requested with the preload scanner off too")
			}
		}
	}
	if p.lib {
		fmt.Fprintf(&b, "\n  tracker %s inserted at byte %d", p.tracker, p.at)
	}
	fmt.Fprintf(&b, "\n  page:   %q", parsingClip(p.html, 600))
	served := servedHTML(fmt.Sprintf("%s/p/%d", gw, i))
	var hosts []string
	seen := map[string]bool{}
	for _, u := range reqs {
		if h := hostOf(u); !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	shown := 0
	for _, h := range hosts {
		for from := 0; shown < 4; shown++ {
			k := strings.Index(served[from:], h)
			if k < 0 {
				break
			}
			k += from
			lo, hi := max(0, k-160), min(len(served), k+160)
			fmt.Fprintf(&b, "\n  served, around %q at byte %d: %q", h, k, served[lo:hi])
			from = k + len(h)
		}
	}
	if shown == 0 {
		fmt.Fprintf(&b, "\n  served: %q", parsingClip([]byte(served), 600))
	}
	return b.String()
}

func parsingClip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n/2]) + fmt.Sprintf("…(%d bytes)…", len(b)-n) + string(b[len(b)-n/2:])
}

func parsingIf(c bool, a string) string {
	if c {
		return a
	}
	return ""
}
