package zgw

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

const (
	testClientID = "koerier-test"
	testSecret   = "test-secret-that-is-long-enough-0123456789"
)

type fixture struct {
	oz   *openzaak.Server
	demo openzaak.Demo
	e    *Enricher
}

var testBackoff = []time.Duration{time.Second, 2 * time.Second}

func testHTTP() httpclient.Options {
	return httpclient.Options{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, Timeout: 5 * time.Second}
}

func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	oz := openzaak.New("", map[string]string{testClientID: testSecret})
	ts := httptest.NewServer(oz)
	t.Cleanup(ts.Close)
	oz.SetBaseURL(ts.URL)
	demo := openzaak.SeedDemo(oz)
	cfg := Config{
		APIs:       ozAPIs(oz, testSecret),
		HTTP:       testHTTP(),
		RolBackoff: testBackoff,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{oz: oz, demo: demo, e: e}
}

func ozAPIs(oz *openzaak.Server, secret string) []API {
	var apis []API
	for _, r := range []string{oz.ZakenRoot(), oz.CatalogiRoot(), oz.BesluitenRoot(), oz.DocumentenRoot()} {
		apis = append(apis, API{Root: r, ClientID: testClientID, Secret: secret})
	}
	return apis
}

func statusInbound(statusURL, zaakURL string) event.Inbound {
	n := &event.Notification{
		Kanaal: "zaken", HoofdObject: zaakURL, Resource: "status", ResourceURL: statusURL, Actie: "create",
		Aanmaakdatum: time.Date(2025, 3, 15, 10, 1, 7, 0, time.UTC),
	}
	return event.Inbound{ID: eventID("in", statusURL), Source: event.SourceNotificaties, Notification: n}
}

func subjectsByRole(ev event.Event) map[string]event.Subject {
	m := map[string]event.Subject{}
	for _, s := range ev.Subjects {
		m[s.Role] = s
	}
	return m
}

func TestEnrichStatusCreated(t *testing.T) {
	f := newFixture(t)
	d := f.demo
	at := time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		status    func() string // returns status URL
		zaak      string
		wantType  string
		wantSkip  string
		wantBSN   string
		wantKVK   string
		wantResul string
	}{
		{name: "first status", status: func() string { return f.oz.ZakenRoot() + "/statussen/" + openzaak.ExampleStatusUUID }, zaak: d.ZaakInwoner.URL, wantType: event.TypeZaakAangemaakt, wantBSN: openzaak.DemoBSNJansen},
		{name: "second status", status: func() string { return f.oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[1], at).URL }, zaak: d.ZaakInwoner.URL, wantType: event.TypeZaakStatusGewijzigd, wantBSN: openzaak.DemoBSNJansen},
		{name: "informeren false", status: func() string { return f.oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[2], at.Add(time.Hour)).URL }, zaak: d.ZaakInwoner.URL, wantSkip: ReasonInformerenUit},
		{name: "bedrijf", status: func() string { return f.oz.SetStatus(d.ZaakBedrijf.URL, d.Statustypen[1], at).URL }, zaak: d.ZaakBedrijf.URL, wantType: event.TypeZaakStatusGewijzigd, wantKVK: openzaak.DemoKVKBakkerij},
		{name: "eindstatus with resultaat", status: func() string {
			st, _ := f.oz.CloseZaak(d.ZaakInwoner.URL, d.Statustypen[3], d.Resultaattype, at.Add(2*time.Hour))
			return st.URL
		}, zaak: d.ZaakInwoner.URL, wantType: event.TypeZaakAfgesloten, wantBSN: openzaak.DemoBSNJansen, wantResul: "Verleend"},
		{name: "status gone", status: func() string { return f.oz.ZakenRoot() + "/statussen/00000000-0000-4000-8000-000000000000" }, zaak: d.ZaakInwoner.URL, wantSkip: ReasonNietGevonden},
		{name: "resource off the allow-list", status: func() string { return "http://169.254.169.254/latest/meta-data/statussen/x" }, zaak: d.ZaakInwoner.URL, wantSkip: ReasonURLNietToegestaan},
		{name: "path traversal out of the root", status: func() string { return f.oz.ZakenRoot() + "/../../admin/statussen/x" }, zaak: d.ZaakInwoner.URL, wantSkip: ReasonURLNietToegestaan},
		{name: "reference off the allow-list", status: func() string {
			return f.oz.AddStatus(openzaak.Status{Zaak: d.ZaakInwoner.URL, Statustype: "http://internal.example/catalogi/api/v1/statustypen/x", DatumStatusGezet: "2025-03-21T00:00:00Z"}).URL
		}, zaak: d.ZaakInwoner.URL, wantSkip: ReasonURLNietToegestaan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := statusInbound(tt.status(), tt.zaak)
			res, err := f.e.Enrich(context.Background(), in)
			if err != nil {
				t.Fatalf("Enrich: %v", err)
			}
			if res.Skipped != tt.wantSkip {
				t.Fatalf("Skipped = %q (%s), want %q", res.Skipped, res.Detail, tt.wantSkip)
			}
			if tt.wantSkip != "" {
				if len(res.Events) != 0 {
					t.Fatalf("skip with %d events", len(res.Events))
				}
				return
			}
			if len(res.Events) != 1 {
				t.Fatalf("got %d events, want 1", len(res.Events))
			}
			ev := res.Events[0]
			if ev.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", ev.Type, tt.wantType)
			}
			ini, ok := subjectsByRole(ev)[event.RoleInitiator]
			if !ok {
				t.Fatalf("no initiator subject in %+v", ev.Subjects)
			}
			if ini.BSN != tt.wantBSN || ini.KVK != tt.wantKVK {
				t.Errorf("initiator = %+v, want bsn %q kvk %q", ini, tt.wantBSN, tt.wantKVK)
			}
			if ev.Zaak == nil || ev.Zaak.URL != tt.zaak || ev.Zaaktype == nil || ev.Zaaktype.Identificatie != "ZT-PARKEERVERGUNNING" || ev.Statustype == nil {
				t.Errorf("zaak/zaaktype/statustype not filled: %+v %+v %+v", ev.Zaak, ev.Zaaktype, ev.Statustype)
			}
			if tt.wantResul != "" && (ev.Resultaat == nil || ev.Resultaat.Omschrijving != tt.wantResul) {
				t.Errorf("Resultaat = %+v, want omschrijving %q", ev.Resultaat, tt.wantResul)
			}
			again, err := f.e.Enrich(context.Background(), in)
			if err != nil || len(again.Events) != 1 || again.Events[0].ID != ev.ID {
				t.Errorf("redelivery gave %+v, %v; want the same event id %s", again, err, ev.ID)
			}
		})
	}
}

