package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
	"github.com/mijnservices/koerier/router"
)

func listed(t *testing.T, h *harness) []deadLetter {
	t.Helper()
	var buf bytes.Buffer
	if err := listDeadLetters(context.Background(), &buf, h.app.cfg, 50, true); err != nil {
		t.Fatal(err)
	}
	var out []deadLetter
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var d deadLetter
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestDeadLetterListAndReplay: a Notify key refused with 403 is a
// configuration error, so the delivery is dead-lettered; list shows why and
// which notification it belongs to, replay after the fix sends the email.
func TestDeadLetterListAndReplay(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend)
			h.sb.NotifyFaults.Add(fault.Rule{PathPrefix: "/v2/notifications", Status: http.StatusForbidden})
			oz, d := h.sb.OpenZaak, h.sb.Demo
			n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
			if code := h.post(t, n); code != http.StatusNoContent {
				t.Fatalf("post: HTTP %d", code)
			}
			id := httpapi.NotificationID(n)
			var dls []deadLetter
			eventually(t, 20*time.Second, "the delivery in the dead-letter queue", func() bool {
				dls = listed(t, h)
				return len(dls) == 1
			})
			dl := dls[0]
			if dl.Topic != event.DeliveryTopic(event.ChannelEmail) || dl.Kind != "delivery" || dl.Notification != id ||
				dl.DeliveryID == "" || dl.EventID == "" || !strings.Contains(dl.Reason, "channel-error") || dl.Handler == "" {
				t.Fatalf("listed %+v; want the email delivery of notification %s with reason channel-error", dl, id)
			}
			if !hasStatus(h.trail(t, id), "deliver", "deadletter") {
				t.Fatal("the dead letter is not in the ledger")
			}

			var text bytes.Buffer
			if err := listDeadLetters(context.Background(), &text, h.app.cfg, 50, false); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{dl.UUID, "koerier.deliveries.email", "channel-error", id} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("list output lacks %q:\n%s", want, text.String())
				}
			}
			for _, secret := range []string{openzaak.DemoBSNJansen, "jan.jansen@example.com"} {
				if strings.Contains(text.String(), secret) {
					t.Fatalf("list output shows personal data %q:\n%s", secret, text.String())
				}
			}

			cli, err := runCLI(t, h, "deadletter", "list")
			if err != nil || !strings.Contains(cli, dl.UUID) || !strings.Contains(cli, "channel-error") {
				t.Errorf("koerier deadletter list: %v\n%s", err, cli)
			}

			// A dry run and a replay of another topic change nothing.
			var out bytes.Buffer
			if err := replayDeadLetters(context.Background(), &out, h.app.cfg, replayOptions{DryRun: true}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "would replay "+dl.UUID) || !strings.Contains(out.String(), "1 message(s) would be replayed") {
				t.Fatalf("dry run said:\n%s", out.String())
			}
			out.Reset()
			if err := replayDeadLetters(context.Background(), &out, h.app.cfg, replayOptions{Topic: event.TopicInbound, Idle: 500 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "replayed 0 message(s), left 1 from other topics") {
				t.Fatalf("replay --topic koerier.inbound said %q", out.String())
			}
			eventually(t, 10*time.Second, "the skipped message back in the queue", func() bool {
				dls = listed(t, h)
				return len(dls) == 1 && dls[0].UUID == dl.UUID && dls[0].Topic == dl.Topic
			})
			// Replayed before the fix, it fails again and comes back
			// counted.
			out.Reset()
			if err := replayDeadLetters(context.Background(), &out, h.app.cfg, replayOptions{Idle: 500 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			// With a 500 ms idle the failure may or may not come back
			// before the replay ends; either way it is replayed once.
			if !strings.HasPrefix(out.String(), "replayed 1 message(s)") {
				t.Fatalf("replay said %q", out.String())
			}
			eventually(t, 20*time.Second, "the message back in the queue, replayed once", func() bool {
				dls = listed(t, h)
				return len(dls) == 1 && dls[0].UUID == dl.UUID && dls[0].Replayed == 1 && dls[0].Topic == dl.Topic
			})
			if len(h.sb.Notify.Sent()) != 0 {
				t.Fatal("Notify got a message while its key was refused")
			}

			h.sb.NotifyFaults.Clear()
			out.Reset()
			var progress bytes.Buffer
			if err := replayDeadLetters(context.Background(), &out, h.app.cfg, replayOptions{Topic: dl.Topic, Progress: &progress}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "replayed 1 message(s)") {
				t.Fatalf("replay said %q", out.String())
			}
			eventually(t, 20*time.Second, "the replayed email to be delivered", func() bool {
				return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered)
			})
			if got := sentTo(h.sb, "jan.jansen@example.com"); len(got) != 1 {
				t.Fatalf("Notify got %d emails after the replay, want 1", len(got))
			}
			if dls := listed(t, h); len(dls) != 0 {
				t.Fatalf("dead-letter queue after replay: %+v, want empty", dls)
			}
		})
	}
}

