package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mijnservices/koerier/channels/printstraat"
	"github.com/mijnservices/koerier/router"
	"github.com/mijnservices/koerier/rules"
)

// letterSample is what `rules check` renders every letter template with:
// the router's fixed personalisation keys with example values, and the
// rules' own personalisation fields.
func letterSample(fields []string) map[string]string {
	p := map[string]string{}
	for _, k := range router.PersonalisationKeys() {
		p[k] = "voorbeeld"
	}
	for k, v := range map[string]string{"naam": "J. Jansen", "gebeurtenis": "besluit.genomen", "zaak_identificatie": "ZAAK-2026-0000001",
		"besluit_datum": "2026-06-01", "taak_verloopdatum": "12-6-2026"} {
		p[k] = v
	}
	for _, f := range fields {
		if strings.HasSuffix(f, "_link") || strings.HasSuffix(f, "_url") {
			p[f] = "https://mijn.gemeente.nl/voorbeeld"
		} else {
			p[f] = "voorbeeld"
		}
	}
	return p
}

// checkLetters renders every letter the rules name, once per language
// variant (and the English file when there is one), from the letters/
// folder next to the rules at path. It prints one line per problem and
// returns how many there were.
func checkLetters(w io.Writer, rs *rules.RuleSet, path string) int {
	dir := path
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	bad := 0
	seen := map[string]bool{}
	for _, l := range rs.Letters() {
		for _, english := range []bool{false, true} {
			file, err := printstraat.LetterFile(dir, l.Letter, english || l.Language == "eng")
			if err == nil && seen[file] {
				continue
			}
			if err == nil {
				seen[file] = true
				var src []byte
				if src, err = os.ReadFile(file); err == nil {
					_, err = printstraat.RenderBody(l.Letter, string(src), letterSample(l.Fields))
				}
			}
			if err != nil {
				fmt.Fprintf(w, "error: %s: message %q (%s) print.letter %q: %v\n", l.Pos, l.Message, l.Language, l.Letter, err)
				bad++
				break
			}
		}
	}
	return bad
}
