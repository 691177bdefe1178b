package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

// afterPublishTimeout bounds the dedup and ledger writes that follow a
// successful publish; they no longer depend on the client's connection.
const afterPublishTimeout = 5 * time.Second

// ingestRecordedKey is the claim that makes the ingest ledger record be
// written exactly once, by ingest or, when ingest could not (the store was
// unreachable, the process died after the publish), by enrich.
func ingestRecordedKey(id string) string { return "ingest-recorded:" + id }

// recordIngest writes the ingest ledger record of in unless it was written
// already. A failed append gives the claim back, so that the next try
// writes it.
func recordIngest(ctx context.Context, st store.Store, in event.Inbound, detail string) error {
	key := ingestRecordedKey(in.ID)
	first, err := st.Claim(ctx, key, SeenTTL)
	if err != nil {
		return fmt.Errorf("httpapi: claim ingest record: %w", err)
	}
	if !first {
		return nil
	}
	rec := store.Record{TraceID: in.ID, Stage: "ingest", Status: "accepted", Detail: detail, At: in.ReceivedAt}
	if err := st.Append(ctx, rec); err != nil {
		_ = st.Release(context.WithoutCancel(ctx), key)
		return fmt.Errorf("httpapi: append ingest record: %w", err)
	}
	return nil
}

// EnsureIngested makes sure the trail of an inbound taken from the bus
// starts at ingest, and that a redelivery of it is recognised at ingest:
// when ingest published the message but could not write its ledger record
// or dedup mark (a store outage), the enrich stage calls this and writes
// them, with the time ingest received the message, so the trail still reads
// in order. It is a no-op for messages ingest did not take (timers). An
// error is temporary: the caller retries the message.
func EnsureIngested(ctx context.Context, st store.Store, in event.Inbound) error {
	// Not for timers, which ingest never took. A re-queued message (the
	// store was down on the first try) must be checked too: the claim keeps
	// the record single.
	if in.ReceivedAt.IsZero() {
		return nil
	}
	switch in.Source {
	case event.SourceNotificaties, event.SourceEvents, event.SourceCloudEvents:
	default:
		return nil
	}
	if err := recordIngest(ctx, st, in, IngestDetail(in)); err != nil {
		return err
	}
	if _, seen, err := st.Get(ctx, SeenKey(in.ID)); err == nil && !seen {
		_ = st.Set(ctx, SeenKey(in.ID), []byte(in.ReceivedAt.Format(time.RFC3339Nano)), SeenTTL)
	}
	return nil
}

// IngestDetail is the ledger detail of the ingest record of in, the same
// whichever of ingest and enrich writes it.
func IngestDetail(in event.Inbound) string {
	prefix := "notification"
	if in.Source == event.SourceCloudEvents {
		prefix = "cloudevent"
	}
	switch {
	case in.Notification != nil:
		n := in.Notification
		return fmt.Sprintf("%s %s %s %s", prefix, n.Kanaal, n.Resource, n.Actie)
	case in.External != nil:
		if in.Source == event.SourceCloudEvents {
			return "cloudevent " + in.External.Type
		}
		return fmt.Sprintf("event %s from %s", in.External.Type, in.External.SourceSystem)
	}
	return in.Source
}
