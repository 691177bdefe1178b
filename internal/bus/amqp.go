package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v2/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mijnservices/koerier/internal/clock"
)

// minBrokerDeliveryLimit is the lowest x-delivery-limit Koerier declares.
const minBrokerDeliveryLimit = 20

// DefaultDelayBuckets are the TTLs of the delay queues every topic gets on
// RabbitMQ. RabbitMQ expires messages only at the head of a queue, so each
// queue has one fixed TTL; a long delay hops through several of them.
var DefaultDelayBuckets = []time.Duration{
	time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
	10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour,
}

// amqpBackend holds what the bus needs besides the watermill
// publisher/subscriber: their topology settings and the connection to
// inspect queues with.
type amqpBackend struct {
	o      Options
	pub    *wamqp.Publisher
	sub    *wamqp.Subscriber
	logger watermill.LoggerAdapter

	mu       sync.Mutex
	declared map[string]bool // topics whose queues this process declared
}

func newAMQPBus(ctx context.Context, o Options, logger watermill.LoggerAdapter) (*Bus, error) {
	if o.AMQPURL == "" {
		return nil, errors.New("bus: amqp: no broker URL configured")
	}
	o.DelayBuckets = slices.Clone(o.DelayBuckets)
	slices.Sort(o.DelayBuckets)
	if o.DelayBuckets[0] <= 0 {
		return nil, fmt.Errorf("bus: amqp: delay bucket %s is not positive", o.DelayBuckets[0])
	}
	cfg := amqpConfig(o)

	type result struct {
		pub *wamqp.Publisher
		sub *wamqp.Subscriber
		err error
	}
	// watermill-amqp dials without a context; run it aside so a broker that
	// does not answer cannot hang start-up past ctx.
	done := make(chan result, 1)
	go func() {
		pub, err := wamqp.NewPublisher(cfg, logger)
		if err != nil {
			done <- result{err: fmt.Errorf("bus: amqp: connect publisher: %w", err)}
			return
		}
		// Publisher and subscriber use separate connections, so RabbitMQ's
		// flow control on a busy publisher never stalls consumers' acks.
		sub, err := wamqp.NewSubscriber(cfg, logger)
		if err != nil {
			_ = pub.Close()
			done <- result{err: fmt.Errorf("bus: amqp: connect subscriber: %w", err)}
			return
		}
		done <- result{pub: pub, sub: sub}
	}()
	var r result
	select {
	case r = <-done:
		if r.err != nil {
			return nil, r.err
		}
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				_ = r.sub.Close()
				_ = r.pub.Close()
			}
		}()
		return nil, fmt.Errorf("bus: amqp: connect: %w", ctx.Err())
	}

	a := &amqpBackend{o: o, pub: r.pub, sub: r.sub, logger: logger, declared: map[string]bool{}}
	pub := &delayPublisher{inner: r.pub, buckets: o.DelayBuckets, now: clock.Or(o.Now), declare: a.declareOnce}
	nackDelay := o.NackDelay
	if nackDelay <= 0 {
		nackDelay = time.Second
	}
	sub := &delaySubscriber{
		inner: r.sub, pub: pub, now: clock.Or(o.Now), logger: logger, closing: make(chan struct{}),
		nackDelay: nackDelay, maxDeliveries: o.MaxDeliveries, deadLetterTopic: o.DeadLetterTopic,
		deadLetterOnNack: o.DeadLetterOnNack,
	}
	return &Bus{
		Publisher:  pub,
		Subscriber: sub,
		backend:    BackendAMQP,
		ping:       a.ping,
		declare:    a.declare,
		pending:    a.pending,
		closers:    []func() error{sub.Close, pub.Close},
	}, nil
}

