// Package e2e tests the built kelisim binary — real Caddy with the module
// compiled in — in front of a real origin, and drives real headless
// Chromium against it.
package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	binary    string // path of the built kelisim binary
	repoRoot  string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	dir, err := os.MkdirTemp("", "kelisim-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "kelisim")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles cmd/kelisim once per test run.
func build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/kelisim")
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// portSeq hands out the ports freePort tries, from a start that differs
// by process.
var portSeq atomic.Int32

// freePort returns a TCP port free on loopback right now, for a server
// started later. It is taken below the kernel's ephemeral range (32768
// and up on Linux), which the unit tests running beside these draw
// from: a port the kernel hands another test between this check and
// the bind would put that test's server behind our URL.
func freePort(t testing.TB) int {
	t.Helper()
	base := 20000 + (os.Getpid()*97)%10000
	for range 500 {
		p := 20000 + (base-20000+int(portSeq.Add(1)))%10000
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port in 20000-29999")
	return 0
}

// gateway is a running kelisim process.
type gateway struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	config  string
	admin   int
	logs    *logBuffer
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startGateway writes caddyfile (with {ADMIN} replaced by a free admin
// port) and runs `kelisim run` on it with its own data directory, waiting
// until every address in waitFor answers.
func startGateway(t testing.TB, caddyfile string, dataDir string, waitFor ...string) *gateway {
	t.Helper()
	bin := build(t)
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	g := &gateway{t: t, dataDir: dataDir, admin: freePort(t), logs: &logBuffer{}}
	caddyfile = strings.ReplaceAll(caddyfile, "{ADMIN}", fmt.Sprint(g.admin))
	if !strings.Contains(caddyfile, "admin ") {
		caddyfile = fmt.Sprintf("{\n\tadmin 127.0.0.1:%d\n}\n", g.admin) + caddyfile
	}
	g.config = filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(g.config, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	g.cmd = exec.Command(bin, "run", "--config", g.config)
	g.cmd.Dir = repoRoot
	g.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dataDir, "XDG_CONFIG_HOME="+dataDir, "HOME="+dataDir)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
	for _, addr := range waitFor {
		g.waitUp(addr)
	}
	return g
}

func (g *gateway) waitUp(url string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return
		}
		if g.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("%s did not come up; logs:\n%s", url, g.logs.String())
}

func (g *gateway) stop() {
	if g.cmd.Process == nil || g.cmd.ProcessState != nil {
		return
	}
	g.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		g.cmd.Process.Kill()
		<-done
	}
}

// grepLogs reports whether a log line contains s.
func (g *gateway) grepLogs(s string) bool {
	sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			return true
		}
	}
	return false
}

// demo starts the repository's demo layout: the nlg.kz site as origin
// and the gateway in front, on free ports. It returns the gateway URL and
// the origin URL.
func demo(t *testing.T, extra string) (gw *gateway, gatewayURL, originURL string) {
	t.Helper()
	op, gp := freePort(t), freePort(t)
	cf := fmt.Sprintf(`
http://127.0.0.1:%d {
	root * examples/nlg.kz
	file_server
}
http://127.0.0.1:%d {
	encode
	consent {
		policy_version test-1
		operator NLG.KZ
		policy_url /privacy.html
		%s
	}
	reverse_proxy 127.0.0.1:%d
}
`, op, gp, extra, op)
	originURL = fmt.Sprintf("http://127.0.0.1:%d", op)
	gatewayURL = fmt.Sprintf("http://127.0.0.1:%d", gp)
	gw = startGateway(t, cf, "", originURL+"/", gatewayURL+"/")
	return gw, gatewayURL, originURL
}
