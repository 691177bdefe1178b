package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
	"github.com/mijnservices/koerier/internal/store"
)

func registerKlantcontact(c *config.Config) { c.OpenKlant.RegisterKlantcontact = true }

func countStatus(recs []store.Record, stage, status string) int {
	n := 0
	for _, r := range recs {
		if r.Stage == stage && r.Status == status {
			n++
		}
	}
	return n
}

// TestEndToEndKlantcontactOncePerOutcome: the delivered email is registered
// in Open Klant once, linked to the partij and the zaak, although the first
// POST fails (re-queued) and Notify reports the outcome twice.
func TestEndToEndKlantcontactOncePerOutcome(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend, registerKlantcontact)
			h.sb.OpenKlantFaults.Add(fault.Rule{Method: http.MethodPost, Status: http.StatusServiceUnavailable, Times: 1})
			oz, d := h.sb.OpenZaak, h.sb.Demo
			n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
			id := httpapi.NotificationID(n)
			h.post(t, n)
			var kcs []openklant.Klantcontact
			eventually(t, 30*time.Second, "the klantcontact", func() bool {
				kcs = h.sb.OpenKlant.Klantcontacten()
				return len(kcs) > 0 && hasStatus(h.trail(t, id), "klantcontact", "klantcontact")
			})
			recs := h.trail(t, id)
			if !hasStatus(recs, "settle", event.OutcomeDelivered) {
				t.Fatalf("the outcome is not in the trail: %+v", recs)
			}
			if !hasStatus(recs, "klantcontact", "requeued") {
				t.Fatalf("the failed registration was not re-queued: %+v", recs)
			}
			if hasStatus(recs, "settle", "deadletter") || hasStatus(recs, "klantcontact", "deadletter") {
				t.Fatalf("dead letter in the trail: %+v", recs)
			}
			k := kcs[0]
			if k.Kanaal != "e-mail" || k.IndicatieContactGelukt == nil || !*k.IndicatieContactGelukt || k.Taal != "nld" {
				t.Fatalf("klantcontact %+v: want kanaal e-mail, gelukt, nld", k)
			}
			if k.PartijUUID == "" || k.Rol != "klant" {
				t.Fatalf("klantcontact not linked to the partij: %+v", k)
			}
			zaakUUID := d.ZaakInwoner.URL[strings.LastIndexByte(d.ZaakInwoner.URL, '/')+1:]
			if k.Onderwerpobject == nil || k.Onderwerpobject.ObjectID != zaakUUID || k.Onderwerpobject.CodeObjecttype != "zaak" {
				t.Fatalf("klantcontact not linked to zaak %s: %+v", zaakUUID, k.Onderwerpobject)
			}
			if utf8.RuneCountInString(k.Onderwerp) > 200 || utf8.RuneCountInString(k.Inhoud) > 1000 {
				t.Fatalf("onderwerp or inhoud too long: %q / %q", k.Onderwerp, k.Inhoud)
			}
			if strings.Contains(k.Inhoud, openzaak.DemoBSNJansen) || strings.Contains(k.Inhoud, "@") {
				t.Fatalf("inhoud carries personal data: %q", k.Inhoud)
			}
			if !strings.Contains(k.Inhoud, "afgeleverd") || !strings.Contains(k.Onderwerp, "e-mail") {
				t.Fatalf("onderwerp %q / inhoud %q do not say channel and result", k.Onderwerp, k.Inhoud)
			}

			// Notify reports the outcome again: still one klantcontact.
			sent := sentTo(h.sb, "jan.jansen@example.com")
			if len(sent) != 1 {
				t.Fatalf("%d emails", len(sent))
			}
			if err := h.sb.Notify.DeliverStatus(sent[0].ID, "delivered"); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, "the second receipt", func() bool {
				return countStatus(h.trail(t, id), "settle", event.OutcomeDelivered) >= 2
			})
			time.Sleep(300 * time.Millisecond) // let a duplicate registration run, if any
			if got := len(h.sb.OpenKlant.Klantcontacten()); got != 1 {
				t.Fatalf("%d klantcontacten after a second receipt, want 1", got)
			}
			if got := countStatus(h.trail(t, id), "klantcontact", "klantcontact"); got != 1 {
				t.Fatalf("%d klantcontact lines in the trail, want 1", got)
			}
		})
	}
}

// TestEndToEndKlantcontactBounce: an email that bounced and the SMS that
// followed are two klantcontacten, one failed and one successful.
func TestEndToEndKlantcontactBounce(t *testing.T) {
	h := startHarness(t, "embedded", registerKlantcontact)
	seedDemoExtras(h.sb)
	oz, d := h.sb.OpenZaak, h.sb.Demo
	z := newDemoZaak(oz, d, "ZAAK-E2E-KC", "Bounce", demoBSNBounce, "Kees")
	n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
	h.post(t, n)
	var kcs []openklant.Klantcontact
	eventually(t, 30*time.Second, "two klantcontacten", func() bool {
		kcs = h.sb.OpenKlant.Klantcontacten()
		return len(kcs) >= 2
	})
	time.Sleep(300 * time.Millisecond)
	kcs = h.sb.OpenKlant.Klantcontacten()
	if len(kcs) != 2 {
		t.Fatalf("%d klantcontacten, want 2: %+v", len(kcs), kcs)
	}
	got := map[string]bool{}
	for _, k := range kcs {
		if k.IndicatieContactGelukt == nil {
			t.Fatalf("klantcontact without result: %+v", k)
		}
		got[k.Kanaal] = *k.IndicatieContactGelukt
		if strings.Contains(k.Inhoud, demoBSNBounce) {
			t.Fatalf("inhoud carries the BSN: %q", k.Inhoud)
		}
	}
	if g, ok := got["e-mail"]; !ok || g {
		t.Fatalf("want a failed e-mail klantcontact: %+v", kcs)
	}
	if g, ok := got["sms"]; !ok || !g {
		t.Fatalf("want a successful sms klantcontact: %+v", kcs)
	}
}

// TestEndToEndKlantcontactOff: without the switch nothing is posted.
func TestEndToEndKlantcontactOff(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
	h.post(t, n)
	eventually(t, 20*time.Second, "the email to be delivered", func() bool {
		return hasStatus(h.trail(t, httpapi.NotificationID(n)), "settle", event.OutcomeDelivered)
	})
	if got := len(h.sb.OpenKlant.Klantcontacten()); got != 0 {
		t.Fatalf("%d klantcontacten with registration off", got)
	}
}