func amqpConfig(o Options) wamqp.Config {
	// Default exchange, queue name = routing key = topic: every topic is one
	// work queue shared by competing consumers.
	cfg := wamqp.NewDurableQueueConfig(o.AMQPURL)
	cfg.Connection.AmqpConfig = &amqp.Config{
		// A broker that vanishes without closing TCP is noticed within two
		// heartbeats, so publishes fail instead of hanging on a confirm.
		Heartbeat: 5 * time.Second,
		Locale:    "en_US",
		// The dial deadline also covers the AMQP handshake, which a broker
		// busy declaring quorum queues can take seconds to answer; 5 s made
		// start-up fail under load. A broker that is down still fails fast
		// (connection refused).
		Dial: amqp.DefaultDial(30 * time.Second),
		Properties: amqp.Table{
			"connection_name": "koerier",
		},
	}
	cfg.Connection.Reconnect = wamqp.DefaultReconnectConfig()
	cfg.Connection.Reconnect.BackoffMaxInterval = 10 * time.Second
	cfg.Marshaler = headerMarshaler{}
	cfg.Publish.ConfirmDelivery = true
	cfg.Publish.ChannelPoolSize = o.ChannelPoolSize
	cfg.Consume.NoRequeueOnNack = o.DeadLetterOnNack
	cfg.Consume.Qos.PrefetchCount = o.Prefetch
	cfg.TopologyBuilder = &topology{o: o}
	return cfg
}

func (a *amqpBackend) ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bus: amqp: ping: %w", err)
	}
	if !a.pub.IsConnected() {
		return errors.New("bus: amqp: ping: publisher is not connected to RabbitMQ")
	}
	if !a.sub.IsConnected() {
		return errors.New("bus: amqp: ping: subscriber is not connected to RabbitMQ")
	}
	return nil
}

// declare creates, for every topic, its work queue, its delay queues and the
// dead-letter queue. The watermill publisher never declares queues, and the
// default exchange drops a message whose queue does not exist yet.
func (a *amqpBackend) declare(ctx context.Context, topics ...string) error {
	for _, topic := range topics {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bus: amqp: declare %s: %w", topic, err)
		}
		if err := a.sub.SubscribeInitialize(topic); err != nil {
			return fmt.Errorf("bus: amqp: declare %s: %w", topic, err)
		}
		a.mu.Lock()
		a.declared[topic] = true
		a.mu.Unlock()
	}
	return nil
}

// declareOnce declares topic before its first publish from this process, as
// a safety net for a topic missing from Options.Topics: without it the
// default exchange would drop the message and still confirm it.
func (a *amqpBackend) declareOnce(topic string) error {
	a.mu.Lock()
	done := a.declared[topic]
	a.mu.Unlock()
	if done {
		return nil
	}
	return a.declare(context.Background(), topic)
}

