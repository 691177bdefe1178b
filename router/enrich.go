package router

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
)

// Enricher turns an inbound notification into typed events (internal/zgw).
type Enricher interface {
	Enrich(ctx context.Context, in event.Inbound) (zgw.Result, error)
}

// enrich handles koerier.inbound: one notification in, zero or more typed
// events out on koerier.events, or a recorded skip.
func (r *Router) enrich(msg *message.Message) error {
	ctx := msg.Context()
	start := r.d.Now()
	var in event.Inbound
	if err := json.Unmarshal(msg.Payload, &in); err != nil {
		return deadLetter("malformed-inbound", err)
	}
	status, err := r.enrichInbound(ctx, in)
	r.metrics.processed.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", "enrich"), attribute.String("status", status)))
	r.metrics.latency.Record(ctx, r.d.Now().Sub(start).Seconds(), metric.WithAttributes(attribute.String("stage", "enrich")))
	return err
}

func (r *Router) enrichInbound(ctx context.Context, in event.Inbound) (string, error) {
	marker := fmt.Sprintf("enriched:%s:%d", in.ID, in.Attempt)
	if r.done(ctx, marker) {
		return "duplicate", nil
	}
	if IsZaakDestroy(in.Notification) && r.d.PurgeZaak != nil {
		return r.purgeDestroyed(ctx, in, marker)
	}
	rec := store.Record{TraceID: in.ID, Stage: "enrich", ZaakRef: r.inboundZaakRef(in)}
	res, err := r.d.Enricher.Enrich(ctx, in)
	fail := failure.Classify(err)
	switch {
	case err == nil:
	case fail.Kind == failure.KindTemporary && fail.Reason != "":
		// A wait the Enricher expected and counts itself in in.Attempt: the
		// ZGW rol race (the zaak's initiator rol is created after the first
		// status) or a taak another replica handles. Come back later
		// without holding a worker.
		wait := fail.Wait(r.d.Now())
		next := in
		next.Attempt++
		rec.Status, rec.Detail = "requeued", fmt.Sprintf("opnieuw over %s (poging %d): %s", wait, next.Attempt, fail.Reason)
		if err := r.record(ctx, rec); err != nil {
			return "error", err
		}
		if err := r.publish(ctx, event.TopicInbound, fmt.Sprintf("%s:%d", in.ID, next.Attempt), event.Marshal(next), r.d.Now().Add(wait)); err != nil {
			return "error", temporary(err)
		}
		r.markDone(ctx, marker)
		return "requeued", nil
	case fail.Kind == failure.KindDeadLetter:
		rec.Status, rec.Detail = "deadletter", err.Error()
		_ = r.record(ctx, rec)
		return "deadletter", err
	case fail.Kind == failure.KindConfig:
		rec.Status, rec.Detail = "deadletter", err.Error()
		_ = r.record(ctx, rec)
		r.log.ErrorContext(ctx, "configuration error: fix the configuration, then replay the dead letter", "notification", in.ID, "err", err)
		return "deadletter", deadLetter("configuratiefout", err)
	case fail.Kind == failure.KindTemporary:
		return "temporary", err
	default:
		return "error", err
	}
	if res.Skipped != "" {
		rec.Status, rec.Detail = "skipped", res.Skipped+": "+res.Detail
		if err := r.record(ctx, rec); err != nil {
			return "error", err
		}
		r.markDone(ctx, marker)
		return "skipped", nil
	}
	for _, ev := range res.Events {
		if ev.InboundID == "" {
			ev.InboundID = in.ID
		}
		rec := store.Record{TraceID: in.ID, EventID: ev.ID, Stage: "enrich", Status: "event",
			Detail: fmt.Sprintf("%s met %d ontvanger(s)", ev.Type, len(ev.Subjects))}
		if err := r.eventZaak(ctx, ev, &rec); err != nil {
			return "error", err
		}
		if err := r.record(ctx, rec); err != nil {
			return "error", err
		}
		if err := r.publish(ctx, event.TopicEvents, ev.ID, event.Marshal(ev), time.Time{}); err != nil {
			return "error", temporary(err)
		}
	}
	// Timers (taak reminders) wait on the bus until they are due: that
	// survives restarts and, because the bus delivers a message once, fires
	// once across replicas. The enricher re-checks the taak when it fires.
	for _, tm := range res.Timers {
		if err := r.publish(ctx, event.TopicInbound, tm.ID, event.Marshal(tm), tm.DueAt); err != nil {
			return "error", temporary(err)
		}
		rec := store.Record{TraceID: in.ID, Stage: "enrich", Status: "scheduled",
			Detail: fmt.Sprintf("herinnering gepland op %s", tm.DueAt.In(amsterdam).Format("02-01-2006 15:04"))}
		if err := r.record(ctx, rec); err != nil {
			return "error", err
		}
	}
	r.markDone(ctx, marker)
	if len(res.Events) == 0 {
		return "scheduled", nil
	}
	return "event", nil
}
