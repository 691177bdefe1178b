package router

import (
	"strings"
	"testing"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/channels/notifynl"
	"github.com/mijnservices/koerier/internal/event"
)

func TestDeliveryIDIsStableAndCarriesNoPersonalData(t *testing.T) {
	a := deliveryID("ev1", "email", "ref", "zaak-status")
	if a != deliveryID("ev1", "email", "ref", "zaak-status") {
		t.Fatal("delivery id is not deterministic")
	}
	for _, other := range []string{
		deliveryID("ev2", "email", "ref", "zaak-status"),
		deliveryID("ev1", "sms", "ref", "zaak-status"),
		deliveryID("ev1", "email", "ref2", "zaak-status"),
		deliveryID("ev1", "email", "ref", "zaak-ontvangen"),
	} {
		if other == a {
			t.Fatal("different deliveries share an id")
		}
	}
	r := &Router{o: Options{SubjectKey: []byte("k")}}
	ref := r.subjectRef(event.Subject{BSN: "999993653"})
	if ref == "" || strings.Contains(ref, "999993653") {
		t.Fatalf("subject ref %q", ref)
	}
	if ref == (&Router{o: Options{SubjectKey: []byte("other")}}).subjectRef(event.Subject{BSN: "999993653"}) {
		t.Fatal("subject ref does not depend on the key")
	}
}

func TestPersonalisationHasEveryKey(t *testing.T) {
	ev := &event.Event{Type: event.TypeTaakToegewezen, Taak: &event.Taak{Titel: "Formulier invullen"},
		Personalisation: map[string]string{"extra": "x", "taak_titel": "ignored"}}
	p := personalisation(ev, event.Recipient{Name: "Jan Jansen", Subject: event.Subject{BSN: "999993653"}},
		map[string]string{"portaal_link": "https://mijn.gemeente.nl/taken/1", "taak_formulier": "https://formulieren.gemeente.nl/f/1"})
	for _, k := range personalisationKeys {
		if _, ok := p[k]; !ok {
			t.Errorf("personalisation lacks %q", k)
		}
	}
	// The rules' rendered values come on top, and win over a fixed key.
	if p["portaal_link"] != "https://mijn.gemeente.nl/taken/1" || p["taak_formulier"] != "https://formulieren.gemeente.nl/f/1" {
		t.Fatalf("rule personalisation not applied: %v", p)
	}
	if p["taak_titel"] != "Formulier invullen" || p["extra"] != "x" || p["naam"] != "Jan Jansen" {
		t.Fatalf("personalisation = %v", p)
	}
	for k, v := range p {
		if strings.Contains(v, "999993653") {
			t.Fatalf("personalisation %s carries the BSN", k)
		}
	}
}

func TestDropUnconfiguredChannels(t *testing.T) {
	c, err := notifynl.New("http://notify.invalid", "k-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := channels.NewRegistry(notifynl.EmailChannel(c))
	r := &Router{d: Deps{Channels: reg}}

	dec := event.Decision{Plan: []string{"berichtenbox", "email", "print"}}
	r.dropUnconfigured(&dec)
	if strings.Join(dec.Plan, ",") != "email" || dec.Skip || len(dec.Skipped) != 2 {
		t.Fatalf("decision = %+v", dec)
	}
	dec = event.Decision{Plan: []string{"berichtenbox", "print"}}
	r.dropUnconfigured(&dec)
	if !dec.Skip || dec.Reason == "" {
		t.Fatalf("a plan without any configured channel must be a skip with a reason: %+v", dec)
	}
}