// pending returns the number of ready messages in topic's queue.
func (a *amqpBackend) pending(ctx context.Context, topic string) (int, error) {
	if !a.pub.IsConnected() {
		return 0, fmt.Errorf("bus: amqp: count pending on %s: not connected", topic)
	}
	ch, err := a.pub.Connection().Channel()
	if err != nil {
		return 0, fmt.Errorf("bus: amqp: count pending on %s: open channel: %w", topic, err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(topic, true, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("bus: amqp: count pending on %s: %w", topic, err)
	}
	return q.Messages, nil
}

// topology declares queues with the arguments Koerier needs; watermill's
// default builder can only give every queue the same arguments.
type topology struct {
	o Options
}

func (t *topology) queueArgs() amqp.Table {
	args := amqp.Table{}
	if !t.o.ClassicQueues {
		args["x-queue-type"] = "quorum"
	}
	return args
}

func (t *topology) deadLetterTo(args amqp.Table, routingKey string) {
	args["x-dead-letter-exchange"] = ""
	args["x-dead-letter-routing-key"] = routingKey
	if !t.o.ClassicQueues {
		// Quorum queues otherwise dead-letter at most once: a message could
		// vanish between a delay queue and its work queue.
		args["x-dead-letter-strategy"] = "at-least-once"
		args["x-overflow"] = "reject-publish"
	}
}

func (t *topology) BuildTopology(ch *amqp.Channel, queueName string, _ string, _ wamqp.Config, logger watermill.LoggerAdapter) error {
	dlq := t.o.DeadLetterTopic
	if _, err := ch.QueueDeclare(dlq, true, false, false, false, t.queueArgs()); err != nil {
		return fmt.Errorf("declare queue %s: %w", dlq, err)
	}
	if queueName == dlq {
		// The dead-letter queue has no dead-letter queue of its own, but it
		// does get delay queues: a Nack on it (e.g. an operator's replay
		// that could not publish) is re-published with a due time, and a
		// publish into an undeclared delay queue is dropped by RabbitMQ.
		return t.declareDelayQueues(ch, dlq)
	}
	work := t.queueArgs()
	t.deadLetterTo(work, dlq)
	if t.o.MaxDeliveries > 0 && !t.o.ClassicQueues {
		// A Nack never reaches the broker (delaySubscriber re-publishes and
		// counts it), so this limit only stops a message whose consumer
		// keeps dying. It is generous because a closing watermill-amqp
		// subscriber returns its in-flight message, sometimes twice, and
		// every return counts: rolling deploys must not dead-letter work.
		work["x-delivery-limit"] = int64(max(t.o.MaxDeliveries, minBrokerDeliveryLimit))
	}
	if _, err := ch.QueueDeclare(queueName, true, false, false, false, work); err != nil {
		return fmt.Errorf("declare queue %s: %w", queueName, err)
	}
	if err := t.declareDelayQueues(ch, queueName); err != nil {
		return err
	}
	logger.Debug("Queues declared", watermill.LogFields{"queue": queueName})
	return nil
}

// declareDelayQueues declares queueName's fixed-TTL delay queues, which
// dead-letter back into it.
func (t *topology) declareDelayQueues(ch *amqp.Channel, queueName string) error {
	for _, b := range t.o.DelayBuckets {
		args := t.queueArgs()
		args["x-message-ttl"] = b.Milliseconds()
		t.deadLetterTo(args, queueName)
		name := delayQueue(queueName, b)
		if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
			return fmt.Errorf("declare delay queue %s: %w", name, err)
		}
	}
	return nil
}

// ExchangeDeclare is never called: Koerier publishes to the default exchange.
func (t *topology) ExchangeDeclare(*amqp.Channel, string, wamqp.Config) error { return nil }

// delayQueue names the delay queue of topic with TTL d, e.g.
// "koerier.events.delay.30s".
func delayQueue(topic string, d time.Duration) string {
	var label string
	switch {
	case d%time.Hour == 0:
		label = strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		label = strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		label = strconv.FormatInt(int64(d/time.Second), 10) + "s"
	default:
		label = strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return topic + ".delay." + label
}

// bucketFor picks the longest delay bucket that does not overshoot remaining,
// or the shortest when remaining is shorter than all of them (the message is
// then late by less than the shortest bucket, never early).
func bucketFor(buckets []time.Duration, remaining time.Duration) time.Duration {
	chosen := buckets[0]
	for _, b := range buckets {
		if b <= remaining {
			chosen = b
		}
	}
	return chosen
}

// delayPublisher sends a message that is not yet due to a delay queue of its
// topic instead of the topic itself.
type delayPublisher struct {
	inner   message.Publisher
	buckets []time.Duration
	now     func() time.Time
	declare func(topic string) error
}

func (p *delayPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := p.declare(topic); err != nil {
		return fmt.Errorf("bus: amqp: publish to %s: %w", topic, err)
	}
	now := p.now()
	var due []*message.Message
	for _, m := range msgs {
		nb, ok := NotBefore(m)
		if !ok || !nb.After(now) {
			due = append(due, m)
			continue
		}
		q := delayQueue(topic, bucketFor(p.buckets, nb.Sub(now)))
		if err := p.inner.Publish(q, m); err != nil {
			return fmt.Errorf("bus: amqp: publish message %s to %s: %w", m.UUID, q, err)
		}
	}
	if len(due) == 0 {
		return nil
	}
	if err := p.inner.Publish(topic, due...); err != nil {
		return fmt.Errorf("bus: amqp: publish to %s: %w", topic, err)
	}
	return nil
}

func (p *delayPublisher) Close() error { return p.inner.Close() }

// delaySubscriber passes on due messages and sends early ones (back from a
// delay queue shorter than their remaining delay) to the next delay queue,
// acking them, so no consumer ever waits for a due time.
//
// It also gives Nack the meaning it has on SQLite: the message is
// re-published with a NackDelay due time (and the original acked), and after
// MaxDeliveries it goes to the dead-letter topic. A plain requeue would
// redeliver at once, spending all attempts in milliseconds.
//
// The router uses Bus.Subscriber as is; no middleware is needed.
type delaySubscriber struct {
	inner  *wamqp.Subscriber
	pub    *delayPublisher
	now    func() time.Time
	logger watermill.LoggerAdapter

	nackDelay        time.Duration
	maxDeliveries    int
	deadLetterTopic  string
	deadLetterOnNack bool

	closeOnce sync.Once
	closing   chan struct{}
	wg        sync.WaitGroup
}

// MetaRetries counts the times a message was nacked and re-published; with
// RabbitMQ's x-delivery-count it makes up MetaDeliveryAttempt.
const MetaRetries = "koerier_retries"

func (s *delaySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.inner.Subscribe(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("bus: amqp: subscribe to %s: %w", topic, err)
	}
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		// The inner subscriber does not watch ctx while a message waits for
		// its ack: hand back any it still pushes until it notices.
		drain := func() {
			for m := range in {
				m.Nack()
			}
		}
		for {
			var msg *message.Message
			var ok bool
			select {
			case msg, ok = <-in:
				if !ok {
					return
				}
			case <-s.closing:
				return
			}
			if nb, delayed := NotBefore(msg); delayed && nb.After(s.now()) {
				s.reschedule(topic, msg)
				continue
			}
			// The consumer gets its own message, so its Nack can be turned
			// into a delayed retry instead of reaching the broker.
			fwd := message.NewMessage(msg.UUID, msg.Payload)
			fwd.Metadata = msg.Metadata
			fwd.SetContext(msg.Context())
			select {
			case out <- fwd:
			case <-s.closing:
				// The inner subscriber, closing too, requeues it.
				return
			case <-ctx.Done():
				msg.Nack()
				drain()
				return
			}
			select {
			case <-fwd.Acked():
				msg.Ack()
			case <-fwd.Nacked():
				s.retryLater(topic, msg)
			case <-s.closing:
				s.settleIfDone(topic, fwd, msg)
				return
			case <-ctx.Done():
				if !s.settleIfDone(topic, fwd, msg) {
					msg.Nack()
				}
				drain()
				return
			}
		}
	}()
	return out, nil
}

// settleIfDone passes on an Ack or Nack that raced the shutdown (Go's
// select picks at random among ready cases), so an acked message is not
// handed back and processed twice. It reports whether it settled msg.
func (s *delaySubscriber) settleIfDone(topic string, fwd, msg *message.Message) bool {
	select {
	case <-fwd.Acked():
		msg.Ack()
		return true
	case <-fwd.Nacked():
		s.retryLater(topic, msg)
		return true
	default:
		return false
	}
}

func (s *delaySubscriber) reschedule(topic string, msg *message.Message) {
	if err := s.pub.Publish(topic, msg); err != nil {
		s.logger.Error("Cannot move an early message to its next delay queue; it is requeued", err,
			watermill.LogFields{"topic": topic, "message_uuid": msg.UUID})
		msg.Nack()
		return
	}
	msg.Ack()
}

// retryLater re-publishes a nacked message with a due time, or to the
// dead-letter topic once it used up MaxDeliveries, and acks the original.
// If that publish fails the original is nacked, and RabbitMQ requeues it.
func (s *delaySubscriber) retryLater(topic string, msg *message.Message) {
	if s.deadLetterOnNack {
		msg.Nack()
		return
	}
	attempt, _ := strconv.Atoi(msg.Metadata.Get(MetaDeliveryAttempt))
	retries, _ := strconv.Atoi(msg.Metadata.Get(MetaRetries))
	again := message.NewMessage(msg.UUID, msg.Payload)
	again.Metadata = make(message.Metadata, len(msg.Metadata)+1)
	for k, v := range msg.Metadata {
		again.Metadata[k] = v
	}
	again.SetContext(msg.Context())
	to := topic
	if s.maxDeliveries > 0 && attempt >= s.maxDeliveries {
		to = s.deadLetterTopic
		delete(again.Metadata, MetaNotBefore)
		again.Metadata.Set(MetaDeadLetterTopic, topic)
		again.Metadata.Set(MetaDeadLetterReason, fmt.Sprintf("nacked on all %d deliveries", attempt))
	} else {
		again.Metadata.Set(MetaRetries, strconv.Itoa(retries+1))
		SetNotBefore(again, s.now().Add(s.nackDelay))
	}
	if err := s.pub.Publish(to, again); err != nil {
		s.logger.Error("Cannot re-publish a nacked message; it is requeued", err,
			watermill.LogFields{"topic": topic, "message_uuid": msg.UUID})
		msg.Nack()
		return
	}
	msg.Ack()
}

// SubscribeInitialize declares topic's queues.
func (s *delaySubscriber) SubscribeInitialize(topic string) error {
	return s.inner.SubscribeInitialize(topic)
}

func (s *delaySubscriber) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		err = s.inner.Close()
		s.wg.Wait()
	})
	return err
}

