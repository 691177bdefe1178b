// Package bus owns Koerier's message bus: the watermill Publisher and
// Subscriber that carry messages between the pipeline stages, on one of two
// backends chosen by configuration: an embedded SQLite Pub/Sub (the default,
// a single file, no servers) or RabbitMQ (durable quorum queues, publisher
// confirms, dead-lettering). It also owns delayed delivery (SetDelay,
// SetNotBefore), which both backends honour on Publish, so a stage that must
// retry later re-publishes with a due time and acks instead of holding a
// worker.
//
// The bus moves opaque payloads and string metadata. It must not know what
// is inside them: it imports nothing of Koerier's router, rules, channels or
// event types, and it never logs payloads (they carry personal data).
//
// # Using it from the router
//
//   - Build it once: New(ctx, Options{..., Topics: every topic a stage
//     consumes}, logger), and hand Bus.Publisher and Bus.Subscriber to the
//     watermill router as they are. Delay handling is inside them; there is
//     no middleware to add.
//   - A Subscribe call holds one message at a time on both backends, so a
//     stage with concurrency N is N router handlers on the same topic (with
//     different names) sharing Bus.Subscriber.
//   - Ack when done. Nack means "try again later": the message comes back
//     after Options.NackDelay, and after Options.MaxDeliveries deliveries
//     the bus moves it to Options.DeadLetterTopic itself. DeliveryAttempt
//     tells a handler which delivery it is looking at.
//   - To retry much later without holding a worker (the rol race, a long
//     Retry-After, a taak reminder in three days), publish a copy with
//     SetDelay or SetNotBefore and ack the original.
//   - Bus.Ping backs /readyz: on RabbitMQ it fails while the connection is
//     down, and so does Publish, at once, which lets ingest answer 503.
//   - Close the router first, then the Bus: closing hands unacked messages
//     back (SQLite: at once; RabbitMQ: requeued by the broker).
package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Backends.
const (
	BackendSQLite = "sqlite"
	BackendAMQP   = "amqp"
)

// Defaults of Options and SQLiteConfig, for a bus used without config.
// config.Default() holds the same values (config's
// TestDefaultsMatchPackages fails when they drift).
const (
	DefaultMaxDeliveries     = 10
	DefaultNackDelay         = time.Second
	DefaultVisibilityTimeout = 30 * time.Second
	DefaultPollInterval      = 500 * time.Millisecond
	DefaultPrefetch          = 1
	DefaultChannelPoolSize   = 8
)

// Options selects and configures the backend. Zero values work: they give
// the SQLite backend with its defaults, except that SQLitePath must be set.
type Options struct {
	// Backend is "sqlite" (default) or "amqp".
	Backend string

	// Now is the clock for due times and visibility (default
	// clock.System). On RabbitMQ a delay becomes a broker TTL, which runs
	// on the broker's clock; only the SQLite backend can be moved by a
	// test's clock.
	Now func() time.Time

	// Topics are declared at start-up (RabbitMQ: queues, delay queues and
	// the dead-letter queue). A message published to a topic that was never
	// declared is lost on RabbitMQ, so list every topic a stage consumes.
	Topics []string

	// MaxDeliveries sends a message to DeadLetterTopic when it is nacked on
	// its MaxDeliveries-th delivery (SQLite: also when it was claimed that
	// often without an ack). On RabbitMQ a message whose consumer keeps
	// dying is stopped by the quorum queue's x-delivery-limit, set to
	// max(MaxDeliveries, 20). Default 10; negative means no limit.
	MaxDeliveries int
	// DeadLetterTopic defaults to "koerier.deadletter".
	DeadLetterTopic string

	// NackDelay is how long a nacked message waits before its next
	// delivery, on both backends. Default 1s; on RabbitMQ the wait is
	// rounded up to a delay bucket.
	NackDelay time.Duration

	// SQLitePath is the database file of the SQLite backend.
	SQLitePath string
	// VisibilityTimeout and PollInterval: see SQLiteConfig.
	VisibilityTimeout time.Duration
	PollInterval      time.Duration

	// AMQPURL is the RabbitMQ URL, e.g. amqp://guest:guest@127.0.0.1:5672/.
	AMQPURL string
	// Prefetch is the QoS prefetch count per subscription. Default 1: a
	// subscription holds one message at a time anyway, and a higher value
	// only hides messages from other replicas.
	Prefetch int
	// ChannelPoolSize is the number of publishing channels. Default 8.
	ChannelPoolSize int
	// ClassicQueues declares classic durable queues instead of quorum
	// queues, for brokers that cannot run quorum queues. MaxDeliveries is
	// then not enforced by the broker.
	ClassicQueues bool
	// DelayBuckets are the fixed TTLs of the delay queues per topic.
	// Default DefaultDelayBuckets.
	DelayBuckets []time.Duration
	// DeadLetterOnNack makes a Nack dead-letter the message at once
	// (watermill-amqp NoRequeueOnNack). Off by default, because the
	// watermill-amqp subscriber nacks every in-flight message when it is
	// closed, which would dead-letter messages on every shutdown; with it
	// off a Nack is a retry after NackDelay, as on SQLite, and shutdown
	// requeues.
	DeadLetterOnNack bool
}

