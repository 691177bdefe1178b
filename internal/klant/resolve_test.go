package klant_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
)

const apiPath = "/klantinteracties/api/v1"

// newFake starts a fake Open Klant and a client for it.
func newFake(t *testing.T) (*openklant.Server, *klant.Client) {
	t.Helper()
	return newFakeWith(t, openklant.Options{})
}

func newFakeWith(t *testing.T, o openklant.Options) (*openklant.Server, *klant.Client) {
	t.Helper()
	fake := openklant.NewServer(o)
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	fake.SetBaseURL(ts.URL + apiPath)
	hc := httpclient.New(httpclient.Options{RetryMax: -1})
	return fake, klant.NewClient(fake.BaseURL(), openklant.DefaultToken, hc)
}

func inwoner(bsn string) event.Subject { return event.Subject{Kind: event.KindInwoner, BSN: bsn} }

func TestResolveAddressChoice(t *testing.T) {
	const bsn = "999993653"
	const zaak = "ZAAK-2025-0001"
	cases := []struct {
		name      string
		seed      []openklant.Persoon
		zaak      string
		wantEmail string
		wantPhone string
		wantPref  string
		wantName  string
		wantLang  string
		unknown   bool
		emailWhy  string
	}{
		{
			name: "referentie equal to the zaak wins over voorkeur",
			seed: []openklant.Persoon{{BSN: bsn, Voornaam: "Jan", Achternaam: "Jansen", Adressen: []openklant.Adres{
				{Soort: "email", Adres: "jan@example.com", Standaard: true, Voorkeur: true},
				{Soort: "telefoonnummer", Adres: "0612345678", Referentie: zaak},
			}}},
			zaak: zaak, wantEmail: "jan@example.com", wantPhone: "+31612345678", wantPref: "sms", wantName: "Jan Jansen", wantLang: "nld",
			emailWhy: "voorkeursDigitaalAdres of the partij",
		},
		{
			name: "referentie of another zaak does not count",
			seed: []openklant.Persoon{{BSN: bsn, Adressen: []openklant.Adres{
				{Soort: "email", Adres: "per-zaak@example.com", Referentie: "ZAAK-OTHER"},
				{Soort: "email", Adres: "voorkeur@example.com", Voorkeur: true},
			}}},
			zaak: zaak, wantEmail: "voorkeur@example.com", wantPref: "email", wantLang: "nld", emailWhy: "voorkeursDigitaalAdres of the partij",
		},
		{
			name: "per-zaak email wins within its soort",
			seed: []openklant.Persoon{{BSN: bsn, Adressen: []openklant.Adres{
				{Soort: "email", Adres: "voorkeur@example.com", Voorkeur: true, Standaard: true},
				{Soort: "email", Adres: "per-zaak@example.com", Referentie: zaak},
			}}},
			zaak: zaak, wantEmail: "per-zaak@example.com", wantPref: "email", wantLang: "nld", emailWhy: "referentie equals the zaak identificatie",
		},
		{
			name: "voorkeur wins over standaard",
			seed: []openklant.Persoon{{BSN: bsn, Adressen: []openklant.Adres{
				{Soort: "email", Adres: "standaard@example.com", Standaard: true},
				{Soort: "email", Adres: "voorkeur@example.com", Voorkeur: true},
			}}},
			wantEmail: "voorkeur@example.com", wantPref: "email", wantLang: "nld", emailWhy: "voorkeursDigitaalAdres of the partij",
		},
		{
			name: "standaard wins over first without a voorkeur",
			seed: []openklant.Persoon{{BSN: bsn, Adressen: []openklant.Adres{
				{Soort: "email", Adres: "first@example.com"},
				{Soort: "email", Adres: "standaard@example.com", Standaard: true},
			}}},
			wantEmail: "standaard@example.com", wantLang: "nld", emailWhy: "isStandaardAdres for its soort",
		},
		{
			name: "first of its soort as the last resort",
			seed: []openklant.Persoon{{BSN: bsn, Adressen: []openklant.Adres{
				{Soort: "overig", Adres: "https://example.com/me"},
				{Soort: "email", Adres: "first@example.com"},
				{Soort: "email", Adres: "second@example.com"},
			}}},
			wantEmail: "first@example.com", wantLang: "nld", emailWhy: "first address of its soort",
		},
		{
			name: "voorkeur on a phone gives sms",
			seed: []openklant.Persoon{{BSN: bsn, Adressen: []openklant.Adres{
				{Soort: "email", Adres: "jan@example.com", Standaard: true},
				{Soort: "telefoonnummer", Adres: "06-1234 5678", Voorkeur: true},
			}}},
			wantEmail: "jan@example.com", wantPhone: "+31612345678", wantPref: "sms", wantLang: "nld", emailWhy: "isStandaardAdres for its soort",
		},
		{
			name: "pre-2.4 soort spellings are accepted",
			seed: []openklant.Persoon{{BSN: bsn, Adressen: []openklant.Adres{
				{Soort: "Email", Adres: "oud@example.com"},
				{Soort: "Telefoon", Adres: "0031201234567", Voorkeur: true},
			}}},
			wantEmail: "oud@example.com", wantPhone: "+31201234567", wantPref: "sms", wantLang: "nld", emailWhy: "first address of its soort",
		},
		{
			name: "inactive partij is not used",
			seed: []openklant.Persoon{{BSN: bsn, Voornaam: "Jan", Inactief: true, Taal: "eng", Adressen: []openklant.Adres{
				{Soort: "email", Adres: "jan@example.com", Voorkeur: true},
			}}},
			wantLang: "nld",
		},
		{
			name: "inactive partij is skipped when an active one exists",
			seed: []openklant.Persoon{
				{BSN: bsn, Inactief: true, Adressen: []openklant.Adres{{Soort: "email", Adres: "old@example.com", Voorkeur: true}}},
				{BSN: bsn, Adressen: []openklant.Adres{{Soort: "email", Adres: "new@example.com"}}},
			},
			wantEmail: "new@example.com", wantLang: "nld", emailWhy: "first address of its soort",
		},
		{
			name:     "no addresses",
			seed:     []openklant.Persoon{{BSN: bsn, Voornaam: "Piet", Achternaam: "Vries", Voorvoegsel: "de", Taal: "eng"}},
			wantName: "Piet de Vries", wantLang: "eng",
		},
		{
			name:     "unknown subject",
			seed:     []openklant.Persoon{{BSN: "999990627", Adressen: []openklant.Adres{{Soort: "email", Adres: "other@example.com"}}}},
			wantLang: "nld", unknown: true,
		},
		{
			name: "several partijen are merged, the one with a voorkeur first",
			seed: []openklant.Persoon{
				{BSN: bsn, Voornaam: "Zaakpartij", Adressen: []openklant.Adres{{Soort: "email", Adres: "zaak@example.com", Standaard: true}}},
				{BSN: bsn, Voornaam: "Hoofdpartij", Taal: "eng", Adressen: []openklant.Adres{{Soort: "telefoonnummer", Adres: "+32470123456", Voorkeur: true}}},
			},
			wantEmail: "zaak@example.com", wantPhone: "+32470123456", wantPref: "sms", wantName: "Hoofdpartij", wantLang: "eng",
			emailWhy: "isStandaardAdres for its soort",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake, client := newFake(t)
			for _, p := range c.seed {
				fake.AddPersoon(p)
			}
			r := klant.NewResolver(klant.ResolverOptions{Klant: client})
			got, err := r.Resolve(context.Background(), inwoner(bsn), klant.Need{Digital: true}, c.zaak)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.Email != c.wantEmail || got.Phone != c.wantPhone || got.PreferredChannel != c.wantPref {
				t.Errorf("email, phone, preferred = %q, %q, %q; want %q, %q, %q", got.Email, got.Phone, got.PreferredChannel, c.wantEmail, c.wantPhone, c.wantPref)
			}
			if got.Name != c.wantName || got.Language != c.wantLang || got.Unknown != c.unknown {
				t.Errorf("name, language, unknown = %q, %q, %v; want %q, %q, %v", got.Name, got.Language, got.Unknown, c.wantName, c.wantLang, c.unknown)
			}
			if c.wantEmail != "" {
				src := got.Sources[klant.FactEmail]
				if src.Registry != klant.RegistryOpenKlant || !strings.Contains(src.Record, "/digitaleadressen/") || src.Note != c.emailWhy {
					t.Errorf("email source = %+v, want openklant digitaal adres because %q", src, c.emailWhy)
				}
			}
			for fact, src := range got.Sources {
				if strings.Contains(src.Record+src.Note, bsn) {
					t.Errorf("source of %s names the BSN: %+v", fact, src)
				}
			}
		})
	}
}

