package storetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds how long a helper waits for a server to be ready.
const startTimeout = 20 * time.Second

// missing skips t, or fails it under CI=true, where a missing server must
// not let the Valkey tests pass silently.
func missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " not found on PATH (apt-get install -y redis-server, or install valkey)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Binaries returns the server and command-line client to use: valkey-server
// and valkey-cli if installed, else redis-server and redis-cli. A missing
// server skips t (fails it under CI=true); cli is "" if none is found.
func Binaries(t testing.TB) (server, cli string) {
	t.Helper()
	for _, name := range []string{"valkey", "redis"} {
		if s, err := exec.LookPath(name + "-server"); err == nil {
			c, _ := exec.LookPath(name + "-cli")
			return s, c
		}
	}
	missing(t, "valkey-server or redis-server")
	return "", ""
}

// FreePort returns a TCP port free on 127.0.0.1 a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartValkey starts a throwaway server (no persistence) on a free port in
// a temporary directory, waits until it answers PING and stops it when t
// ends. extra are added to its command line (later settings win). It
// returns the server's address.
func StartValkey(t testing.TB, extra ...string) string {
	t.Helper()
	bin, _ := Binaries(t)
	var lastErr error
	for range 3 { // the port may be taken between FreePort and bind
		port := FreePort(t)
		dir := t.TempDir()
		args := append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--logfile", "",
		}, extra...)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if lastErr = startProcess(t, bin, args, dir, addr); lastErr == nil {
			return addr
		}
	}
	t.Fatal(lastErr)
	return ""
}

// startProcess runs bin in dir, logging to dir/server.log, and waits until
// addr answers PING; the process is killed when t ends.
func startProcess(t testing.TB, bin string, args []string, dir, addr string) error {
	t.Helper()
	logPath := filepath.Join(dir, "server.log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		log.Close()
		close(exited)
	}()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(startTimeout)
	for {
		v, err := Do(addr, "PING")
		if err == nil && v == "PONG" {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("%s %s exited:\n%s", bin, strings.Join(args, " "), tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("%s on %s: no PONG after %v (%v):\n%s", bin, addr, startTimeout, err, tail(logPath))
		}
	}
	t.Cleanup(stop)
	return nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// StartValkeyCluster starts a three-master cluster (no replicas) and waits
// until every node reports cluster_state:ok. It returns the nodes'
// addresses.
func StartValkeyCluster(t testing.TB) []string {
	t.Helper()
	_, cli := Binaries(t)
	if cli == "" {
		missing(t, "valkey-cli or redis-cli")
	}
	addrs := make([]string, 3)
	for i := range addrs {
		// An explicit bus port: the default, port+10000, may be taken or
		// out of range for an ephemeral port.
		addrs[i] = StartValkey(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(FreePort(t)), "--cluster-node-timeout", "5000")
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", cli, strings.Join(args, " "), err, out)
	}
	deadline := time.Now().Add(startTimeout)
	for _, a := range addrs {
		for {
			v, err := Do(a, "CLUSTER", "INFO")
			s, _ := v.(string)
			if err == nil && strings.Contains(s, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ok after %v: %v %s", a, startTimeout, err, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

// StartSentinel starts a master and one sentinel monitoring it as
// "mymaster", and returns the sentinel's address and the master's. It
// runs valkey-sentinel or redis-sentinel if installed, else the server in
// --sentinel mode (the same program); it skips t, even under CI, if
// neither works.
func StartSentinel(t testing.TB) (sentinel, master string) {
	t.Helper()
	server, _ := Binaries(t)
	master = StartValkey(t)
	host, port, _ := net.SplitHostPort(master)
	bin, pre := server, []string{}
	for _, name := range []string{"valkey-sentinel", "redis-sentinel"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	var lastErr error
	for range 3 {
		dir := t.TempDir()
		sport := FreePort(t)
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster %s %s 1\nsentinel down-after-milliseconds mymaster 5000\n",
			sport, dir, host, port)
		path := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append(pre, path)
		if bin == server {
			args = append(args, "--sentinel")
		}
		sentinel = "127.0.0.1:" + strconv.Itoa(sport)
		if lastErr = startProcess(t, bin, args, dir, sentinel); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Skipf("no sentinel: %v", lastErr)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		v, err := Do(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
		if a, ok := v.([]any); ok && err == nil && len(a) == 2 && net.JoinHostPort(fmt.Sprint(a[0]), fmt.Sprint(a[1])) == master {
			return sentinel, master
		}
		if time.Now().After(deadline) {
			t.Fatalf("sentinel %s does not report mymaster at %s: %v %v", sentinel, master, v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Do sends one command to addr on a new connection and returns the reply:
// a string, an int64, nil, or a []any of those. A server error is returned
// as an error.
func Do(addr string, args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(c))
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply")
	}
	kind, rest := line[0], line[1:]
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return nil, errors.New(rest)
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$':
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}