func (o *Options) setDefaults() {
	if o.Backend == "" {
		o.Backend = BackendSQLite
	}
	if o.MaxDeliveries == 0 {
		o.MaxDeliveries = DefaultMaxDeliveries
	}
	if o.MaxDeliveries < 0 {
		o.MaxDeliveries = 0
	}
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = DefaultDeadLetterTopic
	}
	if o.Prefetch <= 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.ChannelPoolSize <= 0 {
		o.ChannelPoolSize = DefaultChannelPoolSize
	}
	if len(o.DelayBuckets) == 0 {
		o.DelayBuckets = DefaultDelayBuckets
	}
}

// Bus is the configured backend. Publisher and Subscriber are safe for
// concurrent use; every Subscribe call is one competing consumer.
type Bus struct {
	Publisher  message.Publisher
	Subscriber message.Subscriber

	backend    string
	deadLetter string
	ping       func(ctx context.Context) error
	declare    func(ctx context.Context, topics ...string) error
	pending    func(ctx context.Context, topic string) (int, error)
	closers    []func() error
}

// New builds the bus from o and declares o.Topics. The context bounds
// start-up only.
func New(ctx context.Context, o Options, logger watermill.LoggerAdapter) (*Bus, error) {
	o.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	var (
		b   *Bus
		err error
	)
	switch o.Backend {
	case BackendSQLite:
		b, err = newSQLiteBus(o, logger)
	case BackendAMQP:
		b, err = newAMQPBus(ctx, o, logger)
	default:
		return nil, fmt.Errorf("bus: unknown backend %q: use %q or %q", o.Backend, BackendSQLite, BackendAMQP)
	}
	if err != nil {
		return nil, err
	}
	b.deadLetter = o.DeadLetterTopic
	if err := b.Declare(ctx, o.Topics...); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func newSQLiteBus(o Options, logger watermill.LoggerAdapter) (*Bus, error) {
	s, err := NewSQLite(SQLiteConfig{
		Path:              o.SQLitePath,
		Now:               o.Now,
		VisibilityTimeout: o.VisibilityTimeout,
		NackDelay:         o.NackDelay,
		PollInterval:      o.PollInterval,
		MaxDeliveries:     o.MaxDeliveries,
		DeadLetterTopic:   o.DeadLetterTopic,
	}, logger)
	if err != nil {
		return nil, err
	}
	pub, sub := s.Publisher(), s.Subscriber()
	return &Bus{
		Publisher:  pub,
		Subscriber: sub,
		backend:    BackendSQLite,
		ping:       s.Ping,
		declare:    func(context.Context, ...string) error { return nil },
		pending:    s.Pending,
		closers:    []func() error{sub.Close, pub.Close, s.Close},
	}, nil
}

// DeadLetterTopic is where messages go that exhausted MaxDeliveries.
func (b *Bus) DeadLetterTopic() string { return b.deadLetter }

// Backend names the backend in use.
func (b *Bus) Backend() string { return b.backend }

// Ping reports whether the bus can accept a publish now; /readyz uses it.
func (b *Bus) Ping(ctx context.Context) error { return b.ping(ctx) }

// Declare prepares topics for publishing and consuming. New declares
// Options.Topics already; call Declare for topics known only later.
func (b *Bus) Declare(ctx context.Context, topics ...string) error {
	return b.declare(ctx, topics...)
}

// Pending returns how many messages wait on topic (queue depth), for the
// queue-lag metric.
func (b *Bus) Pending(ctx context.Context, topic string) (int, error) {
	return b.pending(ctx, topic)
}

// Close closes the subscriber (handing unacked messages back), the
// publisher and the backend, in that order.
func (b *Bus) Close() error {
	var errs []error
	for _, c := range b.closers {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
