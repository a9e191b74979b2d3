// Command kelisim-loadbench measures what the gateway costs against a bare
// reverse proxy, with the real kelisim binary on this machine:
//
//	go run ./cmd/kelisim-loadbench            # builds ./kelisim if missing
//
// It serves generated pages (150 KB and 1.5 MB HTML shaped like a real
// site) and JS/CSS/image files from an origin (file_server), a bare
// reverse_proxy site and three consent sites in front of the same origin
// — one as configured by default, one with replay_cache off, so every
// page is rewritten as if the origin had changed it since the last
// request, one with csp off, for the default policy's cost — then
// loads them in interleaved rounds with wrk (installed with apt-get when
// missing; -go uses a built-in Go load generator instead) and prints
// req/s, p50/p99 latency, the gateway's RSS, and the ratios. Machines are
// noisy: read the ratios, which come from one run, not the absolute
// numbers.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelisim/kelisim/internal/pagegen"
)

func main() {
	bin := flag.String("bin", "./kelisim", "kelisim binary (built from ./cmd/kelisim if missing)")
	rounds := flag.Int("rounds", 6, "interleaved rounds per target")
	dur := flag.Duration("d", 3*time.Second, "duration of one round")
	conns := flag.Int("c", 32, "concurrent connections")
	useGo := flag.Bool("go", false, "use the built-in Go load generator instead of wrk")
	only := flag.String("only", "", "run only the resources whose label contains this (e.g. page)")
	flag.Parse()
	if err := run(*bin, *rounds, *dur, *conns, *useGo, *only); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type target struct{ name, path string }

type result struct {
	rps      float64
	p50, p99 time.Duration
	cpu      time.Duration // the kelisim process's CPU time per request (origin included)
}

func run(bin string, rounds int, dur time.Duration, conns int, useGo bool, only string) error {
	if _, err := os.Stat(bin); err != nil {
		fmt.Println("building", bin)
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/kelisim").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	if !useGo {
		if _, err := exec.LookPath("wrk"); err != nil {
			fmt.Println("installing wrk with apt-get (use -go to skip)")
			exec.Command("apt-get", "update", "-qq").Run()
			if out, err := exec.Command("apt-get", "install", "-y", "-qq", "wrk").CombinedOutput(); err != nil {
				return fmt.Errorf("apt-get install wrk: %v\n%s", err, out)
			}
		}
	}
	dir, err := os.MkdirTemp("", "kelisim-loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	site := filepath.Join(dir, "site")
	os.MkdirAll(site, 0o755)
	os.WriteFile(filepath.Join(site, "page150k.html"), pagegen.Page(150<<10), 0o644)
	os.WriteFile(filepath.Join(site, "page1500k.html"), pagegen.Page(1536<<10), 0o644)
	os.WriteFile(filepath.Join(site, "app.js"), []byte(strings.Repeat("function f(a){return a*2}\n", 2000)), 0o644)
	os.WriteFile(filepath.Join(site, "site.css"), []byte(strings.Repeat(".card{display:flex;gap:1rem}\n", 1000)), 0o644)
	img := make([]byte, 40<<10)
	copy(img, "\x89PNG\r\n\x1a\n")
	os.WriteFile(filepath.Join(site, "photo.png"), img, 0o644)

	ports := [6]int{}
	for i := range ports {
		ports[i] = freePort()
	}
	origin, bare, gw, admin, full, nocsp := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	// A dynamic origin: the 150 KB page with a per-request token in the
	// head and a time near the end, as a CMS page with a CSRF token has.
	dyn, err := dynamicOrigin(pagegen.Page(150 << 10))
	if err != nil {
		return err
	}
	defer dyn.Close()
	dynAddr := dyn.Addr().String()
	cf := fmt.Sprintf(`{
	admin 127.0.0.1:%[1]d
	log {
		level ERROR
	}
}
http://127.0.0.1:%[2]d {
	root * %[3]s
	file_server
}
http://127.0.0.1:%[4]d {
	reverse_proxy /dynamic* %[7]s
	reverse_proxy 127.0.0.1:%[2]d
}
http://127.0.0.1:%[5]d {
	consent
	reverse_proxy /dynamic* %[7]s
	reverse_proxy 127.0.0.1:%[2]d
}
http://127.0.0.1:%[6]d {
	consent {
		replay_cache off
	}
	reverse_proxy /dynamic* %[7]s
	reverse_proxy 127.0.0.1:%[2]d
}
http://127.0.0.1:%[8]d {
	consent {
		csp off
	}
	reverse_proxy /dynamic* %[7]s
	reverse_proxy 127.0.0.1:%[2]d
}
`, admin, origin, site, bare, gw, full, dynAddr, nocsp)
	cfPath := filepath.Join(dir, "Caddyfile")
	os.WriteFile(cfPath, []byte(cf), 0o644)
	cmd := exec.Command(bin, "run", "--config", cfPath)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	for _, p := range []int{origin, bare, gw, full, nocsp} {
		if err := waitUp(fmt.Sprintf("http://127.0.0.1:%d/app.js", p)); err != nil {
			return fmt.Errorf("%w\n%s", err, stderr.Bytes())
		}
	}

	fmt.Printf("kelisim-loadbench: %d rounds × %v per target, %d connections, generator: %s\n\n", rounds, dur, conns, map[bool]string{true: "Go", false: "wrk"}[useGo])
	sets := []struct {
		label string
		path  string
	}{
		{"150 KB page", "/page150k.html"},
		{"150 KB page with tokens", "/dynamic150k.html"},
		{"JS", "/app.js"},
		{"CSS", "/site.css"},
		{"image", "/photo.png"},
	}
	servers := []target{{"file_server", ""}, {"reverse_proxy", ""}, {"consent", ""}, {"consent-norep", ""}, {"consent-nocsp", ""}}
	portOf := map[string]int{"file_server": origin, "reverse_proxy": bare, "consent": gw, "consent-norep": full, "consent-nocsp": nocsp}
	if only != "" {
		sets = slices.DeleteFunc(sets, func(s struct{ label, path string }) bool { return !strings.Contains(s.label, only) })
	}
	fmt.Printf("%-24s %-14s %10s %10s %10s %12s\n", "resource", "server", "req/s", "p50", "p99", "CPU/req")
	type key struct{ set, srv string }
	best := map[key][]result{}
	rssBefore := rss(cmd.Process.Pid)
	var rssPeak int64
	for _, s := range sets {
		for r := 0; r < rounds; r++ {
			order := slices.Clone(servers)
			if r%2 == 1 {
				// ABCD DCBA…: a drift in the machine's speed during the
				// run weighs on every server alike.
				slices.Reverse(order)
			}
			for _, srv := range order {
				if srv.name == "file_server" && strings.HasPrefix(s.path, "/dynamic") {
					continue
				}
				url := fmt.Sprintf("http://127.0.0.1:%d%s", portOf[srv.name], s.path)
				cpu0 := cpuTime(cmd.Process.Pid)
				var res result
				var err error
				if useGo {
					res, err = goLoad(url, conns, dur)
				} else {
					res, err = wrkLoad(url, conns, dur)
				}
				if err != nil {
					return fmt.Errorf("%s %s: %w", srv.name, s.path, err)
				}
				res.cpu = time.Duration(float64(cpuTime(cmd.Process.Pid)-cpu0) / (res.rps * dur.Seconds()))
				best[key{s.label, srv.name}] = append(best[key{s.label, srv.name}], res)
				rssPeak = max(rssPeak, rss(cmd.Process.Pid))
			}
		}
		for _, srv := range servers {
			if len(best[key{s.label, srv.name}]) == 0 {
				continue
			}
			m := median(best[key{s.label, srv.name}])
			fmt.Printf("%-24s %-14s %10.0f %10v %10v %12v\n", s.label, srv.name, m.rps, m.p50.Round(10*time.Microsecond), m.p99.Round(10*time.Microsecond), medianCPU(best[key{s.label, srv.name}]).Round(time.Microsecond))
		}
	}

	// Memory per in-flight page: 64 concurrent 1.5 MB pages through the
	// gateway, with slow readers so the pages are in flight together.
	base := rss(cmd.Process.Pid)
	peak := inFlight(fmt.Sprintf("http://127.0.0.1:%d/page1500k.html", gw), 64, cmd.Process.Pid)

	fmt.Println("\nratios to bare reverse_proxy, medians of interleaved rounds (consent-norep: replay_cache off, every page rewritten):")
	for _, s := range sets {
		b := median(best[key{s.label, "reverse_proxy"}])
		for _, srv := range []string{"consent", "consent-norep"} {
			g := median(best[key{s.label, srv}])
			target := 0.97
			if strings.Contains(s.label, "page") {
				target = 0.85
			}
			mark := "ok"
			if g.rps/b.rps < target {
				mark = "BELOW TARGET"
			}
			fmt.Printf("  %-24s %-14s %.2f× req/s (target ≥ %.2f×: %s), p99 %.2f×, server CPU per request %.2f×\n", s.label, srv, g.rps/b.rps, target, mark, float64(g.p99)/float64(b.p99),
				float64(medianCPU(best[key{s.label, srv}]))/float64(medianCPU(best[key{s.label, "reverse_proxy"}])))
		}
	}
	fmt.Println("\nthe default report-only Content-Security-Policy's cost: consent ÷ consent-nocsp (csp off), medians of interleaved rounds:")
	for _, s := range sets {
		g, n := median(best[key{s.label, "consent"}]), median(best[key{s.label, "consent-nocsp"}])
		fmt.Printf("  %-24s %.3f× req/s (target ≥ 0.95×), server CPU per request %.3f×\n", s.label, g.rps/n.rps,
			float64(medianCPU(best[key{s.label, "consent"}]))/float64(medianCPU(best[key{s.label, "consent-nocsp"}])))
	}
	fmt.Printf("\ngateway RSS: %d MB at start of load, %d MB peak under load; 64 concurrent 1.5 MB pages: %d MB → %d MB (growth %d MB, target < 64 MB)\n",
		rssBefore>>20, rssPeak>>20, base>>20, peak>>20, (peak-base)>>20)
	return nil
}

// medianCPU is the median CPU time per request of rs.
func medianCPU(rs []result) time.Duration {
	cs := make([]time.Duration, len(rs))
	for i, r := range rs {
		cs[i] = r.cpu
	}
	slices.Sort(cs)
	return cs[len(cs)/2]
}

// cpuTime is the user+system CPU time pid has used.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 per second).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

func median(rs []result) result {
	sort.Slice(rs, func(i, j int) bool { return rs[i].rps < rs[j].rps })
	return rs[len(rs)/2]
}

// dynamicOrigin serves page at /dynamic150k.html, each time with a new
// token in the head and the time before </body>.
func dynamicOrigin(page []byte) (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var n atomic.Uint64
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := pagegen.Personalised(page, n.Add(1), time.Now())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}))
	return l, nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitUp(url string) error {
	for i := 0; i < 200; i++ {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up", url)
}

// rss returns the resident set size of pid in bytes.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
)

