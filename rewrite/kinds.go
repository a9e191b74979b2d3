package rewrite

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
	kIntegration // foreignObject, desc, mi, mo, mn, ms, mtext, annotation-xml
	kBreakout    // other start tags that end SVG/MathML content
	numKinds
)

type kindInfo struct {
	name string // for end-tag matching of raw text elements
	// urlAttrs are the attributes whose URLs the browser fetches (or that
	// lazy-loading libraries turn into such URLs): what classifies the
	// element and what is renamed when it is neutralised.
	urlAttrs []string
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
	kLink:        {name: "link", head: true, urlAttrs: []string{"href", "imagesrcset"}},
	kStyle:       {name: "style", raw: true, head: true},
	kScript:      {name: "script", head: true, urlAttrs: []string{"src"}},
	kNoscript:    {name: "noscript", head: true},
	kTemplate:    {name: "template", head: true},
	kIframe:      {name: "iframe", raw: true, urlAttrs: []string{"src", "data-src", "data-lazy-src"}},
	kFrame:       {name: "frame", urlAttrs: []string{"src"}},
	kImg:         {name: "img", breakout: true, urlAttrs: []string{"src", "srcset", "data-src", "data-srcset", "data-lazy-src"}},
	kImage:       {name: "image", urlAttrs: []string{"href", "xlink:href"}},
	kSource:      {name: "source", urlAttrs: []string{"src", "srcset", "data-src", "data-srcset"}},
	kVideo:       {name: "video", urlAttrs: []string{"src", "poster"}},
	kAudio:       {name: "audio", urlAttrs: []string{"src"}},
	kTrack:       {name: "track", urlAttrs: []string{"src"}},
	kEmbed:       {name: "embed", breakout: true, urlAttrs: []string{"src"}},
	kObject:      {name: "object", urlAttrs: []string{"data"}},
	kInput:       {name: "input", urlAttrs: []string{"src"}},
	kUse:         {name: "use", urlAttrs: []string{"href", "xlink:href"}},
	kFeImage:     {name: "feimage", urlAttrs: []string{"href", "xlink:href"}},
	kSVG:         {name: "svg"},
	kMath:        {name: "math"},
	kXmp:         {name: "xmp", raw: true},
	kNoembed:     {name: "noembed", raw: true},
	kNoframes:    {name: "noframes", raw: true},
	kTextarea:    {name: "textarea", raw: true},
	kPlaintext:   {name: "plaintext"},
	kFrameset:    {name: "frameset", head: true},
	kIntegration: {},
	kBreakout:    {breakout: true},
}

// svgScriptAttrs are where an SVG <script> names its source.
var svgScriptAttrs = []string{"src", "href", "xlink:href"}

// kindOf classifies a tag name: the name, lower-cased, is packed into a
// uint64 and switched on, which compiles to a few comparisons.
func kindOf(name []byte) kind {
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
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		v |= uint64(c) << (8 * i)
	}
	switch v {
	case 0x746573656d617266 /* frameset */ :
		return kFrameset
	case 0x6c6d7468 /* html */ :
		return kHTML
	case 0x64616568 /* head */ :
		return kHead
	case 0x79646f62 /* body */ :
		return kBody
	case 0x6174656d /* meta */ :
		return kMeta
	case 0x656c746974 /* title */ :
		return kTitle
	case 0x65736162 /* base */ :
		return kBase
	case 0x6b6e696c /* link */ :
		return kLink
	case 0x656c797473 /* style */ :
		return kStyle
	case 0x747069726373 /* script */ :
		return kScript
	case 0x7470697263736f6e /* noscript */ :
		return kNoscript
	case 0x6574616c706d6574 /* template */ :
		return kTemplate
	case 0x656d61726669 /* iframe */ :
		return kIframe
	case 0x656d617266 /* frame */ :
		return kFrame
	case 0x676d69 /* img */ :
		return kImg
	case 0x6567616d69 /* image */ :
		return kImage
	case 0x656372756f73 /* source */ :
		return kSource
	case 0x6f65646976 /* video */ :
		return kVideo
	case 0x6f69647561 /* audio */ :
		return kAudio
	case 0x6b63617274 /* track */ :
		return kTrack
	case 0x6465626d65 /* embed */ :
		return kEmbed
	case 0x7463656a626f /* object */ :
		return kObject
	case 0x7475706e69 /* input */ :
		return kInput
	case 0x657375 /* use */ :
		return kUse
	case 0x6567616d696566 /* feimage */ :
		return kFeImage
	case 0x677673 /* svg */ :
		return kSVG
	case 0x6874616d /* math */ :
		return kMath
	case 0x706d78 /* xmp */ :
		return kXmp
	case 0x6465626d656f6e /* noembed */ :
		return kNoembed
	case 0x73656d6172666f6e /* noframes */ :
		return kNoframes
	case 0x6165726174786574 /* textarea */ :
		return kTextarea
	case 0x63736564 /* desc */, 0x696d /* mi */, 0x6e6d /* mn */, 0x6f6d /* mo */, 0x736d /* ms */, 0x747865746d /* mtext */ :
		return kIntegration
	case 0x62 /* b */, 0x676962 /* big */, 0x7262 /* br */, 0x7265746e6563 /* center */, 0x65646f63 /* code */, 0x6464 /* dd */, 0x766964 /* div */, 0x6c64 /* dl */, 0x7464 /* dt */, 0x6d65 /* em */, 0x3168 /* h1 */, 0x3268 /* h2 */, 0x3368 /* h3 */, 0x3468 /* h4 */, 0x3568 /* h5 */, 0x3668 /* h6 */, 0x7268 /* hr */, 0x69 /* i */, 0x696c /* li */, 0x676e697473696c /* listing */, 0x756e656d /* menu */, 0x72626f6e /* nobr */, 0x6c6f /* ol */, 0x70 /* p */, 0x657270 /* pre */, 0x79627572 /* ruby */, 0x73 /* s */, 0x6c6c616d73 /* small */, 0x6e617073 /* span */, 0x656b69727473 /* strike */, 0x676e6f727473 /* strong */, 0x627573 /* sub */, 0x707573 /* sup */, 0x656c626174 /* table */, 0x7474 /* tt */, 0x75 /* u */, 0x6c75 /* ul */, 0x726176 /* var */ :
		return kBreakout
	}
	return kOther
}
