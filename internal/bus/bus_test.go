package bus

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mijnservices/koerier/internal/clock"
)

func newTestSQLiteBus(t testing.TB, o Options) *Bus {
	t.Helper()
	o.Backend = BackendSQLite
	if o.SQLitePath == "" {
		o.SQLitePath = filepath.Join(t.TempDir(), "bus.db")
	}
	b, err := New(context.Background(), o, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("new sqlite bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"unknown backend", Options{Backend: "kafka"}},
		{"sqlite without path", Options{}},
		{"amqp without url", Options{Backend: BackendAMQP}},
		{"amqp with a zero delay bucket", Options{Backend: BackendAMQP, AMQPURL: testAMQPURL, DelayBuckets: []time.Duration{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := New(context.Background(), tt.o, nil); err == nil {
				_ = b.Close()
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// TestBusDelayAndDeadLetter runs the behaviour the stages rely on through
// Bus, on every backend that is available.
func TestBusDelayAndDeadLetter(t *testing.T) {
	backends := []struct {
		name string
		new  func(t *testing.T, topic string) *Bus
	}{
		{"sqlite", func(t *testing.T, topic string) *Bus {
			return newTestSQLiteBus(t, Options{
				Topics: []string{topic}, MaxDeliveries: 2,
				NackDelay: time.Millisecond, PollInterval: 10 * time.Millisecond,
			})
		}},
		{"amqp", func(t *testing.T, topic string) *Bus {
			return newTestAMQPBus(t, Options{
				Topics: []string{topic}, MaxDeliveries: 2,
				DelayBuckets: []time.Duration{100 * time.Millisecond, 500 * time.Millisecond},
			})
		}},
	}
	for _, be := range backends {
		t.Run(be.name+"/delay", func(t *testing.T) {
			topic := uniqueTopic("bus-delay")
			b := be.new(t, topic)
			msgs, err := b.Subscriber.Subscribe(context.Background(), topic)
			if err != nil {
				t.Fatal(err)
			}
			late := message.NewMessage("late", nil)
			SetDelay(late, 700*time.Millisecond)
			nb, _ := NotBefore(late)
			if err := b.Publisher.Publish(topic, late, message.NewMessage("now", nil)); err != nil {
				t.Fatal(err)
			}
			first := receive(t, msgs)
			first.Ack()
			if first.UUID != "now" {
				t.Fatalf("first message %s, want the undelayed one", first.UUID)
			}
			second := receive(t, msgs)
			second.Ack()
			if second.UUID != "late" || clock.System().Before(nb) {
				t.Fatalf("got %s at %s, want late not before %s", second.UUID, clock.System(), nb)
			}
		})
		t.Run(be.name+"/dead letter after MaxDeliveries", func(t *testing.T) {
			topic := uniqueTopic("bus-dlq")
			b := be.new(t, topic)
			msgs, err := b.Subscriber.Subscribe(context.Background(), topic)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Publisher.Publish(topic, message.NewMessage("poison", []byte("x"))); err != nil {
				t.Fatal(err)
			}
			receive(t, msgs).Nack()
			receive(t, msgs).Nack()
			dead, err := b.Subscriber.Subscribe(context.Background(), b.DeadLetterTopic())
			if err != nil {
				t.Fatal(err)
			}
			got := receive(t, dead)
			got.Ack()
			if got.UUID != "poison" {
				t.Fatalf("dead letter %s, want poison", got.UUID)
			}
		})
	}
}

func TestDeliveryAttempt(t *testing.T) {
	tests := []struct {
		meta string
		want int
	}{{"", 1}, {"1", 1}, {"4", 4}, {"garbage", 1}, {"0", 1}}
	for _, tt := range tests {
		m := message.NewMessage("m", nil)
		if tt.meta != "" {
			m.Metadata.Set(MetaDeliveryAttempt, tt.meta)
		}
		if got := DeliveryAttempt(m); got != tt.want {
			t.Errorf("DeliveryAttempt(%q) = %d, want %d", tt.meta, got, tt.want)
		}
	}
}

func TestBucketFor(t *testing.T) {
	buckets := DefaultDelayBuckets
	tests := []struct {
		remaining, want time.Duration
	}{
		{10 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{4 * time.Second, time.Second},
		{90 * time.Second, 30 * time.Second},
		{3 * 24 * time.Hour, 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := bucketFor(buckets, tt.remaining); got != tt.want {
			t.Errorf("bucketFor(%s) = %s, want %s", tt.remaining, got, tt.want)
		}
	}
}

func TestDelayQueueNames(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{250 * time.Millisecond, "koerier.events.delay.250ms"},
		{30 * time.Second, "koerier.events.delay.30s"},
		{2 * time.Minute, "koerier.events.delay.2m"},
		{24 * time.Hour, "koerier.events.delay.24h"},
	}
	for _, tt := range tests {
		if got := delayQueue("koerier.events", tt.d); got != tt.want {
			t.Errorf("delayQueue(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestHeaderMarshaler checks the headers RabbitMQ adds on dead-lettering and
// redelivery, which watermill's default marshaler refuses.
func TestHeaderMarshaler(t *testing.T) {
	d := amqp.Delivery{
		Body: []byte("x"),
		Headers: amqp.Table{
			"_watermill_message_uuid": "m-1",
			"traceparent":             "00-abc-def-01",
			"x-delivery-count":        int64(2),
			"x-first-death-queue":     "koerier.events.delay.30s",
			"x-death":                 []any{amqp.Table{"count": int64(1), "reason": "expired"}},
		},
	}
	msg, err := headerMarshaler{}.Unmarshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if msg.UUID != "m-1" || msg.Metadata.Get("traceparent") != "00-abc-def-01" {
		t.Fatalf("unmarshal lost uuid or metadata: %s %v", msg.UUID, msg.Metadata)
	}
	if got := msg.Metadata.Get(MetaDeliveryAttempt); got != "3" {
		t.Errorf("delivery attempt = %q, want 3", got)
	}
	if _, ok := msg.Metadata["x-death"]; ok {
		t.Errorf("x-death table copied into metadata")
	}
	p, err := headerMarshaler{}.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	for k := range p.Headers {
		if k == MetaDeliveryAttempt || k[:2] == "x-" {
			t.Errorf("re-publish forwards header %s", k)
		}
	}
	if p.Headers["traceparent"] != "00-abc-def-01" || p.DeliveryMode != amqp.Persistent {
		t.Errorf("publishing = %+v", p)
	}
}

// BenchmarkPublish reports publish throughput (msgs/s) of each backend:
// serial publishes, and parallel ones as concurrent ingest requests make
// them. RabbitMQ sub-benchmarks skip when no broker runs.
func BenchmarkPublish(b *testing.B) {
	payload := make([]byte, 1024)
	backends := []struct {
		name string
		new  func(b *testing.B, topic string) *Bus
	}{
		{"sqlite", func(b *testing.B, topic string) *Bus {
			return newTestSQLiteBus(b, Options{Topics: []string{topic}})
		}},
		{"amqp", func(b *testing.B, topic string) *Bus {
			return newTestAMQPBus(b, Options{Topics: []string{topic}})
		}},
	}
	for _, be := range backends {
		for _, parallel := range []bool{false, true} {
			name := be.name + "/serial"
			if parallel {
				name = be.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				topic := uniqueTopic("bench")
				bus := be.new(b, topic)
				publish := func() {
					if err := bus.Publisher.Publish(topic, message.NewMessage(watermill.NewUUID(), payload)); err != nil {
						b.Error(err)
					}
				}
				b.ResetTimer()
				start := time.Now()
				if parallel {
					b.SetParallelism(8)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							publish()
						}
					})
				} else {
					for i := 0; i < b.N; i++ {
						publish()
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}

func ExampleSetDelay() {
	msg := message.NewMessage(watermill.NewUUID(), []byte(`{"taak":"herinnering"}`))
	SetNotBefore(msg, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	nb, _ := NotBefore(msg)
	fmt.Println(nb)
	// Output: 2026-12-01 09:00:00 +0000 UTC
}

// BenchmarkConsume reports how fast four competing subscriptions drain a
// topic (msgs/s, publish excluded), the figure that bounds a stage's
// throughput per process.
func BenchmarkConsume(b *testing.B) {
	backends := []struct {
		name string
		new  func(b *testing.B, topic string) *Bus
	}{
		{"sqlite", func(b *testing.B, topic string) *Bus {
			return newTestSQLiteBus(b, Options{Topics: []string{topic}})
		}},
		{"amqp", func(b *testing.B, topic string) *Bus {
			return newTestAMQPBus(b, Options{Topics: []string{topic}, Prefetch: 4})
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			topic := uniqueTopic("bench-consume")
			bus := be.new(b, topic)
			batch := make([]*message.Message, 0, 100)
			for i := 0; i < b.N; i++ {
				batch = append(batch, message.NewMessage(watermill.NewUUID(), []byte("x")))
				if len(batch) == cap(batch) || i == b.N-1 {
					if err := bus.Publisher.Publish(topic, batch...); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			received := make(chan struct{}, b.N)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < 4; i++ {
				msgs, err := bus.Subscriber.Subscribe(ctx, topic)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for m := range msgs {
						m.Ack()
						received <- struct{}{}
					}
				}()
			}
			for i := 0; i < b.N; i++ {
				select {
				case <-received:
				case <-time.After(time.Minute):
					b.Fatalf("received %d of %d", i, b.N)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
