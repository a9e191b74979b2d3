package fetching

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestTableIsConsistent: names in lower case and unique, each Srcset
// attribute among the element's Attrs, a known kind, and an attribute name
// either a srcset list on every element that fetches through it or on none
// (the client script knows srcset attributes by name alone).
func TestTableIsConsistent(t *testing.T) {
	kinds := map[string]bool{"script": true, "frame": true, "pixel": true, "link": true, "media": true}
	names := map[string]bool{}
	srcset := map[string]bool{}
	for _, e := range Elements {
		if e.Name == "" || e.Name != strings.ToLower(e.Name) || names[e.Name] {
			t.Errorf("element name %q: empty, not lower case or repeated", e.Name)
		}
		names[e.Name] = true
		if !kinds[e.Kind] {
			t.Errorf("%s: kind %q", e.Name, e.Kind)
		}
		if Lookup(e.Name) == nil || Lookup(e.Name).Name != e.Name {
			t.Errorf("Lookup(%q) does not find it", e.Name)
		}
		attrs := map[string]bool{}
		for _, a := range e.Attrs {
			if a == "" || a != strings.ToLower(a) || attrs[a] {
				t.Errorf("%s: attribute %q empty, not lower case or repeated", e.Name, a)
			}
			attrs[a] = true
		}
		seen := map[string]bool{}
		for _, a := range e.Srcset {
			if !attrs[a] || seen[a] {
				t.Errorf("%s: srcset attribute %q not in Attrs, or repeated", e.Name, a)
			}
			seen[a] = true
			srcset[a] = true
		}
	}
	for _, e := range Elements {
		for _, a := range e.Attrs {
			if srcset[a] != e.IsSrcset(a) {
				t.Errorf("%s: %q is a srcset list on one element and not on another", e.Name, a)
			}
		}
	}
	if Lookup("IMG") != nil || Lookup("div") != nil {
		t.Error("Lookup finds what is not in the table")
	}
	rels := map[string]bool{}
	for _, r := range append(append([]string{}, FetchRels...), ConnectRels...) {
		if r != strings.ToLower(r) || rels[r] {
			t.Errorf("link relation %q not lower case or repeated", r)
		}
		rels[r] = true
	}
}

// TestJS: the client's forms of the table are valid (JSON, here, once the
// keys are quoted), hold every element, upper-cased, with its URL
// attributes less the lazy-loading data- ones, and Moved has each of those
// once, and a script's type.
func TestJS(t *testing.T) {
	js := JS()
	quoted := regexp.MustCompile(`([{,])([A-Z]+):\[`).ReplaceAllString(js, `$1"$2":[`)
	var table map[string][]string
	if err := json.Unmarshal([]byte(quoted), &table); err != nil {
		t.Fatalf("JS() = %s: %v", js, err)
	}
	if len(table) != len(Elements) {
		t.Errorf("JS() has %d elements, the table %d", len(table), len(Elements))
	}
	if !strings.Contains(js, `IMAGE:["src"`) || !strings.Contains(js, `IMG:["src","srcset"]`) {
		t.Errorf("JS() = %s", js)
	}
	moved := map[string]bool{}
	for _, a := range Moved() {
		if moved[a] {
			t.Errorf("Moved() repeats %q", a)
		}
		moved[a] = true
	}
	if !moved["type"] {
		t.Error("Moved() lacks a script's type")
	}
	for _, e := range Elements {
		var want []string
		for _, a := range e.Attrs {
			if !strings.HasPrefix(a, "data-") {
				want = append(want, a)
				if !moved[a] {
					t.Errorf("Moved() lacks %s's %q", e.Name, a)
				}
			}
		}
		if got := table[strings.ToUpper(e.Name)]; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("JS() gives %s %q, want %q", e.Name, got, want)
		}
	}
	var ss []string
	if err := json.Unmarshal([]byte(JSSrcset()), &ss); err != nil {
		t.Fatalf("JSSrcset() = %s: %v", JSSrcset(), err)
	}
	if strings.Join(ss, " ") != "srcset imagesrcset" {
		t.Errorf("JSSrcset() = %q", ss)
	}
}
