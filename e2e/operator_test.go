package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// snapshot maps every file under dir to its mode, size, modification
// time and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(path)
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		out[path] = fmt.Sprintf("%v %d %d %s", fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), sum)
		return nil
	})
	return out
}

func sameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, v := range after {
		if before[p] != v {
			t.Errorf("%s: %s changed or appeared: %q -> %q", what, p, before[p], v)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s: %s disappeared", what, p)
		}
	}
}

func validate(t *testing.T, config, dataDir string) {
	t.Helper()
	cmd := exec.Command(build(t), "validate", "--config", config)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dataDir, "XDG_CONFIG_HOME="+dataDir, "HOME="+dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
}

// TestValidateChangesNothing: `kelisim validate` leaves the data
// directory byte for byte as it was — empty, or beside a running gateway
// holding records — and opens no connection to a Valkey store.
func TestValidateChangesNothing(t *testing.T) {
	gp := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gp)
	cf := fmt.Sprintf("http://127.0.0.1:%d {\n\tconsent\n\trespond \"ok\"\n}\n", gp)

	t.Run("empty data directory", func(t *testing.T) {
		data := t.TempDir()
		config := filepath.Join(t.TempDir(), "Caddyfile")
		os.WriteFile(config, []byte(cf), 0o644)
		before := snapshot(t, data)
		validate(t, config, data)
		sameSnapshot(t, "validate", before, snapshot(t, data))
	})

	t.Run("beside a running gateway", func(t *testing.T) {
		data := t.TempDir()
		g := startGateway(t, cf, data, base+"/")
		ps := postMany(t, base, 8, nil)
		time.Sleep(200 * time.Millisecond)
		before := snapshot(t, data)
		if len(before) < 4 {
			t.Fatalf("the gateway kept nothing in its data directory: %v", before)
		}
		validate(t, g.config, data)
		sameSnapshot(t, "validate", before, snapshot(t, data))
		ps = append(ps, postMany(t, base, 8, nil)...)
		checkAllStored(t, base, ps, 16)
		if g.grepLogs("spool") {
			t.Errorf("the running gateway spooled after validate:\n%s", g.logs.String())
		}
	})

	t.Run("no connection to Valkey", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var accepted atomic.Int32
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		data := t.TempDir()
		config := filepath.Join(t.TempDir(), "Caddyfile")
		os.WriteFile(config, []byte(fmt.Sprintf("{\n\tconsent {\n\t\tstore valkey %s\n\t}\n}\n", l.Addr())+cf), 0o644)
		validate(t, config, data)
		time.Sleep(200 * time.Millisecond)
		if n := accepted.Load(); n != 0 {
			t.Errorf("validate connected to the Valkey address %d times", n)
		}
		sameSnapshot(t, "validate", map[string]string{data: snapshot(t, data)[data]}, snapshot(t, data))
	})
}

