package bus

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mijnservices/koerier/internal/clock"
)

const testAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"

// requireRabbitMQ skips when no broker listens, except in CI, where a
// missing broker is a broken environment.
func requireRabbitMQ(t testing.TB) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5672", 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ not reachable on 127.0.0.1:5672: %v", err)
		}
		t.Skipf("RabbitMQ not reachable on 127.0.0.1:5672: %v", err)
	}
	_ = conn.Close()
}

// uniqueTopic gives every test run its own queues, so reruns and parallel
// tests never see each other's messages.
func uniqueTopic(name string) string {
	return "koerier.test." + name + "." + watermill.NewShortUUID()
}

// cleanupQueues deletes the queues of topics (and their delay queues) and
// the test's dead-letter queue.
func cleanupQueues(t testing.TB, o Options, topics ...string) {
	t.Cleanup(func() { deleteQueues(t, o, topics...) })
}

func deleteQueues(t testing.TB, o Options, topics ...string) {
	{
		conn, err := amqp.Dial(testAMQPURL)
		if err != nil {
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		defer ch.Close()
		buckets := o.DelayBuckets
		if len(buckets) == 0 {
			buckets = DefaultDelayBuckets
		}
		for _, topic := range topics {
			_, _ = ch.QueueDelete(topic, false, false, false)
			for _, b := range buckets {
				_, _ = ch.QueueDelete(delayQueue(topic, b), false, false, false)
			}
		}
		if o.DeadLetterTopic != "" {
			_, _ = ch.QueueDelete(o.DeadLetterTopic, false, false, false)
			for _, b := range buckets {
				_, _ = ch.QueueDelete(delayQueue(o.DeadLetterTopic, b), false, false, false)
			}
		}
	}
}

func newTestAMQPBus(t testing.TB, o Options) *Bus {
	t.Helper()
	requireRabbitMQ(t)
	o.Backend = BackendAMQP
	o.AMQPURL = testAMQPURL
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = uniqueTopic("deadletter")
	}
	cleanupQueues(t, o, o.Topics...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, o, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("new amqp bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestAMQPPublishConsume(t *testing.T) {
	topic := uniqueTopic("roundtrip")
	b := newTestAMQPBus(t, Options{Topics: []string{topic}})
	if err := b.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	// Published before anyone subscribes: Declare must have created the
	// queue, or the default exchange drops the message.
	msg := message.NewMessage(watermill.NewUUID(), []byte(`{"kanaal":"zaken"}`))
	msg.Metadata.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if err := b.Publisher.Publish(topic, msg); err != nil {
		t.Fatalf("publish (with confirm): %v", err)
	}
	if n, err := b.Pending(context.Background(), topic); err != nil || n != 1 {
		t.Fatalf("pending = %d, %v; want 1", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, err := b.Subscriber.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	if got.UUID != msg.UUID || string(got.Payload) != string(msg.Payload) {
		t.Fatalf("got %s %q, want %s %q", got.UUID, got.Payload, msg.UUID, msg.Payload)
	}
	if got.Metadata.Get("traceparent") != msg.Metadata.Get("traceparent") {
		t.Fatalf("metadata lost: %v", got.Metadata)
	}
	if a := got.Metadata.Get(MetaDeliveryAttempt); a != "1" {
		t.Fatalf("delivery attempt = %q, want 1", a)
	}
	got.Ack()
}

func TestAMQPDeadLetter(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		// nacks before the message must be in the dead-letter queue
		nacks int
		// sourceKey is the metadata naming the queue it was dead-lettered
		// from: ours when the bus moved it, RabbitMQ's when the broker did.
		sourceKey string
	}{
		{
			name: "after MaxDeliveries delayed retries",
			o: Options{
				MaxDeliveries: 3, NackDelay: 50 * time.Millisecond,
				DelayBuckets: []time.Duration{50 * time.Millisecond, time.Second},
			},
			nacks: 3, sourceKey: MetaDeadLetterTopic,
		},
		{name: "at once with DeadLetterOnNack", o: Options{DeadLetterOnNack: true}, nacks: 1, sourceKey: "x-first-death-queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := uniqueTopic("dlq")
			tt.o.Topics = []string{topic}
			b := newTestAMQPBus(t, tt.o)
			msg := message.NewMessage(watermill.NewUUID(), []byte("x"))
			if err := b.Publisher.Publish(topic, msg); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			msgs, err := b.Subscriber.Subscribe(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= tt.nacks; i++ {
				got := receive(t, msgs)
				if a := got.Metadata.Get(MetaDeliveryAttempt); a != strconv.Itoa(i) {
					t.Errorf("delivery %d reports attempt %q", i, a)
				}
				got.Nack()
			}
			dead, err := b.Subscriber.Subscribe(ctx, b.DeadLetterTopic())
			if err != nil {
				t.Fatal(err)
			}
			got := receive(t, dead)
			if got.UUID != msg.UUID {
				t.Fatalf("dead letter %s, want %s", got.UUID, msg.UUID)
			}
			if q := got.Metadata.Get(tt.sourceKey); q != topic {
				t.Errorf("%s = %q, want %q", tt.sourceKey, q, topic)
			}
			got.Ack()
		})
	}
}

func TestAMQPDelayedDelivery(t *testing.T) {
	topic := uniqueTopic("delay")
	buckets := []time.Duration{200 * time.Millisecond, time.Second}
	b := newTestAMQPBus(t, Options{Topics: []string{topic}, DelayBuckets: buckets})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, err := b.Subscriber.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	// 1.5s hops through the 1s queue and then the 200ms queue (several
	// times); the consumer must never see it early.
	delays := []time.Duration{1500 * time.Millisecond, 100 * time.Millisecond, 0}
	due := map[string]time.Time{}
	for _, d := range delays {
		m := message.NewMessage(watermill.NewUUID(), []byte("x"))
		if d > 0 {
			SetDelay(m, d)
		}
		nb, _ := NotBefore(m)
		due[m.UUID] = nb
		if err := b.Publisher.Publish(topic, m); err != nil {
			t.Fatal(err)
		}
	}
	for len(due) > 0 {
		got := receive(t, msgs)
		nb, ok := due[got.UUID]
		if !ok {
			t.Fatalf("unexpected message %s", got.UUID)
		}
		if now := clock.System(); now.Before(nb) {
			t.Errorf("message %s delivered %s before its due time", got.UUID, nb.Sub(now))
		}
		delete(due, got.UUID)
		got.Ack()
	}
}

func TestAMQPDeclare(t *testing.T) {
	topic := uniqueTopic("declare")
	later := uniqueTopic("declare-later")
	o := Options{Topics: []string{topic}}
	b := newTestAMQPBus(t, o)
	cleanupQueues(t, Options{}, later)
	if err := b.Declare(context.Background(), later); err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(testAMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{topic, later, delayQueue(topic, time.Second), delayQueue(topic, 24*time.Hour), b.DeadLetterTopic()} {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
			t.Errorf("queue %s not declared: %v", q, err)
		}
		_ = ch.Close()
	}
	// Redeclaring with the same arguments must be accepted (every replica
	// declares at start-up).
	if err := b.Declare(context.Background(), topic); err != nil {
		t.Fatalf("redeclare: %v", err)
	}

	// A topic nobody declared is declared on its first publish instead of
	// being dropped by the default exchange.
	undeclared := uniqueTopic("undeclared")
	cleanupQueues(t, Options{}, undeclared)
	if err := b.Publisher.Publish(undeclared, message.NewMessage("kept", nil)); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Pending(context.Background(), undeclared); err != nil || n != 1 {
		t.Fatalf("pending on undeclared topic = %d, %v; want 1", n, err)
	}
}

func TestAMQPUnreachableBrokerFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := New(ctx, Options{Backend: BackendAMQP, AMQPURL: "amqp://guest:guest@127.0.0.1:1/"}, watermill.NopLogger{})
	if err == nil {
		t.Fatal("New succeeded without a broker")
	}
}

// TestAMQPPubSubConformance runs watermill's suite in short mode against our
// RabbitMQ configuration (watermill-amqp runs the long one itself).
func TestAMQPPubSubConformance(t *testing.T) {
	requireRabbitMQ(t)
	dlq := uniqueTopic("deadletter")
	topics := &topicList{}
	// The suite declares hundreds of topics. As quorum queues with eight
	// delay queues each, that is thousands of Raft groups, which wedged a
	// 2-core broker; pub/sub semantics do not depend on the queue type, so
	// the suite runs on classic queues with one delay bucket (the quorum
	// topology has its own tests above).
	buckets := []time.Duration{time.Second}
	constructor := func(t *testing.T) (message.Publisher, message.Subscriber) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := New(ctx, Options{
			Backend: BackendAMQP, AMQPURL: testAMQPURL, DeadLetterTopic: dlq,
			ClassicQueues: true, DelayBuckets: buckets,
			// The suite nacks one message over and over.
			MaxDeliveries: -1,
		}, watermill.NopLogger{})
		if err != nil {
			t.Fatal(err)
		}
		return b.Publisher, recordTopics{b.Subscriber, topics}
	}
	tests.TestPubSub(t, tests.Features{
		Persistent: true,
		ForceShort: true,
		GenerateTopicFunc: func(tctx tests.TestContext) string {
			return "koerier.test.conformance." + string(tctx.TestID)
		},
	}, constructor, nil)
	t.Cleanup(func() {
		topics.mu.Lock()
		defer topics.mu.Unlock()
		deleteQueues(t, Options{DeadLetterTopic: dlq, DelayBuckets: buckets}, topics.names...)
	})
}

// recordTopics remembers initialised topics so the test can delete their
// queues afterwards.
type recordTopics struct {
	message.Subscriber
	topics *topicList
}

type topicList struct {
	mu    sync.Mutex
	names []string
}

func (r recordTopics) SubscribeInitialize(topic string) error {
	r.topics.mu.Lock()
	r.topics.names = append(r.topics.names, topic)
	r.topics.mu.Unlock()
	return r.Subscriber.(message.SubscribeInitializer).SubscribeInitialize(topic)
}

// TestAMQPShutdownRequeues checks that closing a subscriber with a message
// in flight requeues it: a rolling deploy must not dead-letter work, even
// with a MaxDeliveries as low as the number of restarts.
func TestAMQPShutdownRequeues(t *testing.T) {
	topic := uniqueTopic("shutdown")
	o := Options{Topics: []string{topic}, MaxDeliveries: 2, DeadLetterTopic: uniqueTopic("deadletter")}
	for restart := 1; restart <= 3; restart++ {
		b := newTestAMQPBus(t, o)
		if restart == 1 {
			if err := b.Publisher.Publish(topic, message.NewMessage("inflight", nil)); err != nil {
				t.Fatal(err)
			}
		}
		msgs, err := b.Subscriber.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		got := receive(t, msgs)
		attempt, _ := strconv.Atoi(got.Metadata.Get(MetaDeliveryAttempt))
		if got.UUID != "inflight" || attempt < restart {
			t.Fatalf("after %d restarts: got %s attempt %d", restart-1, got.UUID, attempt)
		}
		if restart == 3 {
			got.Ack()
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A Nack on the dead-letter queue itself re-publishes it with a due time;
// the message must come back, not vanish into an undeclared delay queue.
func TestAMQPNackOnDeadLetterQueueKeepsMessage(t *testing.T) {
	b := newTestAMQPBus(t, Options{NackDelay: 50 * time.Millisecond, MaxDeliveries: -1,
		DelayBuckets: []time.Duration{50 * time.Millisecond, time.Second}})
	msg := message.NewMessage(watermill.NewUUID(), []byte("x"))
	if err := b.Publisher.Publish(b.DeadLetterTopic(), msg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dead, err := b.Subscriber.Subscribe(ctx, b.DeadLetterTopic())
	if err != nil {
		t.Fatal(err)
	}
	receive(t, dead).Nack()
	got := receive(t, dead)
	if got.UUID != msg.UUID {
		t.Fatalf("got %s, want the nacked message %s back", got.UUID, msg.UUID)
	}
	got.Ack()
}
