package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbchan "github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/store"
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
			// Sent, then delivered at the fake: a Notify receipt can beat
			// the delivery state it settles against.
			eventually(t, 20*time.Second, "the besluit sent to the Berichtenbox and the SMS to the gemachtigde", func() bool {
				recs := h.trail(t, id)
				return sentOn(recs, event.ChannelBerichtenbox) && sentOn(recs, event.ChannelSMS)
			})
			got := sentTo(h.sb, openklant.DemoBSNEmail)
			if len(got) != 1 || got[0].Type != "messagebox" {
				t.Fatalf("Berichtenbox berichten for the initiator: %+v", got)
			}
			b := got[0]
			if b.Status != "delivered" {
				t.Fatalf("messagebox status %s", b.Status)
			}
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

// withEBMS configures the Berichtenbox over the ebMS adapter, with a
// poller quick enough for a test; batches are sealed by flushing.
func withEBMS(t *testing.T) func(*config.Config) {
	base := withBerichtenbox(t, config.BerichtenboxEBMS)
	return func(c *config.Config) {
		base(c)
		poll := 50 * time.Millisecond
		c.Berichtenbox.EBMS.PollInterval = &poll
	}
}

// flushUntil seals the Berichtenbox bucket (as the window would) until
// cond holds.
func (h *harness) flushUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventually(t, 30*time.Second, what, func() bool {
		if _, err := h.app.Sealer().Flush(context.Background(), event.ChannelBerichtenbox, "ebms"); err != nil {
			t.Logf("flush: %v", err)
		}
		return cond()
	})
}

// dumpOnFailure logs the trail and the adapter's batches when t fails.
func (h *harness) dumpOnFailure(t *testing.T, id string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, r := range h.trail(t, id) {
			t.Logf("trail: %s %s %s %s", r.Stage, r.Channel, r.Status, r.Detail)
		}
		for _, b := range h.sb.EBMS.Batches() {
			for _, m := range b.Berichten {
				t.Logf("batch %s (%s): %s %s %s", b.BatchID, b.Answer, m.GebruikerID, m.BerichtID, m.Code)
			}
		}
		logs := h.logs.String()
		t.Logf("log tail: %s", logs[max(0, len(logs)-4000):])
	})
}

func sentOn(recs []store.Record, channel string) bool {
	for _, r := range recs {
		if r.Stage == "deliver" && r.Channel == channel && r.Status == "sent" {
			return true
		}
	}
	return false
}

func settled(recs []store.Record, channel, status string) bool {
	for _, r := range recs {
		if r.Stage == "settle" && r.Channel == channel && r.Status == status {
			return true
		}
	}
	return false
}

// A besluit through the ebMS adapter in a GLOBE batch: the subscribed
// initiator's bericht meets a TechnischProbleem, goes again in the next
// batch with the same BerichtID and arrives once, with the decision PDF;
// the unsubscribed gemachtigde gets her voorkeur.
func TestEndToEndBesluitToBerichtenboxViaEBMS(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend, withEBMS(t))
			oz, d, adapter := h.sb.OpenZaak, h.sb.Demo, h.sb.EBMS
			adapter.AnswerFor(openklant.DemoBSNEmail, "TechnischProbleem", "Verwerkt")
			n := oz.Notification("create", d.Besluit.URL, h.clock.Now())
			h.post(t, n)
			id := httpapi.NotificationID(n)
			h.dumpOnFailure(t, id)
			h.flushUntil(t, "the besluit delivered to the Berichtenbox after one TechnischProbleem", func() bool {
				return settled(h.trail(t, id), event.ChannelBerichtenbox, event.OutcomeDelivered)
			})
			box := adapter.Box(openklant.DemoBSNEmail)
			if len(box) != 1 || len(box[0].Bijlagen) != 1 || !bytes.Equal(box[0].Bijlagen[0], d.BesluitDocument.Content) ||
				box[0].BerichtType != "Besluit" || box[0].Referentie != d.ZaakInwoner.Identificatie {
				t.Fatalf("Berichtenbox of the initiator: %+v", box)
			}
			var ids []string
			for _, b := range adapter.Batches() {
				if b.XSDError != "" {
					t.Fatalf("batch %s failed Logius' XSD: %s", b.BatchID, b.XSDError)
				}
				for _, m := range b.Berichten {
					if m.GebruikerID == openklant.DemoBSNEmail {
						ids = append(ids, m.BerichtID+":"+m.Code)
					}
				}
			}
			if len(ids) != 2 || !strings.HasSuffix(ids[0], ":TechnischProbleem") || !strings.HasSuffix(ids[1], ":Verwerkt") ||
				strings.Split(ids[0], ":")[0] != strings.Split(ids[1], ":")[0] {
				t.Fatalf("berichten for the initiator %v, want one TechnischProbleem and a resend with the same BerichtID", ids)
			}
			if len(adapter.Box(openklant.DemoBSNPhone)) != 0 {
				t.Fatal("the unsubscribed gemachtigde got a Berichtenbox bericht")
			}
			// Sent, not delivered: a Notify receipt can beat the delivery
			// state it settles against (then it lands on its own trail).
			eventually(t, 20*time.Second, "the gemachtigde's SMS", func() bool { return sentOn(h.trail(t, id), event.ChannelSMS) })
		})
	}
}

