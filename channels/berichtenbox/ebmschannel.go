package berichtenbox

// This file is the Berichtenbox channel over ebMS as a batching channel
// (channels/batch): the deliver stage enqueues, the shared sealer seals
// the bucket every window (at most 1,000 per batch) and calls Hand, and
// the Poller settles Logius' answers later.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	batchq "github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/store"
)

// EBMSProfile is the one bucket of the ebMS transport.
const EBMSProfile = "ebms"

// DefaultBatchWindow is the longest a bericht waits for others.
const DefaultBatchWindow = time.Minute

// batchRetention is how long a sent batch's deliveries are kept for its
// result (Logius answers within hours; a resend after the result timeout
// needs them too).
const batchRetention = 14 * 24 * time.Hour

// BatchChannel is the "berichtenbox" channel over ebMS.
type BatchChannel struct {
	b      *Batcher
	cache  store.Cache
	window time.Duration
}

// NewBatchChannel returns the channel; cache keeps which deliveries went
// in which batch, and which batches were handed over.
func NewBatchChannel(b *Batcher, cache store.Cache, window time.Duration) *BatchChannel {
	if window <= 0 {
		window = DefaultBatchWindow
	}
	return &BatchChannel{b: b, cache: cache, window: window}
}

// Name implements batchq.Channel.
func (c *BatchChannel) Name() string { return event.ChannelBerichtenbox }

// Profiles implements batchq.Channel: one bucket, sealed every window, at
// most 1,000 berichten per batch.
func (c *BatchChannel) Profiles() []batchq.Profile {
	return []batchq.Profile{{Name: EBMSProfile, Schedule: batchq.Every(c.window), Max: MaxBerichtenPerBatch}}
}

// Profile implements batchq.Channel: what can be known before the batch is
// built (a BSN, a rendered text) is checked here, so a delivery that can
// never go fails at once and the plan moves on.
func (c *BatchChannel) Profile(ctx context.Context, d event.Delivery) (string, error) {
	if d.Decision.Berichtenbox == nil {
		return "", failure.Permanent("geen-berichtenbox-tekst", fmt.Errorf("berichtenbox: message %q has no rendered berichtenbox text", d.Decision.Message))
	}
	if d.Recipient.Subject.BSN == "" {
		return "", failure.Permanent("geen-bsn", errors.New("berichtenbox: the recipient has no BSN"))
	}
	// When the oldest waiting bericht came, for the age metric (the batch
	// store counts items, not their age). Best effort.
	if c.cache != nil {
		if _, ok, err := c.cache.Get(ctx, openSinceKey); err == nil && !ok {
			_ = c.cache.Set(ctx, openSinceKey, []byte(c.b.now().Format(time.RFC3339Nano)), batchRetention)
		}
	}
	return EBMSProfile, nil
}

const openSinceKey = "berichtenbox:open-since"

// OldestUnsealed is how long the oldest bericht has waited in the open
// bucket; openItems is the bucket's item count (the batch store's).
func (c *BatchChannel) OldestUnsealed(ctx context.Context, openItems int, now time.Time) time.Duration {
	if openItems == 0 || c.cache == nil {
		return 0
	}
	raw, ok, err := c.cache.Get(ctx, openSinceKey)
	if err != nil || !ok {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, string(raw))
	if err != nil || now.Before(t) {
		return 0
	}
	return now.Sub(t)
}

func batchKey(batchID string) string  { return "berichtenbox:batch:" + batchID }
func handedKey(batchID string) string { return "berichtenbox:handed:" + batchID }
func messageKey(msgID string) string  { return "berichtenbox:message:" + msgID }
func sealKey(s batchq.Sealed) string  { return batchq.Bucket(s.Channel, s.Profile) + "/" + s.ID }

