package app

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/router"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
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
			MetaReplayed: "2", "traceparent": "00-abc-def-01"}, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := message.NewMessage("u-1", []byte(`{"id":"x"}`))
			in.Metadata = tt.meta
			out := ReplayMessage(in)
			if out.UUID != "u-1" || string(out.Payload) != `{"id":"x"}` {
				t.Fatalf("replayed %s %s; want the same uuid and payload", out.UUID, out.Payload)
			}
			want := message.Metadata{"traceparent": "00-abc-def-01", MetaReplayed: tt.wantReplayed}
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
		if got := OriginTopic(tt.meta); got != tt.want {
			t.Errorf("OriginTopic(%v) = %q, want %q", tt.meta, got, tt.want)
		}
	}
}

// TestReplay replays from a bus of its own: --max stops exactly, --topic
// leaves the rest in the queue, and nothing is replayed twice.
func TestReplay(t *testing.T) {
	tests := []struct {
		name         string
		o            ReplayOptions
		wantA, wantB int // replayed to topic a and b
		wantLeft     int
		wantProgress string
	}{
		{"all", ReplayOptions{}, 4, 2, 0, ""},
		{"many", ReplayOptions{}, 204, 2, 0, "replayed 200/206"},
		{"max 3", ReplayOptions{Max: 3}, 3, 0, 3, ""},
		{"only b", ReplayOptions{Topic: "koerier.test.b"}, 0, 2, 4, ""},
		{"only b, max 1", ReplayOptions{Topic: "koerier.test.b", Max: 1}, 0, 1, 5, ""},
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
			st, err := Replay(ctx, b, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if st.Replayed != tt.wantA+tt.wantB {
				t.Errorf("replayed %d, want %d", st.Replayed, tt.wantA+tt.wantB)
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

// TestReplayFailingAgain: a message that fails again during the replay
// is replayed once, not in a loop, and stays in the queue counted.
func TestReplayFailingAgain(t *testing.T) {
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
			again.Metadata.Set(MetaReplayed, m.Metadata.Get(MetaReplayed))
			if poison(again) == nil {
				m.Ack()
			}
		}
	}()
	// Without the guard it would replay for ever; the deadline fails it.
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	st, err := Replay(rctx, b, ReplayOptions{Idle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// It stops when the first message it put back comes round again, so it
	// may not have seen every failure come back.
	if st.Replayed != 3 || st.FailedAgain < 1 {
		t.Fatalf("replayed %d, failed again %d; want 3 replayed once and at least one seen failing again", st.Replayed, st.FailedAgain)
	}
	var left []bus.Peeked
	eventually(t, 10*time.Second, "all 3 failures back in the dead-letter queue", func() bool {
		left, err = bus.Peek(ctx, o, event.TopicDeadLetter, 10)
		return err == nil && len(left) == 3
	})
	for _, p := range left {
		if d := DescribeDeadLetter(p.Msg, p.PublishedAt); d.Replayed != 1 || d.Topic != topic {
			t.Errorf("left %+v, want replayed once from %s", d, topic)
		}
	}
}