// NietActiefOfGeabonneerd: Logius says the subscribed inwoner has no box
// after all: the plan moves to her voorkeur (email) and the cached
// subscription answer becomes "no". The batch's first hand-over fails
// after sealing, and the batch is still sent exactly once.
func TestEndToEndBerichtenboxNietActiefFallsBackAndCorrectsTheCache(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend, withEBMS(t))
			oz, d, adapter := h.sb.OpenZaak, h.sb.Demo, h.sb.EBMS
			adapter.AnswerFor(openklant.DemoBSNEmail, "NietActiefOfGeabonneerd")
			// The first hand-over fails after the batch was sealed (the
			// adapter is down): the sealed batch is resumed at the next
			// tick and reaches the adapter exactly once.
			adapter.RefuseNext(1)
			cfg := h.app.Config()
			key := bbchan.CacheKey([]byte(cfg.Store.SubjectKey), cfg.Berichtenbox.BerichtType, openklant.DemoBSNEmail)
			n := oz.Notification("create", d.Besluit.URL, h.clock.Now())
			h.post(t, n)
			id := httpapi.NotificationID(n)
			h.dumpOnFailure(t, id)
			h.flushUntil(t, "the fallback email after NietActiefOfGeabonneerd", func() bool {
				return sentOn(h.trail(t, id), event.ChannelEmail)
			})
			if !hasStatus(h.trail(t, id), "settle", "fallback") {
				t.Fatal("no fallback in the trail")
			}
			raw, ok, err := h.app.Store().Get(context.Background(), key)
			if err != nil || !ok || event.Tri(raw) != event.No {
				t.Fatalf("cached subscription = %q (ok %v, err %v), want no", raw, ok, err)
			}
			if len(adapter.Box(openklant.DemoBSNEmail)) != 0 {
				t.Fatal("a bericht arrived although Logius refused it")
			}
			if bs := adapter.Batches(); len(bs) != 1 {
				t.Fatalf("the adapter got %d batches, want the sealed one exactly once", len(bs))
			}
			var sealed int
			for _, r := range h.trail(t, id) {
				if r.Stage == "deliver" && r.Status == "queued" {
					sealed++
				}
			}
			if sealed != 1 {
				t.Fatalf("queued %d times", sealed)
			}
		})
	}
}

// A batch Logius never answers is sent again after result_timeout with
// the same BatchID and BerichtIDs, and then arrives.
func TestEndToEndBerichtenboxBatchWithoutAnswerIsResent(t *testing.T) {
	h := startHarness(t, "embedded", withEBMS(t))
	oz, d, adapter := h.sb.OpenZaak, h.sb.Demo, h.sb.EBMS
	adapter.SilenceNext(1)
	n := oz.Notification("create", d.Besluit.URL, h.clock.Now())
	h.post(t, n)
	id := httpapi.NotificationID(n)
	h.dumpOnFailure(t, id)
	h.flushUntil(t, "the batch handed over", func() bool { return len(adapter.Batches()) == 1 })
	time.Sleep(300 * time.Millisecond) // a few polls: still no answer, no resend
	if len(adapter.Batches()) != 1 {
		t.Fatal("resent before result_timeout")
	}
	h.clock.Advance(*h.app.Config().Berichtenbox.EBMS.ResultTimeout + time.Minute)
	eventually(t, 20*time.Second, "the resent batch delivered", func() bool {
		return settled(h.trail(t, id), event.ChannelBerichtenbox, event.OutcomeDelivered)
	})
	bs := adapter.Batches()
	if len(bs) != 2 || bs[0].BatchID != bs[1].BatchID || bs[0].Berichten[0].BerichtID != bs[1].Berichten[0].BerichtID || bs[1].Answer != "result" {
		t.Fatalf("batches %+v, want the same batch twice", bs)
	}
	if box := adapter.Box(openklant.DemoBSNEmail); len(box) != 1 {
		t.Fatalf("box %+v", box)
	}
}
