// Package banner renders the consent banner into pages on the server (so it
// works without JavaScript), in Kazakh, Russian and English, and serves the
// small client script and stylesheet that enhance it.
package banner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"html/template"
	"strings"
	"sync"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/internal/acceptlang"
)

// Options configure a Banner.
type Options struct {
	Catalog *catalog.Catalog
	// Prefix is where the gateway's endpoints live, e.g. "/_consent/".
	Prefix string
	// Operator names the site operator in the banner text; empty means the
	// site's host name.
	Operator string
	// PolicyURL links to the privacy policy.
	PolicyURL string
	// Contact is how to reach the operator about personal data (an
	// e-mail address, a phone), shown in the banner.
	Contact string
	// DefaultLang is used when nothing else decides; "kk" if empty.
	DefaultLang string
	// Texts override built-in texts: language -> key -> text.
	Texts map[string]map[string]string
	// GoogleConsentMode: "on" or "auto" (default) makes the client script
	// set Google Consent Mode v2 defaults first in <head> and send an
	// update on every choice; "off" leaves Google's consent state alone.
	GoogleConsentMode string
	// NoReopen leaves out the floating button that reopens the choices,
	// for sites that link #consent-settings (or <prefix>settings)
	// themselves.
	NoReopen bool
	// Theme puts the banner in the site's colours and shape.
	Theme Theme
}

// Banner renders banner markup and serves its assets. Safe for concurrent
// use.
type Banner struct {
	opts   Options
	texts  map[string]Texts
	langs  []string
	js     asset
	ui     asset // the banner's actions, loaded on demand
	css    asset
	phCSS  asset             // the placeholder's
	hashes map[string]string // lang -> hash of the banner text

	cache sync.Map // renderKey -> []string (markup split at the return path)
}

// New builds a Banner: it loads the texts, applies overrides, and minifies
// and fingerprints the client assets.
func New(o Options) (*Banner, error) {
	if err := o.Theme.Check(); err != nil {
		return nil, fmt.Errorf("banner: %w", err)
	}
	if o.Prefix == "" {
		o.Prefix = "/_consent/"
	}
	if o.DefaultLang == "" {
		o.DefaultLang = "kk"
	}
	if o.PolicyURL == "" {
		o.PolicyURL = "/privacy"
	}
	switch o.GoogleConsentMode {
	case "":
		o.GoogleConsentMode = "auto"
	case "on", "off", "auto":
	default:
		return nil, fmt.Errorf("google_consent_mode %q: want on, off or auto", o.GoogleConsentMode)
	}
	texts, err := loadTexts()
	if err != nil {
		return nil, err
	}
	for lang, kv := range o.Texts {
		t, ok := texts[lang]
		if !ok {
			return nil, fmt.Errorf("texts for unknown language %q (have kk, ru, en)", lang)
		}
		for k, v := range kv {
			if _, known := t[k]; !known {
				return nil, fmt.Errorf("unknown banner text %q (known: %s)", k, strings.Join(textKeys, ", "))
			}
			t[k] = v
		}
	}
	if _, ok := texts[o.DefaultLang]; !ok {
		return nil, fmt.Errorf("default language %q has no texts (have kk, ru, en)", o.DefaultLang)
	}
	b := &Banner{opts: o, texts: texts, hashes: make(map[string]string)}
	for _, l := range []string{"kk", "ru", "en"} {
		if _, ok := texts[l]; ok {
			b.langs = append(b.langs, l)
		}
	}
	if err := b.buildAssets(); err != nil {
		return nil, err
	}
	for l, t := range texts {
		h := sha256.New()
		for _, k := range textKeys {
			fmt.Fprintf(h, "%s=%s\n", k, t[k])
		}
		b.hashes[l] = hex.EncodeToString(h.Sum(nil))[:16]
	}
	return b, nil
}

// TextHash identifies the exact banner text shown in lang; records keep it
// as proof of what the visitor read.
func (b *Banner) TextHash(lang string) string { return b.hashes[b.Lang(lang)] }

// Lang returns lang if the banner speaks it, else the default language.
func (b *Banner) Lang(lang string) string {
	if _, ok := b.texts[lang]; ok {
		return lang
	}
	return b.opts.DefaultLang
}

// PickLang chooses the language from an Accept-Language header (see
// acceptlang.Pick), else the default.
func (b *Banner) PickLang(acceptLanguage string) string {
	if l := acceptlang.Pick(acceptLanguage, func(l string) bool { _, ok := b.texts[l]; return ok }); l != "" {
		return l
	}
	return b.opts.DefaultLang
}

