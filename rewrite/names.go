package rewrite

// The gate reads every attribute of every element that may fetch: most
// (alt, class, width, loading, aria-…) can fetch nothing. gatedNames
// rejects those on their length and first letter before any name is
// compared in full.

// gatedNames has, for each name length below its size, a bit per first
// letter (a–z; bit 26 for any other byte) of the names gate looks at.
var gatedNames [24]uint32

// gated registers names as ones gate may look at and returns them: every
// attribute list passed to gate is made by it.
func gated(names ...string) []string {
	for _, n := range names {
		if len(n) > 0 && len(n) < len(gatedNames) {
			gatedNames[len(n)] |= 1 << letterBit(n[0])
		}
	}
	return names
}

// mayBeGated reports whether name may be one of the registered names; a
// false answer is certain.
func mayBeGated(name []byte) bool {
	if len(name) == 0 || len(name) >= len(gatedNames) {
		return true
	}
	return gatedNames[len(name)]>>letterBit(name[0])&1 != 0
}

// letterBit numbers a name's first byte: its letter in either case, or
// 26.
func letterBit(c byte) uint {
	if l := uint(c|0x20) - 'a'; l < 26 {
		return l
	}
	return 26
}

// Any element's style attribute may load an image.
var _ = gated("style")
