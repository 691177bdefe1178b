package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesCheckRendersLetters(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "rules.yaml"), raw, 0o644)
	os.MkdirAll(filepath.Join(dir, "letters"), 0o755)
	letters, _ := filepath.Glob("../../config/letters/*.md")
	for _, f := range letters {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, "letters", filepath.Base(f)), b, 0o644)
	}
	if out, err := runKoerier(t, "rules", "check", filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatalf("rules check of the example with its letters: %v\n%s", err, out)
	}
	// A field no delivery has: the check fails and names the letter.
	os.WriteFile(filepath.Join(dir, "letters", "besluit.en.md"), []byte("Dear {{ .voornaam }},\n"), 0o644)
	out, err := runKoerier(t, "rules", "check", filepath.Join(dir, "rules.yaml"))
	if err == nil || !strings.Contains(out, `print.letter "besluit"`) || !strings.Contains(out, "voornaam") {
		t.Fatalf("rules check with a missing field: %v\n%s", err, out)
	}
	// A letter without a file fails too.
	os.Remove(filepath.Join(dir, "letters", "besluit.en.md"))
	os.Remove(filepath.Join(dir, "letters", "taak-nieuw.nl.md"))
	out, err = runKoerier(t, "rules", "check", filepath.Join(dir, "rules.yaml"))
	if err == nil || !strings.Contains(out, `"taak-nieuw"`) || strings.Contains(out, `"besluit"`) {
		t.Fatalf("rules check with a letter missing: %v\n%s", err, out)
	}
}