func TestReplayMessage(t *testing.T) {
	tests := []struct {
		name         string
		meta         message.Metadata
		wantReplayed string
	}{
		{"poisoned by the router", message.Metadata{
			middleware.ReasonForPoisonedKey: "channel-error: email: 403", middleware.PoisonedTopicKey: "koerier.deliveries.email",
			middleware.PoisonedHandlerKey: "deliver-email-0", middleware.PoisonedSubscriberKey: "sub",
			bus.MetaDeliveryAttempt: "1", router.MetaAttempt: "2", "traceparent": "00-abc-def-01"}, "1"},
		{"dead-lettered by the bus, replayed before", message.Metadata{
			bus.MetaDeadLetterTopic: "koerier.events", bus.MetaDeadLetterReason: "delivered 10 times without an ack",
			bus.MetaNotBefore: "2026-01-01T00:00:00Z", bus.MetaRetries: "9", "x-first-death-queue": "koerier.events",
			metaReplayed: "2", "traceparent": "00-abc-def-01"}, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := message.NewMessage("u-1", []byte(`{"id":"x"}`))
			in.Metadata = tt.meta
			out := replayMessage(in)
			if out.UUID != "u-1" || string(out.Payload) != `{"id":"x"}` {
				t.Fatalf("replayed %s %s; want the same uuid and payload", out.UUID, out.Payload)
			}
			want := message.Metadata{"traceparent": "00-abc-def-01", metaReplayed: tt.wantReplayed}
			if len(out.Metadata) != len(want) {
				t.Fatalf("metadata %v, want %v", out.Metadata, want)
			}
			for k, v := range want {
				if out.Metadata.Get(k) != v {
					t.Fatalf("metadata %v, want %v", out.Metadata, want)
				}
			}
		})
	}
}

func TestOriginTopic(t *testing.T) {
	tests := []struct {
		meta message.Metadata
		want string
	}{
		{message.Metadata{middleware.PoisonedTopicKey: "koerier.inbound", bus.MetaDeadLetterTopic: "koerier.events"}, "koerier.inbound"},
		{message.Metadata{bus.MetaDeadLetterTopic: "koerier.events"}, "koerier.events"},
		{message.Metadata{bus.MetaDeadLetterTopic: event.TopicDeadLetter, "x-first-death-queue": "koerier.outcomes"}, "koerier.outcomes"},
		{message.Metadata{"x-first-death-queue": "koerier.deliveries.sms.delay.30s"}, "koerier.deliveries.sms"},
		{message.Metadata{}, ""},
	}
	for _, tt := range tests {
		if got := originTopic(tt.meta); got != tt.want {
			t.Errorf("originTopic(%v) = %q, want %q", tt.meta, got, tt.want)
		}
	}
}

