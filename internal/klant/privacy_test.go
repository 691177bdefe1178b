package klant_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/klant"
	fakebb "github.com/mijnservices/koerier/internal/sandbox/berichtenbox"
	fakebrp "github.com/mijnservices/koerier/internal/sandbox/brp"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	fakekvk "github.com/mijnservices/koerier/internal/sandbox/kvk"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/telemetry"
)

// brokenCache fails every call, so that the cache warnings get logged too.
type brokenCache struct{}

func (brokenCache) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("cache down")
}
func (brokenCache) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("cache down")
}
func (brokenCache) Delete(context.Context, string) error { return errors.New("cache down") }

// demoWorld starts every fake with its demo data and a resolver on top.
func demoWorld(t *testing.T, logger *slog.Logger) (*klant.Resolver, *openklant.Server, *fakebrp.Server, *fakebb.Server) {
	t.Helper()
	fok, kc := newFake(t)
	fok.SeedDemo()
	fb, bc := newBRP(t)
	_, kvkc := newKVK(t)
	bb := fakebb.NewServer(fakebb.Options{})
	bb.SeedDemo()
	ts := httptest.NewServer(bb)
	t.Cleanup(ts.Close)
	v, err := berichtenbox.NewValidator(berichtenbox.ValidatorOptions{URL: ts.URL, BerichtleverancierCode: "00000001234567890000",
		HTTPClient: httpclient.New(httpclient.Options{RetryMax: -1}), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	r := klant.NewResolver(klant.ResolverOptions{Klant: kc, BRP: bc, KVK: kvkc, Berichtenbox: v.ForBerichtType(fakebb.DemoBerichtType),
		Cache: brokenCache{}, KlantCacheTTL: time.Minute, BRPCacheTTL: time.Minute, Logger: logger})
	return r, fok, fb, bb
}

var everything = klant.Need{Digital: true, Postal: true, Berichtenbox: true}

func demoSubjects() []event.Subject {
	return []event.Subject{
		inwoner(openklant.DemoBSNEmail), inwoner(openklant.DemoBSNPhone), inwoner(openklant.DemoBSNEnglish),
		inwoner(openklant.DemoBSNNoAddress), inwoner("999991164"), inwoner("999991206"),
		{Kind: event.KindBedrijf, KVK: fakekvk.DemoKVK},
	}
}

// TestNoPersonalDataInLogs resolves every demo subject, also through
// failing peers, with logging at debug level through the masking handler,
// and fails if a BSN, email address or phone number shows up in clear in
// the logs or the explain output.
func TestNoPersonalDataInLogs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(telemetry.NewMaskingHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	r, fok, fb, bb := demoWorld(t, logger)
	ctx := context.Background()

	var explained bytes.Buffer
	resolveAll := func() {
		for _, s := range demoSubjects() {
			rec, err := r.Resolve(ctx, s, everything, "ZAAK-2025-0001")
			if err != nil {
				// As the route stage does: log the error where it is handled.
				logger.ErrorContext(ctx, "resolve failed", "err", err, "subject", s)
				continue
			}
			if err := klant.Explain(&explained, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	resolveAll()
	fok.Faults.Add(fault.Rule{Status: 500, Times: 2})
	fb.Faults.Add(fault.Rule{Status: 503, Times: 2})
	bb.FailNext(fakebb.ApplicationFault, 1)
	resolveAll()

	logs := buf.String()
	if !strings.Contains(logs, "*****3653") || !strings.Contains(explained.String(), "*****3653") {
		t.Fatalf("expected masked BSNs in logs and explain output; logs:\n%s", logs)
	}
	secrets := []string{"999993653", "999990627", "999991103", "999991139", "999991164", "999991206",
		"jan.jansen@example.com", "emily.clarke@example.org", "info@korenschoof.example", "sanne@korenschoof.example",
		"0612345678", "+31612345678", "+31201234567"}
	anyEmail := regexp.MustCompile(`[A-Za-z0-9._%+\-]{2,}@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	anyPhone := regexp.MustCompile(`\+\d{9,15}`)
	for name, out := range map[string]string{"logs": logs, "explain": explained.String()} {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s contain %q in clear:\n%s", name, s, out)
			}
		}
		if m := anyEmail.FindString(out); m != "" {
			t.Errorf("%s contain an email address %q", name, m)
		}
		if m := anyPhone.FindString(out); m != "" {
			t.Errorf("%s contain a phone number %q", name, m)
		}
	}
}

func TestExplainNamesEverySource(t *testing.T) {
	r, _, _, _ := demoWorld(t, nil)
	rec, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), everything, "")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := klant.Explain(&buf, rec); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"BSN *****3653",
		"email:", "j***@***.com", "from openklant", "/digitaleadressen/", "voorkeursDigitaalAdres",
		"berichtenbox:", "subscribed", "from berichtenbox",
		"postalAddress:", "Dorpsstraat 1", "from brp",
		"language:", "nld",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no source recorded") {
		t.Errorf("a fact without a source:\n%s", out)
	}

	bedrijf, err := r.Resolve(context.Background(), event.Subject{Kind: event.KindBedrijf, KVK: fakekvk.DemoKVK}, everything, "")
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := klant.Explain(&buf, bedrijf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Recipient (bedrijf)", "contactpersoon 1:", "s***@***.example", "Postbus 100", "from kvk"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("bedrijf explain output lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestBerichtenboxIsAskedOnlyWhenNeeded(t *testing.T) {
	r, _, _, bb := demoWorld(t, nil)
	rec, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true, Postal: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(bb.Calls()); n != 0 || rec.Berichtenbox != event.Unknown {
		t.Fatalf("%d Berichtenbox calls without the need, answer %q", n, rec.Berichtenbox)
	}
	rec, err = r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Berichtenbox: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(bb.Calls()); n != 1 || rec.Berichtenbox != event.Yes || rec.Sources[klant.FactBerichtenbox].Registry != "berichtenbox" {
		t.Fatalf("%d calls, answer %q, source %+v", n, rec.Berichtenbox, rec.Sources[klant.FactBerichtenbox])
	}
}

func TestPartijURLOnlyIsCompleted(t *testing.T) {
	r, fok, _, bb := demoWorld(t, nil)
	ctx := context.Background()
	urlOf := func(soort, id string) string {
		t.Helper()
		c := klant.NewClient(fok.BaseURL(), openklant.DefaultToken, nil)
		ps, err := c.PartijenByIdentificator(ctx, soort, id)
		if err != nil || len(ps) != 1 {
			t.Fatalf("%v %d", err, len(ps))
		}
		return ps[0].URL
	}
	persoon, err := r.Resolve(ctx, event.Subject{PartijURL: urlOf(klant.IDBSN, openklant.DemoBSNEmail)}, everything, "")
	if err != nil {
		t.Fatal(err)
	}
	if persoon.Kind != event.KindInwoner || persoon.Subject.BSN != openklant.DemoBSNEmail || persoon.PostalAddress == nil ||
		persoon.Berichtenbox != event.Yes || len(bb.Calls()) != 1 {
		t.Fatalf("persoon by partij URL: %+v", persoon)
	}
	org, err := r.Resolve(ctx, event.Subject{PartijURL: urlOf(klant.IDKVK, openklant.DemoKVK)}, everything, "")
	if err != nil {
		t.Fatal(err)
	}
	if org.Kind != event.KindBedrijf || org.Subject.KVK != openklant.DemoKVK || org.PostalAddress == nil ||
		org.Sources[klant.FactPostalAddress].Registry != "kvk" || org.Berichtenbox != event.Unknown || len(bb.Calls()) != 1 {
		t.Fatalf("organisatie by partij URL: %+v", org)
	}
}
