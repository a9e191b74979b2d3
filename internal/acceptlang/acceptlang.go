// Package acceptlang picks, from an Accept-Language header, the language
// a visitor weights highest among those a page speaks — the one reading
// the banner and the dashboard share.
package acceptlang

import "golang.org/x/text/language"

// Pick returns the primary subtag (lower case: "kk", "ru") of the
// highest-weighted language in header for which speaks is true, or ""
// when there is none. A language weighted q=0 ("not this one") is never
// picked, a regional tag counts as its primary subtag, and a malformed
// header counts as none (golang.org/x/text/language reads it, RFC 9110
// §12.5.4).
func Pick(header string, speaks func(lang string) bool) string {
	tags, qs, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return ""
	}
	for i, tag := range tags {
		base, conf := tag.Base()
		if qs[i] > 0 && conf != language.No && speaks(base.String()) {
			return base.String()
		}
	}
	return ""
}
