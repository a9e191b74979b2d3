package e2e

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// statsGateway starts a gateway with the stats dashboard at
// /consent-stats behind basic_auth (marketing / s3cret-pass) and returns
// its URL. site is what the site serves besides (respond "ok" if none).
func statsGateway(t *testing.T, site ...string) string {
	t.Helper()
	hash, err := exec.Command(build(t), "hash-password", "--plaintext", "s3cret-pass").Output()
	if err != nil {
		t.Fatal(err)
	}
	rest := `respond "ok"`
	if len(site) > 0 {
		rest = site[0]
	}
	gp := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gp)
	startGateway(t, fmt.Sprintf(`http://127.0.0.1:%d {
	consent
	route /consent-stats* {
		basic_auth {
			marketing %s
		}
		consent_stats
	}
	%s
}
`, gp, strings.TrimSpace(string(hash)), rest), "", base+"/")
	return base
}

// TestStatsForMarketing: a known mix of decisions posted through the
// gateway gives exactly those numbers in JSON, CSV and the dashboard,
// which Caddy's basic_auth guards.
func TestStatsForMarketing(t *testing.T) {
	base := statsGateway(t)

	post := func(body string, n int) {
		for range n {
			if res, out := postJSON(t, base+"/_consent/consent", body, ""); res.StatusCode != 200 {
				t.Fatalf("post: %d %v", res.StatusCode, out)
			}
		}
	}
	post(`{"action":"accept-all","lang":"kk"}`, 7)
	post(`{"action":"reject-all","lang":"ru"}`, 5)
	post(`{"action":"save","categories":["analytics"],"lang":"en"}`, 3)

	fetch := func(query, user, pass string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", base+"/consent-stats"+query, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for _, c := range [][2]string{{"", ""}, {"marketing", "wrong"}, {"someone", "s3cret-pass"}} {
		for _, q := range []string{"", "?format=json", "?format=csv", "?consent=abc"} {
			if res, body := fetch(q, c[0], c[1]); res.StatusCode != 401 || strings.Contains(body, "accept_all") {
				t.Errorf("%q as %q/%q: %d, want 401", q, c[0], c[1], res.StatusCode)
			}
		}
	}

	res, body := fetch("?format=json", "marketing", "s3cret-pass")
	if res.StatusCode != 200 {
		t.Fatalf("json: %d %s", res.StatusCode, body)
	}
	var rep struct {
		Total   int `json:"total"`
		Actions struct {
			AcceptAll int `json:"accept_all"`
			RejectAll int `json:"reject_all"`
			Custom    int `json:"custom"`
			Withdraw  int `json:"withdraw"`
		} `json:"actions"`
		Categories map[string]int `json:"categories"`
		Languages  map[string]int `json:"languages"`
		Days       []struct {
			Date  string `json:"date"`
			Total int    `json:"total"`
		} `json:"days"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if rep.Total != 15 || rep.Actions.AcceptAll != 7 || rep.Actions.RejectAll != 5 || rep.Actions.Custom != 3 || rep.Actions.Withdraw != 0 ||
		rep.Categories["analytics"] != 10 || rep.Categories["marketing"] != 7 || rep.Categories["functional"] != 7 ||
		rep.Languages["kk"] != 7 || rep.Languages["ru"] != 5 || rep.Languages["en"] != 3 ||
		len(rep.Days) != 1 || rep.Days[0].Date != today || rep.Days[0].Total != 15 {
		t.Errorf("json report: %s", body)
	}

	res, body = fetch("?format=csv", "marketing", "s3cret-pass")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || res.StatusCode != 200 || len(rows) != 2 {
		t.Fatalf("csv: %d %v\n%s", res.StatusCode, err, body)
	}
	want := []string{today, "15", "7", "5", "3", "0", "7", "10", "7", "7", "5", "3", "0"}
	if strings.Join(rows[0], ",") != "date,total,accept_all,reject_all,custom,withdraw,functional,analytics,marketing,kk,ru,en,gpc" ||
		strings.Join(rows[1], ",") != strings.Join(want, ",") {
		t.Errorf("csv rows: %v", rows)
	}

	res, body = fetch("?lang=en", "marketing", "s3cret-pass")
	for _, want := range []string{"<svg", "Consent statistics", "<td>" + today + "</td><td>15</td><td>7</td><td>5</td><td>3</td><td>0</td><td>7</td><td>10</td><td>7</td>", "46.7%"} {
		if res.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("dashboard loads something external or runs script")
	}
}

// TestDashboardOnAPhone: at 390×740 the dashboard needs no sideways
// scrolling (the wide table and the charts scroll inside their panels),
// passes axe-core's WCAG 2.2 AA rules, and says what its percentages
// are shares of.
func TestDashboardOnAPhone(t *testing.T) {
	t.Parallel()
	axe, err := os.ReadFile(filepath.Join(repoRoot, "e2e", ".axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core missing (test.sh installs it): %v", err)
	}
	base := statsGateway(t)
	for range 3 {
		postJSON(t, base+"/_consent/consent", `{"action":"accept-all","lang":"kk"}`, "")
	}
	res, _ := postJSON(t, base+"/_consent/consent", `{"action":"reject-all","lang":"ru"}`, "")
	req, _ := http.NewRequest("DELETE", base+"/_consent/consent", nil)
	req.Header.Set("Cookie", cookieOf(res))
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	b := newBrowser(t, true)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("marketing:s3cret-pass"))
	b.run(chromedp.EmulateViewport(390, 740), network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Authorization": auth}))
	for _, lang := range []string{"kk", "ru", "en"} {
		b.run(chromedp.Navigate(base+"/consent-stats?lang="+lang), chromedp.WaitVisible("svg", chromedp.ByQuery))
		if !evalBool(b, `document.documentElement.scrollWidth <= 390`) {
			t.Errorf("%s: the page is %s px wide at 390", lang, evalString(b, `String(document.documentElement.scrollWidth)`))
		}
		// Three accept-all of four decisions: 75 %, the withdrawal apart.
		if !evalBool(b, `document.body.innerText.includes('75.0%') && !!document.querySelector('.def')`) {
			t.Errorf("%s: percentages not of the decisions made, or not said so", lang)
		}
		b.run(chromedp.Evaluate(string(axe), nil))
		var out string
		b.run(chromedp.Evaluate(`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']}}).then(r => JSON.stringify(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))`,
			&out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if out != "[]" {
			t.Errorf("%s: axe-core violations on the dashboard: %s", lang, out)
		}
	}
}
