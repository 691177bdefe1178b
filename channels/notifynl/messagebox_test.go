package notifynl

import (
	"bytes"
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
)

func besluitDelivery(id, bsn string) event.Delivery {
	return event.Delivery{ID: id, Channel: event.ChannelBerichtenbox,
		Recipient: event.Recipient{Subject: event.Subject{Kind: event.KindInwoner, BSN: bsn}},
		Decision: event.Decision{Message: "besluit", Berichtenbox: &event.BerichtenboxMessage{BerichtType: "Besluit", Subject: "Besluit op uw aanvraag",
			Body: "Er is een besluit genomen.\nZie de bijlage.", Attach: "besluit-document", Referentie: "ZAAK-2026-0001", BesluitURL: "https://openzaak.example/besluiten/api/v1/besluiten/1"}}}
}

func TestMessageboxDeliversWithTheBesluitAndItsReceipt(t *testing.T) {
	const token = "callback-token"
	var mu sync.Mutex
	var outcomes []event.Outcome
	cbSrv := newCallbackServer(t, token, func(o event.Outcome) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() })
	f := newFake(t, func(o *notify.Options) {
		o.CallbackURL, o.CallbackToken, o.AutoStatus = cbSrv, token, true
		o.StatusRules = map[string]string{"999990019": notify.StatusPermanentFailure}
	})
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("p"), 2000)...)
	docs := func(_ context.Context, besluitURL string, limit int64) ([]berichtenbox.Document, error) {
		return []berichtenbox.Document{{Titel: "Besluit", Content: pdf}, {Titel: "Notitie", Content: []byte("geen pdf")}}, nil
	}
	ch := berichtenbox.NewChannel(Messagebox(f.client(t)), docs)
	rec, err := ch.Send(context.Background(), besluitDelivery("d1", "999993653"))
	if err != nil {
		t.Fatal(err)
	}
	sent := f.fake.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d", len(sent))
	}
	s := sent[0]
	if s.Type != "messagebox" || s.To != "999993653" || s.MessageType != "Besluit" || s.Reference != "d1" || s.Body != "Er is een besluit genomen.\r\nZie de bijlage." ||
		len(s.Attachments) != 1 || !bytes.Equal(s.Attachments[0].Content, pdf) || s.ID != rec.ProviderID {
		t.Fatalf("sent %+v", s)
	}
	// Sending again (a redelivered message) finds the reference and does not send twice.
	if _, err := ch.Send(context.Background(), besluitDelivery("d1", "999993653")); err != nil || len(f.fake.Sent()) != 1 {
		t.Fatalf("resend: %v, %d sent", err, len(f.fake.Sent()))
	}
	if _, err := ch.Send(context.Background(), besluitDelivery("d2", "999990019")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(outcomes) == 2 })
	mu.Lock()
	defer mu.Unlock()
	byID := map[string]event.Outcome{}
	for _, o := range outcomes {
		byID[o.DeliveryID] = o
	}
	if o := byID["d1"]; o.Status != event.OutcomeDelivered || o.Channel != event.ChannelBerichtenbox {
		t.Fatalf("d1 outcome %+v", o)
	}
	if o := byID["d2"]; o.Status != event.OutcomePermanent || o.Channel != event.ChannelBerichtenbox {
		t.Fatalf("d2 outcome %+v", o)
	}
}

func TestMessageboxRefusesWhatTheBerichtenboxCannotTake(t *testing.T) {
	f := newFake(t, nil)
	big := func(_ context.Context, _ string, limit int64) ([]berichtenbox.Document, error) {
		return []berichtenbox.Document{{Titel: "a", Content: append([]byte("%PDF-"), make([]byte, 300_000)...)}, {Titel: "b", Content: append([]byte("%PDF-"), make([]byte, 300_000)...)}}, nil
	}
	ch := berichtenbox.NewChannel(Messagebox(f.client(t)), big)
	for name, d := range map[string]event.Delivery{
		"too large": besluitDelivery("d1", "999993653"),
		"no bsn":    besluitDelivery("d2", ""),
		"no text":   {ID: "d3", Recipient: event.Recipient{Subject: event.Subject{BSN: "999993653"}}},
	} {
		if _, err := ch.Send(context.Background(), d); failure.Classify(err).Kind != failure.KindPermanent {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
	if n := len(f.fake.Sent()); n != 0 {
		t.Fatalf("sent %d", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newCallbackServer(t *testing.T, token string, sink func(event.Outcome)) string {
	t.Helper()
	srv := httptest.NewServer(CallbackHandler(token, func(_ context.Context, o event.Outcome) error { sink(o); return nil }))
	t.Cleanup(srv.Close)
	return srv.URL
}
