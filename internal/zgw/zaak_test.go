package zgw

import (
	"context"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// Dedup of zaak.afgesloten is by determinism: the event id derives from the
// zaak URL, and the router drops an event id it has seen (store.Claims). So
// this test asserts one zaak.afgesloten per order and one id over all
// orders.
func TestZaakAfsluitenInEveryOrder(t *testing.T) {
	ns := notifications(t, readExample(t, "zaak-closed.zaak_afsluiten.sequence.json"))
	if len(ns) != 3 {
		t.Fatalf("%d notifications in the sequence", len(ns))
	}
	orders := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	ids := map[string]bool{}
	for _, o := range orders {
		w := newWorld(t)
		var got []event.Event
		for _, i := range o {
			res, err := w.e.Enrich(context.Background(), inbound(ns[i]))
			if err != nil {
				t.Fatalf("order %v: %s: %v", o, ns[i].Resource, err)
			}
			if len(res.Events) == 0 && res.Skipped == "" {
				t.Fatalf("order %v: %s neither an event nor a recorded skip", o, ns[i].Resource)
			}
			got = append(got, res.Events...)
		}
		if len(got) != 1 || got[0].Type != event.TypeZaakAfgesloten {
			t.Fatalf("order %v: events %+v, want exactly one zaak.afgesloten", o, got)
		}
		if got[0].Resultaat == nil || got[0].Resultaat.Omschrijving != "Verleend" {
			t.Fatalf("order %v: resultaat %+v", o, got[0].Resultaat)
		}
		ids[got[0].ID] = true
	}
	if len(ids) != 1 {
		t.Fatalf("zaak.afgesloten ids differ between orders: %v", ids)
	}
}

func TestSubjectsFromRollen(t *testing.T) {
	partij := "https://openklant.gemeente.example/klantinteracties/api/v1/partijen/5e4bc5f2-3a3c-4d1f-9d4e-0b8f1f6a2c11"
	tests := []struct {
		name     string
		rollen   []openzaak.Rol
		want     []event.Subject
		wantSkip string
	}{
		{name: "two initiators and a mede-initiator", rollen: []openzaak.Rol{
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999993653", "Jan", "Jansen")},
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999990627", "Anna", "de Vries")},
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "mede_initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999991103", "Piet", "Pietersen")},
			{BetrokkeneType: "medewerker", OmschrijvingGeneriek: "behandelaar", BetrokkeneIdentificatie: map[string]any{"identificatie": "mdw1"}},
		}, want: []event.Subject{
			{Role: event.RoleInitiator, Kind: event.KindInwoner, BSN: "999993653", Name: "Jan Jansen"},
			{Role: event.RoleInitiator, Kind: event.KindInwoner, BSN: "999990627", Name: "Anna de Vries"},
			{Role: event.RoleMedeInitiator, Kind: event.KindInwoner, BSN: "999991103", Name: "Piet Pietersen"},
		}},
		{name: "duplicate rol", rollen: []openzaak.Rol{
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999993653", "Jan", "Jansen")},
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999993653", "Jan", "Jansen")},
		}, want: []event.Subject{{Role: event.RoleInitiator, Kind: event.KindInwoner, BSN: "999993653", Name: "Jan Jansen"}}},
		{name: "bedrijf by rsin", rollen: []openzaak.Rol{
			{BetrokkeneType: "niet_natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NietNatuurlijkPersoon("", "002220647", "Stichting X")},
		}, want: []event.Subject{{Role: event.RoleInitiator, Kind: event.KindBedrijf, RSIN: "002220647", Name: "Stichting X"}}},
		{name: "vestiging", rollen: []openzaak.Rol{
			{BetrokkeneType: "vestiging", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.Vestiging("69599084", "000038509504", "Bakkerij")},
		}, want: []event.Subject{{Role: event.RoleInitiator, Kind: event.KindBedrijf, KVK: "69599084", Vestigingsnummer: "000038509504", Name: "Bakkerij"}}},
		{name: "open klant partij without identificatie", rollen: []openzaak.Rol{
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", Betrokkene: partij},
		}, want: []event.Subject{{Role: event.RoleInitiator, Kind: event.KindInwoner, PartijURL: partij}}},
		{name: "gemachtigde bedrijf for an inwoner", rollen: []openzaak.Rol{
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999991206", "", "Bos")},
			{BetrokkeneType: "niet_natuurlijk_persoon", OmschrijvingGeneriek: "belanghebbende", IndicatieMachtiging: "gemachtigde", BetrokkeneIdentificatie: openzaak.NietNatuurlijkPersoon("69599084", "", "Adviesbureau")},
		}, want: []event.Subject{
			{Role: event.RoleInitiator, Kind: event.KindInwoner, BSN: "999991206", Name: "Bos"},
			{Role: event.RoleGemachtigde, Kind: event.KindBedrijf, KVK: "69599084", Name: "Adviesbureau"},
		}},
		{name: "initiator without identifier", rollen: []openzaak.Rol{
			{BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("", "Jan", "Jansen")},
		}, wantSkip: ReasonRolZonderIdentificatie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			d := f.demo
			z := f.oz.AddZaak(openzaak.Zaak{Identificatie: "ZAAK-SUBJ", Zaaktype: d.Zaaktype.URL, Bronorganisatie: "002220647", VerantwoordelijkeOrganisatie: "002220647", Registratiedatum: "2025-03-20", Startdatum: "2025-03-20"})
			for _, r := range tt.rollen {
				r.Zaak = z.URL
				f.oz.AddRol(r)
			}
			st := f.oz.SetStatus(z.URL, d.Statustypen[1], time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC))
			res, err := f.e.Enrich(context.Background(), statusInbound(st.URL, z.URL))
			if err != nil {
				t.Fatalf("Enrich: %v", err)
			}
			if res.Skipped != tt.wantSkip {
				t.Fatalf("Skipped = %q (%s), want %q", res.Skipped, res.Detail, tt.wantSkip)
			}
			if tt.wantSkip != "" {
				return
			}
			got := res.Events[0].Subjects
			if len(got) != len(tt.want) {
				t.Fatalf("subjects %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("subject %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestBesluitTriggers(t *testing.T) {
	bes := notifications(t, readExample(t, "besluit-created.json"))[0]
	bio := notifications(t, readExample(t, "besluitinformatieobject-created.json"))[0]
	tests := []struct {
		trigger          string
		wantBes, wantBio string // event type or skip reason
	}{
		{BesluitTriggerBesluit, event.TypeBesluitGenomen, ReasonBesluitAndereTrigger},
		{BesluitTriggerInformatieobject, ReasonBesluitAndereTrigger, event.TypeBesluitGenomen},
	}
	var ids []string
	for _, tt := range tests {
		t.Run(tt.trigger, func(t *testing.T) {
			w := newWorld(t, func(c *Config) { c.BesluitTrigger = tt.trigger })
			for _, c := range []struct {
				n    event.Notification
				want string
			}{{bes, tt.wantBes}, {bio, tt.wantBio}} {
				res, err := w.e.Enrich(context.Background(), inbound(c.n))
				if err != nil {
					t.Fatalf("%s: %v", c.n.Resource, err)
				}
				got := res.Skipped
				if len(res.Events) == 1 {
					got = res.Events[0].Type
					ev := res.Events[0]
					if ev.Besluit == nil || ev.Besluit.Identificatie != "BESLUIT-2025-0042" || ev.Besluit.BesluittypeOmschrijving != "Besluit parkeervergunning" || ev.Zaak == nil {
						t.Fatalf("besluit fields: %+v zaak %+v", ev.Besluit, ev.Zaak)
					}
					ids = append(ids, ev.ID)
				}
				if got != c.want {
					t.Fatalf("%s create: %q, want %q", c.n.Resource, got, c.want)
				}
			}
		})
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("besluit.genomen ids %v: want one id whatever the trigger", ids)
	}
	if _, err := New(Config{BesluitTrigger: "besluitje"}); err == nil {
		t.Fatal("New accepted an unknown besluit trigger")
	}
}

func TestDocumentToegevoegd(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		f := newFixture(t, func(c *Config) { c.Documenten = enabled })
		doc := f.oz.AddEnkelvoudigInformatieObject(openzaak.EnkelvoudigInformatieObject{Titel: "Ontvangstbevestiging", Bronorganisatie: "002220647"})
		zio := f.oz.AddZaakInformatieObject(openzaak.ZaakInformatieObject{Zaak: f.demo.ZaakInwoner.URL, Informatieobject: doc.URL})
		in := statusInbound(zio.URL, f.demo.ZaakInwoner.URL)
		in.Notification.Resource = "zaakinformatieobject"
		res, err := f.e.Enrich(context.Background(), in)
		if err != nil {
			t.Fatalf("enabled %v: %v", enabled, err)
		}
		if !enabled {
			if res.Skipped != ReasonDocumentenUit {
				t.Fatalf("disabled: %+v", res)
			}
			continue
		}
		if len(res.Events) != 1 || res.Events[0].Type != event.TypeDocumentToegevoegd || res.Events[0].Document.Titel != "Ontvangstbevestiging" {
			t.Fatalf("enabled: %+v", res)
		}
	}
}

func TestExternalEvent(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		x        event.External
		wantZaak string
		wantSkip string
		wantErr  bool
	}{
		{name: "subject only", x: event.External{Type: "parkeren.vergunning_verloopt", Subject: event.Subject{BSN: "999993653"}}},
		{name: "zaak by url", x: event.External{Type: "afval.pas_klaar", Subject: event.Subject{BSN: "999993653"}, Zaak: f.demo.ZaakInwoner.URL}, wantZaak: "ZAAK-2025-0000123"},
		{name: "zaak by identificatie", x: event.External{Type: "afval.pas_klaar", Subject: event.Subject{KVK: "69599084"}, Zaak: "ZAAK-2025-0000124"}, wantZaak: "ZAAK-2025-0000124"},
		{name: "zaak url off the allow-list", x: event.External{Type: "x", Subject: event.Subject{BSN: "999993653"}, Zaak: "http://10.0.0.1/zaken/api/v1/zaken/1"}, wantSkip: ReasonURLNietToegestaan},
		{name: "no identifier", x: event.External{Type: "x"}, wantSkip: ReasonSubjectZonderIdentificatie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.x
			in := event.Inbound{ID: eventID("events", tt.name), Source: event.SourceEvents, External: &x}
			res, err := f.e.Enrich(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Skipped != tt.wantSkip {
				t.Fatalf("Skipped = %q (%s), want %q", res.Skipped, res.Detail, tt.wantSkip)
			}
			if tt.wantSkip != "" {
				return
			}
			ev := res.Events[0]
			if ev.Type != x.Type || len(ev.Subjects) != 1 || ev.Subjects[0].Kind == "" {
				t.Fatalf("event %+v", ev)
			}
			if tt.wantZaak != "" && (ev.Zaak == nil || ev.Zaak.Identificatie != tt.wantZaak || ev.Zaaktype == nil) {
				t.Fatalf("zaak %+v, want %s", ev.Zaak, tt.wantZaak)
			}
		})
	}
}
