package e2e

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// statsGateway starts a gateway with the stats dashboard at
// /consent-stats behind basic_auth (marketing / s3cret-pass) and returns
// its URL.
func statsGateway(t *testing.T) string {
	t.Helper()
	hash, err := exec.Command(build(t), "hash-password", "--plaintext", "s3cret-pass").Output()
	if err != nil {
		t.Fatal(err)
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
	respond "ok"
}
`, gp, strings.TrimSpace(string(hash))), "", base+"/")
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