// headerMarshaler is watermill-amqp's DefaultMarshaler made safe for
// RabbitMQ's own headers: the default one refuses any non-string header, and
// RabbitMQ adds x-death (a table) to every dead-lettered message and
// x-delivery-count (a number) to every quorum-queue redelivery, so each
// message back from a delay queue would fail to unmarshal.
type headerMarshaler struct{}

func (headerMarshaler) Marshal(msg *message.Message) (amqp.Publishing, error) {
	headers := make(amqp.Table, len(msg.Metadata)+1)
	for k, v := range msg.Metadata {
		// Never forward broker headers, nor our own delivery counter: they
		// describe the previous delivery, not the new message.
		if strings.HasPrefix(k, "x-") || k == MetaDeliveryAttempt {
			continue
		}
		headers[k] = v
	}
	headers[wamqp.DefaultMessageUUIDHeaderKey] = msg.UUID
	return amqp.Publishing{
		Headers:      headers,
		Body:         msg.Payload,
		DeliveryMode: amqp.Persistent,
		MessageId:    msg.UUID,
	}, nil
}

func (headerMarshaler) Unmarshal(d amqp.Delivery) (*message.Message, error) {
	id, _ := d.Headers[wamqp.DefaultMessageUUIDHeaderKey].(string)
	if id == "" {
		id = d.MessageId
	}
	msg := message.NewMessage(id, d.Body)
	for k, v := range d.Headers {
		if k == wamqp.DefaultMessageUUIDHeaderKey {
			continue
		}
		switch v := v.(type) {
		case string:
			msg.Metadata.Set(k, v)
		case int64, int32, int16, int8, int, uint8, uint16, uint32, uint64:
			msg.Metadata.Set(k, fmt.Sprint(v))
		}
	}
	// Deliveries = re-publishes after a Nack + broker redeliveries of this
	// copy (quorum queues count those in x-delivery-count) + this one.
	attempt := 1
	if n, err := strconv.Atoi(msg.Metadata.Get(MetaRetries)); err == nil {
		attempt += n
	}
	if n, err := strconv.Atoi(msg.Metadata.Get("x-delivery-count")); err == nil {
		attempt += n
	}
	msg.Metadata.Set(MetaDeliveryAttempt, strconv.Itoa(attempt))
	return msg, nil
}
