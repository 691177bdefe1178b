// Package batch is what the channels that batch (printstraat, Berichtenbox)
// share: the deliver stage only enqueues their deliveries into an open
// bucket in the store (Queue), and a Sealer on every replica closes the
// bucket at its schedule, has the channel build and hand over the batch,
// and publishes one outcome per delivery on koerier.outcomes, so settle and
// fallback work as for a channel that sends one by one.
//
// A channel that batches implements Channel and is registered wrapped in a
// Queue. This package knows nothing of letters or GLOBE XML, nor of the
// router.
//
// Crash safety: the sealed batch (its name and items) is written in one
// store step before anything is built; a sealer that dies after that
// leaves a batch in state sealed, which the next tick on any replica
// resumes from Hand. Hand must therefore be idempotent by batch id (same
// file names, the same Idempotency-Key), and outcomes carry deterministic
// message ids (delivery id and status), so a repeated publish is deduplicated.
package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/store"
)

// Channel is a channel that batches.
type Channel interface {
	// Name is the channel name of the rules and the registry ("print").
	Name() string
	// Profiles are the buckets this channel fills, each with its schedule.
	Profiles() []Profile
	// Profile checks d before it is enqueued and names the profile it
	// waits in. A failure.Permanent error (no address, deceased) fails d at
	// once, so settle moves to the next channel of the plan.
	Profile(ctx context.Context, d event.Delivery) (string, error)
	// Hand builds the artefact of a sealed batch and hands it over. It is
	// called again with the same batch after a crash or an error, so it
	// must be idempotent by b.ID. It returns one Result per delivery; an
	// error settles nothing and the batch is retried at the next tick.
	Hand(ctx context.Context, b Sealed) ([]Result, error)
}

// Profile is one bucket of a channel: a print profile, a Berichtenbox
// sender.
type Profile struct {
	Name     string
	Schedule Schedule
	// Max caps the deliveries per sealed batch (0: no cap); a bucket with
	// more is sealed into several batches at one cut-off.
	Max int
}

// Sealed is a sealed batch as its channel builds it.
type Sealed struct {
	ID         string // the batch name, e.g. koerier-20260609-1600-1
	Channel    string
	Profile    string
	SealedAt   time.Time
	Deliveries []event.Delivery // in enqueue order
}

// Result is what became of one delivery of a batch. Status is
// event.OutcomeHandedOver, event.OutcomeSent, event.OutcomeDelivered or
// event.OutcomePermanent (with a Reason).
type Result struct {
	DeliveryID string
	Status     string
	// ProviderID is the receiving side's reference (default: the batch name).
	ProviderID string
	// Reason is a sentence for the trail: why it failed, or where it went.
	Reason string
}

// Bucket is the store's name of a channel's profile bucket.
func Bucket(channel, profile string) string { return channel + "/" + profile }

// Enqueuer is what the deliver stage recognises a batching channel by: it
// calls Enqueue instead of Send and acks.
type Enqueuer interface {
	// Enqueue stores d in its open bucket; added is false when it was
	// there (or sealed) already.
	Enqueue(ctx context.Context, d event.Delivery) (bucket string, added bool, err error)
}

// Queue registers a batching Channel in the channel registry: it is a
// channels.Channel whose deliveries are enqueued, not sent.
type Queue struct {
	ch Channel
	st store.Batches
}

// NewQueue wraps ch so that its deliveries wait in st.
func NewQueue(ch Channel, st store.Batches) *Queue { return &Queue{ch: ch, st: st} }

// Name implements channels.Channel.
func (q *Queue) Name() string { return q.ch.Name() }

// Channel is the wrapped batching channel.
func (q *Queue) Channel() Channel { return q.ch }

// Send implements channels.Channel; a batching channel never sends one
// delivery, so reaching it is a wiring bug.
func (q *Queue) Send(context.Context, event.Delivery) (channels.Receipt, error) {
	return channels.Receipt{}, failure.Config(fmt.Errorf("%s batches: the deliver stage must enqueue, not send", q.ch.Name()))
}

// Enqueue implements Enqueuer.
func (q *Queue) Enqueue(ctx context.Context, d event.Delivery) (string, bool, error) {
	profile, err := q.ch.Profile(ctx, d)
	if err != nil {
		return "", false, err
	}
	bucket := Bucket(q.ch.Name(), profile)
	added, err := q.st.Enqueue(ctx, bucket, d.ID, event.Marshal(d))
	if err != nil {
		return bucket, false, failure.Temporary(fmt.Errorf("%s: enqueue in %s: %w", q.ch.Name(), bucket, err))
	}
	return bucket, added, nil
}

func decode(items []store.BatchItem) ([]event.Delivery, error) {
	out := make([]event.Delivery, 0, len(items))
	var errs []error
	for _, it := range items {
		var d event.Delivery
		if err := json.Unmarshal(it.Payload, &d); err != nil {
			errs = append(errs, fmt.Errorf("item %s: %w", it.ID, err))
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}
