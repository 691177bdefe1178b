package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mijnservices/koerier/rules"
)

func TestPrintPostageAndEnvelope(t *testing.T) {
	raw, err := os.ReadFile("../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write := func(print string) string {
		p := filepath.Join(t.TempDir(), "rules.yaml")
		os.WriteFile(p, []byte(strings.Replace(string(raw), "print: {letter: besluit}", print, 1)), 0o644)
		return p
	}
	rs, err := rules.Load(write("print: {letter: besluit, postage: aangetekend, envelope: groot}"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, ok := rs.MessageTemplate("besluit", "print", "nld")
	if !ok || tpl.Letter != "besluit" || tpl.Postage != "aangetekend" || tpl.Envelope != "groot" {
		t.Fatalf("template = %+v, %v", tpl, ok)
	}
	var found bool
	for _, l := range rs.Letters() {
		if l.Message == "taak-nieuw" && l.Letter == "taak-nieuw" {
			found = strings.Contains(strings.Join(l.Fields, ","), "portaal_link")
		}
	}
	if !found {
		t.Fatalf("Letters() lacks taak-nieuw with its portaal_link field: %+v", rs.Letters())
	}
	if _, err := rules.Load(write("print: {letter: besluit, postage: per-duif}")); err == nil || !strings.Contains(err.Error(), "per-duif") {
		t.Fatalf("a bogus postage: %v", err)
	}
}
