package nrc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/nrc"
	"github.com/mijnservices/koerier/internal/sandbox/opennotificaties"
	"github.com/mijnservices/koerier/internal/store"
)

const (
	clientID     = "koerier"
	secret       = "nrc-secret-for-tests"
	callbackAuth = "Token callback-s3cret"
)

type env struct {
	on       *opennotificaties.Server
	bus      *gochannel.GoChannel
	onURL    string
	callback string // Koerier's webhook URL
	hc       *http.Client
}

// newEnv starts a fake Open Notificaties and a real Koerier ingest server
// accepting callbackAuth.
func newEnv(t *testing.T) env {
	t.Helper()
	on := opennotificaties.New("", map[string]string{clientID: secret})
	onSrv := httptest.NewServer(on)
	t.Cleanup(onSrv.Close)
	on.SetBaseURL(onSrv.URL)

	ps := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	t.Cleanup(func() { _ = ps.Close() })
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	koerier := httptest.NewServer(httpapi.New(httpapi.Options{Publisher: ps, Store: st, Tokens: []string{callbackAuth}}))
	t.Cleanup(koerier.Close)

	return env{on: on, bus: ps, onURL: on.APIRoot(), callback: koerier.URL + "/api/v1/notificaties",
		hc: httpclient.New(httpclient.Options{RetryMax: -1})}
}

func (e env) options() nrc.Options {
	return nrc.Options{
		BaseURL: e.onURL, ClientID: clientID, Secret: secret,
		CallbackURL: e.callback, CallbackAuth: callbackAuth,
		Kanalen: []nrc.Kanaal{
			{Naam: "zaken", Filters: map[string]string{"bronorganisatie": "002220647"}},
			{Naam: "besluiten"},
		},
	}
}

func (e env) writes() int {
	n := 0
	for _, r := range e.on.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

func TestSubscribeIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o := e.options()

	u, created, err := nrc.Subscribe(ctx, e.hc, o)
	if err != nil {
		t.Fatalf("first subscribe: %v", err)
	}
	if !created || u == "" {
		t.Fatalf("first subscribe: url %q created %v, want a new abonnement", u, created)
	}
	abs := e.on.Abonnementen()
	if len(abs) != 1 || abs[0].URL != u || abs[0].Auth != callbackAuth || abs[0].CallbackURL != e.callback || len(abs[0].Kanalen) != 2 {
		t.Fatalf("abonnementen = %+v", abs)
	}

	// Second run with the same configuration: nothing written.
	before := e.writes()
	u2, created, err := nrc.Subscribe(ctx, e.hc, o)
	if err != nil || created || u2 != u {
		t.Fatalf("second subscribe: %q %v %v", u2, created, err)
	}
	if e.writes() != before {
		t.Fatal("second subscribe wrote to Open Notificaties")
	}

	// Kanalen in another order are the same abonnement.
	o.Kanalen = []nrc.Kanaal{o.Kanalen[1], o.Kanalen[0]}
	if res, err := nrc.Sync(ctx, e.hc, o); err != nil || res.Action != nrc.Unchanged {
		t.Fatalf("reordered kanalen: %+v %v", res, err)
	}

	// Changed filters: PUT on the same abonnement.
	o.Kanalen = append(o.Kanalen, nrc.Kanaal{Naam: "objecten", Filters: map[string]string{"objectType": "https://objecttypen.gemeente.example/api/v2/objecttypes/d5c77844"}})
	res, err := nrc.Sync(ctx, e.hc, o)
	if err != nil || res.Action != nrc.Updated || res.URL != u {
		t.Fatalf("changed kanalen: %+v %v", res, err)
	}
	abs = e.on.Abonnementen()
	if len(abs) != 1 || len(abs[0].Kanalen) != 3 {
		t.Fatalf("after update: %+v", abs)
	}

	// A rotated callback auth is invisible in the API: ForceUpdate pushes it.
	o.ForceUpdate = true
	if res, err := nrc.Sync(ctx, e.hc, o); err != nil || res.Action != nrc.Updated {
		t.Fatalf("force update: %+v %v", res, err)
	}
}