func TestResolveMergeIsNoted(t *testing.T) {
	fake, client := newFake(t)
	fake.AddPersoon(openklant.Persoon{BSN: "999993653", Adressen: []openklant.Adres{{Soort: "email", Adres: "a@example.com"}}})
	fake.AddPersoon(openklant.Persoon{BSN: "999993653", Adressen: []openklant.Adres{{Soort: "email", Adres: "b@example.com"}}})
	r := klant.NewResolver(klant.ResolverOptions{Klant: client})
	for i := 0; i < 3; i++ {
		got, err := r.Resolve(context.Background(), inwoner("999993653"), klant.Need{Digital: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "a@example.com" {
			t.Fatalf("merge is not deterministic: got %q", got.Email)
		}
		if !strings.Contains(got.Sources[klant.FactPartij].Note, "2 partijen merged") {
			t.Fatalf("merge not noted in sources: %+v", got.Sources[klant.FactPartij])
		}
	}
}

func TestResolveLazy(t *testing.T) {
	fake, client := newFake(t)
	fake.SeedDemo()
	r := klant.NewResolver(klant.ResolverOptions{Klant: client})
	got, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "" || got.Name != "Jan Jansen" {
		t.Fatalf("without Need.Digital: email %q name %q; want no email, a name", got.Email, got.Name)
	}
}

func TestResolveErrorsAreClassified(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		temporary bool
	}{
		{"server error", 503, true},
		{"rate limited", 429, true},
		{"forbidden", 403, false},
		{"bad request", 400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake, client := newFake(t)
			fake.SeedDemo()
			fake.Faults.Add(fault.Rule{Status: c.status})
			r := klant.NewResolver(klant.ResolverOptions{Klant: client})
			_, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true}, "")
			if err == nil {
				t.Fatal("want an error")
			}
			tmp := failure.Classify(err).Kind == failure.KindTemporary
			if tmp != c.temporary || (failure.Classify(err).Kind == failure.KindPermanent) == c.temporary {
				t.Fatalf("err %v: temporary=%v permanent=%v, want temporary=%v", err, tmp, failure.Classify(err).Kind == failure.KindPermanent, c.temporary)
			}
			if strings.Contains(err.Error(), openklant.DemoBSNEmail) {
				t.Fatalf("error names the BSN: %v", err)
			}
		})
	}
}

