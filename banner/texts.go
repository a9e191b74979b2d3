package banner

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

//go:embed texts/*.json
var textFS embed.FS

// Texts are the banner's words in one language. Operators may override any
// of them per language; they are always HTML-escaped when rendered.
type Texts map[string]string

// textKeys are the keys every language must define.
var textKeys = []string{"name", "title", "body", "details", "policy", "site", "accept", "reject", "customize", "save",
	"necessary", "necessary_desc", "functional", "functional_desc", "analytics", "analytics_desc",
	"marketing", "marketing_desc", "processors", "abroad", "blocked", "load_once", "allow", "reopen", "close",
	"kept", "gpc", "language", "contact",
	// The settings page's.
	"back", "current", "undecided", "on", "off", "history", "no_history", "unavailable", "withdraw", "withdraw_desc",
	"custom_choice", "withdrawn", "when", "decision", "allowed", "withdraw_pending", "withdraw_failed"}

// TextKeys lists the keys a text override may name.
func TextKeys() []string { return append([]string(nil), textKeys...) }

func loadTexts() (map[string]Texts, error) {
	ents, err := textFS.ReadDir("texts")
	if err != nil {
		return nil, err
	}
	out := make(map[string]Texts)
	for _, e := range ents {
		raw, err := textFS.ReadFile(path.Join("texts", e.Name()))
		if err != nil {
			return nil, err
		}
		var t Texts
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("banner texts %s: %w", e.Name(), err)
		}
		for _, k := range textKeys {
			if t[k] == "" {
				return nil, fmt.Errorf("banner texts %s: missing %q", e.Name(), k)
			}
		}
		out[strings.TrimSuffix(e.Name(), ".json")] = t
	}
	return out, nil
}

// Languages lists the languages with built-in texts.
func Languages() []string {
	t, _ := loadTexts()
	out := make([]string, 0, len(t))
	for l := range t {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// fill replaces {name} placeholders in s.
func fill(s string, kv ...string) string {
	return strings.NewReplacer(kv...).Replace(s)
}