// TestReplayFrom replays from a bus of its own: --max stops exactly, --topic
// leaves the rest in the queue, and nothing is replayed twice.
func TestReplayFrom(t *testing.T) {
	tests := []struct {
		name         string
		o            replayOptions
		wantA, wantB int // replayed to topic a and b
		wantLeft     int
		wantProgress string
	}{
		{"all", replayOptions{}, 4, 2, 0, ""},
		{"many", replayOptions{}, 204, 2, 0, "replayed 200/206"},
		{"max 3", replayOptions{Max: 3}, 3, 0, 3, ""},
		{"only b", replayOptions{Topic: "koerier.test.b"}, 0, 2, 4, ""},
		{"only b, max 1", replayOptions{Topic: "koerier.test.b", Max: 1}, 0, 1, 5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			b, err := bus.New(ctx, bus.Options{SQLitePath: filepath.Join(t.TempDir(), "bus.db"), PollInterval: 10 * time.Millisecond, NackDelay: 50 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			// Four (or more) from a, then two from b.
			topics := []string{"koerier.test.a", "koerier.test.a", "koerier.test.a", "koerier.test.a", "koerier.test.b", "koerier.test.b"}
			for len(topics) < tt.wantA+tt.wantB+tt.wantLeft {
				topics = append([]string{"koerier.test.a"}, topics...)
			}
			for i, topic := range topics {
				m := message.NewMessage(fmt.Sprintf("m-%d", i), []byte("{}"))
				m.Metadata.Set(middleware.PoisonedTopicKey, topic)
				m.Metadata.Set(middleware.ReasonForPoisonedKey, "test")
				if err := b.Publisher.Publish(event.TopicDeadLetter, m); err != nil {
					t.Fatal(err)
				}
			}
			var progress bytes.Buffer
			tt.o.Idle, tt.o.Progress = 300*time.Millisecond, &progress
			st, err := replayFrom(ctx, b, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if st.replayed != tt.wantA+tt.wantB {
				t.Errorf("replayed %d, want %d", st.replayed, tt.wantA+tt.wantB)
			}
			for topic, want := range map[string]int{"koerier.test.a": tt.wantA, "koerier.test.b": tt.wantB, event.TopicDeadLetter: tt.wantLeft} {
				if got, err := b.Pending(ctx, topic); err != nil || got != want {
					t.Errorf("%s holds %d messages (%v), want %d", topic, got, err, want)
				}
			}
			if !strings.Contains(progress.String(), tt.wantProgress) {
				t.Errorf("progress %q, want %q", progress.String(), tt.wantProgress)
			}
		})
	}
}

// TestDeadLetterReplayInbound: Open Zaak refusing Koerier's credentials
// dead-letters the notification itself at the enrich stage; after the fix,
// 'koerier deadletter replay' sends it through the whole pipeline.
func TestDeadLetterReplayInbound(t *testing.T) {
	h := startHarness(t, "embedded")
	h.sb.OpenZaakFaults.Add(fault.Rule{Status: http.StatusForbidden})
	oz, d := h.sb.OpenZaak, h.sb.Demo
	n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
	if code := h.post(t, n); code != http.StatusNoContent {
		t.Fatalf("post: HTTP %d", code)
	}
	id := httpapi.NotificationID(n)
	var dls []deadLetter
	eventually(t, 20*time.Second, "the notification in the dead-letter queue", func() bool {
		dls = listed(t, h)
		return len(dls) == 1
	})
	if dl := dls[0]; dl.Topic != event.TopicInbound || dl.Kind != "notification" || dl.Notification != id ||
		!strings.Contains(dl.Reason, "configuratiefout") || !strings.Contains(dl.Reason, "403") {
		t.Fatalf("listed %+v; want notification %s from koerier.inbound with a 403 configuratiefout", dl, id)
	}
	if !hasStatus(h.trail(t, id), "enrich", "deadletter") {
		t.Fatal("the dead letter is not in the ledger")
	}

	h.sb.OpenZaakFaults.Clear()
	out, err := runCLI(t, h, "deadletter", "replay")
	if err != nil || !strings.Contains(out, "replayed 1 message(s)") {
		t.Fatalf("koerier deadletter replay: %v: %q", err, out)
	}
	eventually(t, 20*time.Second, "the email after the replay", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered)
	})
	if got := sentTo(h.sb, "jan.jansen@example.com"); len(got) != 1 {
		t.Fatalf("Notify got %d emails, want 1", len(got))
	}
	if dls := listed(t, h); len(dls) != 0 {
		t.Fatalf("dead-letter queue after replay: %+v, want empty", dls)
	}
}

// TestReplayFromFailingAgain: a message that fails again during the replay
// is replayed once, not in a loop, and stays in the queue counted.
func TestReplayFromFailingAgain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := bus.Options{SQLitePath: filepath.Join(t.TempDir(), "bus.db"), PollInterval: 10 * time.Millisecond}
	b, err := bus.New(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const topic = "koerier.test.broken"
	poison := func(m *message.Message) error {
		m.Metadata.Set(middleware.PoisonedTopicKey, topic)
		m.Metadata.Set(middleware.ReasonForPoisonedKey, "still broken")
		return b.Publisher.Publish(event.TopicDeadLetter, m)
	}
	for i := 0; i < 3; i++ {
		if err := poison(message.NewMessage(fmt.Sprintf("m-%d", i), []byte("{}"))); err != nil {
			t.Fatal(err)
		}
	}
	// The "handler" of topic fails every message at once, as the poison
	// middleware does with a configuration error.
	in, err := b.Subscriber.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range in {
			again := message.NewMessage(m.UUID, m.Payload)
			again.Metadata.Set(metaReplayed, m.Metadata.Get(metaReplayed))
			if poison(again) == nil {
				m.Ack()
			}
		}
	}()
	// Without the guard it would replay for ever; the deadline fails it.
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	st, err := replayFrom(rctx, b, replayOptions{Idle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// It stops when the first message it put back comes round again, so it
	// may not have seen every failure come back.
	if st.replayed != 3 || st.failedAgain < 1 {
		t.Fatalf("replayed %d, failed again %d; want 3 replayed once and at least one seen failing again", st.replayed, st.failedAgain)
	}
	var left []bus.Peeked
	eventually(t, 10*time.Second, "all 3 failures back in the dead-letter queue", func() bool {
		left, err = bus.Peek(ctx, o, event.TopicDeadLetter, 10)
		return err == nil && len(left) == 3
	})
	for _, p := range left {
		if d := describeDeadLetter(p.Msg, p.PublishedAt); d.Replayed != 1 || d.Topic != topic {
			t.Errorf("left %+v, want replayed once from %s", d, topic)
		}
	}
}
