package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

func TestPrintBatch(t *testing.T) {
	b := store.Batch{ID: "koerier-20260609-1600-1", Bucket: "print/default", State: store.BatchSent, Items: 1,
		SealedAt: time.Date(2026, 6, 9, 14, 0, 0, 0, time.UTC), SentAt: time.Date(2026, 6, 9, 14, 0, 3, 0, time.UTC)}
	d := event.Delivery{ID: "d1", InboundID: "n1", TemplateID: "templates/besluit.nl.md",
		Recipient: event.Recipient{Language: "nld", Subject: event.Subject{BSN: "999993653"}}}
	var w bytes.Buffer
	if err := printBatch(&w, b, []store.BatchItem{{ID: "d1", Payload: event.Marshal(d)}}, false); err != nil {
		t.Fatal(err)
	}
	out := w.String()
	for _, s := range []string{"koerier-20260609-1600-1", "print/default", "2026-06-09 16:00:00", "templates/besluit.nl.md"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "999993653") {
		t.Fatalf("output shows a BSN:\n%s", out)
	}
}
