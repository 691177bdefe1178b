package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
)

// berichtenboxRules send a besluit to the Berichtenbox and fall back to
// the inwoner's voorkeur, so that "not subscribed" has a next channel in
// this installation (the example rules fall back to print).
const berichtenboxRules = `version: 1
messages:
  besluit:
    berichtenbox:
      bericht_type: Besluit
      subject: "Besluit over {{ .zaak.identificatie }}"
      body: |
        Er is een besluit genomen over uw aanvraag {{ .zaak.identificatie }}.
        U vindt het besluit in de bijlage.
      attach: besluit-document
    email: {notify_template: f6619e17-d547-4c7a-80f7-97f69efd742d}
    sms: {notify_template: a0cccec0-06bf-45d5-ba59-995f6db936b0}
rules:
  - name: besluit-formeel
    match: {event: besluit.genomen}
    message: besluit
    recipients: [initiator, gemachtigde]
    channels:
      inwoner: [berichtenbox, voorkeur]
      bedrijf: [voorkeur]
`

func withBerichtenbox(t *testing.T, transport string) func(*config.Config) {
	f := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(f, []byte(berichtenboxRules), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Rules.Path = f
		c.Berichtenbox.Transport = transport
		c.Berichtenbox.OIN = "00000001234567890000"
	}
}

// A besluit through NotifyNL's messagebox: the subscribed initiator gets
// it in the Berichtenbox with the decision PDF from the Documenten API;
// the gemachtigde, not subscribed, gets her voorkeur (SMS) instead.
func TestEndToEndBesluitToBerichtenboxViaMessagebox(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend, withBerichtenbox(t, config.BerichtenboxMessagebox))
			oz, d := h.sb.OpenZaak, h.sb.Demo
			n := oz.Notification("create", d.Besluit.URL, h.clock.Now())
			h.post(t, n)
			id := httpapi.NotificationID(n)
			eventually(t, 20*time.Second, "the besluit delivered to the Berichtenbox and the fallback SMS", func() bool {
				recs := h.trail(t, id)
				var bb, sms bool
				for _, r := range recs {
					bb = bb || (r.Stage == "settle" && r.Channel == event.ChannelBerichtenbox && r.Status == event.OutcomeDelivered)
					sms = sms || (r.Stage == "settle" && r.Channel == event.ChannelSMS && r.Status == event.OutcomeDelivered)
				}
				return bb && sms
			})
			got := sentTo(h.sb, openklant.DemoBSNEmail)
			if len(got) != 1 || got[0].Type != "messagebox" {
				t.Fatalf("Berichtenbox berichten for the initiator: %+v", got)
			}
			b := got[0]
			if b.MessageType != "Besluit" || b.Subject != "Besluit over "+d.ZaakInwoner.Identificatie ||
				!strings.Contains(b.Body, "aanvraag "+d.ZaakInwoner.Identificatie+".\r\nU vindt") {
				t.Fatalf("bericht %q / %q / %q", b.MessageType, b.Subject, b.Body)
			}
			if len(b.Attachments) != 1 || !bytes.Equal(b.Attachments[0].Content, d.BesluitDocument.Content) {
				t.Fatalf("attachments %+v, want the besluit's PDF", b.Attachments)
			}
			if strings.Contains(b.Reference, openklant.DemoBSNEmail) {
				t.Fatal("the reference carries the BSN")
			}
			for _, s := range h.sb.Notify.Sent() {
				if s.Type == "messagebox" && s.To == openklant.DemoBSNPhone {
					t.Fatal("the gemachtigde is not subscribed, yet got a Berichtenbox bericht")
				}
			}
			// The decision PDF came through the allow-listed Documenten API.
			var downloaded bool
			for _, r := range oz.Requests() {
				downloaded = downloaded || strings.HasSuffix(r.Path, d.BesluitDocument.UUID+"/download")
			}
			if !downloaded {
				t.Fatal("the besluit document was not downloaded from the Documenten API")
			}
		})
	}
}
