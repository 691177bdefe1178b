package zgw

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// world runs the fakes under the example notifications' own hosts: a
// transport sends each host's requests to its fake's httptest server.
type world struct {
	oz   *openzaak.Server
	demo openzaak.Demo
	obj  *objecten.Server
	e    *Enricher
	cfg  Config
	now  time.Time
	// taakURLs maps a verbatim taak object file to where the fake serves it.
	taakURLs map[string]string
}

const (
	exampleTaakType = "https://objecttypen.gemeente.example/api/v2/objecttypes/d5c77844-7e00-4908-9839-f18a8ac6a045"
	testObjToken    = "objecten-test-token"
)

type hostTransport map[string]string // external host → httptest host

func (h hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	target, ok := h[req.URL.Host]
	if !ok {
		return nil, &url.Error{Op: "dial", URL: req.URL.String(), Err: http.ErrNotSupported}
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = "http", target, req.URL.Host
	return http.DefaultTransport.RoundTrip(r)
}

func serve(t *testing.T, h http.Handler) string {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

func newWorld(t *testing.T, mutate ...func(*Config)) *world {
	t.Helper()
	w := &world{now: time.Date(2025, 3, 21, 12, 0, 0, 0, time.UTC), taakURLs: map[string]string{}}
	w.oz = openzaak.New("https://openzaak.gemeente.example", map[string]string{testClientID: testSecret})
	nijmegen := openzaak.New("https://example.com/open-zaak", map[string]string{testClientID: testSecret})
	w.obj = objecten.New("https://objecten.gemeente.example", testObjToken)
	// Two objecten hosts appear in the examples: the notification's and
	// the Den Haag object's own.
	denhaag := objecten.New("https://objecten.test.notifynl.nl", testObjToken)
	ht := hostTransport{
		"openzaak.gemeente.example": serve(t, w.oz),
		"example.com":               serve(t, nijmegen),
		"objecten.gemeente.example": serve(t, w.obj),
		"objecten.test.notifynl.nl": serve(t, denhaag),
	}
	w.demo = openzaak.SeedDemo(w.oz)
	// The zaak of the examples is closed with the examples' eindstatus and
	// resultaat uuids.
	d := w.demo
	w.oz.AddResultaat(openzaak.Resultaat{UUID: openzaak.ExampleResultaatUUID, Zaak: d.ZaakInwoner.URL, Resultaattype: d.Resultaattype.URL})
	w.oz.AddStatus(openzaak.Status{UUID: openzaak.ExampleEindstatusUUID, Zaak: d.ZaakInwoner.URL, Statustype: d.Statustypen[3].URL, DatumStatusGezet: "2025-04-02T14:30:03Z"})

	// The verbatim taak objects, with their BSNs replaced by test BSNs.
	for name, s := range map[string]*objecten.Server{"taak-object.nijmegen-verbatim.json": w.obj, "taak-object.denhaag-v1-verbatim.json": denhaag} {
		bsn := map[bool]string{true: "999991139", false: "999991164"}[s == w.obj]
		typ := map[bool]string{true: exampleTaakType, false: ""}[s == w.obj]
		w.taakURLs[name] = putVerbatim(t, s, name, typ, bsn)
	}

	apis := append(ozAPIs(w.oz, testSecret), ozAPIs(nijmegen, testSecret)...)
	apis = append(apis, API{Root: w.obj.Root(), Token: testObjToken}, API{Root: denhaag.Root(), Token: testObjToken})
	cfg := Config{
		APIs: apis, HTTP: testHTTP(), RolBackoff: testBackoff, Now: func() time.Time { return w.now },
		TaakObjecttypen:  []string{exampleTaakType, "https://objecttypen.test.notifynl.nl/api/v1/objecttypes/3e852115-277a-4570-873a-9a64be3aeb34"},
		HerinneringDagen: []int{3, 1},
	}
	cfg.HTTP.Transport = ht
	for _, m := range mutate {
		m(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.e, w.cfg = e, cfg
	return w
}

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putVerbatim(t *testing.T, s *objecten.Server, name, typeOverride, bsn string) string {
	t.Helper()
	var o Object
	if err := json.Unmarshal(readExample(t, name), &o); err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(o.Record.Data, &data); err != nil {
		t.Fatal(err)
	}
	data["identificatie"].(map[string]any)["value"] = bsn
	typ := o.Type
	if typeOverride != "" {
		typ = typeOverride
	}
	return s.Put(o.UUID, typ, data)
}

// ingestID is the dedup key ingest computes.
// inbound is what ingest puts on the bus for n (its dedup key as id).
func inbound(n event.Notification) event.Inbound {
	return event.Inbound{ID: httpapi.NotificationID(n), Source: event.SourceNotificaties, Notification: &n}
}

// notifications parses an example file (one notification or a sequence)
// with ingest's own parser, so the examples go through ingest + enrich.
func notifications(t testing.TB, b []byte) []event.Notification {
	t.Helper()
	var raws []json.RawMessage
	if strings.HasPrefix(strings.TrimSpace(string(b)), "[") {
		if err := json.Unmarshal(b, &raws); err != nil {
			t.Fatal(err)
		}
	} else {
		raws = []json.RawMessage{b}
	}
	var ns []event.Notification
	for _, raw := range raws {
		n, err := httpapi.ParseNotification(raw)
		if err != nil {
			t.Fatalf("ingest refuses an example notification: %v", err)
		}
		ns = append(ns, n)
	}
	return ns
}

// want is the expected outcome of one notification: an event type with
// the first subject's BSN or KVK, or a skip reason.
type want struct {
	typ, bsn, kvk, skip string
}

func TestEveryExample(t *testing.T) {
	expect := map[string][]want{
		"abonnement-callback-probe.open-notificaties-verbatim.json": {{skip: ReasonKanaalTest}},
		"besluit-created.json":                     {{typ: event.TypeBesluitGenomen, bsn: openzaak.DemoBSNJansen}},
		"besluitinformatieobject-created.json":     {{skip: ReasonBesluitAndereTrigger}},
		"document-created.json":                    {{skip: ReasonNietOndersteund}},
		"object-created-taak.json":                 {{typ: event.TypeTaakToegewezen, bsn: "999991139"}},
		"object-updated-taak.json":                 {{typ: event.TypeTaakToegewezen, bsn: "999991139"}}, // first sight of an open taak
		"rol-created.nijmegen-verbatim.json":       {{skip: ReasonNietOndersteund}},
		"status-created.json":                      {{typ: event.TypeZaakAangemaakt, bsn: openzaak.DemoBSNJansen}},
		"zaak-closed.sequence.json":                {{skip: ReasonAfsluitenViaEindstatus}, {typ: event.TypeZaakAfgesloten, bsn: openzaak.DemoBSNJansen}},
		"zaak-closed.zaak_afsluiten.sequence.json": {{skip: ReasonZaakWijziging}, {typ: event.TypeZaakAfgesloten, bsn: openzaak.DemoBSNJansen}, {skip: ReasonAfsluitenViaEindstatus}},
		"zaak-created.json":                        {{skip: ReasonZaakViaEersteStatus}},
		"zaak-created.nijmegen-verbatim.json":      {{skip: ReasonZaakViaEersteStatus}},
		// Objects, not notifications: fed as an object create notification
		// for the object the fake serves.
		"taak-object.nijmegen-verbatim.json":   {{typ: event.TypeTaakToegewezen, bsn: "999991139"}},
		"taak-object.denhaag-v1-verbatim.json": {{typ: event.TypeTaakToegewezen, bsn: "999991164"}},
		// Requests Koerier sends, not notifications it receives: they must
		// not pass for one.
		"abonnement-create-request.json":     nil,
		"brp-raadpleeg-met-bsn-request.json": nil,
	}
	files, err := filepath.Glob(filepath.Join("testdata", "examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		wants, ok := expect[name]
		if !ok {
			t.Errorf("%s: new example without an expectation", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			b := readExample(t, name)
			var ns []event.Notification
			switch {
			case strings.HasPrefix(name, "taak-object."):
				var o Object
				if err := json.Unmarshal(b, &o); err != nil {
					t.Fatal(err)
				}
				u := w.taakURLs[name]
				ns = []event.Notification{{Kanaal: "objecten", Resource: "object", Actie: "create", ResourceURL: u, HoofdObject: u,
					Aanmaakdatum: w.now, Kenmerken: map[string]string{"objectType": map[bool]string{true: exampleTaakType, false: o.Type}[strings.Contains(name, "nijmegen")]}}}
			case wants == nil:
				// Not a notification: ingest must answer 400.
				if _, err := httpapi.ParseNotification(b); err == nil {
					t.Fatalf("ingest accepts %s as a notification", name)
				}
				return
			default:
				ns = notifications(t, b)
			}
			if len(ns) != len(wants) {
				t.Fatalf("%d notifications, %d expectations", len(ns), len(wants))
			}
			for i, n := range ns {
				res, err := w.e.Enrich(context.Background(), inbound(n))
				if err != nil {
					t.Fatalf("notification %d: Enrich: %v", i, err)
				}
				wt := wants[i]
				if res.Skipped != wt.skip {
					t.Fatalf("notification %d: Skipped = %q (%s), want %q", i, res.Skipped, res.Detail, wt.skip)
				}
				if wt.skip != "" {
					continue
				}
				if len(res.Events) != 1 {
					t.Fatalf("notification %d: %d events", i, len(res.Events))
				}
				ev := res.Events[0]
				if ev.Type != wt.typ || len(ev.Subjects) == 0 || ev.Subjects[0].BSN != wt.bsn || ev.Subjects[0].KVK != wt.kvk {
					t.Fatalf("notification %d: got %s %+v, want %s bsn %q kvk %q", i, ev.Type, ev.Subjects, wt.typ, wt.bsn, wt.kvk)
				}
			}
		})
	}
}