func wrkLoad(url string, conns int, dur time.Duration) (result, error) {
	out, err := exec.Command("wrk", "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(dur.Seconds())), "--latency", url).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	var r result
	if m := wrkRPS.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, m := range wrkPct.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
		d := time.Duration(v * float64(unit))
		if string(m[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.rps == 0 {
		return r, fmt.Errorf("could not read wrk output:\n%s", out)
	}
	return r, nil
}

// goLoad is a closed-loop load generator: conns goroutines, each with its
// own keep-alive connection, for dur.
func goLoad(url string, conns int, dur time.Duration) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				res, err := client.Get(url)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if len(lat) == 0 {
		return result{}, fmt.Errorf("no request succeeded (%d errors)", errs.Load())
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{rps: float64(len(lat)) / el.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}, nil
}

// inFlight fetches url n times at once with slow readers, so the pages
// are in flight together, and returns the peak RSS of pid meanwhile.
func inFlight(url string, n, pid int) int64 {
	var wg sync.WaitGroup
	done := make(chan struct{})
	var peak atomic.Int64
	go func() {
		for {
			peak.Store(max(peak.Load(), rss(pid)))
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(url)
			if err != nil {
				return
			}
			defer res.Body.Close()
			buf := make([]byte, 16<<10)
			for {
				if _, err := res.Body.Read(buf); err != nil {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(done)
	return max(peak.Load(), rss(pid))
}
