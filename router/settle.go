package router

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

// settle records outcomes (from the deliver stage and from provider
// callbacks) and, when a channel failed permanently, moves the delivery to
// the next channel of its plan.
func (r *Router) settle(msg *message.Message) error {
	ctx := msg.Context()
	var o event.Outcome
	if err := json.Unmarshal(msg.Payload, &o); err != nil {
		return deadLetter("malformed-outcome", err)
	}
	status, err := r.settleOutcome(ctx, o)
	r.metrics.processed.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", "settle"), attribute.String("status", status)))
	return err
}

func (r *Router) settleOutcome(ctx context.Context, o event.Outcome) (string, error) {
	d := o.Delivery
	if d == nil {
		// A provider callback carries only our reference: find the delivery.
		raw, ok, err := r.d.Store.Get(ctx, "delivery:"+o.DeliveryID)
		if err != nil {
			return "error", temporary(fmt.Errorf("load delivery: %w", err))
		}
		if ok {
			d = new(event.Delivery)
			if err := json.Unmarshal(raw, d); err != nil {
				return "error", deadLetter("malformed-delivery-state", err)
			}
		}
	}
	rec := store.Record{DeliveryID: o.DeliveryID, Stage: "settle", Channel: o.Channel, Status: o.Status, ProviderID: o.ProviderID, Detail: o.Reason}
	if d != nil {
		rec.TraceID, rec.EventID, rec.Rule, rec.SubjectRef = d.InboundID, d.EventID, d.Decision.Rule, r.subjectRef(d.Recipient.Subject)
	}
	if o.Status != event.OutcomePermanent {
		if o.Status == event.OutcomeSent {
			return o.Status, nil // the deliver stage recorded it already
		}
		return o.Status, r.record(ctx, rec)
	}
	if d == nil {
		rec.Detail = "permanente fout gemeld voor een onbekende of verlopen bezorging; geen terugvalkanaal mogelijk: " + o.Reason
		return "unknown-delivery", r.record(ctx, rec)
	}
	if r.done(ctx, "settled:"+o.DeliveryID) {
		return "duplicate", nil
	}
	next := d.Step + 1
	if next >= len(d.Decision.Plan) {
		rec.Status = "undeliverable"
		rec.Detail = fmt.Sprintf("%s faalde permanent (%s) en het kanaalplan %v heeft geen kanaal meer over", o.Channel, o.Reason, d.Decision.Plan)
		if err := r.record(ctx, rec); err != nil {
			return "error", err
		}
		r.markDone(ctx, "settled:"+o.DeliveryID)
		return "undeliverable", nil
	}
	nd := r.nextDelivery(*d, next)
	rec.Status = "fallback"
	rec.Detail = fmt.Sprintf("%s faalde permanent (%s); terugval naar %s (stap %d van %v)", o.Channel, o.Reason, nd.Channel, next+1, d.Decision.Plan)
	if err := r.record(ctx, rec); err != nil {
		return "error", err
	}
	// The next channel has its own quiet hours (an SMS at night waits).
	due := r.d.Rules.Current().HoldUntil(d.Decision.Rule, nd.Channel, r.d.Now())
	next1 := rec
	next1.Status, next1.DeliveryID, next1.Channel = "decided", nd.ID, nd.Channel
	next1.Detail = fmt.Sprintf("terugval: %s is stap %d van het kanaalplan", nd.Channel, next+1)
	if !due.IsZero() {
		next1.Detail += fmt.Sprintf("; %s valt in de stille uren (quiet_hours, Europe/Amsterdam); vastgehouden tot %s",
			nd.Channel, due.In(amsterdam).Format("2006-01-02 15:04"))
	}
	if err := r.record(ctx, next1); err != nil {
		return "error", err
	}
	if err := r.publish(ctx, event.DeliveryTopic(nd.Channel), nd.ID, event.Marshal(nd), due); err != nil {
		return "error", temporary(err)
	}
	r.markDone(ctx, "settled:"+o.DeliveryID)
	return "fallback", nil
}