func TestSubscribeErrors(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(e *env, o *nrc.Options)
		wantErr error
		status  int
		code    string
	}{
		{
			name: "callback accepts requests without authorization",
			mod: func(e *env, o *nrc.Options) {
				open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
				t.Cleanup(open.Close)
				o.CallbackURL = open.URL + "/api/v1/notificaties"
			},
			wantErr: nrc.ErrCallbackNotProtected, status: 400, code: "no-auth-on-callback-url",
		},
		{
			name:    "callback does not know our auth",
			mod:     func(e *env, o *nrc.Options) { o.CallbackAuth = "Token not-configured-in-koerier" },
			wantErr: nrc.ErrCallbackRejected, status: 400, code: "invalid-callback-url",
		},
		{
			name:   "unknown kanaal",
			mod:    func(e *env, o *nrc.Options) { o.Kanalen = []nrc.Kanaal{{Naam: "verzoeken"}} },
			status: 400, code: "kanaal_naam",
		},
		{
			name: "filter the kanaal does not have",
			mod: func(e *env, o *nrc.Options) {
				o.Kanalen = []nrc.Kanaal{{Naam: "zaken", Filters: map[string]string{"bsn": "x"}}}
			},
			status: 400, code: "inconsistent-abonnement-filters",
		},
		{
			name:   "wrong secret",
			mod:    func(e *env, o *nrc.Options) { o.Secret = "wrong" },
			status: 403,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.options()
			tt.mod(&e, &o)
			_, created, err := nrc.Subscribe(context.Background(), e.hc, o)
			if err == nil || created {
				t.Fatalf("subscribe succeeded (created %v), want an error", created)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var apiErr *nrc.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status {
				t.Fatalf("err = %v, want an APIError with status %d", err, tt.status)
			}
			if tt.code != "" && (len(apiErr.InvalidParams) != 1 || apiErr.InvalidParams[0].Code != tt.code) {
				t.Fatalf("invalid params = %+v, want code %s", apiErr.InvalidParams, tt.code)
			}
			if n := len(e.on.Abonnementen()); n != 0 {
				t.Fatalf("%d abonnementen created despite the error", n)
			}
		})
	}
}

func TestSubscribeMissingOptions(t *testing.T) {
	_, _, err := nrc.Subscribe(context.Background(), http.DefaultClient, nrc.Options{BaseURL: "http://x"})
	want := "nrc: subscribe: missing CallbackAuth, CallbackURL, ClientID, Kanalen, Secret"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// With the abonnement in place, the fake Open Notificaties is a real source
// of notifications for Koerier: it delivers with the abonnement's auth, and
// retries while Koerier cannot queue (503).
func TestFakeOpenNotificatiesDeliversToKoerier(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msgs, err := e.bus.Subscribe(ctx, event.TopicInbound)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := nrc.Subscribe(ctx, e.hc, e.options()); err != nil {
		t.Fatal(err)
	}
	n := event.Notification{
		Kanaal: "zaken", Resource: "status", Actie: "create",
		HoofdObject:  "https://openzaak.gemeente.example/zaken/api/v1/zaken/6b41d4c4-ef64-453c-b705-606334e79d8a",
		ResourceURL:  "https://openzaak.gemeente.example/zaken/api/v1/statussen/0c5f8e2d-3b7a-4c1e-9f2a-8d6b4e1a7c33",
		Aanmaakdatum: time.Date(2025, 3, 15, 10, 1, 7, 118204000, time.UTC),
		Kenmerken:    map[string]string{"bronorganisatie": "002220647"},
	}
	ds := e.on.Publish(ctx, n)
	if len(ds) != 1 || ds[0].Status != http.StatusNoContent {
		t.Fatalf("deliveries = %+v", ds)
	}
	select {
	case m := <-msgs:
		m.Ack()
		if m.UUID != httpapi.NotificationID(n) {
			t.Fatalf("bus message %s, want the notification's dedup key", m.UUID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no inbound message on the bus")
	}

	// Another bronorganisatie is filtered out by Open Notificaties.
	n.Kenmerken["bronorganisatie"] = "123456789"
	if ds := e.on.Publish(ctx, n); len(ds) != 0 {
		t.Fatalf("filtered notification delivered: %+v", ds)
	}

	// The bus is down: Koerier answers 503 and Open Notificaties retries.
	n.Kenmerken["bronorganisatie"] = "002220647"
	n.Actie = "update"
	_ = e.bus.Close()
	e.on.RetryBackoff = []time.Duration{time.Millisecond}
	ds = e.on.Publish(ctx, n)
	if len(ds) != 1 || ds[0].Status != http.StatusServiceUnavailable || ds[0].Attempt != 2 {
		t.Fatalf("deliveries while the bus is down = %+v, want 503 after a retry", ds)
	}
}
