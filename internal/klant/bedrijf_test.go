package klant_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/kvk"
	fakekvk "github.com/mijnservices/koerier/internal/sandbox/kvk"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
)

func newKVK(t *testing.T) (*fakekvk.Server, *kvk.Client) {
	t.Helper()
	fake := fakekvk.NewServer(fakekvk.Options{})
	fake.SeedDemo()
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	return fake, kvk.New(kvk.Options{BaseURL: ts.URL, APIKey: fakekvk.DefaultAPIKey, HTTPClient: httpclient.New(httpclient.Options{RetryMax: -1})})
}

func TestResolveBedrijf(t *testing.T) {
	const kvkNr = fakekvk.DemoKVK
	type cp struct{ name, email, phone string }
	cases := []struct {
		name           string
		seed           func(*openklant.Server)
		subject        event.Subject
		need           klant.Need
		wantName       string
		wantEmail      string
		wantContacts   []cp
		wantLines      []string
		postalRegistry string
		unknown        bool
	}{
		{
			name: "organisatie with contactpersonen",
			seed: func(s *openklant.Server) {
				org := s.AddOrganisatie(openklant.Organisatie{KVK: kvkNr, Naam: "Korenschoof B.V.",
					Adressen: []openklant.Adres{{Soort: "email", Adres: "info@korenschoof.example", Voorkeur: true}}})
				s.AddContactpersoon(org, openklant.Contactpersoon{Voornaam: "Sanne", Achternaam: "Bakker",
					Adressen: []openklant.Adres{{Soort: "email", Adres: "sanne@korenschoof.example", Standaard: true}, {Soort: "telefoonnummer", Adres: "0201234567", Voorkeur: true}}})
				s.AddContactpersoon(org, openklant.Contactpersoon{Voornaam: "Oud", Achternaam: "Contact", Inactief: true,
					Adressen: []openklant.Adres{{Soort: "email", Adres: "oud@korenschoof.example"}}})
				other := s.AddOrganisatie(openklant.Organisatie{KVK: "12345678", Naam: "Ander B.V."})
				s.AddContactpersoon(other, openklant.Contactpersoon{Voornaam: "Niet", Achternaam: "Hier",
					Adressen: []openklant.Adres{{Soort: "email", Adres: "niet@ander.example"}}})
			},
			subject:      event.Subject{Kind: event.KindBedrijf, KVK: kvkNr},
			need:         klant.Need{Digital: true},
			wantName:     "Korenschoof B.V.",
			wantEmail:    "info@korenschoof.example",
			wantContacts: []cp{{"Sanne Bakker", "sanne@korenschoof.example", "+31201234567"}},
		},
		{
			name: "vestiging has its own partij",
			seed: func(s *openklant.Server) {
				s.AddOrganisatie(openklant.Organisatie{KVK: kvkNr, Naam: "Korenschoof B.V.",
					Adressen: []openklant.Adres{{Soort: "email", Adres: "info@korenschoof.example"}}})
				s.AddOrganisatie(openklant.Organisatie{KVK: kvkNr, Vestigingsnummer: fakekvk.DemoVestiging, Naam: "Korenschoof Noord",
					Adressen: []openklant.Adres{{Soort: "email", Adres: "noord@korenschoof.example"}}})
			},
			subject:   event.Subject{Kind: event.KindBedrijf, KVK: kvkNr, Vestigingsnummer: fakekvk.DemoVestiging},
			need:      klant.Need{Digital: true},
			wantName:  "Korenschoof Noord",
			wantEmail: "noord@korenschoof.example",
		},
		{
			name: "vestiging unknown in Open Klant falls back to the company",
			seed: func(s *openklant.Server) {
				s.AddOrganisatie(openklant.Organisatie{KVK: kvkNr, Naam: "Korenschoof B.V.",
					Adressen: []openklant.Adres{{Soort: "email", Adres: "info@korenschoof.example"}}})
			},
			subject:   event.Subject{Kind: event.KindBedrijf, KVK: kvkNr, Vestigingsnummer: fakekvk.DemoVestiging},
			need:      klant.Need{Digital: true},
			wantName:  "Korenschoof B.V.",
			wantEmail: "info@korenschoof.example",
		},
		{
			name: "Open Klant correspondentieadres wins over KVK",
			seed: func(s *openklant.Server) {
				s.AddOrganisatie(openklant.Organisatie{KVK: kvkNr, Naam: "Korenschoof B.V.",
					Correspondentie: &openklant.Correspondentieadres{Straatnaam: "Antwoordnummer", Huisnummer: 1234, Postcode: "1200 VB", Stad: "Ons Dorp"}})
			},
			subject:        event.Subject{Kind: event.KindBedrijf, KVK: kvkNr},
			need:           klant.Need{Postal: true},
			wantName:       "Korenschoof B.V.",
			wantLines:      []string{"Antwoordnummer 1234", "1200 VB  ONS DORP"},
			postalRegistry: "openklant",
		},
		{
			name: "KVK postadres without an Open Klant address",
			seed: func(s *openklant.Server) {
				s.AddOrganisatie(openklant.Organisatie{KVK: kvkNr, Naam: "Korenschoof B.V."})
			},
			subject:        event.Subject{Kind: event.KindBedrijf, KVK: kvkNr},
			need:           klant.Need{Postal: true},
			wantName:       "Korenschoof B.V.",
			wantLines:      []string{"Postbus 100", "1230 AA  ONS DORP"},
			postalRegistry: "kvk",
		},
		{
			name:           "only KVK knows the company",
			seed:           func(*openklant.Server) {},
			subject:        event.Subject{Kind: event.KindBedrijf, KVK: kvkNr},
			need:           klant.Need{Digital: true, Postal: true},
			wantName:       "Bakkerij De Korenschoof B.V.",
			wantLines:      []string{"Postbus 100", "1230 AA  ONS DORP"},
			postalRegistry: "kvk",
		},
		{
			name:    "nobody knows the company",
			seed:    func(*openklant.Server) {},
			subject: event.Subject{Kind: event.KindBedrijf, KVK: "12345678"},
			need:    klant.Need{Digital: true, Postal: true},
			unknown: true, postalRegistry: "kvk",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fok, kc := newFake(t)
			c.seed(fok)
			fkvk, kvkc := newKVK(t)
			r := klant.NewResolver(klant.ResolverOptions{Klant: kc, KVK: kvkc})
			got, err := r.Resolve(context.Background(), c.subject, c.need, "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != event.KindBedrijf || got.Name != c.wantName || got.Email != c.wantEmail || got.Unknown != c.unknown {
				t.Fatalf("kind %q name %q email %q unknown %v", got.Kind, got.Name, got.Email, got.Unknown)
			}
			var gotCP []cp
			for _, p := range got.Contactpersonen {
				gotCP = append(gotCP, cp{p.Name, p.Email, p.Phone})
				if p.Sources[klant.FactPartij].Registry != "openklant" {
					t.Errorf("contactpersoon without source: %+v", p.Sources)
				}
			}
			if !slices.Equal(gotCP, c.wantContacts) {
				t.Fatalf("contactpersonen %+v, want %+v", gotCP, c.wantContacts)
			}
			if c.wantLines == nil {
				if got.PostalAddress != nil {
					t.Fatalf("unexpected postal address %+v", got.PostalAddress)
				}
			} else if got.PostalAddress == nil || !slices.Equal(got.PostalAddress.Lines, c.wantLines) || got.PostalAddress.NameLine != c.wantName {
				t.Fatalf("postal address %+v, want %q for %q", got.PostalAddress, c.wantLines, c.wantName)
			}
			if src := got.Sources[klant.FactPostalAddress]; src.Registry != c.postalRegistry {
				t.Fatalf("postal source %+v, want %q", src, c.postalRegistry)
			}
			if !c.need.Postal && fkvk.Requests() != 0 {
				t.Fatalf("KVK asked although no post was needed")
			}
		})
	}
}
