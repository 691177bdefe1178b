package router

import (
	"context"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

// settleStage records outcomes (from the deliver stage and from provider
// callbacks) and, when a channel failed permanently, moves the delivery to
// the next channel of its plan. A permanent failure is settled once per
// delivery, however often the provider reports it.
func (r *Router) settleStage() Stage[event.Outcome] {
	return Stage[event.Outcome]{
		Name:  "settle",
		Topic: event.TopicOutcomes,
		Refs: func(o event.Outcome) Refs {
			return Refs{Notification: o.InboundID, Event: o.EventID, Delivery: o.DeliveryID, Channel: o.Channel}
		},
		Key: func(o event.Outcome) string {
			if o.Status == event.OutcomePermanent {
				return "settled:" + o.DeliveryID
			}
			return "" // recording a status twice is harmless
		},
		Handle: r.settle,
	}
}

func (r *Router) settle(ctx context.Context, o event.Outcome) (Result, error) {
	d := o.Delivery
	if d == nil {
		// A provider callback carries only our reference: find the delivery.
		raw, ok, err := r.d.Store.Get(ctx, "delivery:"+o.DeliveryID)
		if err != nil {
			return Result{}, temporary(fmt.Errorf("load delivery: %w", err))
		}
		if ok {
			d = new(event.Delivery)
			if err := json.Unmarshal(raw, d); err != nil {
				return Result{}, deadLetter("malformed-delivery-state", err)
			}
		}
	}
	var learned Refs
	if d != nil && refsFrom(ctx).Notification == "" {
		// A provider callback: now we know whom it is about.
		refs := refsFrom(ctx)
		refs.Notification, refs.Event = d.InboundID, d.EventID
		ctx, learned = withRefs(ctx, refs), refs
	}
	res, err := r.settleDelivery(ctx, o, d)
	res.Learned = learned
	return res, err
}

func (r *Router) settleDelivery(ctx context.Context, o event.Outcome, d *event.Delivery) (Result, error) {
	rec := store.Record{Channel: o.Channel, Status: o.Status, ProviderID: o.ProviderID, Detail: o.Reason}
	if d == nil && refsFrom(ctx).Notification == "" {
		// A receipt whose reference we do not know: forged, or a bounce
		// after the delivery state's retention. Record it on a trail of
		// its own (the ledger needs a trace id; the receipt has none of
		// ours) and go on: retrying cannot make the delivery known, and
		// the dead letters are for what an operator can fix.
		r.metrics.unknownReference.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", o.Channel)))
		r.log.WarnContext(ctx, "provider receipt for an unknown delivery; recorded, not acted on", "status", o.Status, "reference", o.DeliveryID)
		rec.TraceID, rec.Status = "onbekende-referentie:"+o.DeliveryID, "unknown-reference"
		rec.Detail = fmt.Sprintf("ontvangstbericht (%s) voor een onbekende of verlopen bezorging; niets gedaan: %s", o.Status, o.Reason)
		return Result{Status: "unknown-reference", Ledger: []store.Record{rec}}, nil
	}
	if d != nil {
		rec.TraceID, rec.EventID, rec.Rule, rec.SubjectRef = d.InboundID, d.EventID, d.Decision.Rule, r.subjectRef(d.Recipient.Subject)
	}
	if o.Status != event.OutcomePermanent {
		if o.Status == event.OutcomeSent {
			return Result{Status: o.Status}, nil // the deliver stage recorded it already
		}
		return r.withRegistration(Result{Status: o.Status, Ledger: []store.Record{rec}}, o, d, ""), nil
	}
	if d == nil {
		rec.Detail = "permanente fout gemeld voor een onbekende of verlopen bezorging; geen terugvalkanaal mogelijk: " + o.Reason
		return Result{Status: "unknown-delivery", Ledger: []store.Record{rec}}, nil
	}
	next := d.Step + 1
	if next >= len(d.Decision.Plan) {
		rec.Status = "undeliverable"
		rec.Detail = fmt.Sprintf("%s faalde permanent (%s) en het kanaalplan %v heeft geen kanaal meer over", o.Channel, o.Reason, d.Decision.Plan)
		r.metrics.undeliverable.Add(ctx, 1)
		r.log.WarnContext(ctx, "every channel of the plan failed permanently: nobody is told", "rule", d.Decision.Rule, "reason", o.Reason)
		return r.withRegistration(Result{Status: "undeliverable", Ledger: []store.Record{rec}}, o, d, ""), nil
	}
	nd := r.nextDelivery(*d, next)
	rec.Status = "fallback"
	rec.Detail = fmt.Sprintf("%s faalde permanent (%s); terugval naar %s (stap %d van %v)", o.Channel, o.Reason, nd.Channel, next+1, d.Decision.Plan)
	// The next channel has its own quiet hours (an SMS at night waits).
	due := r.d.Rules.Current().HoldUntil(d.Decision.Rule, nd.Channel, r.d.Now())
	decided := rec
	decided.Status, decided.DeliveryID, decided.Channel = "decided", nd.ID, nd.Channel
	decided.Detail = fmt.Sprintf("terugval: %s is stap %d van het kanaalplan", nd.Channel, next+1)
	if !due.IsZero() {
		decided.Detail += fmt.Sprintf("; %s valt in de stille uren (quiet_hours, Europe/Amsterdam); vastgehouden tot %s",
			nd.Channel, due.In(amsterdam).Format("2006-01-02 15:04"))
	}
	return r.withRegistration(Result{Status: "fallback", Ledger: []store.Record{rec, decided},
		Outputs: []Output{{Topic: event.DeliveryTopic(nd.Channel), ID: nd.ID, Value: nd, Due: due}}}, o, d, nd.Channel), nil
}
