package consent

import (
	"time"

	"github.com/kelisim/kelisim/catalog"
)

// How long decisions hold before the visitor is asked again (EDPB/CNIL
// practice): a consent at most 13 months, a refusal 6 months.
const (
	ConsentLifetime = 395 * 24 * time.Hour
	RefusalLifetime = 183 * 24 * time.Hour
)

// Now is the clock; tests replace it.
var Now = time.Now

// Rules decide whether a decoded state still counts.
type Rules struct {
	PolicyHash string
	Catalog    *catalog.Catalog
}

// Current reports whether s is a decision that still holds: made under the
// current policy version, for the current processor lists of the
// categories it grants, and not older than its lifetime. A state that does
// not hold counts as no consent and the banner asks again.
func (r Rules) Current(s State) bool {
	if s.Policy != r.PolicyHash {
		return false
	}
	if s.Lists != r.Catalog.ListsHash(s.Granted) {
		return false
	}
	age := Now().Sub(s.Issued)
	if age < -time.Hour { // issued in the future: a forged or skewed clock
		return false
	}
	if s.Granted == 0 {
		return age <= RefusalLifetime
	}
	return age <= ConsentLifetime
}

// MaxAge is the cookie lifetime for s.
func MaxAge(s State) time.Duration {
	if s.Granted == 0 {
		return RefusalLifetime
	}
	return ConsentLifetime
}
