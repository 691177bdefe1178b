// Package sandbox starts fakes of every external peer Koerier talks to —
// Open Zaak, Objecten, Open Klant 2, BRP and Notify NL — on loopback ports,
// each speaking its real protocol (sub-packages), seeded with synthetic
// people. The demo command and the end-to-end tests use it; production code
// never imports it.
package sandbox

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/sandbox/berichtenbox"
	"github.com/mijnservices/koerier/internal/sandbox/brp"
	"github.com/mijnservices/koerier/internal/sandbox/ebms"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/kvk"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// Credentials the fakes accept.
const (
	ZGWClientID   = "koerier-sandbox"
	ZGWSecret     = "sandbox-zgw-secret-with-enough-length"
	ObjectenToken = "sandbox-objecten-token"
	CallbackToken = "sandbox-notify-callback-token"
)

// Options tune the sandbox.
type Options struct {
	// NotifyCallbackURL is where the fake Notify posts delivery receipts
	// (Koerier's /api/v1/callbacks/notify); empty: no callbacks.
	NotifyCallbackURL string
	// NotifyTemplates are registered at the fake Notify (the template ids
	// the rules use).
	NotifyTemplates []notify.Template
	// Now is the fakes' clock (default clock.System): hand them the clock
	// Koerier runs on, so that token times and receipts agree.
	Now func() time.Time
	// Addrs fixes the host:port a fake listens on (koerier sandbox uses the
	// example configuration's addresses, so that a newcomer's curl and
	// config work unchanged); an empty field is a free loopback port.
	Addrs Addrs
}

// Addrs are listen addresses of the fakes, e.g. "127.0.0.1:8001".
type Addrs struct {
	OpenZaak, Objecten, OpenKlant, Notify string
}

// SandboxOIN is the gemeente's OIN in the sandbox (a made-up one).
const SandboxOIN = "00000001002220647000"

// Sandbox is a set of running fakes.
type Sandbox struct {
	OpenZaak  *openzaak.Server
	Demo      openzaak.Demo
	Objecten  *objecten.Server
	Taken     objecten.Demo
	OpenKlant *openklant.Server
	BRP       *brp.Server
	KVK       *kvk.Server
	// Berichtenbox is the Logius ValidateAbonnementen service.
	Berichtenbox *berichtenbox.Server
	// EBMS is the ebMS adapter with Logius' BerichtVerwerkService behind
	// it (Berichtenbox berichten in GLOBE batches).
	EBMS      *ebms.Server
	Notify    *notify.Server
	NotifyKey notify.Key
	// Faults inject failures per peer.
	OpenZaakFaults, OpenKlantFaults, NotifyFaults *fault.Injector

	urls    map[string]string
	servers []*http.Server
}

