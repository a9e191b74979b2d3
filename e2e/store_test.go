package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelisim/kelisim/store/storetest"
)

// valkeyProc is a Valkey/Redis server the test can kill and restart on
// the same port and data directory (AOF with fsync on every write, as the
// README recommends, so acknowledged records survive a kill).
type valkeyProc struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startValkeyProc(t *testing.T) *valkeyProc {
	bin, _ := storetest.Binaries(t)
	v := &valkeyProc{t: t, bin: bin, port: freePort(t), dir: t.TempDir()}
	v.start()
	t.Cleanup(v.kill)
	return v
}

func (v *valkeyProc) addr() string { return "127.0.0.1:" + strconv.Itoa(v.port) }

func (v *valkeyProc) start() {
	v.cmd = exec.Command(v.bin, "--port", strconv.Itoa(v.port), "--bind", "127.0.0.1", "--dir", v.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", filepath.Join(v.dir, "log"))
	if err := v.cmd.Start(); err != nil {
		v.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := storetest.Do(v.addr(), "PING"); err == nil && r == "PONG" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	v.t.Fatalf("valkey on %s did not start", v.addr())
}

func (v *valkeyProc) kill() {
	if v.cmd != nil && v.cmd.Process != nil {
		v.cmd.Process.Kill()
		v.cmd.Wait()
		v.cmd = nil
	}
}

type posted struct {
	id     string
	cookie string
}

// postMany posts n consents from 8 concurrent clients; at each count in
// hooks the matching function runs (once) before further posts proceed.
func postMany(t *testing.T, base string, n int, hooks map[int]func()) []posted {
	var (
		mu    sync.Mutex
		out   []posted
		count atomic.Int64
		next  atomic.Int64
		gate  sync.RWMutex
	)
	actions := []string{`{"action":"accept-all","lang":"kk"}`, `{"action":"reject-all","lang":"ru"}`, `{"action":"save","categories":["analytics"],"lang":"en"}`}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				gate.RLock()
				res, body := postJSON(t, base+"/_consent/consent", actions[i%3], "")
				gate.RUnlock()
				if res.StatusCode/100 != 2 || body["id"] == nil {
					t.Errorf("post %d: %d %v", i, res.StatusCode, body)
					continue
				}
				mu.Lock()
				out = append(out, posted{id: body["id"].(string), cookie: cookieOf(res)})
				mu.Unlock()
				if f, ok := hooks[int(count.Add(1))]; ok {
					gate.Lock()
					f()
					gate.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// historyOf reads a visitor's own history through the gateway.
func historyOf(t *testing.T, base, cookie string) (int, error) {
	req, _ := http.NewRequest("GET", base+"/_consent/consent", nil)
	req.Header.Set("Cookie", cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("%d %s", res.StatusCode, b)
	}
	var v struct {
		History []json.RawMessage `json:"history"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, err
	}
	return len(v.History), nil
}

func checkAllStored(t *testing.T, base string, ps []posted, n int) {
	t.Helper()
	if len(ps) != n {
		t.Fatalf("%d of %d posts answered", len(ps), n)
	}
	deadline := time.Now().Add(30 * time.Second)
	missing := ps
	for len(missing) > 0 && time.Now().Before(deadline) {
		var still []posted
		for _, p := range missing {
			if h, err := historyOf(t, base, p.cookie); err != nil || h != 1 {
				still = append(still, p)
			}
		}
		missing = still
		if len(missing) > 0 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	for _, p := range missing {
		h, err := historyOf(t, base, p.cookie)
		t.Errorf("consent %s: %d records in history (%v), want 1", p.id, h, err)
	}
}

// TestNoRecordLostWhenValkeyDies: 240 consents from 8 concurrent clients;
// the Valkey server is killed after the first third and restarted after
// the second. Every post is answered 2xx and afterwards every consent ID's
// history is there, once.
func TestNoRecordLostWhenValkeyDies(t *testing.T) {
	v := startValkeyProc(t)
	gp := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gp)
	g := startGateway(t, fmt.Sprintf(`{
	admin 127.0.0.1:{ADMIN}
	consent {
		store valkey %s
	}
}
http://127.0.0.1:%d {
	consent {
		rate_limit off
	}
	respond "ok"
}
`, v.addr(), gp), "", base+"/")
	ps := postMany(t, base, 240, map[int]func(){
		80:  v.kill,
		160: v.start,
	})
	checkAllStored(t, base, ps, 240)
	checkInValkey(t, g, v, ps)
	if !g.grepLogs("consent store is down; spooling records locally") {
		t.Error("no log line saying the store went down")
	}
}

// checkInValkey waits for the spool to drain and then reads each record
// from the server itself.
func checkInValkey(t *testing.T, g *gateway, v *valkeyProc, ps []posted) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !g.grepLogs("spool drained") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !g.grepLogs("spool drained") {
		t.Fatal("the spool never drained")
	}
	for _, p := range ps {
		n, err := storetest.Do(v.addr(), "LLEN", "kelisim:{"+p.id+"}:h")
		if err != nil || n != int64(1) {
			t.Errorf("consent %s: LLEN = %v (%v), want 1 record in Valkey", p.id, n, err)
		}
	}
}

// TestNoRecordLostAcrossGatewayRestart: the same with the embedded store
// and the gateway itself restarted in the middle.
func TestNoRecordLostAcrossGatewayRestart(t *testing.T) {
	gp := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gp)
	cf := fmt.Sprintf("http://127.0.0.1:%d {\n\tconsent {\n\t\trate_limit off\n\t}\n\trespond \"ok\"\n}\n", gp)
	data := t.TempDir()
	g := startGateway(t, cf, data, base+"/")
	first := postMany(t, base, 120, nil)
	g.stop()
	startGateway(t, cf, data, base+"/")
	second := postMany(t, base, 120, nil)
	checkAllStored(t, base, append(first, second...), 240)
}

// TestGatewayStartsWhileValkeyIsDown: the site serves and consents are
// kept while the store has never been reachable; they land once it is.
func TestGatewayStartsWhileValkeyIsDown(t *testing.T) {
	v := startValkeyProc(t)
	v.kill()
	gp := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gp)
	g := startGateway(t, fmt.Sprintf("{\n\tadmin 127.0.0.1:{ADMIN}\n\tconsent {\n\t\tstore valkey %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tconsent\n\trespond \"ok\"\n}\n", v.addr(), gp), "", base+"/")
	if _, body := get(t, base+"/"); !strings.Contains(body, "ok") {
		t.Fatalf("site not served with the store down: %q", body)
	}
	ps := postMany(t, base, 24, nil)
	v.start()
	checkAllStored(t, base, ps, 24)
	checkInValkey(t, g, v, ps)
	if !g.grepLogs("consent store cannot be opened") {
		t.Error("no log line about the unreachable store")
	}
}

// TestStoreChangeOnReloadKeepsSpool: decisions spooled while Valkey is
// down are not stranded when a reload moves the site to another store:
// the old configuration's spool goes to the new store as the old one
// closes, without waiting for the next start.
func TestStoreChangeOnReloadKeepsSpool(t *testing.T) {
	v := startValkeyProc(t)
	gp := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gp)
	site := fmt.Sprintf("http://127.0.0.1:%d {\n\tconsent {\n\t\trate_limit off\n\t}\n\trespond \"ok\"\n}\n", gp)
	g := startGateway(t, fmt.Sprintf("{\n\tadmin 127.0.0.1:{ADMIN}\n\tconsent {\n\t\tstore valkey %s\n\t}\n}\n", v.addr())+site, "", base+"/")
	v.kill()
	spooled := postMany(t, base, 12, nil)
	if !g.grepLogs("spooling records locally") {
		t.Fatalf("nothing spooled with Valkey down:\n%s", g.logs.String())
	}
	os.WriteFile(g.config, []byte(fmt.Sprintf("{\n\tadmin 127.0.0.1:%d\n}\n", g.admin)+site), 0o644)
	cmd := exec.Command(build(t), "reload", "--config", g.config, "--address", fmt.Sprintf("127.0.0.1:%d", g.admin))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	checkAllStored(t, base, spooled, 12)
	if !g.grepLogs("took over records spooled under a previous store configuration") {
		t.Errorf("no log line about the records taken over:\n%s", g.logs.String())
	}
}
