package rules

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// FuzzLoad feeds random YAML to the loader: it must return rules or errors,
// never panic; and rules it accepts must decide without panicking.
//
//	go test ./rules -run '^$' -fuzz FuzzLoad -fuzztime 30s
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(base))
	f.Add([]byte(planRules))
	f.Add([]byte("version: 1\nrules: [{name: a, when: 'taak.herinnering / 0 == 1', message: m}]\n"))
	events := []*event.Event{
		{Type: event.TypeZaakStatusGewijzigd, Zaak: &event.Zaak{Identificatie: "Z"}, Statustype: &event.Statustype{Informeren: true}},
		{Type: event.TypeTaakHerinnering, Taak: &event.Taak{}},
		{},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := LoadSources(Source{Name: "fuzz.yaml", Data: data})
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("LoadSources returned %T, want Errors", err)
			}
			return
		}
		for _, ev := range events {
			for _, kind := range []string{event.KindInwoner, event.KindBedrijf} {
				r := &event.Recipient{Kind: kind, Email: "a@example.org", PreferredChannel: "email"}
				_ = rs.DecideAll(Input{Event: ev, Recipient: r, Subject: event.Subject{Kind: kind}, Now: time.Unix(0, 0)})
			}
		}
	})
}
