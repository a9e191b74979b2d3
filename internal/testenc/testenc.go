// Package testenc encodes test bodies the way origins send them: UTF-16
// and gzip, for the tests of what the gateway reads.
package testenc

import (
	"bytes"
	"compress/gzip"
	"unicode/utf16"
)

// UTF16LE returns s in UTF-16LE, after a byte order mark when bom is set.
func UTF16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// Gzip returns b gzip-compressed.
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}