// Hand implements batchq.Channel. It is idempotent by sealed batch: the
// BatchID comes from the sealed batch's name, and a batch recorded as
// handed over is not sent again (a crash between the send and that record
// sends it once more with the same BatchID, which Logius answers with
// BerichtBestaatAl).
func (c *BatchChannel) Hand(ctx context.Context, s batchq.Sealed) ([]batchq.Result, error) {
	bt, raw, refused, err := c.b.Build(ctx, sealKey(s), s.Deliveries)
	if err != nil {
		return nil, err
	}
	// The bucket was emptied when this batch was sealed.
	_ = c.cache.Delete(ctx, openSinceKey)
	var sent []event.Delivery
	for _, d := range s.Deliveries {
		if refused[d.ID] == nil {
			sent = append(sent, d)
		}
	}
	if len(sent) > 0 {
		if err := c.cache.Set(ctx, batchKey(bt.BatchID), event.Marshal(sent), batchRetention); err != nil {
			return nil, failure.Temporary(fmt.Errorf("berichtenbox: keep batch %s: %w", bt.BatchID, err))
		}
		_, handed, err := c.cache.Get(ctx, handedKey(bt.BatchID))
		if err != nil {
			return nil, failure.Temporary(fmt.Errorf("berichtenbox: batch %s: %w", bt.BatchID, err))
		}
		if !handed {
			msgID, err := c.b.HandOver(ctx, bt.BatchID, raw)
			if err != nil {
				return nil, err
			}
			_ = c.cache.Set(ctx, messageKey(msgID), []byte(bt.BatchID), batchRetention)
			if err := c.cache.Set(ctx, handedKey(bt.BatchID), []byte(msgID), batchRetention); err != nil {
				return nil, failure.Temporary(fmt.Errorf("berichtenbox: record batch %s as handed over: %w", bt.BatchID, err))
			}
		}
	}
	out := make([]batchq.Result, 0, len(s.Deliveries))
	for _, d := range s.Deliveries {
		if err := refused[d.ID]; err != nil {
			out = append(out, batchq.Result{DeliveryID: d.ID, Status: event.OutcomePermanent, Reason: err.Error()})
			continue
		}
		out = append(out, batchq.Result{DeliveryID: d.ID, Status: event.OutcomeSent, ProviderID: bt.BatchID + "/" + BerichtIDFor(d.ID),
			Reason: fmt.Sprintf("via ebMS in GLOBE-batch %s (bericht %s)", bt.BatchID, BerichtIDFor(d.ID))})
	}
	return out, nil
}

// Deliveries returns the deliveries of a batch this channel handed over.
func (c *BatchChannel) Deliveries(ctx context.Context, batchID string) ([]event.Delivery, bool, error) {
	raw, ok, err := c.cache.Get(ctx, batchKey(batchID))
	if err != nil || !ok {
		return nil, false, err
	}
	var ds []event.Delivery
	if err := json.Unmarshal(raw, &ds); err != nil {
		return nil, false, fmt.Errorf("berichtenbox: batch %s: %w", batchID, err)
	}
	return ds, true, nil
}

// BatchOfMessage returns the BatchID an ebMS message carried.
func (c *BatchChannel) BatchOfMessage(ctx context.Context, messageID string) (string, bool, error) {
	raw, ok, err := c.cache.Get(ctx, messageKey(messageID))
	return string(raw), ok, err
}

// Batcher is the channel's batch builder (its EBMS client and metrics
// serve the Poller too).
func (c *BatchChannel) Batcher() *Batcher { return c.b }

func answeredKey(batchID string) string { return "berichtenbox:answered:" + batchID }
func resentKey(batchID string) string   { return "berichtenbox:resent:" + batchID }

// MarkAnswered records that Logius answered batchID (the Poller calls it),
// so ResendOverdue leaves it alone.
func (c *BatchChannel) MarkAnswered(ctx context.Context, batchID string) error {
	return c.cache.Set(ctx, answeredKey(batchID), []byte("1"), batchRetention)
}

// ResendOverdue sends every batch of this channel that was handed over
// more than timeout ago (or last resent that long ago) and has no answer
// yet again, with the same BatchID and BerichtIDs: Logius answers
// BerichtBestaatAl for what had arrived. It returns how many it resent.
func (c *BatchChannel) ResendOverdue(ctx context.Context, st store.Batches, timeout time.Duration, now time.Time) (int, error) {
	bucket := batchq.Bucket(c.Name(), EBMSProfile)
	bs, err := st.ListBatches(ctx, bucket, store.BatchSent)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, b := range bs {
		key := bucket + "/" + b.ID
		batchID := BatchIDFor(key)
		if _, answered, err := c.cache.Get(ctx, answeredKey(batchID)); err != nil || answered {
			continue
		}
		last := b.SentAt
		if raw, ok, _ := c.cache.Get(ctx, resentKey(batchID)); ok {
			if t, err := time.Parse(time.RFC3339Nano, string(raw)); err == nil && t.After(last) {
				last = t
			}
		}
		if last.IsZero() || now.Sub(last) < timeout {
			continue
		}
		ds, ok, err := c.Deliveries(ctx, batchID)
		if err != nil || !ok {
			continue // nothing of ours was in it (every delivery refused)
		}
		bt, raw, _, err := c.b.Build(ctx, key, ds)
		if err != nil || raw == nil {
			errs = append(errs, err)
			continue
		}
		msgID, err := c.b.HandOver(ctx, bt.BatchID, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_ = c.cache.Set(ctx, messageKey(msgID), []byte(bt.BatchID), batchRetention)
		_ = c.cache.Set(ctx, resentKey(batchID), []byte(now.UTC().Format(time.RFC3339Nano)), batchRetention)
		n++
	}
	return n, errors.Join(errs...)
}
