package berichtenbox

// This file is the ebMS transport's part of batching: building a sealed
// bucket of deliveries into one GLOBE batch, handing it to the adapter,
// and polling the adapter for what Logius answered. When, how often and by
// which replica is the shared batch infrastructure's business (sealer,
// store lock, fencing); this file only knows GLOBE and ebMS.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
)

// Batcher builds and hands over GLOBE batches.
type Batcher struct {
	Channel *Channel // builds each delivery's bericht
	EBMS    *EBMS
	// OIN is BerichtLeverancierID.
	OIN     string
	Now     func() time.Time
	Metrics *Metrics // may be nil
}

// Build makes the batch of a sealed bucket. The BatchID is derived from
// sealKey, so rebuilding the same sealed bucket after a crash gives the
// same BatchID and BerichtIDs. A delivery the Berichtenbox cannot take is
// returned in refused with its (permanent or config) error and left out;
// a temporary error (the Documenten API is down) fails the whole build, to
// be retried.
func (b *Batcher) Build(ctx context.Context, sealKey string, ds []event.Delivery) (Batch, []byte, map[string]error, error) {
	batch := Batch{BatchID: BatchIDFor(sealKey), AanmaakDatum: b.now(), BerichtLeverancierID: b.OIN}
	refused := map[string]error{}
	for _, d := range ds {
		m, err := b.Channel.Bericht(ctx, d)
		if err != nil {
			if failure.Classify(err).Kind == failure.KindTemporary {
				return Batch{}, nil, nil, err
			}
			refused[d.ID] = err
			continue
		}
		batch.Berichten = append(batch.Berichten, m)
	}
	if len(batch.Berichten) == 0 {
		return batch, nil, refused, nil
	}
	raw, err := MarshalBatch(batch)
	if err != nil {
		// Every bericht passed Validate: this is a bug, not the inwoner's.
		return Batch{}, nil, nil, failure.DeadLetter("globe-batch", err)
	}
	return batch, raw, refused, nil
}

// HandOver sends the batch to the adapter. Sending a batch twice is safe:
// Logius answers BerichtBestaatAl for berichten it already has.
func (b *Batcher) HandOver(ctx context.Context, batchID string, raw []byte) (string, error) {
	id, err := b.EBMS.SendBatch(ctx, batchID, raw)
	if err == nil {
		b.Metrics.BatchSent(ctx)
	}
	return id, err
}

func (b *Batcher) now() time.Time {
	if b.Now == nil {
		return time.Now().UTC()
	}
	return b.Now().UTC()
}

// Poller reads Logius' answers from the adapter.
type Poller struct {
	EBMS    *EBMS
	Settler Settler
	// Deliveries returns the deliveries of a batch Koerier sent (ok false
	// for a batch it does not know).
	Deliveries func(ctx context.Context, batchID string) (ds []event.Delivery, ok bool, err error)
	// Settled receives the settlements of one result message; when it
	// returns nil the message is marked processed.
	Settled func(ctx context.Context, batchID string, ss []Settlement) error
	// Answered, when set, is told that Logius answered a batch (after its
	// settlements were taken).
	Answered func(ctx context.Context, batchID string) error
	// Failed is told about a FAILED or EXPIRED event of a batch message
	// (by ebMS MessageId): the batch did not reach Logius; resend it.
	Failed func(ctx context.Context, messageID, eventType string) error
	Logger *slog.Logger
}

// Poll handles every unprocessed result and event once.
func (p *Poller) Poll(ctx context.Context) error {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ids, err := p.EBMS.UnprocessedResults(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		r, err := p.EBMS.Result(ctx, id)
		if err != nil {
			// Left unprocessed: an operator sees it in the adapter, and
			// a parse error in one result does not stop the others.
			log.ErrorContext(ctx, "berichtenbox: cannot read a result from the ebMS adapter", "message", id, "err", err)
			errs = append(errs, err)
			continue
		}
		ds, ok, err := p.Deliveries(ctx, r.BatchID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			log.WarnContext(ctx, "berichtenbox: result for a batch Koerier does not know; marked processed", "batch", r.BatchID, "message", id)
		} else if err := p.Settled(ctx, r.BatchID, p.Settler.Settle(ctx, r, ds)); err != nil {
			errs = append(errs, err)
			continue
		}
		if p.Answered != nil {
			if err := p.Answered(ctx, r.BatchID); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := p.EBMS.MarkProcessed(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	evs, err := p.EBMS.UnprocessedEvents(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, ev := range evs {
		if p.Failed != nil {
			if err := p.Failed(ctx, ev.MessageID, ev.Type); err != nil {
				errs = append(errs, fmt.Errorf("berichtenbox: %s event of %s: %w", ev.Type, ev.MessageID, err))
				continue
			}
		}
		if err := p.EBMS.MarkEventProcessed(ctx, ev.MessageID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
