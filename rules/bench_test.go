package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// rules200 generates a 200-rule file shaped like a large gemeente's: a few
// silencing rules on top, then per-zaaktype rules in a mix of match
// shorthands and hand-written expressions, then generic rules per event
// type.
func rules200() string {
	var b strings.Builder
	b.WriteString(`version: 1
defaults:
  channels:
    inwoner: [voorkeur, email, sms, berichtenbox, print]
    bedrijf: [voorkeur, email, print]
  quiet_hours: {sms: "21:00-08:00"}
messages:
  m:
    email: {notify_template: f6619e17-d547-4c7a-80f7-97f69efd742d}
    sms: {notify_template: a0cccec0-06bf-45d5-ba59-995f6db936b0}
    berichtenbox: {bericht_type: B, subject: s, body: b}
    print: {letter: m}
    eng:
      email: {notify_template: 84780e7d-9573-4e6a-a879-a0e08f5615ef}
rules:
  - name: vertrouwelijk
    match: {vertrouwelijkheid: [vertrouwelijk, confidentieel, geheim, zeer_geheim]}
    skip: true
  - name: jeugd
    match: {zaaktype: [JB-1, JB-2, JB-3]}
    skip: true
  - name: niet-informeren
    when: event.type == "zaak.status_gewijzigd" && !statustype.informeren
    skip: true
`)
	n := 3
	for z := 0; n < 185; z++ {
		zt := fmt.Sprintf("ZT%03d", z)
		switch z % 3 {
		case 0:
			fmt.Fprintf(&b, "  - name: r%d\n    match: {event: zaak.status_gewijzigd, zaaktype: %s, statustype: [Besluit genomen, Afgehandeld]}\n    message: m\n", n, zt)
			n++
			fmt.Fprintf(&b, "  - name: r%d\n    match: {event: [zaak.aangemaakt, zaak.afgesloten], zaaktype: %s}\n    message: m\n    channels: {inwoner: [voorkeur, berichtenbox, print], bedrijf: [email, print]}\n", n, zt)
			n++
		case 1:
			fmt.Fprintf(&b, "  - name: r%d\n    when: event.type == \"zaak.status_gewijzigd\" && zaaktype.identificatie == %q && statustype.volgnummer >= 2 && recipient.kind == \"inwoner\"\n    message: m\n", n, zt)
			n++
			fmt.Fprintf(&b, "  - name: r%d\n    when: event.type in [\"besluit.genomen\", \"document.toegevoegd\"] && zaaktype.identificatie == %q && (besluit.besluittypeOmschrijving startsWith \"Vergunning\" || document.bekend)\n    message: m\n    channels: [berichtenbox, print]\n", n, zt)
			n++
		default:
			fmt.Fprintf(&b, "  - name: r%d\n    match: {zaaktype: %s, kind: bedrijf}\n    when: statustype.isEindstatus || resultaat.bekend\n    message: m\n    recipients: [initiator, organisation, contactpersonen]\n", n, zt)
			n++
		}
	}
	for _, typ := range knownEventTypes {
		for _, lang := range []string{"eng", "nld"} {
			fmt.Fprintf(&b, "  - name: r%d\n    match: {event: %s}\n    when: recipient.language == %q || zaak.omschrijving contains \"spoed\"\n    message: m\n", n, typ, lang)
			n++
		}
	}
	return b.String()
}

func TestRules200Shape(t *testing.T) {
	rs := mustLoad(t, rules200())
	if got := len(rs.Rules()); got != 203 {
		t.Fatalf("generated %d rules", got)
	}
}

// BenchmarkDecide measures one decision (match and expand, with the
// explanation) against 200 rules, over a rotating set of events. Besides
// wall time it reports cpu-ns/op, the process CPU time per decision, which
// stays meaningful when other work shares the machine.
//
//	go test ./rules -run '^$' -bench BenchmarkDecide -benchmem -count 10 -cpu 1
func BenchmarkDecide(b *testing.B) {
	rs := mustLoad(b, rules200())
	r := &event.Recipient{Kind: "inwoner", Language: "nld", Email: "a@example.org", Phone: "+31612345678",
		PreferredChannel: "email", Berichtenbox: event.Yes, PostalAddress: &event.PostalAddress{Lines: []string{"x"}},
		Subject: event.Subject{Kind: "inwoner", BSN: "999993653"}}
	now := time.Date(2026, 1, 5, 12, 0, 0, 0, amsterdam)
	var inputs []Input
	for i, typ := range knownEventTypes {
		ev := &event.Event{ID: fmt.Sprint(i), Type: typ,
			Zaak:       &event.Zaak{Identificatie: "Z", Vertrouwelijkheidaanduiding: "openbaar", Omschrijving: "dakkapel"},
			Zaaktype:   &event.Zaaktype{Identificatie: fmt.Sprintf("ZT%03d", i*9)},
			Statustype: &event.Statustype{Omschrijving: "Besluit genomen", Volgnummer: 3, Informeren: true},
		}
		inputs = append(inputs, Input{Event: ev, Recipient: r, Subject: r.Subject, Now: now})
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, ok := processCPU()
	for i := 0; i < b.N; i++ {
		d := rs.Decide(inputs[i%len(inputs)])
		if d.Rule == "" {
			b.Fatal("no rule decided")
		}
	}
	b.StopTimer()
	if cpu1, ok2 := processCPU(); ok && ok2 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}