// Start listens on loopback ports and seeds the demo population.
func Start(o Options) (*Sandbox, error) {
	s := &Sandbox{urls: map[string]string{},
		OpenZaakFaults: &fault.Injector{}, OpenKlantFaults: &fault.Injector{}, NotifyFaults: &fault.Injector{}}

	s.OpenZaak = openzaak.New("", map[string]string{ZGWClientID: ZGWSecret})
	s.OpenZaak.Now = o.Now
	ozURL, err := s.serve(o.Addrs.OpenZaak, s.OpenZaakFaults.Wrap(s.OpenZaak))
	if err != nil {
		return nil, err
	}
	s.OpenZaak.SetBaseURL(ozURL)
	s.Demo = openzaak.SeedDemo(s.OpenZaak)

	s.Objecten = objecten.New("", ObjectenToken)
	objURL, err := s.serve(o.Addrs.Objecten, s.Objecten)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Objecten.SetBaseURL(objURL)
	s.Taken = objecten.SeedDemo(s.Objecten, s.Demo.ZaakInwoner.URL)

	s.OpenKlant = openklant.NewServer(openklant.Options{})
	okURL, err := s.serve(o.Addrs.OpenKlant, s.OpenKlantFaults.Wrap(s.OpenKlant))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.OpenKlant.SetBaseURL(okURL + "/klantinteracties/api/v1")
	s.OpenKlant.SeedDemo()

	s.BRP = brp.NewServer(brp.Options{})
	brpURL, err := s.serve("", s.BRP)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.BRP.SeedDemo()
	s.urls["brp"] = brpURL

	s.KVK = kvk.NewServer(kvk.Options{})
	kvkURL, err := s.serve("", s.KVK)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.KVK.SeedDemo()
	s.urls["kvk"] = kvkURL

	s.Berichtenbox = berichtenbox.NewServer(berichtenbox.Options{})
	bbURL, err := s.serve("", s.Berichtenbox)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Berichtenbox.SeedDemo()
	s.urls["berichtenbox"] = bbURL

	// Under CI=true every batch must pass xmllint against Logius' XSDs.
	s.EBMS = ebms.New(ebms.Options{OIN: SandboxOIN, Now: o.Now, RequireXSD: os.Getenv("CI") == "true"})
	ebmsURL, err := s.serve("", s.EBMS)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.urls["ebms"] = ebmsURL

	s.NotifyKey = notify.NewKey("koerier")
	s.Notify = notify.NewServer(notify.Options{
		Keys: []notify.Key{s.NotifyKey}, Templates: o.NotifyTemplates, Now: o.Now,
		CallbackURL: o.NotifyCallbackURL, CallbackToken: CallbackToken, AutoStatus: o.NotifyCallbackURL != "",
		Faults: s.NotifyFaults,
	})
	nURL, err := s.serve(o.Addrs.Notify, s.Notify)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.urls["notify"] = nURL
	return s, nil
}

func (s *Sandbox) serve(addr string, h http.Handler) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Configure points cfg at the fakes, with their credentials.
func (s *Sandbox) Configure(cfg *config.Config) {
	cfg.ZGW.ClientID, cfg.ZGW.Secret = ZGWClientID, ZGWSecret
	cfg.ZGW.Zaken = s.OpenZaak.ZakenRoot()
	cfg.ZGW.Catalogi = s.OpenZaak.CatalogiRoot()
	cfg.ZGW.Besluiten = s.OpenZaak.BesluitenRoot()
	cfg.ZGW.Documenten = s.OpenZaak.DocumentenRoot()
	cfg.ZGW.Objecten = s.Objecten.Root()
	cfg.ZGW.ObjectenToken = ObjectenToken
	cfg.ZGW.TaakObjecttypes = []string{objecten.DemoTaakObjecttype}
	cfg.OpenKlant.URL, cfg.OpenKlant.Token = s.OpenKlant.BaseURL(), openklant.DefaultToken
	cfg.BRP.URL, cfg.BRP.APIKey = s.urls["brp"], brp.DefaultAPIKey
	cfg.KVK.URL, cfg.KVK.APIKey = s.urls["kvk"], kvk.DefaultAPIKey
	cfg.Berichtenbox.ValidatieURL = s.urls["berichtenbox"]
	cfg.Berichtenbox.BerichtleverancierCode = "GEMEENTE-SANDBOX"
	cfg.Berichtenbox.BerichtType = berichtenbox.DemoBerichtType
	// The ebMS adapter; berichtenbox.transport chooses whether it is used.
	cfg.Berichtenbox.OIN = SandboxOIN
	cfg.Berichtenbox.EBMS.URL = s.urls["ebms"] + "/service/rest/v19"
	cfg.Berichtenbox.EBMS.CPAID = s.EBMS.CPAID()
	cfg.Notify.URL, cfg.Notify.APIKey = s.urls["notify"], s.NotifyKey.String()
	cfg.Notify.CallbackToken = CallbackToken
}

// Close stops every fake.
func (s *Sandbox) Close() error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	if s.Notify != nil {
		s.Notify.Close()
	}
	return errors.Join(errs...)
}