// Head returns the markup injected early in <head>: the stylesheet and the
// client script, with the visitor's state in data attributes.
// nonce, if the page's Content-Security-Policy has one, is put on both
// tags so the policy lets them load.
func (b *Banner) Head(granted catalog.Set, decided bool, lang, nonce string) []byte {
	var s strings.Builder
	na := ""
	if nonce != "" {
		na = ` nonce="` + html.EscapeString(nonce) + `"`
	}
	s.WriteString(`<link rel="stylesheet"` + na + ` href="`)
	s.WriteString(b.opts.Prefix + b.css.name)
	s.WriteString(`"><script` + na + ` src="`)
	s.WriteString(b.opts.Prefix + b.js.name)
	s.WriteString(`" data-prefix="`)
	s.WriteString(html.EscapeString(b.opts.Prefix))
	s.WriteString(`" data-lang="`)
	s.WriteString(lang)
	s.WriteString(`" data-granted="`)
	s.WriteString(granted.String())
	if decided {
		s.WriteString(`" data-decided="1`)
	}
	if b.opts.GoogleConsentMode != "off" {
		s.WriteString(`" data-gcm="1`)
	}
	s.WriteString(`"></script>`)
	return []byte(s.String())
}

type renderKey struct {
	kind    string
	lang    string
	granted catalog.Set
	ascii   bool
	gpc     bool
	extra   string
}

// returnMark stands for the return path in cached markup, siteMark for
// the site ("//host") the banner's links and form go to; both survive
// HTML escaping unchanged.
const (
	returnMark = "KELISIM-RETURN-PATH"
	siteMark   = "KELISIM-SITE"
)

// Body returns the banner's first layer for a visitor who has not
// decided — who, what for, the policy, and Accept all, Reject all and
// Customise — with returnPath (the page's path and query) for the
// no-JavaScript form post.
// site ("//host", or "" for paths alone) is put before the gateway's
// endpoints in links and the form: a page's <base href> on another host
// would send them there.
// With ascii set every non-ASCII character is a character reference, so
// the markup is correct in any ASCII-compatible page charset.
// With gpc, the browser sent Global Privacy Control: the banner says that
// accepting all leaves marketing off unless switched on.
func (b *Banner) Body(lang, returnPath, site string, ascii, gpc bool) []byte {
	return b.render(renderKey{kind: "banner", lang: b.Lang(lang), ascii: ascii, gpc: gpc}, returnPath, site)
}

// Choices returns the banner's second layer: a switch per category with
// its purposes and processors (country, a mark when data leaves
// Kazakhstan), retention and contact, and the three choices. The
// first layer's Customise brings it in place (with JavaScript) or leads
// to the settings page, which shows it (without); reopening shows it
// too. granted are the switches on; the other arguments are Body's.
func (b *Banner) Choices(lang string, granted catalog.Set, returnPath, site string, ascii, gpc bool) []byte {
	return b.render(renderKey{kind: "choices", lang: b.Lang(lang), granted: granted, ascii: ascii, gpc: gpc}, returnPath, site)
}

// Reopen returns the small floating button that reopens the choices for a
// visitor who has decided; site as for Body.
func (b *Banner) Reopen(lang, site string, ascii bool) []byte {
	if b.opts.NoReopen {
		return nil
	}
	return b.render(renderKey{kind: "reopen", lang: b.Lang(lang), ascii: ascii}, "", site)
}

// Placeholder returns the srcdoc attribute value (escaped) shown in place
// of a blocked iframe of processor p; site as for Body (a srcdoc
// document resolves URLs against its parent's base).
func (b *Banner) Placeholder(lang string, p *catalog.Processor, granted catalog.Set, returnPath, site string) string {
	return string(b.render(renderKey{kind: "placeholder", lang: b.Lang(lang), granted: granted, ascii: true, extra: p.ID}, returnPath, site))
}