func TestResolvePeerFaults(t *testing.T) {
	cases := []struct {
		name string
		rule fault.Rule
	}{
		{"malformed answer", fault.Rule{Status: 200, Body: "<html>proxy</html>", ContentType: "text/html"}},
		{"timeout", fault.Rule{Delay: time.Minute}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := openklant.NewServer(openklant.Options{})
			ts := httptest.NewServer(fake)
			// Close unblocks the delayed handler before the server shuts down.
			t.Cleanup(func() { ts.CloseClientConnections(); ts.Close() })
			fake.SetBaseURL(ts.URL)
			fake.SeedDemo()
			fake.Faults.Add(c.rule)
			client := klant.NewClient(fake.BaseURL(), openklant.DefaultToken, httpclient.New(httpclient.Options{RetryMax: -1, Timeout: 50 * time.Millisecond}))
			_, err := klant.NewResolver(klant.ResolverOptions{Klant: client}).Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true}, "")
			if failure.Classify(err).Kind != failure.KindTemporary {
				t.Fatalf("want a temporary error, got %v", err)
			}
		})
	}
}

func TestResolveWithoutExpand(t *testing.T) {
	fake, client := newFakeWith(t, openklant.Options{NoExpand: true})
	fake.SeedDemo()
	got, err := klant.NewResolver(klant.ResolverOptions{Klant: client}).Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true}, "")
	if err != nil || got.Email != "jan.jansen@example.com" || got.PreferredChannel != "email" {
		t.Fatalf("got %q %q, %v", got.Email, got.PreferredChannel, err)
	}
	n := 0
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, "/digitaleadressen/") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d digitaal adres fetches, want 1", n)
	}
}

