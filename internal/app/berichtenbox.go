package app

// The Berichtenbox over ebMS: a batching channel for the sealer, and the
// poller that turns Logius' answers into outcomes.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

// ebmsChannel builds the Berichtenbox over ebMS; st (the batch store, also
// a cache) may be nil when only the registry's names are needed.
func ebmsChannel(cfg config.Config, log *slog.Logger, now func() time.Time, meter metric.Meter, st store.Batches, docs berichtenbox.Documents) (*berichtenbox.BatchChannel, error) {
	b := cfg.Berichtenbox
	hc, err := tlsClient(b.EBMS.TLS, httpclient.Options{Logger: log, RetryMax: -1})
	if err != nil {
		return nil, fmt.Errorf("berichtenbox.ebms: %w", err)
	}
	client, err := berichtenbox.NewEBMS(berichtenbox.EBMSOptions{URL: b.EBMS.URL, CPAID: b.EBMS.CPAID, OIN: b.OIN, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	var m *berichtenbox.Metrics
	if meter != nil {
		if m, err = berichtenbox.NewMetrics(meter); err != nil {
			return nil, err
		}
	}
	cache, _ := st.(store.Cache)
	batcher := &berichtenbox.Batcher{Channel: berichtenbox.NewChannel(nil, docs), EBMS: client, OIN: b.OIN, Now: now, Metrics: m}
	return berichtenbox.NewBatchChannel(batcher, cache, *b.EBMS.BatchWindow), nil
}

// newBerichtenboxPoller reads Logius' answers: outcomes for the settle
// stage, TechnischProbleem and failed batches back into the bucket (same
// BerichtID), unknown codes to the dead letters.
func (a *App) newBerichtenboxPoller(bc *berichtenbox.BatchChannel) (*berichtenbox.Poller, error) {
	log := a.log.With("component", "berichtenbox")
	var corr berichtenbox.SubscriptionCorrector
	if b := a.cfg.Berichtenbox; b.ValidatieURL != "" {
		v, err := berichtenbox.NewValidator(berichtenbox.ValidatorOptions{URL: b.ValidatieURL, BerichtleverancierCode: b.BerichtleverancierCode,
			Cache: a.store, CacheTTL: *b.CacheTTL, CacheKeySecret: []byte(a.cfg.Store.SubjectKey), Logger: log})
		if err != nil {
			return nil, err
		}
		corr = v.ForBerichtType(b.BerichtType)
	}
	pub := telemetry.TracingPublisher{Publisher: a.bus.Publisher}
	bucket := batch.Bucket(event.ChannelBerichtenbox, berichtenbox.EBMSProfile)
	requeue := func(ctx context.Context, d event.Delivery, why string) error {
		// A new item id, the same delivery: the next batch carries the
		// same BerichtID.
		_, err := a.store.Enqueue(ctx, bucket, d.ID+"#"+why, event.Marshal(d))
		return err
	}
	return &berichtenbox.Poller{
		EBMS:       bc.Batcher().EBMS,
		Settler:    berichtenbox.Settler{Corrector: corr, Logger: log, Metrics: bc.Batcher().Metrics, Now: a.now},
		Deliveries: bc.Deliveries,
		Answered:   bc.MarkAnswered,
		Logger:     log,
		Settled: func(ctx context.Context, batchID string, ss []berichtenbox.Settlement) error {
			for _, s := range ss {
				switch {
				case s.Outcome != nil:
					msg := message.NewMessage(s.Delivery.ID+":"+s.Outcome.Status, event.Marshal(*s.Outcome))
					msg.SetContext(ctx)
					if err := pub.Publish(event.TopicOutcomes, msg); err != nil {
						return err
					}
				case s.Verdict == berichtenbox.VerdictTemporary:
					log.WarnContext(ctx, "berichtenbox: Logius had a technical problem; the bericht goes again in the next batch", "delivery", s.Delivery.ID, "batch", batchID)
					if err := requeue(ctx, s.Delivery, batchID); err != nil {
						return err
					}
				default:
					msg := message.NewMessage(s.Delivery.ID+":deadletter", event.Marshal(s.Delivery))
					msg.Metadata.Set("reason", "berichtenbox: unknown VerwerkingsCode "+string(s.Code))
					msg.SetContext(ctx)
					log.ErrorContext(ctx, "berichtenbox: unknown result code; delivery dead-lettered", "code", string(s.Code), "delivery", s.Delivery.ID, "batch", batchID)
					if err := pub.Publish(event.TopicDeadLetter, msg); err != nil {
						return err
					}
				}
			}
			return nil
		},
		Failed: func(ctx context.Context, messageID, typ string) error {
			batchID, ok, err := bc.BatchOfMessage(ctx, messageID)
			if err != nil || !ok {
				return err
			}
			ds, ok, err := bc.Deliveries(ctx, batchID)
			if err != nil || !ok {
				return err
			}
			log.WarnContext(ctx, "berichtenbox: the ebMS adapter could not deliver a batch; its berichten go again", "event", typ, "batch", batchID)
			for _, d := range ds {
				if err := requeue(ctx, d, strings.ToLower(typ)+"-"+messageID); err != nil {
					return err
				}
			}
			return nil
		},
	}, nil
}

// registerBerichtenboxAge exports the age of the oldest bericht waiting
// for its batch: when it grows past batch_window, the sealer is not
// running.
func (a *App) registerBerichtenboxAge(bc *berichtenbox.BatchChannel) error {
	bucket := batch.Bucket(event.ChannelBerichtenbox, berichtenbox.EBMSProfile)
	_, err := a.prov.Meter.Float64ObservableGauge("koerier_berichtenbox_oldest_unsealed_seconds",
		metric.WithDescription("Age of the oldest Berichtenbox bericht waiting in the open ebMS batch bucket (0 when none waits)."),
		metric.WithFloat64Callback(func(ctx context.Context, o metric.Float64Observer) error {
			n, err := a.store.OpenItems(ctx, bucket)
			if err != nil {
				return nil // the store is down: /readyz and the logs say so
			}
			o.Observe(bc.OldestUnsealed(ctx, n, a.now()).Seconds())
			return nil
		}))
	return err
}

// runBerichtenboxPoller polls every interval until ctx ends.
// It also resends the batches that got no answer within result_timeout.
func (a *App) runBerichtenboxPoller(ctx context.Context, p *berichtenbox.Poller, bc *berichtenbox.BatchChannel, every, timeout time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "berichtenbox: polling the ebMS adapter failed; trying again", "err", err)
		}
		if n, err := bc.ResendOverdue(ctx, a.store, timeout, a.now()); n > 0 || (err != nil && ctx.Err() == nil) {
			a.log.WarnContext(ctx, "berichtenbox: resent batches that got no answer from Logius in time", "batches", n, "result_timeout", timeout, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
