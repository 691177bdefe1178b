package router

import (
	"context"
	"fmt"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
)

// Enricher turns an inbound notification into typed events (internal/zgw).
type Enricher interface {
	Enrich(ctx context.Context, in event.Inbound) (zgw.Result, error)
}

// enrichStage handles koerier.inbound: one notification in, zero or more
// typed events out on koerier.events, or a recorded skip. An expected wait
// (the ZGW rol race, a taak another replica handles) comes back from the
// Enricher as failure.Later and is re-queued by the middleware.
func (r *Router) enrichStage() Stage[event.Inbound] {
	return Stage[event.Inbound]{
		Name:  "enrich",
		Topic: event.TopicInbound,
		Refs:  func(in event.Inbound) Refs { return Refs{Notification: in.ID} },
		Handle: func(ctx context.Context, in event.Inbound) (Result, error) {
			// The Enricher paces the rol race by the message's one attempt
			// counter.
			in.Attempt = refsFrom(ctx).Attempt
			// Every trail starts at ingest, also when ingest could not
			// write its record (the store was down after the publish).
			if err := httpapi.EnsureIngested(ctx, r.d.Store, in); err != nil {
				return Result{}, temporary(err)
			}
			if IsZaakDestroy(in.Notification) && r.d.PurgeZaak != nil {
				return r.purgeDestroyed(ctx, in)
			}
			res, err := r.d.Enricher.Enrich(ctx, in)
			if err != nil {
				return Result{}, err
			}
			if res.Skipped == zgw.ReasonURLNietToegestaan {
				// Possibly a probe for SSRF, possibly an api root missing
				// from the allow-list: either way someone should look.
				r.log.WarnContext(ctx, "notification refers to a host off the allow-list; not fetched", "detail", res.Detail)
			} else if res.Skipped != "" {
				r.log.InfoContext(ctx, "notification skipped", "reason", res.Skipped)
			}
			return r.enrich(ctx, in, res)
		},
	}
}

func (r *Router) enrich(ctx context.Context, in event.Inbound, res zgw.Result) (Result, error) {
	if res.Skipped != "" {
		return Result{Status: "skipped", Ledger: []store.Record{{Status: "skipped", Detail: res.Skipped + ": " + res.Detail,
			ZaakRef: r.inboundZaakRef(in)}}}, nil
	}
	out := Result{Status: "event"}
	for _, ev := range res.Events {
		if ev.InboundID == "" {
			ev.InboundID = in.ID
		}
		rec := store.Record{EventID: ev.ID, Status: "event", Detail: fmt.Sprintf("%s met %d ontvanger(s)", ev.Type, len(ev.Subjects))}
		if err := r.eventZaak(ctx, ev, &rec); err != nil {
			return Result{}, err
		}
		out.Ledger = append(out.Ledger, rec)
		out.Outputs = append(out.Outputs, Output{Topic: event.TopicEvents, ID: ev.ID, Value: ev})
	}
	// Timers (taak reminders) wait on the bus until they are due: that
	// survives restarts and, because the bus delivers a message once, fires
	// once across replicas. The enricher re-checks the taak when it fires.
	for _, tm := range res.Timers {
		out.Ledger = append(out.Ledger, store.Record{Status: "scheduled",
			Detail: fmt.Sprintf("herinnering gepland op %s", tm.DueAt.In(amsterdam).Format("02-01-2006 15:04"))})
		out.Outputs = append(out.Outputs, Output{Topic: event.TopicInbound, ID: tm.ID, Value: tm, Due: tm.DueAt})
	}
	if len(res.Events) == 0 {
		out.Status = "scheduled"
	}
	return out, nil
}
