//go:build unix

package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created if missing)
// without waiting; the lock lasts until the returned file is closed. A
// lock held elsewhere — another process, or another open file in this
// one — is a *LockedError.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path, Holder: lockHolder(path)}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// lockHolder names the process holding a lock on path, from Linux's
// /proc/locks; "" where the system does not tell.
func lockHolder(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return ""
	}
	// Lines read: "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; the
	// device is major:minor in hex, the inode in decimal.
	ino := ":" + strconv.FormatUint(uint64(st.Ino), 10)
	sc := bufio.NewScanner(bytes.NewReader(locks))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] == "->" || !strings.HasSuffix(f[5], ino) {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || pid == os.Getpid() {
			continue
		}
		holder := "pid " + f[4]
		if cmd, err := os.ReadFile("/proc/" + f[4] + "/cmdline"); err == nil && len(cmd) > 0 {
			holder += " (" + strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")) + ")"
		}
		return holder
	}
	return ""
}
