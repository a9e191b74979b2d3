package caddymodule

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestKeepSecret: the generated secret is kept and read again, instances
// starting together agree on one, no temporary file is left behind, and a
// damaged file is a clear error naming it.
func TestKeepSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kelisim")
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw := bytes.Repeat([]byte{byte(i + 1)}, 32)
			s, err := keepSecret(dir, raw)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		}()
	}
	wg.Wait()
	for _, s := range got[1:] {
		if len(s) != 32 || !bytes.Equal(s, got[0]) {
			t.Fatalf("instances starting together disagree on the secret: %x vs %x", s, got[0])
		}
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || files[0].Name() != "secret" {
		t.Errorf("left in the data directory: %v", files)
	}
	a := &App{dataDir: dir}
	if a.readSecret(); !bytes.Equal(a.secret, got[0]) || a.secretNew {
		t.Error("the kept secret was not read back")
	}
	os.WriteFile(filepath.Join(dir, "secret"), []byte("abc\n"), 0o600)
	if err := a.readSecret(); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "secret")) {
		t.Errorf("a damaged secret file: %v", err)
	}
}
