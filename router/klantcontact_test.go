package router

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
)

type fakeKlantcontacten struct {
	mu      sync.Mutex
	created []klant.MaakKlantcontact
	finds   int
	fail    error
}

func (f *fakeKlantcontacten) MaakKlantcontact(_ context.Context, m klant.MaakKlantcontact) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		err := f.fail
		f.fail = nil
		return "", err
	}
	f.created = append(f.created, m)
	return "https://ok.example/klantcontacten/1", nil
}

func (f *fakeKlantcontacten) FindKlantcontact(_ context.Context, kenmerk, _ string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finds++
	for _, m := range f.created {
		if strings.Contains(m.Klantcontact.Inhoud, kenmerk) {
			return "https://ok.example/klantcontacten/1", true, nil
		}
	}
	return "", false, nil
}

func testRegistration() registration {
	d := event.Delivery{ID: "abc123", Channel: event.ChannelEmail, ZaakURL: "https://oz.example/zaken/api/v1/zaken/z-uuid",
		Decision:        event.Decision{Message: "zaak-ontvangen", Plan: []string{"email", "sms"}, Language: "nld"},
		Personalisation: map[string]string{"zaak_identificatie": "ZAAK-1"},
		Recipient: event.Recipient{Subject: event.Subject{BSN: "999993653"}, Sources: map[string]event.Source{
			klant.FactPartij: {Registry: klant.RegistryOpenKlant, Record: "https://ok.example/partijen/p-uuid"}}}}
	return registration{Delivery: d, Outcome: event.Outcome{DeliveryID: d.ID, Channel: d.Channel, Status: event.OutcomePermanent,
		Reason: "bounce for 999993653 at jan@example.com " + strings.Repeat("x", 2000)}, Next: "sms"}
}

// A klantcontact is posted once per delivery: a second message is a no-op
// by the marker; after a crash between POST and marker, the redelivery
// finds it by its kenmerk; a failed POST releases the lease for the retry.
func TestRegisterKlantcontactOnce(t *testing.T) {
	clk := clock.NewFake(clock.WorkingDay)
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "store.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kc := &fakeKlantcontacten{fail: failure.Temporary(errors.New("klant: maak klantcontact: 503"))}
	r := &Router{d: Deps{Store: st, Klantcontacten: kc, Now: clk.Now}, o: Options{LeaseTTL: time.Minute, MarkerTTL: time.Hour},
		log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	g := testRegistration()

	if _, err := r.registerKlantcontact(ctx, g); !isTemporary(err) {
		t.Fatalf("failed POST: %v, want a temporary failure", err)
	}
	if _, err := r.registerKlantcontact(ctx, g); err != nil {
		t.Fatalf("retry after the failure (lease released): %v", err)
	}
	if _, err := r.registerKlantcontact(ctx, g); err != nil || len(kc.created) != 1 {
		t.Fatalf("second message: %v, %d klantcontacten, want 1", err, len(kc.created))
	}
	// A crash after the POST: the marker is gone, the lease ran out.
	if err := st.Delete(ctx, "klantcontact:"+g.Delivery.ID); err != nil {
		t.Fatal(err)
	}
	_ = st.Release(ctx, "lease:klantcontact:"+g.Delivery.ID)
	res, err := r.registerKlantcontact(withRefs(ctx, Refs{Redelivered: true}), g)
	if err != nil || len(kc.created) != 1 || kc.finds != 1 {
		t.Fatalf("redelivery: %v, %d klantcontacten, %d look-ups; want 1 and 1", err, len(kc.created), kc.finds)
	}
	if len(res.Ledger) != 1 || !strings.Contains(res.Ledger[0].Detail, "stond al") {
		t.Fatalf("redelivery ledger: %+v", res.Ledger)
	}

	m := kc.created[0]
	k := m.Klantcontact
	if utf8.RuneCountInString(k.Inhoud) > klant.MaxInhoud || utf8.RuneCountInString(k.Onderwerp) > klant.MaxOnderwerp {
		t.Fatalf("too long: onderwerp %d, inhoud %d", utf8.RuneCountInString(k.Onderwerp), utf8.RuneCountInString(k.Inhoud))
	}
	if strings.Contains(k.Inhoud, "999993653") || strings.Contains(k.Inhoud, "@") {
		t.Fatalf("inhoud carries personal data: %q", k.Inhoud)
	}
	if !strings.HasSuffix(k.Inhoud, "Kenmerk: koerier-abc123") || !strings.Contains(k.Inhoud, "per sms") {
		t.Fatalf("inhoud %q: want the fallback and the kenmerk at the end", k.Inhoud)
	}
	if k.IndicatieContactGelukt == nil || *k.IndicatieContactGelukt || k.Kanaal != "e-mail" {
		t.Fatalf("klantcontact %+v: want a failed e-mail", k)
	}
	if m.Betrokkene == nil || m.Betrokkene.WasPartij.UUID != "p-uuid" || m.Onderwerpobject == nil ||
		m.Onderwerpobject.Onderwerpobjectidentificator.ObjectID != "z-uuid" {
		t.Fatalf("links: %+v %+v", m.Betrokkene, m.Onderwerpobject)
	}
}
