package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
)

// A source system must not be able to put headers of its choosing into
// our calls to the peers: a notification posted with baggage and a
// traceparent produces Open Zaak requests with neither (the trace Koerier
// starts links to the caller's, it does not continue it).
func TestInboundTraceHeadersAreNotForwarded(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	oz.ResetRequests()
	st := oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now())
	n := statusNotification(oz, d.ZaakInwoner, st)
	const inboundTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	body, _ := json.Marshal(n)
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/notificaties", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", h.token)
	req.Header.Set("Traceparent", "00-"+inboundTrace+"-00f067aa0ba902b7-01")
	req.Header.Set("Baggage", "x-injected=evil,userId=mallory")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("post: HTTP %d", resp.StatusCode)
	}
	id := httpapi.NotificationID(n)
	eventually(t, 20*time.Second, "the email to be delivered", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered)
	})
	reqs := oz.Requests()
	if len(reqs) == 0 {
		t.Fatal("Open Zaak got no requests")
	}
	var traced int
	for _, r := range reqs {
		if v := r.Header.Values("Baggage"); len(v) > 0 {
			t.Fatalf("%s %s carries baggage %q", r.Method, r.Path, v)
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, "evil") || strings.Contains(v, "mallory") || strings.Contains(v, inboundTrace) {
					t.Fatalf("%s %s carries the caller's header value %s: %q", r.Method, r.Path, k, v)
				}
			}
		}
		if r.Header.Get("Traceparent") != "" {
			traced++
		}
	}
	if traced == 0 {
		t.Fatal("no Open Zaak request carries a traceparent: the test would not see a forwarded one")
	}
}