// TestTwoGatewaysOneDataDirectory: a second gateway started with the
// first one's data directory says at start which file is locked, by
// which process, and how to fix it; its visitors never wait on the lock
// (every decision and withdrawal answered within 100 ms, kept in its own
// spool); and once the first gateway stops, the second takes the store
// over: every record of both is there, the withdrawal carried out.
func TestTwoGatewaysOneDataDirectory(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	baseA, baseB := fmt.Sprintf("http://127.0.0.1:%d", pa), fmt.Sprintf("http://127.0.0.1:%d", pb)
	cf := "http://127.0.0.1:%d {\n\tconsent {\n\t\trate_limit off\n\t}\n\trespond \"ok\"\n}\n"
	data := t.TempDir()
	a := startGateway(t, fmt.Sprintf(cf, pa), data, baseA+"/")
	fromA := postMany(t, baseA, 10, nil)
	b := startGateway(t, fmt.Sprintf(cf, pb), data, baseB+"/")

	db := filepath.Join(data, "caddy", "kelisim", "consent.db")
	deadline := time.Now().Add(5 * time.Second)
	for !b.grepLogs(db+" is locked by pid "+fmt.Sprint(a.cmd.Process.Pid)) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !b.grepLogs(db+" is locked by pid "+fmt.Sprint(a.cmd.Process.Pid)) || !b.grepLogs("store embedded <path>") {
		t.Errorf("the second gateway does not say at start which file is locked, by whom, and the fix:\n%s", b.logs.String())
	}

	var slowest time.Duration
	var fromB []posted
	for i := range 20 {
		start := time.Now()
		res, body := postJSON(t, baseB+"/_consent/consent", `{"action":"reject-all","lang":"ru"}`, "")
		slowest = max(slowest, time.Since(start))
		if res.StatusCode != 200 || body["id"] == nil {
			t.Fatalf("decision %d on the second gateway: %d %v", i, res.StatusCode, body)
		}
		fromB = append(fromB, posted{id: body["id"].(string), cookie: cookieOf(res)})
	}
	start := time.Now()
	req, _ := http.NewRequest("DELETE", baseB+"/_consent/consent", nil)
	req.Header.Set("Cookie", fromB[0].cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	slowest = max(slowest, time.Since(start))
	if res.StatusCode != http.StatusAccepted {
		t.Errorf("withdrawal on the second gateway: %d, want 202 (kept, carried out later)", res.StatusCode)
	}
	t.Logf("slowest answer of the second gateway while the store is locked: %v", slowest)
	if slowest > 100*time.Millisecond {
		t.Errorf("a visitor of the second gateway waited %v on the locked store", slowest)
	}
	fromA = append(fromA, postMany(t, baseA, 10, nil)...)

	a.stop()
	checkAllStored(t, baseB, append(fromA, fromB[1:]...), 39)
	if n, err := historyOf(t, baseB, fromB[0].cookie); err != nil || n != 0 {
		t.Errorf("the withdrawal made while the store was locked was not carried out: %d records (%v)", n, err)
	}
	if !b.grepLogs("consent store opened") {
		t.Error("no log line when the second gateway took the store over")
	}
}

// TestFiveMinutePath: the README's first steps as a new operator takes
// them — `kelisim scan` prints a processors line, which pasted into a
// consent block passes `kelisim validate`; `kelisim catalog` looks ids
// up; scan exits non-zero when it could read nothing; help says kelisim.
func TestFiveMinutePath(t *testing.T) {
	bin := build(t)
	origin := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(repoRoot, "examples", "nlg.kz"))))
	defer origin.Close()
	out, err := exec.Command(bin, "scan", "--pages", "10", origin.URL+"/").Output()
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, out)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "processors ") {
			line = strings.TrimSpace(l)
		}
	}
	for _, id := range []string{"google-analytics", "yandex-metrica", "meta-pixel"} {
		if !strings.Contains(line+" ", " "+id+" ") {
			t.Errorf("scan's processors line %q lacks %s:\n%s", line, id, out)
		}
	}
	config := filepath.Join(t.TempDir(), "Caddyfile")
	os.WriteFile(config, []byte("http://127.0.0.1:1 {\n\tconsent {\n\t\t"+line+"\n\t}\n\treverse_proxy 127.0.0.1:2\n}\n"), 0o644)
	validate(t, config, t.TempDir())

	// Through the gateway the same scan shows every processor's element
	// blocked, and only what the catalog does not know still loading.
	gp := freePort(t)
	gw := fmt.Sprintf("http://127.0.0.1:%d", gp)
	startGateway(t, fmt.Sprintf("http://127.0.0.1:%d {\n\tconsent {\n\t\t%s\n\t}\n\treverse_proxy %s\n}\n", gp, line, strings.TrimPrefix(origin.URL, "http://")), "", gw+"/")
	out, err = exec.Command(bin, "scan", "--json", "--pages", "10", gw+"/").Output()
	var rep struct {
		Processors []string
		Findings   []struct {
			Processor string
			URL       string
			Blocked   bool
		}
	}
	if err != nil || json.Unmarshal(out, &rep) != nil {
		t.Fatalf("scan through the gateway: %v\n%.500s", err, out)
	}
	if got := "processors " + strings.Join(rep.Processors, " "); got != line {
		t.Errorf("through the gateway the processors line is\n %q, straight from the origin\n %q", got, line)
	}
	for _, f := range rep.Findings {
		if (f.Processor != "") != f.Blocked {
			t.Errorf("through the gateway: %s %s blocked=%v", f.Processor, f.URL, f.Blocked)
		}
	}

	if out, err := exec.Command(bin, "scan", "http://127.0.0.1:1/").CombinedOutput(); err == nil || !strings.Contains(string(out), "could not read a single page") {
		t.Errorf("scan of nothing: %v\n%s", err, out)
	}

	out, err = exec.Command(bin, "catalog", "metrica").Output()
	if err != nil || !strings.Contains(string(out), "yandex-metrica") || !strings.Contains(string(out), "mc.yandex.ru") || strings.Contains(string(out), "hotjar") {
		t.Errorf("catalog metrica: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "catalog", "--json", "--category", "analytics").Output()
	var list []struct {
		ID, Category string
		Hosts        []string
	}
	if err != nil || json.Unmarshal(out, &list) != nil || len(list) < 10 {
		t.Fatalf("catalog --json: %v\n%.300s", err, out)
	}
	for _, p := range list {
		if p.Category != "analytics" || len(p.Hosts) == 0 {
			t.Errorf("catalog --json --category analytics lists %+v", p)
		}
	}
	out, _ = exec.Command(bin, "help").CombinedOutput()
	if !strings.Contains(string(out), "kelisim scan") || !strings.Contains(string(out), "kelisim [command]") {
		t.Errorf("help does not speak of kelisim:\n%s", out)
	}
}