func TestEnrichGemachtigdeIsSeparateSubject(t *testing.T) {
	f := newFixture(t)
	res, err := f.e.Enrich(context.Background(), statusInbound(f.oz.ZakenRoot()+"/statussen/"+openzaak.ExampleStatusUUID, f.demo.ZaakInwoner.URL))
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("Enrich = %+v, %v", res, err)
	}
	g, ok := subjectsByRole(res.Events[0])[event.RoleGemachtigde]
	if !ok || g.BSN != openzaak.DemoBSNDeVries || g.Kind != event.KindInwoner {
		t.Fatalf("gemachtigde = %+v (ok %v)", g, ok)
	}
}

func TestEnrichSendsAcceptCrsAndFreshJWT(t *testing.T) {
	f := newFixture(t)
	f.oz.ResetRequests()
	// One 503 with a short Retry-After on the status makes the HTTP client
	// retry in-process (without a Retry-After the router re-queues
	// instead), and the retry must carry a token too.
	f.oz.Faults.Add(fault.Rule{PathPrefix: openzaak.PathStatussen, Status: http.StatusServiceUnavailable, RetryAfter: time.Second, Times: 1})
	_, err := f.e.Enrich(context.Background(), statusInbound(f.oz.ZakenRoot()+"/statussen/"+openzaak.ExampleStatusUUID, f.demo.ZaakInwoner.URL))
	if err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	var zaakGets, statusGets int
	for _, r := range f.oz.Requests() {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("%s %s without bearer token", r.Method, r.Path)
		}
		if strings.HasPrefix(r.Path, openzaak.PathZaken+"/") {
			zaakGets++
			if got := r.Header.Get("Accept-Crs"); got != "EPSG:4326" {
				t.Errorf("GET %s Accept-Crs = %q", r.Path, got)
			}
		}
		if strings.HasPrefix(r.Path, openzaak.PathStatussen+"/") {
			statusGets++
		}
	}
	if zaakGets == 0 || statusGets != 2 {
		t.Fatalf("zaak GETs %d, status GETs %d; want >0 and 2", zaakGets, statusGets)
	}
}

