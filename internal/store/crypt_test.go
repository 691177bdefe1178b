package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mijnservices/koerier/internal/store"
)

func TestParseDataKey(t *testing.T) {
	want := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{
		"abababababababababababababababababababababababababababababababab",
		"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=",
		"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s",
		"  q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
	} {
		got, err := store.ParseDataKey(s)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ParseDataKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", "q6urq6urq6urq6urq6urq6ur", "0123456789abcdef0123456789abcdef"} {
		if _, err := store.ParseDataKey(s); err == nil {
			t.Errorf("ParseDataKey(%q) accepted a key that is not 32 bytes", s)
		}
	}
}

// Processes starting at once on a new data directory agree on one key,
// and the file is readable by its owner only.
func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.key")
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	created := make([]bool, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, c, err := store.LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i], created[i] = k, c
		}()
	}
	wg.Wait()
	n := 0
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != store.DataKeySize {
			t.Fatalf("keys differ: %x vs %x", keys[i], keys[0])
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d callers created the key, want 1", n)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
