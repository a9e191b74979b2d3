package catalog

// Suggest returns the id in ids closest to a mistyped one — within a few
// edits, as in `yandex-metrika` for `yandex-metrica` — or "" when none
// is close enough to be worth saying.
func Suggest(id string, ids []string) string {
	best, bestDist := "", max(1, min(3, len(id)/4))+1
	for _, c := range ids {
		if d := editDistance(id, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b
// in bytes (ids are ASCII): insertions, deletions, substitutions and
// swaps of neighbours (`pixle` for `pixel`) cost one each.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// DidYouMean is Suggest phrased for an error message: " (did you mean
// x?)", or "".
func DidYouMean(id string, ids []string) string {
	if s := Suggest(id, ids); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}
