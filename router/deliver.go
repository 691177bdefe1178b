package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/store"
)

// deliverStage sends one Delivery on one channel, exactly once: the dedup
// marker "sent:<id>" (set only after the whole step succeeded) makes a
// redelivered message a no-op; the receipt, kept right after the send,
// stops a retry of a step that failed after sending (ledger, outcome) from
// sending again; a lease stops two replicas sending the same delivery at
// once; and the delivery id travels to the provider as its reference so a
// crash between send and receipt is repaired by the channel's reference
// lookup.
func (r *Router) deliverStage(name string) Stage[event.Delivery] {
	return Stage[event.Delivery]{
		Name:    "deliver",
		Channel: name,
		Topic:   event.DeliveryTopic(name),
		Refs: func(d event.Delivery) Refs {
			return Refs{Notification: d.InboundID, Event: d.EventID, Delivery: d.ID}
		},
		Key: func(d event.Delivery) string { return "sent:" + d.ID },
		Handle: func(ctx context.Context, d event.Delivery) (Result, error) {
			return r.deliver(ctx, name, d)
		},
	}
}

func (r *Router) deliver(ctx context.Context, name string, d event.Delivery) (Result, error) {
	ch, ok := r.d.Channels.Get(name)
	if !ok {
		return Result{}, deadLetter("unknown-channel", fmt.Errorf("no channel %q is configured", name))
	}
	rec := store.Record{Rule: d.Decision.Rule, SubjectRef: r.subjectRef(d.Recipient.Subject)}
	if d.Decision.Grouped && d.Step == 0 && r.d.Timing != nil && r.d.Timing.Grouper != nil {
		latest, err := r.d.Timing.Grouper.Latest(ctx, rec.SubjectRef, d.ZaakURL, d.EventID)
		if err != nil {
			return Result{}, temporary(fmt.Errorf("group window: %w", err))
		}
		if !latest {
			rec.Status = "skipped"
			rec.Detail = "samengevoegd (group_window): over deze zaak kwam binnen het venster een nieuwere gebeurtenis; alleen die wordt verstuurd"
			return Result{Status: "grouped", Ledger: []store.Record{rec}}, nil
		}
	}
	if q, ok := ch.(batch.Enqueuer); ok {
		return r.enqueue(ctx, name, q, d, rec)
	}
	// The receipt is written right after a successful send. When it is
	// there, this delivery went out but the step after it (ledger, outcome)
	// failed and the message came back: finish that step, never send again.
	if raw, ok, err := r.d.Store.Get(ctx, "receipt:"+d.ID); err == nil && ok {
		var receipt channels.Receipt
		if json.Unmarshal(raw, &receipt) == nil {
			return r.sent(name, d, rec, receipt), nil
		}
	}
	first, err := r.d.Store.Claim(ctx, "lease:"+d.ID, r.o.LeaseTTL)
	if err != nil {
		return Result{}, temporary(fmt.Errorf("claim lease: %w", err))
	}
	if !first {
		// Another replica is sending it right now (or died doing so); come
		// back when its lease has run out.
		return Result{}, failure.RetryAfter(errors.New("delivery is being sent by another worker"), r.o.LeaseTTL)
	}
	// Keep the delivery before sending, so that a provider callback
	// (delivered, bounce) finds it however fast it comes: Notify may call
	// back before Send returns here.
	if err := r.d.Store.Set(ctx, "delivery:"+d.ID, event.Marshal(d), r.o.DeliveryStateTTL); err != nil {
		r.log.WarnContext(ctx, "could not keep delivery state for fallback", "err", err)
	}
	receipt, err := ch.Send(channels.WithRedelivery(ctx, refsFrom(ctx).Redelivered), d)
	if err != nil {
		_ = r.d.Store.Release(ctx, "lease:"+d.ID)
		switch failure.Classify(err).Kind {
		case failure.KindTemporary:
			return Result{}, err
		case failure.KindPermanent:
			return r.failed(name, d, rec, err), nil
		}
		// Neither temporary nor the recipient's fault: a configuration
		// error or a bug; retrying does not help.
		return Result{}, deadLetter("channel-error", fmt.Errorf("%s: %w", name, err))
	}
	if err := r.d.Store.Set(ctx, "receipt:"+d.ID, event.Marshal(receipt), r.o.MarkerTTL); err != nil {
		r.log.WarnContext(ctx, "could not keep the receipt; a retry of this step relies on the provider reference", "err", err)
	}
	return r.sent(name, d, rec, receipt), nil
}

// sent is the ledger line and outcome of a delivery the channel accepted.
func (r *Router) sent(name string, d event.Delivery, rec store.Record, receipt channels.Receipt) Result {
	rec.Status, rec.ProviderID = "sent", receipt.ProviderID
	rec.Detail = fmt.Sprintf("verzonden via %s (bericht %s, stap %d van het kanaalplan %v)", name, d.Decision.Message, d.Step+1, d.Decision.Plan)
	out := event.Outcome{DeliveryID: d.ID, InboundID: d.InboundID, EventID: d.EventID, Channel: name, Status: receipt.Status, ProviderID: receipt.ProviderID, At: r.d.Now().UTC()}
	if out.Status == "" {
		out.Status = event.OutcomeSent
	}
	return Result{Status: "sent", Ledger: []store.Record{rec},
		Outputs: []Output{{Topic: event.TopicOutcomes, ID: d.ID + ":" + out.Status, Value: out}}}
}

// failed is the ledger line and outcome of a delivery the channel refused
// for good: settle moves on to the next channel of the plan.
func (r *Router) failed(name string, d event.Delivery, rec store.Record, err error) Result {
	rec.Status, rec.Detail = "failed", fmt.Sprintf("%s kon niet worden afgeleverd: %v", name, err)
	out := event.Outcome{DeliveryID: d.ID, InboundID: d.InboundID, EventID: d.EventID, Delivery: &d, Channel: name, Status: event.OutcomePermanent, Reason: err.Error(), At: r.d.Now().UTC()}
	return Result{Status: "permanent", Ledger: []store.Record{rec},
		Outputs: []Output{{Topic: event.TopicOutcomes, ID: d.ID + ":failed", Value: out}}}
}

// enqueue puts a delivery of a batching channel (print, Berichtenbox) in
// its open bucket and acks: the channel's sealer hands the batch over at
// its cut-off and publishes the outcome then. Enqueueing twice is a no-op,
// so no lease or receipt is needed here.
func (r *Router) enqueue(ctx context.Context, name string, q batch.Enqueuer, d event.Delivery, rec store.Record) (Result, error) {
	bucket, added, err := q.Enqueue(ctx, d)
	if err != nil {
		switch failure.Classify(err).Kind {
		case failure.KindTemporary:
			return Result{}, err
		case failure.KindPermanent:
			return r.failed(name, d, rec, err), nil
		}
		return Result{}, deadLetter("channel-error", fmt.Errorf("%s: %w", name, err))
	}
	rec.Status = "queued"
	rec.Detail = fmt.Sprintf("in batch %s gezet voor %s (bericht %s, stap %d van het kanaalplan %v); wordt bij de cut-off overgedragen", bucket, name, d.Decision.Message, d.Step+1, d.Decision.Plan)
	if !added {
		rec.Detail = fmt.Sprintf("stond al in batch %s; niet opnieuw toegevoegd", bucket)
	}
	return Result{Status: "queued", Ledger: []store.Record{rec}}, nil
}
