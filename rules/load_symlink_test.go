package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// A ConfigMap mounted as a folder: visible names are symlinks into a hidden
// ..data folder, which must not be read twice.
func TestLoadFolderFollowsConfigMapSymlinks(t *testing.T) {
	src, err := os.ReadFile("../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_11_29_15_00_00.000000001")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "rules.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "rules.yaml"), filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	rs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Files()) != 1 || len(rs.Rules()) == 0 {
		t.Fatalf("loaded files %v with %d rules, want the one symlinked file", rs.Files(), len(rs.Rules()))
	}
}
