package notifynl_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/channels/notifynl"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
)

// Wiring the channels: one client per API key, New builds the retrying
// http client that re-signs every attempt, and the two channels go into the
// registry. The callback handler is mounted on the HTTP API.
func Example() {
	key := notify.NewKey("koerier")
	fake := notify.NewServer(notify.Options{Keys: []notify.Key{key}, Templates: []notify.Template{
		{ID: "5a1b2c3d-0000-4000-8000-000000000001", Type: "email", Subject: "Zaak ((zaak))", Body: "Uw zaak ((zaak)) heeft een nieuwe status."},
	}})
	srv := httptest.NewServer(fake)
	defer srv.Close()

	c, err := notifynl.New(srv.URL, key.String(), nil, notifynl.WithHTTPOptions(httpclient.Options{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	reg, _ := channels.NewRegistry(notifynl.EmailChannel(c), notifynl.SMSChannel(c))
	email, _ := reg.Get("email")
	rec, err := email.Send(context.Background(), event.Delivery{
		ID:              "0f3c9a7e5d1b4c2a8e6f0a1b2c3d4e5f",
		Recipient:       event.Recipient{Email: "inwoner@example.nl"},
		TemplateID:      "5a1b2c3d-0000-4000-8000-000000000001",
		Personalisation: map[string]string{"zaak": "ZAAK-2026-0001"},
	})
	fmt.Println(rec.Status, err, fake.Sent()[0].Subject)

	mux := http.NewServeMux()
	mux.Handle("POST /callbacks/notify", notifynl.CallbackHandler("token-configured-in-notify", func(ctx context.Context, o event.Outcome) error {
		return nil // publish o to event.TopicOutcomes
	}))
	fmt.Println(reg.Names())
	// Output:
	// sent <nil> Zaak ZAAK-2026-0001
	// [email sms]
}
