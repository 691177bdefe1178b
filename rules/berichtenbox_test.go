package rules

import (
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

const berichtenboxRules = `version: 1
messages:
  besluit:
    berichtenbox:
      bericht_type: Besluit
      subject: "Besluit over {{ .zaak.identificatie }}"
      body: |
        Er is een besluit genomen: {{ .besluit.besluittypeOmschrijving | upper }}.
        Reageren kan tot {{ .taak.verloopdatum | datum | default "zes weken na dagtekening" }}.
      attach: besluit-document
    print: {letter: besluit}
    eng:
      berichtenbox: {subject: "Decision on {{ .zaak.identificatie }}", body: "A decision was made."}
rules:
  - name: besluit
    match: {event: besluit.genomen}
    message: besluit
    channels: [berichtenbox, print]
`

func TestDecideRendersTheBerichtenboxBericht(t *testing.T) {
	rs := mustLoad(t, berichtenboxRules)
	ev := &event.Event{ID: "e1", Type: event.TypeBesluitGenomen, Zaak: &event.Zaak{Identificatie: "ZAAK-1"},
		Besluit: &event.Besluit{BesluittypeOmschrijving: "Vergunning verleend"}}
	s := event.Subject{Kind: event.KindInwoner, BSN: "999993653", Role: event.RoleInitiator}
	for _, tc := range []struct{ lang, subject, body string }{
		{"nld", "Besluit over ZAAK-1", "Er is een besluit genomen: VERGUNNING VERLEEND.\nReageren kan tot zes weken na dagtekening."},
		{"eng", "Decision on ZAAK-1", "A decision was made."},
	} {
		r := &event.Recipient{Subject: s, Kind: event.KindInwoner, Language: tc.lang, Berichtenbox: event.Yes}
		d := rs.Decide(Input{Event: ev, Recipient: r, Subject: s, Now: time.Date(2026, 1, 5, 12, 0, 0, 0, amsterdam)})
		if d.Skip || d.Berichtenbox == nil {
			t.Fatalf("%s: no berichtenbox bericht: %+v", tc.lang, d)
		}
		want := event.BerichtenboxMessage{BerichtType: "Besluit", Subject: tc.subject, Body: tc.body, Attach: AttachBesluitDocument}
		if *d.Berichtenbox != want {
			t.Fatalf("%s: got %+v\nwant %+v", tc.lang, *d.Berichtenbox, want)
		}
	}
}
