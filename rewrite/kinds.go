package rewrite

import (
	"encoding/binary"

	"github.com/kelisim/kelisim/fetching"
)

// kind is an element the rewriter treats specially; everything else is
// kOther. Tags are classified once, by a switch on the lower-cased name,
// without allocating.
type kind uint8

const (
	kOther kind = iota
	kHTML
	kHead
	kBody
	kMeta
	kTitle
	kBase
	kLink
	kStyle
	kScript
	kNoscript
	kTemplate
	kIframe
	kFrame
	kImg
	kImage
	kSource
	kVideo
	kAudio
	kTrack
	kEmbed
	kObject
	kInput
	kUse
	kFeImage
	kSVG
	kMath
	kXmp
	kNoembed
	kNoframes
	kTextarea
	kPlaintext
	kFrameset
	kForm        // form: posts where its action says
	kSet         // SVG set
	kAnimate     // SVG animate
	kTable       // table: a breakout that fetches through background
	kCell        // thead, tbody, tfoot, tr, td, th: fetch through background
	kAnchor      // a, area: ping on click
	kHeadMisc    // basefont, bgsound: head elements with no other part here
	kIntegration // foreignObject, desc, mi, mo, mn, ms, mtext, annotation-xml
	kBreakout    // other start tags that end SVG/MathML content
	numKinds
)

type kindInfo struct {
	name string // for end-tag matching of raw text elements
	// urlAttrs are the attributes whose URLs the browser fetches (or that
	// lazy-loading libraries turn into such URLs): what classifies the
	// element and what is renamed when it is neutralised. They come from
	// the fetching package's table, shared with the client and the scanner.
	urlAttrs []string
	// rare is an attribute name (lower case) without which the tag
	// fetches nothing: such tags are common (<td>, <a>) and the attribute
	// rare, so plainTag passes them on after a search for it.
	rare     string
	raw      bool // read as text up to the end tag
	head     bool // may appear before <body> without opening it
	breakout bool // ends foreign content
}

var kinds = [numKinds]kindInfo{
	kHTML:        {name: "html", head: true},
	kHead:        {name: "head", head: true, breakout: true},
	kBody:        {name: "body", breakout: true},
	kMeta:        {name: "meta", head: true, breakout: true},
	kTitle:       {name: "title", raw: true, head: true},
	kBase:        {name: "base", head: true},
	kLink:        {name: "link", head: true},
	kStyle:       {name: "style", raw: true, head: true},
	kScript:      {name: "script", head: true},
	kNoscript:    {name: "noscript", head: true},
	kTemplate:    {name: "template", head: true},
	kIframe:      {name: "iframe", raw: true},
	kFrame:       {name: "frame"},
	kImg:         {name: "img", breakout: true},
	kImage:       {name: "image"},
	kSource:      {name: "source"},
	kVideo:       {name: "video"},
	kAudio:       {name: "audio"},
	kTrack:       {name: "track"},
	kEmbed:       {name: "embed", breakout: true},
	kObject:      {name: "object"},
	kInput:       {name: "input"},
	kUse:         {name: "use"},
	kFeImage:     {name: "feimage"},
	kSVG:         {name: "svg"},
	kMath:        {name: "math"},
	kXmp:         {name: "xmp", raw: true},
	kNoembed:     {name: "noembed", raw: true},
	kNoframes:    {name: "noframes", raw: true, head: true},
	kTextarea:    {name: "textarea", raw: true},
	kPlaintext:   {name: "plaintext"},
	kFrameset:    {name: "frameset", head: true},
	kForm:        {name: "form"},
	kSet:         {name: "set"},
	kAnimate:     {name: "animate"},
	kTable:       {name: "table", rare: "background", breakout: true},
	kCell:        {name: "td", rare: "background"},
	kAnchor:      {name: "a", rare: "ping"},
	kHeadMisc:    {head: true},
	kIntegration: {},
	kBreakout:    {breakout: true},
}

func init() {
	for kd := range kinds {
		if e := fetching.Lookup(kinds[kd].name); e != nil {
			kinds[kd].urlAttrs = gated(e.Attrs...)
		}
	}
}

