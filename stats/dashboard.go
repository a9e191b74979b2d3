package stats

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kelisim/kelisim/internal/acceptlang"
)

// The dashboard is one server-rendered page: no script, no external
// asset, charts drawn as inline SVG — readable anywhere, printable.

var uiText = map[string]map[string]string{
	"kk": {"title": "Келісім статистикасы", "from": "Басы", "to": "Соңы", "show": "Көрсету", "total": "Шешімдер",
		"accept_all": "Барлығына келісті", "reject_all": "Барлығынан бас тартты", "custom": "Өзі таңдады", "withdraw": "Кері қайтарып алды",
		"optin": "Санат бойынша келісім үлесі", "mix": "Күн сайынғы шешімдер", "langs": "Баннер тілдері", "gpc": "GPC сигналы",
		"functional": "Функционалдық", "analytics": "Талдау", "marketing": "Маркетинг", "date": "Күні", "days": "Күндер бойынша",
		"export": "Жүктеп алу", "none": "Бұл кезеңде шешімдер жоқ.",
		"third": "Көрген үшінші тараптар", "third_def": "Шлюз іске қосылғаннан бері Content-Security-Policy хабарлаған хосттар. Каталогтағы өңдеуші келісім жоқ жерде әдейі бұғатталады; басқа хостты рұқсат етіңіз (csp allow) немесе өңдеуші ретінде жариялаңыз (processor).", "host": "Хост", "directive": "Директива", "processor": "Өңдеуші", "count": "Саны", "first": "Алғаш", "last": "Соңғы рет", "page": "Бет", "unknown": "белгісіз: рұқсат етіңіз немесе жариялаңыз", "no_reports": "Әзірге хабарлама жоқ.",
		"def": "Пайыздар — баннердегі шешімдердің үлесі (барлығына келісу, барлығынан бас тарту, өз таңдауы); кері қайтарып алулар бөлек саналады."},
	"ru": {"title": "Статистика согласий", "from": "С", "to": "По", "show": "Показать", "total": "Решений",
		"accept_all": "Приняли все", "reject_all": "Отклонили все", "custom": "Выбрали сами", "withdraw": "Отозвали",
		"optin": "Доля согласий по категориям", "mix": "Решения по дням", "langs": "Языки баннера", "gpc": "Сигнал GPC",
		"functional": "Функциональные", "analytics": "Аналитика", "marketing": "Маркетинг", "date": "Дата", "days": "По дням",
		"export": "Выгрузить", "none": "За этот период решений нет.",
		"third": "Замеченные третьи стороны", "third_def": "Хосты, о которых сообщила Content-Security-Policy с запуска шлюза. Обработчик из каталога заблокирован намеренно там, где нет согласия; любой другой хост разрешите (csp allow) или объявите обработчиком (processor).", "host": "Хост", "directive": "Директива", "processor": "Обработчик", "count": "Раз", "first": "Впервые", "last": "Последний раз", "page": "Страница", "unknown": "неизвестен: разрешите или объявите", "no_reports": "Сообщений пока нет.",
		"def": "Проценты — доля решений, принятых в баннере (принять все, отклонить все, свой выбор); отзывы согласия считаются отдельно."},
	"en": {"title": "Consent statistics", "from": "From", "to": "To", "show": "Show", "total": "Decisions",
		"accept_all": "Accepted all", "reject_all": "Rejected all", "custom": "Chose themselves", "withdraw": "Withdrew",
		"optin": "Opt-in rate by category", "mix": "Decisions per day", "langs": "Banner languages", "gpc": "GPC signal",
		"functional": "Functional", "analytics": "Analytics", "marketing": "Marketing", "date": "Date", "days": "Per day",
		"export": "Export", "none": "No decisions in this period.",
		"third": "Third parties seen", "third_def": "Hosts the Content-Security-Policy reported since the gateway started. A catalog processor is blocked as intended where visitors did not consent; any other host is yours to allow (csp allow) or declare as a processor (processor).", "host": "Host", "directive": "Directive", "processor": "Processor", "count": "Count", "first": "First seen", "last": "Last seen", "page": "Page", "unknown": "unknown: allow it or declare it", "no_reports": "No reports yet.",
		"def": "Percentages are shares of the decisions made on the banner (accept all, reject all, a choice of one's own); withdrawals are counted apart."},
}

func uiLang(q, acceptLanguage string) string {
	if _, ok := uiText[q]; ok {
		return q
	}
	if l := acceptlang.Pick(acceptLanguage, func(l string) bool { _, ok := uiText[l]; return ok }); l != "" {
		return l
	}
	return "kk"
}

var catColor = map[string]string{"functional": "#1b7f3b", "analytics": "#0b57d0", "marketing": "#b3261e"}