func TestResolveGeheimhouding(t *testing.T) {
	fake, client := newFake(t)
	fake.AddPersoon(openklant.Persoon{BSN: "999993653", Geheim: true})
	got, err := klant.NewResolver(klant.ResolverOptions{Klant: client}).Resolve(context.Background(), inwoner("999993653"), klant.Need{}, "")
	if err != nil || !got.Secrecy || got.Sources[klant.FactSecrecy].Registry != "openklant" {
		t.Fatalf("secrecy %v source %+v, %v", got.Secrecy, got.Sources[klant.FactSecrecy], err)
	}
}

func TestResolveWrongToken(t *testing.T) {
	fake, _ := newFake(t)
	fake.SeedDemo()
	client := klant.NewClient(fake.BaseURL(), "wrong", httpclient.New(httpclient.Options{RetryMax: -1}))
	_, err := klant.NewResolver(klant.ResolverOptions{Klant: client}).Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true}, "")
	if err == nil || failure.Classify(err).Kind != failure.KindPermanent || !strings.Contains(err.Error(), "401") {
		t.Fatalf("want a permanent 401 error, got %v", err)
	}
}

func TestResolveDemo(t *testing.T) {
	fake, client := newFake(t)
	fake.SeedDemo()
	ps, err := client.PartijenByIdentificator(context.Background(), klant.IDBSN, openklant.DemoBSNEnglish)
	if err != nil || len(ps) != 1 {
		t.Fatalf("%v %d", err, len(ps))
	}
	english := ps[0].URL
	r := klant.NewResolver(klant.ResolverOptions{Klant: client})
	cases := []struct {
		subject            event.Subject
		email, phone, pref string
		lang               string
		contactpersonen    int
	}{
		{inwoner(openklant.DemoBSNEmail), "jan.jansen@example.com", "", "email", "nld", 0},
		{inwoner(openklant.DemoBSNPhone), "", "+31612345678", "sms", "nld", 0},
		{inwoner(openklant.DemoBSNEnglish), "emily.clarke@example.org", "", "email", "eng", 0},
		{event.Subject{Kind: event.KindBedrijf, KVK: openklant.DemoKVK}, "info@korenschoof.example", "", "email", "nld", 1},
		{event.Subject{Kind: event.KindInwoner, PartijURL: english}, "emily.clarke@example.org", "", "email", "eng", 0},
	}
	for _, c := range cases {
		got, err := r.Resolve(context.Background(), c.subject, klant.Need{Digital: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != c.email || got.Phone != c.phone || got.PreferredChannel != c.pref || got.Language != c.lang || len(got.Contactpersonen) != c.contactpersonen {
			t.Errorf("%+v: got email %q phone %q pref %q lang %q contactpersonen %d", c.subject, got.Email, got.Phone, got.PreferredChannel, got.Language, len(got.Contactpersonen))
		}
	}
}
