package rules

import (
	"fmt"
	"testing"

	"github.com/expr-lang/expr/vm"

	"github.com/mijnservices/koerier/internal/event"
)

// TestNativeMatchEqualsProgram holds the fast evaluation of match
// shorthands to the answer of the expression they compile to, so that the
// explanation (which shows the expression) never disagrees with the
// decision.
func TestNativeMatchEqualsProgram(t *testing.T) {
	sets := []*RuleSet{mustLoad(t, rules200())}
	if rs, err := Load("../config/rules.example.yaml"); err == nil {
		sets = append(sets, rs)
	} else {
		t.Fatal(err)
	}
	var inputs []Input
	for i, typ := range append(knownEventTypes, "") {
		for _, kind := range []string{"inwoner", "bedrijf"} {
			for _, lang := range []string{"nld", "eng", ""} {
				ev := &event.Event{Type: typ,
					Zaak:       &event.Zaak{Vertrouwelijkheidaanduiding: []string{"openbaar", "geheim"}[i%2], Omschrijving: "spoed dakkapel"},
					Zaaktype:   &event.Zaaktype{Identificatie: []string{"ZT000", "ZT003", "JB-MELDING", "B1026", "OMG-VERGUNNING"}[i%5]},
					Statustype: &event.Statustype{Omschrijving: "Besluit genomen", Volgnummer: i % 4, Informeren: i%3 != 0, IsEindstatus: i%2 == 0},
				}
				if i%3 == 0 {
					ev.Besluit = &event.Besluit{BesluittypeOmschrijving: "Vergunning verleend"}
					ev.Taak = &event.Taak{Status: "open", Soort: "formulier"}
				}
				inputs = append(inputs, Input{Event: ev, Subject: event.Subject{Kind: kind}, Recipient: &event.Recipient{Kind: kind, Language: lang}})
			}
		}
	}
	machine := &vm.VM{}
	env := &Env{}
	checked, matched := 0, 0
	for _, rs := range sets {
		for _, in := range inputs {
			newEnv(env, &in)
			for _, r := range rs.rules {
				if r.program == nil {
					continue
				}
				res, err := machine.Run(r.program, env)
				if err != nil {
					t.Fatal(err)
				}
				native, err := r.matches(machine, env)
				if err != nil {
					t.Fatal(err)
				}
				checked++
				if native {
					matched++
				}
				if res.(bool) != native {
					t.Fatalf("rule %s on %s: program says %v, native says %v", r.Name, fmt.Sprint(in.Event.Type, " ", in.Event.Zaaktype.Identificatie), res, native)
				}
			}
		}
	}
	if matched == 0 || matched == checked {
		t.Fatalf("inputs do not exercise both answers: %d of %d matched", matched, checked)
	}
}