func TestEnrichErrorClassification(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
		check func(t *testing.T, err error)
	}{
		{"5xx is temporary", func(f *fixture) {
			f.oz.Faults.Add(fault.Rule{PathPrefix: openzaak.PathStatussen, Status: http.StatusBadGateway})
		}, func(t *testing.T, err error) {
			if k := failure.Classify(err).Kind; k != failure.KindTemporary {
				t.Fatalf("Classify(%v) = %s, want temporary", err, k)
			}
		}},
		{"timeout is temporary", func(f *fixture) {
			f.oz.Faults.Add(fault.Rule{PathPrefix: openzaak.PathStatussen, Delay: time.Minute})
		}, func(t *testing.T, err error) {
			if k := failure.Classify(err).Kind; k != failure.KindTemporary {
				t.Fatalf("Classify(%v) = %s, want temporary", err, k)
			}
		}},
		{"401 is a config error", func(f *fixture) {
			f.oz.Faults.Add(fault.Rule{PathPrefix: openzaak.PathStatussen, Status: http.StatusUnauthorized})
		}, func(t *testing.T, err error) {
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Status != 401 || ae.ClientID != testClientID || failure.Classify(err).Kind != failure.KindConfig {
				t.Fatalf("err = %v, want a 401 *AuthError classified as config", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.HTTP.Timeout = 200 * time.Millisecond })
			tt.setup(f)
			_, err := f.e.Enrich(context.Background(), statusInbound(f.oz.ZakenRoot()+"/statussen/"+openzaak.ExampleStatusUUID, f.demo.ZaakInwoner.URL))
			tt.check(t, err)
		})
	}
}

func TestEnrichWrongSecretIsConfigError(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.APIs = nil })
	e, err := New(Config{APIs: ozAPIs(f.oz, "wrong-secret-wrong-secret-wrong-secret"), HTTP: testHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Enrich(context.Background(), statusInbound(f.oz.ZakenRoot()+"/statussen/"+openzaak.ExampleStatusUUID, f.demo.ZaakInwoner.URL))
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || failure.Classify(err).Kind != failure.KindConfig {
		t.Fatalf("err = %v, want a 403 *AuthError classified as config", err)
	}
	if !strings.Contains(err.Error(), f.oz.ZakenRoot()) || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("error %q must name the api root and not the secret", err)
	}
}

func TestEnrichRolRace(t *testing.T) {
	f := newFixture(t)
	d := f.demo
	z := f.oz.AddZaak(openzaak.Zaak{Identificatie: "ZAAK-RACE", Zaaktype: d.Zaaktype.URL, Bronorganisatie: "002220647", VerantwoordelijkeOrganisatie: "002220647", Registratiedatum: "2025-03-20", Startdatum: "2025-03-20"})
	st := f.oz.SetStatus(z.URL, d.Statustypen[0], time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC))
	in := statusInbound(st.URL, z.URL)
	for attempt, want := range testBackoff {
		in.Attempt = attempt
		_, err := f.e.Enrich(context.Background(), in)
		got := failure.Classify(err)
		if got.Kind != failure.KindTemporary || got.RetryAfter != want || got.Reason != ReasonRolOntbreekt {
			t.Fatalf("attempt %d: err = %v (%+v), want a temporary %s after %s", attempt, err, got, ReasonRolOntbreekt, want)
		}
	}
	in.Attempt = len(testBackoff)
	_, err := f.e.Enrich(context.Background(), in)
	if got := failure.Classify(err); got.Kind != failure.KindDeadLetter || got.Reason != ReasonRolOntbreekt {
		t.Fatalf("after the backoff list: err = %v, want DeadLetter %s", err, ReasonRolOntbreekt)
	}
	// The rol arrives: the next attempt succeeds.
	f.oz.AddRol(openzaak.Rol{Zaak: z.URL, BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999991103", "Piet", "Pietersen")})
	in.Attempt = 1
	res, err := f.e.Enrich(context.Background(), in)
	if err != nil || len(res.Events) != 1 || res.Events[0].Subjects[0].BSN != "999991103" {
		t.Fatalf("after the rol arrived: %+v, %v", res, err)
	}
}

func TestEnrichInformerenAbsentIsFalse(t *testing.T) {
	f := newFixture(t)
	st := f.oz.AddStatusType(openzaak.StatusType{Omschrijving: "Oud", Zaaktype: f.demo.Zaaktype.URL, Volgnummer: 2})
	s := f.oz.SetStatus(f.demo.ZaakInwoner.URL, st, time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC))
	res, err := f.e.Enrich(context.Background(), statusInbound(s.URL, f.demo.ZaakInwoner.URL))
	if err != nil || res.Skipped != ReasonInformerenUit {
		t.Fatalf("Enrich = %+v, %v; want skip %s", res, err, ReasonInformerenUit)
	}
}
