package consent

import (
	"strings"
	"testing"
	"time"

	"github.com/kelisim/kelisim/catalog"
)

func TestCookieRoundTripAndTamper(t *testing.T) {
	c, err := NewCodec([]byte("a secret of enough length"))
	if err != nil {
		t.Fatal(err)
	}
	st := State{ID: NewID(), Granted: catalog.SetOf(catalog.Analytics, catalog.Marketing), Issued: time.Unix(1790000000, 0),
		Policy: PolicyHash("v1"), Lists: "abcd1234", GPC: true}
	v := c.Encode(st)
	got, err := c.Decode(v)
	if err != nil || got != st {
		t.Fatalf("round trip: %+v %v, want %+v", got, err, st)
	}
	if strings.ContainsAny(v, " ;,\"\\") {
		t.Errorf("cookie value %q needs quoting", v)
	}
	for name, bad := range map[string]string{
		"flipped grant":  strings.Replace(v, ".14.", ".15.", 1),
		"other id":       strings.Replace(v, st.ID[:4], "ffff", 1),
		"truncated sig":  v[:len(v)-1],
		"empty":          "",
		"no signature":   v[:strings.LastIndexByte(v, '.')],
		"huge":           strings.Repeat("a", 5000),
		"other secret":   mustCodec(t, "another secret of enough length").Encode(st),
		"future version": "2" + v[1:],
	} {
		if _, err := c.Decode(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func mustCodec(t *testing.T, s string) *Codec {
	c, err := NewCodec([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRules(t *testing.T) {
	cat, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := Rules{PolicyHash: PolicyHash("v2"), Catalog: cat}
	now := time.Now()
	defer func(f func() time.Time) { Now = f }(Now)
	Now = func() time.Time { return now }
	ok := State{Granted: catalog.All, Issued: now.Add(-24 * time.Hour), Policy: PolicyHash("v2"), Lists: cat.ListsHash(catalog.All)}
	for name, c := range map[string]struct {
		mod  func(*State)
		want bool
	}{
		"current":            {func(*State) {}, true},
		"old policy":         {func(s *State) { s.Policy = PolicyHash("v1") }, false},
		"list changed":       {func(s *State) { s.Lists = "00000000" }, false},
		"14 months":          {func(s *State) { s.Issued = now.Add(-14 * 30 * 24 * time.Hour) }, false},
		"refusal 5 months":   {func(s *State) { s.Granted = 0; s.Lists = cat.ListsHash(0); s.Issued = now.Add(-150 * 24 * time.Hour) }, true},
		"refusal 7 months":   {func(s *State) { s.Granted = 0; s.Lists = cat.ListsHash(0); s.Issued = now.Add(-210 * 24 * time.Hour) }, false},
		"issued in a future": {func(s *State) { s.Issued = now.Add(48 * time.Hour) }, false},
	} {
		s := ok
		c.mod(&s)
		if got := r.Current(s); got != c.want {
			t.Errorf("%s: Current = %v, want %v", name, got, c.want)
		}
	}
}