// catDash tells the categories' lines apart where they run together: two
// categories at the same rate would otherwise draw one line.
var catDash = map[string]string{"functional": "", "analytics": "7 4", "marketing": "2 3"}
var actColor = map[string]string{"accept_all": "#1b7f3b", "custom": "#0b57d0", "reject_all": "#6b6b6b", "withdraw": "#b3261e"}

type card struct{ Label, Value, Note string }

type legend struct{ Label, Color, Dash string }

type dashboard struct {
	Lang, From, To string
	T              map[string]string
	Cards          []card
	OptIn, Mix     template.HTML
	Langs          template.HTML
	OptInLegend    []legend
	MixLegend      []legend
	Rows           []DayReport
	Empty          bool
	ThirdParties   []thirdParty
}

type thirdParty struct {
	Host, Directive, Processor, Page, First, Last string
	Count                                         int64
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

func renderDashboard(w io.Writer, rep Report, lang string) {
	t := uiText[lang]
	n := rep.Decisions()
	d := dashboard{Lang: lang, From: rep.From, To: rep.To, T: t, Rows: rep.Days, Empty: rep.Total == 0}
	d.Cards = []card{
		{t["total"], fmt.Sprint(n), rep.From + " – " + rep.To},
		{t["accept_all"], pct(rep.Actions.AcceptAll, n), fmt.Sprint(rep.Actions.AcceptAll)},
		{t["reject_all"], pct(rep.Actions.RejectAll, n), fmt.Sprint(rep.Actions.RejectAll)},
		{t["custom"], pct(rep.Actions.Custom, n), fmt.Sprint(rep.Actions.Custom)},
		{t["withdraw"], fmt.Sprint(rep.Actions.Withdraw), ""},
		{t["gpc"], pct(rep.GPC, n), fmt.Sprint(rep.GPC)},
	}
	for _, c := range categories {
		d.Cards = append(d.Cards, card{t[c], pct(rep.Categories[c], n), fmt.Sprint(rep.Categories[c])})
		d.OptInLegend = append(d.OptInLegend, legend{t[c], catColor[c], catDash[c]})
	}
	for _, a := range []string{"accept_all", "custom", "reject_all", "withdraw"} {
		d.MixLegend = append(d.MixLegend, legend{t[a], actColor[a], ""})
	}
	days := fullRange(rep)
	d.OptIn = optInChart(days, t["optin"])
	d.Mix = mixChart(days, t["mix"])
	d.Langs = langChart(rep.Languages, n, t["langs"])
	for _, e := range rep.ThirdParties {
		p := e.Processor
		if p == "" {
			p = t["unknown"]
		}
		d.ThirdParties = append(d.ThirdParties, thirdParty{Host: e.Host, Directive: e.Directive, Processor: p, Page: e.Page,
			First: e.First.UTC().Format("2006-01-02 15:04"), Last: e.Last.UTC().Format("2006-01-02 15:04"), Count: e.Count})
	}
	if err := dashboardTmpl.Execute(w, d); err != nil {
		fmt.Fprintf(w, "<!-- render error: %s -->", template.HTMLEscapeString(err.Error()))
	}
}

// fullRange lists every day of the report's range, with empty days filled
// in, so the time axis is true.
func fullRange(rep Report) []DayReport {
	byDate := make(map[string]DayReport, len(rep.Days))
	for _, d := range rep.Days {
		byDate[d.Date] = d
	}
	from, err1 := time.Parse(time.DateOnly, rep.From)
	to, err2 := time.Parse(time.DateOnly, rep.To)
	if err1 != nil || err2 != nil {
		return rep.Days
	}
	var out []DayReport
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		k := day.Format(time.DateOnly)
		if d, ok := byDate[k]; ok {
			out = append(out, d)
		} else {
			out = append(out, DayReport{Date: k})
		}
	}
	return out
}

const (
	chartW, chartH         = 720.0, 220.0
	padL, padR, padT, padB = 44.0, 50.0, 12.0, 28.0
)

func xAt(i, n int) float64 {
	if n <= 1 {
		return padL + (chartW-padL-padR)/2
	}
	return padL + float64(i)*(chartW-padL-padR)/float64(n-1)
}

func axes(b *strings.Builder, days []DayReport, yLabels []string) {
	plotH := chartH - padT - padB
	for i, l := range yLabels {
		y := padT + plotH - float64(i)*plotH/float64(len(yLabels)-1)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d9d9d9"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="11" fill="#4a4a4a">%s</text>`, padL-6, y+4, template.HTMLEscapeString(l))
	}
	n := len(days)
	step := max(1, n/6)
	for i := 0; i < n; i += step {
		if i > 0 && (n-1-i)*3 < step*2 {
			continue // too close to the last day, which is always labelled
		}
		dateLabel(b, i, n, days[i].Date)
	}
	if n > 1 && (n-1)%step != 0 {
		dateLabel(b, n-1, n, days[n-1].Date)
	}
}