func (b *Banner) render(k renderKey, returnPath, site string) []byte {
	parts, ok := b.cache.Load(k)
	if !ok {
		var buf bytes.Buffer
		data := b.viewData(k)
		if err := templates.ExecuteTemplate(&buf, k.kind, data); err != nil {
			panic("banner: " + err.Error()) // templates are fixed and tested
		}
		s := buf.String()
		if k.kind == "placeholder" {
			s = html.EscapeString(s)
		}
		if k.ascii {
			s = toASCII(s)
		}
		parts, _ = b.cache.LoadOrStore(k, cutMarks(s))
	}
	p := parts.(marked)
	fill := [2]string{html.EscapeString(returnPath), html.EscapeString(site)}
	for i := range fill {
		if k.kind == "placeholder" {
			fill[i] = html.EscapeString(fill[i])
		}
		if k.ascii {
			fill[i] = toASCII(fill[i])
		}
	}
	n := 0
	for i, t := range p.text {
		n += len(t)
		if i < len(p.mark) {
			n += len(fill[p.mark[i]])
		}
	}
	out := make([]byte, 0, n)
	for i, t := range p.text {
		out = append(out, t...)
		if i < len(p.mark) {
			out = append(out, fill[p.mark[i]]...)
		}
	}
	return out
}

// marked is rendered markup cut at its marks, kept per render key: text[i]
// is followed by the visitor's value for mark[i] (0: the return path, 1:
// the site), the last text by nothing.
type marked struct {
	text []string
	mark []int
}

func cutMarks(s string) marked {
	var m marked
	for {
		r, st := strings.Index(s, returnMark), strings.Index(s, siteMark)
		if r < 0 && st < 0 {
			m.text = append(m.text, s)
			return m
		}
		if st < 0 || r >= 0 && r < st {
			m.text, m.mark, s = append(m.text, s[:r]), append(m.mark, 0), s[r+len(returnMark):]
		} else {
			m.text, m.mark, s = append(m.text, s[:st]), append(m.mark, 1), s[st+len(siteMark):]
		}
	}
}

// toASCII replaces every non-ASCII character with a numeric character
// reference. Only use it on HTML text and attribute values.
func toASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "&#%d;", r)
		}
	}
	return b.String()
}

type categoryView struct {
	ID, Name, Desc string
	Checked        bool
	Processors     []processorView
}

type processorView struct {
	Name, Country, PolicyURL string
	Abroad                   bool
}

type langLink struct {
	Code, Name string
	Current    bool
}

type view struct {
	Lang, Prefix, PolicyURL, Return, CSS, Contact string
	T                                             Texts
	Body, Details                                 string
	Categories                                    []categoryView
	Langs                                         []langLink
	GPC, NoReopen                                 bool
	// Placeholder fields.
	Processor, Category, CategoryID, Blocked, Allow string
}

