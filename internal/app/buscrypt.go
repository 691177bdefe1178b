package app

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/store"
)

// busAD is the associated data of a sealed bus payload. It is not the topic
// or the message id: RabbitMQ dead-letters and operators replay messages
// without re-sealing them.
const busAD = "koerier.bus"

// sealBus makes b's Publisher encrypt every payload and its Subscriber
// decrypt it, under the store's data key: an event or a delivery (BSN,
// email address, phone number) waiting in bus.db, in a RabbitMQ queue or
// in the dead-letter queue is then not readable in clear. Payloads
// published before are read as they are.
func sealBus(b *bus.Bus, s *store.Sealer) {
	b.Publisher = sealingPublisher{Publisher: b.Publisher, s: s}
	b.Subscriber = openingSubscriber{Subscriber: b.Subscriber, s: s}
}

// busSealer is the Sealer for an operator command that opens the bus
// without the store.
func busSealer(cfg config.Config) (*store.Sealer, error) {
	o := StoreOptions(cfg, nil)
	key, err := store.DataKeyFor(o)
	if err != nil {
		return nil, err
	}
	return store.NewSealer(key, o.DataKeyPrevious)
}

type sealingPublisher struct {
	message.Publisher
	s *store.Sealer
}

// Publish seals copies of msgs: the caller's messages (a handler's input
// that the poison middleware forwards) keep their clear payload.
func (p sealingPublisher) Publish(topic string, msgs ...*message.Message) error {
	out := make([]*message.Message, len(msgs))
	for i, m := range msgs {
		sealed, err := p.s.Seal(busAD, m.Payload)
		if err != nil {
			return err
		}
		c := message.NewMessage(m.UUID, sealed)
		for k, v := range m.Metadata {
			c.Metadata.Set(k, v)
		}
		c.SetContext(m.Context())
		out[i] = c
	}
	return p.Publisher.Publish(topic, out...)
}

type openingSubscriber struct {
	message.Subscriber
	s *store.Sealer
}

// Subscribe opens each payload in place, so that Ack and Nack reach the
// backend's message. A payload that does not open is passed on as it is:
// the stage then fails to decode it and dead-letters it with a reason.
func (o openingSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := o.Subscriber.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		for m := range in {
			if p, err := o.s.Open(busAD, m.Payload); err == nil {
				m.Payload = p
			}
			select {
			case out <- m:
			case <-ctx.Done():
				// The backend redelivers what was not acknowledged.
				m.Nack()
				for m := range in {
					m.Nack()
				}
				return
			}
		}
	}()
	return out, nil
}