// shortKinds are the tag names of up to 8 bytes that are not kOther.
var shortKinds = []struct {
	name string
	kind kind
}{
	{"frameset", kFrameset},
	{"html", kHTML},
	{"head", kHead},
	{"body", kBody},
	{"meta", kMeta},
	{"title", kTitle},
	{"base", kBase},
	{"link", kLink},
	{"style", kStyle},
	{"script", kScript},
	{"noscript", kNoscript},
	{"template", kTemplate},
	{"iframe", kIframe},
	{"frame", kFrame},
	{"img", kImg},
	{"image", kImage},
	{"source", kSource},
	{"video", kVideo},
	{"audio", kAudio},
	{"track", kTrack},
	{"embed", kEmbed},
	{"object", kObject},
	{"input", kInput},
	{"use", kUse},
	{"feimage", kFeImage},
	{"svg", kSVG},
	{"math", kMath},
	{"xmp", kXmp},
	{"noembed", kNoembed},
	{"noframes", kNoframes},
	{"textarea", kTextarea},
	{"basefont", kHeadMisc},
	{"bgsound", kHeadMisc},
	{"desc", kIntegration},
	{"mi", kIntegration},
	{"mn", kIntegration},
	{"mo", kIntegration},
	{"ms", kIntegration},
	{"mtext", kIntegration},
	{"b", kBreakout},
	{"big", kBreakout},
	{"br", kBreakout},
	{"center", kBreakout},
	{"code", kBreakout},
	{"dd", kBreakout},
	{"div", kBreakout},
	{"dl", kBreakout},
	{"dt", kBreakout},
	{"em", kBreakout},
	{"h1", kBreakout},
	{"h2", kBreakout},
	{"h3", kBreakout},
	{"h4", kBreakout},
	{"h5", kBreakout},
	{"h6", kBreakout},
	{"hr", kBreakout},
	{"i", kBreakout},
	{"li", kBreakout},
	{"listing", kBreakout},
	{"menu", kBreakout},
	{"nobr", kBreakout},
	{"ol", kBreakout},
	{"p", kBreakout},
	{"pre", kBreakout},
	{"ruby", kBreakout},
	{"s", kBreakout},
	{"small", kBreakout},
	{"span", kBreakout},
	{"strike", kBreakout},
	{"strong", kBreakout},
	{"sub", kBreakout},
	{"sup", kBreakout},
	{"form", kForm},
	{"set", kSet},
	{"animate", kAnimate},
	{"table", kTable},
	{"thead", kCell},
	{"tbody", kCell},
	{"tfoot", kCell},
	{"tr", kCell},
	{"td", kCell},
	{"th", kCell},
	{"a", kAnchor},
	{"area", kAnchor},
	{"tt", kBreakout},
	{"u", kBreakout},
	{"ul", kBreakout},
	{"var", kBreakout},
}

// kindTable is a perfect hash of shortKinds: a name packed into a uint64,
// times kindMul, shifted, indexes the one slot it can be in.
var (
	kindKeys  [1 << kindBits]uint64
	kindKinds [1 << kindBits]kind
	kindMul   uint64
)

const kindBits = 10

func init() {
	// Try multipliers from a fixed sequence until no two names collide.
	x := uint64(0x9e3779b97f4a7c15)
next:
	for {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		mul := x | 1
		var used [1 << kindBits]bool
		for _, e := range shortKinds {
			h := (pack(e.name) * mul) >> (64 - kindBits)
			if used[h] {
				continue next
			}
			used[h] = true
		}
		kindMul = mul
		break
	}
	for i := range kindKeys {
		kindKeys[i] = ^uint64(0)
	}
	for _, e := range shortKinds {
		h := (pack(e.name) * kindMul) >> (64 - kindBits)
		kindKeys[h], kindKinds[h] = pack(e.name), e.kind
	}
}

func pack(name string) (v uint64) {
	for i := 0; i < len(name); i++ {
		v |= uint64(name[i]) << (8 * i)
	}
	return v
}

// kindIn classifies the tag name b[i:n]: the name, lower-cased, is packed
// into a uint64 and looked up in a perfect hash table (one multiply, one
// load). When b has eight bytes from i,
// they are read at once, the ones past the name masked off, and
// lower-cased without a branch.
func kindIn(b []byte, i, n int) kind {
	name := b[i:n]
	if len(name) > 8 {
		switch len(name) {
		case 9:
			if equalFoldASCII(name, "plaintext") {
				return kPlaintext
			}
		case 10:
			if equalFoldASCII(name, "blockquote") {
				return kBreakout
			}
		case 13:
			if equalFoldASCII(name, "foreignobject") {
				return kIntegration
			}
		case 14:
			if equalFoldASCII(name, "annotation-xml") {
				return kIntegration
			}
		}
		return kOther
	}
	var v uint64
	if i+8 <= len(b) {
		const lo, hi = 0x0101010101010101, 0x8080808080808080
		mask := ^uint64(0) >> (64 - 8*uint(len(name)))
		if len(name) == 0 {
			mask = 0
		}
		v = binary.LittleEndian.Uint64(b[i:]) & mask
		if (v-lo)&^v&hi&mask != 0 {
			// A browser reads NUL as U+FFFD: "script\x00" is no script
			// (packed, it would be).
			return kOther
		}
		t := v &^ hi
		upper := (t + (0x80-'A')*lo) &^ (t + (0x80-'Z'-1)*lo) &^ v & hi
		v |= upper >> 2
	} else {
		for j, c := range name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			} else if c == 0 {
				return kOther
			}
			v |= uint64(c) << (8 * j)
		}
	}
	if h := (v * kindMul) >> (64 - kindBits); kindKeys[h] == v {
		return kindKinds[h]
	}
	return kOther
}