func (b *Banner) viewData(k renderKey) view {
	t := b.texts[k.lang]
	op := b.opts.Operator
	if op == "" {
		op = t["site"]
	}
	v := view{
		Lang: k.lang, Prefix: siteMark + b.opts.Prefix, PolicyURL: b.opts.PolicyURL, T: t,
		Body: fill(t["body"], "{operator}", op), Details: fill(t["details"], "{operator}", op), GPC: k.gpc, NoReopen: b.opts.NoReopen,
		Return: returnMark, CSS: b.phCSS.name, Contact: b.opts.Contact,
	}
	for _, l := range b.langs {
		v.Langs = append(v.Langs, langLink{Code: l, Name: b.texts[l]["name"], Current: l == k.lang})
	}
	for _, c := range catalog.Optional {
		cv := categoryView{ID: string(c), Name: t[string(c)], Desc: t[string(c)+"_desc"], Checked: k.granted.Has(c.Bit())}
		for i := range b.opts.Catalog.Processors {
			p := &b.opts.Catalog.Processors[i]
			if p.Category == c && b.opts.Catalog.Shown(i) {
				cv.Processors = append(cv.Processors, processorView{Name: p.Name, Country: p.Country, PolicyURL: p.PolicyURL, Abroad: p.CrossBorder()})
			}
		}
		v.Categories = append(v.Categories, cv)
	}
	if k.kind == "placeholder" {
		p := b.opts.Catalog.ByID(k.extra)
		cat := t[string(p.Category)]
		v.Processor, v.Category, v.CategoryID = p.Name, cat, string(p.Category)
		v.Blocked = fill(t["blocked"], "{processor}", p.Name, "{category}", cat)
		v.Allow = fill(t["allow"], "{category}", cat)
	}
	return v
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"granted": func(cs []categoryView, extra string) []string {
		var out []string
		for _, c := range cs {
			if c.Checked || c.ID == extra {
				out = append(out, c.ID)
			}
		}
		return out
	},
}).Parse(`
{{- define "banner" -}}
<div data-consent-banner class="kl" lang="{{.Lang}}"{{if not .NoReopen}} data-reopen="{{.T.reopen}}"{{end}} role="dialog" aria-labelledby="kl-title" aria-describedby="kl-text">
{{template "top" .}}
<p id="kl-text">{{.Body}} <a href="{{.PolicyURL}}">{{.T.policy}}</a></p>
{{- if .GPC}}<p class="kl-gpc">{{.T.gpc}}</p>{{end}}
<div class="kl-btns">
<button name="action" value="accept-all" data-consent-action="accept-all">{{.T.accept}}</button>
<button name="action" value="reject-all" data-consent-action="reject-all">{{.T.reject}}</button>
<button class="kl-alt" name="action" value="customize" data-consent-action="customize">{{.T.customize}}</button>
{{template "langs" .}}
</div><i class="kl-end"></i>
</form>
</div>
{{- end -}}

{{- define "top" -}}
<form method="post" action="{{.Prefix}}consent">
<input type="hidden" name="return" value="{{.Return}}"><input type="hidden" name="lang" value="{{.Lang}}">
<h2 id="kl-title">{{.T.title}}</h2>
{{- end -}}

{{- define "langs" -}}
<nav class="kl-langs" aria-label="{{.T.language}}">{{range .Langs}}<button name="action" value="lang-{{.Code}}" lang="{{.Code}}"{{if .Current}} aria-current="true"{{end}}>{{.Code}}</button>{{end}}</nav>
{{- end -}}

{{- define "choices" -}}
<div data-consent-banner class="kl" lang="{{.Lang}}"{{if not .NoReopen}} data-reopen="{{.T.reopen}}"{{end}} data-close="{{.T.close}}" role="dialog" aria-labelledby="kl-title" aria-describedby="kl-text">
{{template "top" .}}
<p id="kl-text">{{.Details}} {{.T.kept}} <a href="{{.PolicyURL}}">{{.T.policy}}</a>{{if .Contact}} · {{.T.contact}}: {{.Contact}}{{end}}</p>
{{- if .GPC}}<p class="kl-gpc">{{.T.gpc}}</p>{{end}}
<fieldset><legend>{{.T.customize}}</legend>
<div class="kl-cat"><label for="kl-c-necessary">{{.T.necessary}}</label><input type="checkbox" role="switch" id="kl-c-necessary" checked disabled aria-describedby="kl-d-necessary"><small id="kl-d-necessary">{{.T.necessary_desc}}</small></div>
{{- range .Categories}}
<div class="kl-cat"><label for="kl-c-{{.ID}}">{{.Name}}</label><input type="checkbox" role="switch" id="kl-c-{{.ID}}" name="category" value="{{.ID}}"{{if .Checked}} checked{{end}} aria-describedby="kl-d-{{.ID}}"><small id="kl-d-{{.ID}}">{{.Desc}}
{{- if .Processors}} {{$.T.processors}}: {{range $i, $p := .Processors}}{{if $i}}, {{end}}{{$p.Name}} ({{$p.Country}}{{if $p.Abroad}}*{{end}}){{end}}.{{end -}}
</small></div>
{{- end}}
</fieldset>
<p class="kl-note">* {{.T.abroad}}</p>
<div class="kl-btns">
<button name="action" value="accept-all" data-consent-action="accept-all">{{.T.accept}}</button>
<button name="action" value="reject-all" data-consent-action="reject-all">{{.T.reject}}</button>
<button class="kl-save" name="action" value="save" data-consent-action="save">{{.T.save}}</button>
{{template "langs" .}}
</div><i class="kl-end"></i>
</form>
</div>
{{- end -}}

{{- define "reopen" -}}
<a class="kl-reopen" href="{{.Prefix}}settings" data-consent-reopen aria-label="{{.T.reopen}}" title="{{.T.reopen}}" lang="{{.Lang}}"></a>
{{- end -}}

{{- define "placeholder" -}}
<!doctype html><html lang="{{.Lang}}" class="kl-ph"><meta charset="utf-8"><link rel="stylesheet" href="{{.Prefix}}{{.CSS}}">
<form method="post" action="{{.Prefix}}consent" target="_top"><input type="hidden" name="return" value="{{.Return}}"><input type="hidden" name="lang" value="{{.Lang}}">{{range granted .Categories .CategoryID}}<input type="hidden" name="category" value="{{.}}">{{end}}
<p>{{.Blocked}}</p><button type="button" data-consent-load-once>{{.T.load_once}}</button><button type="submit" name="action" value="save">{{.Allow}}</button></form></html>
{{- end -}}
`))
