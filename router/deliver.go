package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/store"
)

// deliverHandler sends one Delivery on one channel, exactly once: a "sent"
// marker makes a redelivered message a no-op, a lease stops two replicas
// sending the same delivery at once, and the delivery id travels to the
// provider as its reference so a crash between send and marker is repaired
// by the channel's reference lookup.
func (r *Router) deliverHandler(name string) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		ctx := msg.Context()
		start := r.d.Now()
		var d event.Delivery
		if err := json.Unmarshal(msg.Payload, &d); err != nil {
			return deadLetter("malformed-delivery", err)
		}
		status, err := r.deliver(ctx, name, d)
		r.metrics.processed.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", "deliver"), attribute.String("channel", name), attribute.String("status", status)))
		r.metrics.latency.Record(ctx, r.d.Now().Sub(start).Seconds(), metric.WithAttributes(attribute.String("stage", "deliver"), attribute.String("channel", name)))
		return err
	}
}

func (r *Router) deliver(ctx context.Context, name string, d event.Delivery) (string, error) {
	if r.done(ctx, "sent:"+d.ID) {
		return "duplicate", nil
	}
	ch, ok := r.d.Channels.Get(name)
	if !ok {
		return "no-channel", deadLetter("unknown-channel", fmt.Errorf("no channel %q is configured", name))
	}
	if d.Decision.Grouped && d.Step == 0 && r.d.Timing != nil && r.d.Timing.Grouper != nil {
		latest, err := r.d.Timing.Grouper.Latest(ctx, r.subjectRef(d.Recipient.Subject), d.ZaakURL, d.EventID)
		if err != nil {
			return "error", temporary(fmt.Errorf("group window: %w", err))
		}
		if !latest {
			rec := store.Record{TraceID: d.InboundID, EventID: d.EventID, DeliveryID: d.ID, Stage: "deliver", Channel: name,
				Rule: d.Decision.Rule, SubjectRef: r.subjectRef(d.Recipient.Subject), Status: "skipped",
				Detail: "samengevoegd (group_window): over deze zaak kwam binnen het venster een nieuwere gebeurtenis; alleen die wordt verstuurd"}
			if err := r.record(ctx, rec); err != nil {
				return "error", err
			}
			r.markDone(ctx, "sent:"+d.ID)
			return "grouped", nil
		}
	}
	first, err := r.d.Store.Claim(ctx, "lease:"+d.ID, r.o.LeaseTTL)
	if err != nil {
		return "error", temporary(fmt.Errorf("claim lease: %w", err))
	}
	if !first {
		// Another replica is sending it right now (or died doing so); come
		// back when its lease has run out.
		return "leased", failure.RetryAfter(errors.New("delivery is being sent by another worker"), r.o.LeaseTTL)
	}
	rec := store.Record{TraceID: d.InboundID, EventID: d.EventID, DeliveryID: d.ID, Stage: "deliver", Channel: name,
		Rule: d.Decision.Rule, SubjectRef: r.subjectRef(d.Recipient.Subject)}
	receipt, err := ch.Send(ctx, d)
	if err != nil {
		_ = r.d.Store.Release(ctx, "lease:"+d.ID)
		kind := failure.Classify(err).Kind
		if kind == failure.KindTemporary {
			return "temporary", err
		}
		if kind == failure.KindPermanent {
			rec.Status, rec.Detail = "failed", fmt.Sprintf("%s kon niet worden afgeleverd: %v", name, err)
			if err := r.record(ctx, rec); err != nil {
				return "error", err
			}
			out := event.Outcome{DeliveryID: d.ID, Delivery: &d, Channel: name, Status: event.OutcomePermanent, Reason: err.Error(), At: r.d.Now().UTC()}
			if err := r.publish(ctx, event.TopicOutcomes, d.ID+":failed", event.Marshal(out), time.Time{}); err != nil {
				return "error", temporary(err)
			}
			return "permanent", nil
		}
		rec.Status, rec.Detail = "deadletter", fmt.Sprintf("%s gaf een fout die opnieuw proberen niet oplost (configuratie?): %v", name, err)
		_ = r.record(ctx, rec)
		if kind == failure.KindConfig {
			r.log.ErrorContext(ctx, "configuration error: fix the configuration, then replay the dead letter", "channel", name, "delivery", d.ID, "err", err)
		}
		return "error", deadLetter("channel-error", fmt.Errorf("%s: %w", name, err))
	}
	rec.Status, rec.ProviderID = "sent", receipt.ProviderID
	rec.Detail = fmt.Sprintf("verzonden via %s (bericht %s, stap %d van het kanaalplan %v)", name, d.Decision.Message, d.Step+1, d.Decision.Plan)
	if err := r.record(ctx, rec); err != nil {
		return "error", err
	}
	r.markDone(ctx, "sent:"+d.ID)
	// Keep the delivery so that a late provider callback (bounce) can move
	// it to the next channel.
	if err := r.d.Store.Set(ctx, "delivery:"+d.ID, event.Marshal(d), r.o.DeliveryStateTTL); err != nil {
		r.log.WarnContext(ctx, "could not keep delivery state for fallback", "delivery", d.ID, "err", err)
	}
	out := event.Outcome{DeliveryID: d.ID, Channel: name, Status: receipt.Status, ProviderID: receipt.ProviderID, At: r.d.Now().UTC()}
	if out.Status == "" {
		out.Status = event.OutcomeSent
	}
	if err := r.publish(ctx, event.TopicOutcomes, d.ID+":"+out.Status, event.Marshal(out), time.Time{}); err != nil {
		return "error", temporary(err)
	}
	return "sent", nil
}
