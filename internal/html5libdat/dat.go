// Package html5libdat reads the tree-construction files of the
// html5lib-tests suite (rewrite/testdata/html5lib-tests), for the tests
// that hold the rewriter to it.
package html5libdat

import "bytes"

// Inputs returns the #data sections of a tree-construction .dat file.
func Inputs(b []byte) [][]byte {
	var out [][]byte
	for _, sec := range bytes.Split(b, []byte("\n\n#data\n")) {
		sec = bytes.TrimPrefix(sec, []byte("#data\n"))
		end := bytes.Index(sec, []byte("\n#errors"))
		if end < 0 {
			continue
		}
		out = append(out, sec[:end])
	}
	return out
}