// dateLabel writes day i's date under the axis; the first and the last
// are anchored inside the chart, so no label is cut off at its edges.
func dateLabel(b *strings.Builder, i, n int, date string) {
	anchor := "middle"
	switch {
	case n > 1 && i == 0:
		anchor = "start"
	case n > 1 && i == n-1:
		anchor = "end"
	}
	if len(date) > 5 {
		date = date[5:]
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="11" fill="#4a4a4a">%s</text>`, xAt(i, n), chartH-8, anchor, template.HTMLEscapeString(date))
}

func optInChart(days []DayReport, title string) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="c-optin"><title id="c-optin">%s</title>`, chartW, chartH, template.HTMLEscapeString(title))
	axes(&b, days, []string{"0%", "25%", "50%", "75%", "100%"})
	plotH := chartH - padT - padB
	// Each line ends in a label with its last rate, moved apart where two
	// would meet; markers differ by category too.
	type end struct {
		c    string
		y    float64
		rate string
	}
	var ends []end
	for k, c := range categories {
		var pts []string
		var last end
		for i, d := range days {
			n := d.Decisions()
			if n == 0 {
				continue
			}
			y := padT + plotH - plotH*float64(d.Categories[c])/float64(n)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i, len(days)), y))
			last = end{c, y, pct(d.Categories[c], n)}
		}
		switch {
		case len(pts) == 1:
			x, y, _ := strings.Cut(pts[0], ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%d" fill="%s"/>`, x, y, 5-k, catColor[c])
		case len(pts) > 1:
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s" points="%s"/>`, catColor[c], catDash[c], strings.Join(pts, " "))
		}
		if len(pts) > 0 {
			ends = append(ends, last)
		}
	}
	slices.SortFunc(ends, func(a, b end) int { return cmp.Compare(a.y, b.y) })
	for i := range ends {
		if i > 0 && ends[i].y < ends[i-1].y+13 {
			ends[i].y = ends[i-1].y + 13
		}
	}
	for _, e := range ends {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="%s">%s</text>`, chartW-padR+8, e.y+4, catColor[e.c], e.rate)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func mixChart(days []DayReport, title string) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="c-mix"><title id="c-mix">%s</title>`, chartW, chartH, template.HTMLEscapeString(title))
	peak := 1
	for _, d := range days {
		peak = max(peak, d.Total)
	}
	axes(&b, days, []string{"0", fmt.Sprint((peak + 1) / 2), fmt.Sprint(peak)})
	plotH := chartH - padT - padB
	bw := max(1.0, (chartW-padL-padR)/float64(max(1, len(days)))*0.7)
	for i, d := range days {
		y := padT + plotH
		for _, a := range []struct {
			key string
			n   int
		}{{"accept_all", d.Actions.AcceptAll}, {"custom", d.Actions.Custom}, {"reject_all", d.Actions.RejectAll}, {"withdraw", d.Actions.Withdraw}} {
			if a.n == 0 {
				continue
			}
			h := plotH * float64(a.n) / float64(peak)
			y -= h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
				xAt(i, len(days))-bw/2, y, bw, h, actColor[a.key], d.Date, a.key, a.n)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func langChart(langs map[string]int, total int, title string) template.HTML {
	var b strings.Builder
	const w, rowH = 360.0, 26.0
	names := []string{"kk", "ru", "en"}
	for l := range langs {
		if l != "kk" && l != "ru" && l != "en" {
			names = append(names, l)
		}
	}
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="c-lang" style="max-width:480px"><title id="c-lang">%s</title>`, w, rowH*float64(len(names))+4, template.HTMLEscapeString(title))
	for i, l := range names {
		n := langs[l]
		bar := 0.0
		if total > 0 {
			bar = (w - 130) * float64(n) / float64(total)
		}
		y := float64(i)*rowH + 4
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="13" fill="#1a1a1a">%s</text>`, y+14, template.HTMLEscapeString(l))
		fmt.Fprintf(&b, `<rect x="32" y="%.1f" width="%.1f" height="16" fill="#0b57d0"/>`, y+2, bar)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#1a1a1a">%d (%s)</text>`, 38+bar, y+14, n, pct(n, total))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var dashboardTmpl = template.Must(template.New("dash").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.T.title}} {{.From}} – {{.To}}</title>
<style>
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;background:#f5f6f8}
main{max-width:1100px;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:0 0 .5rem}
form{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin-bottom:1.25rem}
label{display:flex;flex-direction:column;font-size:.85rem}input,button{font:inherit;padding:.35rem .5rem}
button{background:#0b57d0;color:#fff;border:0;border-radius:.35rem;padding:.45rem 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(10.5rem,1fr));gap:.75rem;margin-bottom:1.25rem}
.card,.panel{background:#fff;border:1px solid #d9d9d9;border-radius:.5rem;padding:.75rem 1rem}
.card b{display:block;font-size:1.5rem}.card small{color:#4a4a4a}
.panels{display:grid;grid-template-columns:minmax(0,1fr);gap:1rem}
.legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.85rem;margin:.25rem 0}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
svg{width:100%;height:auto}svg.key{width:1.5rem;height:.5rem;margin-right:.3rem}
.scroll{overflow-x:auto}.scroll:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}.scroll>svg{min-width:34rem}.def{font-size:.85rem;color:#4a4a4a}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:#fff}
th,td{border:1px solid #d9d9d9;padding:.25rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
.third td,.third th{text-align:left}
a{color:#0b57d0}@media print{form,.export{display:none}body{background:#fff}}
</style></head><body><main>
<h1>{{.T.title}}</h1>
<form method="get"><input type="hidden" name="lang" value="{{.Lang}}">
<label>{{.T.from}}<input type="date" name="from" value="{{.From}}"></label>
<label>{{.T.to}}<input type="date" name="to" value="{{.To}}"></label>
<button type="submit">{{.T.show}}</button>
<span class="export">{{.T.export}}: <a href="?format=csv&amp;from={{.From}}&amp;to={{.To}}">CSV</a> · <a href="?format=json&amp;from={{.From}}&amp;to={{.To}}">JSON</a></span>
</form>
{{if .Empty}}<p>{{.T.none}}</p>{{end}}
<section class="cards">{{range .Cards}}<div class="card"><small>{{.Label}}</small><b>{{.Value}}</b><small>{{.Note}}</small></div>{{end}}</section>
<section class="panels">
<div class="panel"><h2>{{.T.optin}}</h2><div class="legend">{{range .OptInLegend}}<span><svg class="key" viewBox="0 0 24 8" aria-hidden="true"><line x1="0" y1="4" x2="24" y2="4" stroke="{{.Color}}" stroke-width="2.5" stroke-dasharray="{{.Dash}}"/></svg>{{.Label}}</span>{{end}}</div><div class="scroll" tabindex="0" role="group" aria-label="{{.T.optin}}">{{.OptIn}}</div></div>
<div class="panel"><h2>{{.T.mix}}</h2><div class="legend">{{range .MixLegend}}<span><i style="background:{{.Color}}"></i>{{.Label}}</span>{{end}}</div><div class="scroll" tabindex="0" role="group" aria-label="{{.T.mix}}">{{.Mix}}</div></div>
<div class="panel"><h2>{{.T.langs}}</h2>{{.Langs}}</div>
<div class="panel"><h2>{{.T.days}}</h2><div class="scroll" tabindex="0" role="group" aria-label="{{.T.days}}"><table><thead><tr><th>{{.T.date}}</th><th>{{.T.total}}</th><th>{{.T.accept_all}}</th><th>{{.T.reject_all}}</th><th>{{.T.custom}}</th><th>{{.T.withdraw}}</th><th>{{.T.functional}}</th><th>{{.T.analytics}}</th><th>{{.T.marketing}}</th><th>GPC</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Date}}</td><td>{{.Decisions}}</td><td>{{.Actions.AcceptAll}}</td><td>{{.Actions.RejectAll}}</td><td>{{.Actions.Custom}}</td><td>{{.Actions.Withdraw}}</td><td>{{index .Categories "functional"}}</td><td>{{index .Categories "analytics"}}</td><td>{{index .Categories "marketing"}}</td><td>{{.GPC}}</td></tr>
{{end}}</tbody></table></div></div>
<div class="panel"><h2 id="third">{{.T.third}}</h2><p class="def">{{.T.third_def}}</p>
{{if .ThirdParties}}<div class="scroll" tabindex="0" role="group" aria-labelledby="third"><table class="third"><thead><tr><th>{{.T.host}}</th><th>{{.T.processor}}</th><th>{{.T.directive}}</th><th>{{.T.count}}</th><th>{{.T.first}}</th><th>{{.T.last}}</th><th>{{.T.page}}</th></tr></thead><tbody>
{{range .ThirdParties}}<tr><td>{{.Host}}</td><td>{{.Processor}}</td><td>{{.Directive}}</td><td>{{.Count}}</td><td>{{.First}}</td><td>{{.Last}}</td><td>{{.Page}}</td></tr>
{{end}}</tbody></table></div>{{else}}<p>{{.T.no_reports}}</p>{{end}}</div>
</section>
<p class="def">{{.T.def}}</p></main></body></html>
`))
