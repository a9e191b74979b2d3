package banner

import (
	"bytes"
	"html/template"
	"time"

	"github.com/kelisim/kelisim/catalog"
)

// SettingsPage is what the settings page (<prefix>settings) shows a
// visitor: the way back to their choices without JavaScript, and what
// the log holds of them (policy 6.2.1).
type SettingsPage struct {
	Lang   string
	Site   string // "//host", where the forms post (as for Body)
	Host   string // the heading when no operator name is configured
	Return string // the page the visitor came from: the way back
	// FormReturn is where the page's forms send the visitor after a
	// choice (this page again, to show it); default Return.
	FormReturn string
	Granted    catalog.Set
	Decided    bool
	GPC        bool
	// History is the visitor's records, oldest first; HistoryUnavailable
	// says the store could not be read.
	History            []HistoryEntry
	HistoryUnavailable bool
	// Withdrawn is how the last withdrawal went when it did not go
	// through at once: "pending" (erased when the log is back) or
	// "failed" (the operator erases by hand).
	Withdrawn string
}

// HistoryEntry is one decision of a visitor's, as the page lists it.
type HistoryEntry struct {
	Time       time.Time
	Action     string // store action: accept-all, reject-all, custom, withdraw
	Categories []string
}

type settingsView struct {
	Lang, Heading, Return, FormReturn, Prefix, CSS, PageCSS, Script, Notice string
	T                                                                       Texts
	Banner                                                                  template.HTML
	Decided, Unavailable                                                    bool
	Current                                                                 []currentView
	History                                                                 []historyView
}

type currentView struct {
	Name string
	On   bool
}

type historyView struct {
	When, Decision, Allowed string
}

// Settings renders the settings page: the site's name, the visitor's
// current choice and history, the banner's form to change it, a form to
// withdraw and erase, and the way back — all working without JavaScript.
func (b *Banner) Settings(p SettingsPage) []byte {
	lang := b.Lang(p.Lang)
	t := b.texts[lang]
	heading := b.opts.Operator
	if heading == "" {
		heading = p.Host
	}
	if p.FormReturn == "" {
		p.FormReturn = p.Return
	}
	v := settingsView{Lang: lang, Heading: heading, Return: p.Return, FormReturn: p.FormReturn, Prefix: b.opts.Prefix, T: t,
		CSS: b.css.name, PageCSS: b.phCSS.name, Script: b.js.name,
		Banner:  template.HTML(b.Choices(lang, p.Granted, p.FormReturn, p.Site, false, p.GPC)),
		Decided: p.Decided, Unavailable: p.HistoryUnavailable}
	switch p.Withdrawn {
	case "pending":
		v.Notice = t["withdraw_pending"]
	case "failed":
		v.Notice = t["withdraw_failed"]
	}
	for _, c := range catalog.Optional {
		v.Current = append(v.Current, currentView{Name: t[string(c)], On: p.Decided && p.Granted.Has(c.Bit())})
	}
	actions := map[string]string{"accept-all": t["accept"], "reject-all": t["reject"], "custom": t["custom_choice"], "withdraw": t["withdrawn"]}
	for i := len(p.History) - 1; i >= 0; i-- { // newest first
		h := p.History[i]
		allowed := ""
		for j, c := range h.Categories {
			if j > 0 {
				allowed += ", "
			}
			allowed += t[c]
		}
		if allowed == "" {
			allowed = "—"
		}
		name := actions[h.Action]
		if name == "" {
			name = h.Action
		}
		v.History = append(v.History, historyView{When: h.Time.UTC().Format("2006-01-02 15:04 UTC"), Decision: name, Allowed: allowed})
	}
	var buf bytes.Buffer
	if err := settingsTmpl.Execute(&buf, v); err != nil {
		panic("banner: " + err.Error()) // a fixed, tested template
	}
	return buf.Bytes()
}

var settingsTmpl = template.Must(template.New("settings").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.T.reopen}} — {{.Heading}}</title>
<link rel="stylesheet" href="{{.Prefix}}{{.CSS}}"><link rel="stylesheet" href="{{.Prefix}}{{.PageCSS}}">
<script src="{{.Prefix}}{{.Script}}" data-prefix="{{.Prefix}}" data-lang="{{.Lang}}" data-settings="1"></script>
</head><body class="kl-set"><main>
<p><a href="{{.Return}}">← {{.T.back}}</a></p>
<h1>{{.Heading}}</h1>
{{if .Notice}}<p role="status"><b>{{.Notice}}</b></p>{{end}}
<section aria-labelledby="kl-s-current"><h2 id="kl-s-current">{{.T.current}}</h2>
{{if .Decided}}<ul>{{range .Current}}<li>{{.Name}}: <b>{{if .On}}{{$.T.on}}{{else}}{{$.T.off}}{{end}}</b></li>{{end}}</ul>
{{else}}<p>{{.T.undecided}}</p>{{end}}
</section>
{{.Banner}}
<section aria-labelledby="kl-s-history"><h2 id="kl-s-history">{{.T.history}}</h2>
{{if .Unavailable}}<p>{{.T.unavailable}}</p>
{{else if .History}}<div class="kl-scroll" tabindex="0" role="group" aria-labelledby="kl-s-history"><table><thead><tr><th>{{.T.when}}</th><th>{{.T.decision}}</th><th>{{.T.allowed}}</th></tr></thead><tbody>
{{range .History}}<tr><td>{{.When}}</td><td>{{.Decision}}</td><td>{{.Allowed}}</td></tr>
{{end}}</tbody></table></div>
{{else}}<p>{{.T.no_history}}</p>{{end}}
</section>
{{if or .Decided .History}}<section aria-labelledby="kl-s-withdraw"><h2 id="kl-s-withdraw">{{.T.withdraw}}</h2><p>{{.T.withdraw_desc}}</p>
<form method="post" action="{{.Prefix}}consent"><input type="hidden" name="return" value="{{.FormReturn}}"><input type="hidden" name="lang" value="{{.Lang}}">
<button class="kl-withdraw" name="action" value="withdraw">{{.T.withdraw}}</button></form></section>{{end}}
</main></body></html>
`))
