package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

// SealerStore is the state a Sealer needs: the batches and a small cache
// for the last cut-off it handled per bucket.
type SealerStore interface {
	store.Batches
	store.Cache
}

// Sealer closes the buckets of batching channels at their schedule. Run
// one on every replica: per bucket, one wins the store lock and seals.
type Sealer struct {
	st       SealerStore
	pub      message.Publisher
	channels []Channel
	now      func() time.Time
	log      *slog.Logger
	poll     time.Duration
	lockTTL  time.Duration
	name     func(time.Time) string
}

// Options tune a Sealer; the zero value works.
type Options struct {
	// Now is the clock (default clock.System).
	Now func() time.Time
	// Logger (default: discard).
	Logger *slog.Logger
	// Poll is how often Run looks whether a bucket is due (default 15 s).
	Poll time.Duration
	// LockTTL bounds how long one sealer holds a bucket (default 10 min);
	// a sealer that takes longer is fenced off.
	LockTTL time.Duration
	// Name makes the batch name prefix from the sealing time (default
	// Name: koerier-YYYYMMDD-HHMM).
	Name func(time.Time) string
}

// NewSealer builds a sealer over the batching channels chs; outcomes go
// to pub on event.TopicOutcomes.
func NewSealer(st SealerStore, pub message.Publisher, chs []Channel, o Options) *Sealer {
	s := &Sealer{st: st, pub: pub, channels: chs, now: clock.Or(o.Now), log: o.Logger,
		poll: o.Poll, lockTTL: o.LockTTL, name: o.Name}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.poll <= 0 {
		s.poll = 15 * time.Second
	}
	if s.lockTTL <= 0 {
		s.lockTTL = 10 * time.Minute
	}
	if s.name == nil {
		s.name = Name
	}
	return s
}

// Run calls Tick every Poll until ctx ends. A failed tick is logged and
// retried at the next.
func (s *Sealer) Run(ctx context.Context) error {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "sealing batches failed; retrying at the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick resumes every batch a sealer left unsent and seals every bucket
// whose cut-off has passed since it was last sealed.
func (s *Sealer) Tick(ctx context.Context) error {
	var errs []error
	for _, ch := range s.channels {
		for _, p := range ch.Profiles() {
			if _, err := s.seal(ctx, ch, p, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Flush seals the named profile of channel now, whatever its schedule (""
// profile: every profile), and returns the batches it handed over. ok is
// false when another replica held the lock.
func (s *Sealer) Flush(ctx context.Context, channel, profile string) ([]store.Batch, error) {
	var out []store.Batch
	found := false
	for _, ch := range s.channels {
		if ch.Name() != channel {
			continue
		}
		for _, p := range ch.Profiles() {
			if profile != "" && p.Name != profile {
				continue
			}
			found = true
			bs, err := s.seal(ctx, ch, p, true)
			out = append(out, bs...)
			if err != nil {
				return out, err
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("batch: no profile %q of channel %q", profile, channel)
	}
	return out, nil
}

func cutoffKey(bucket string) string { return "batch:cutoff:" + bucket }

// due reports whether the bucket's latest cut-off has not been sealed yet.
func (s *Sealer) due(ctx context.Context, bucket string, p Profile) (bool, time.Time, error) {
	if p.Schedule == nil {
		return false, time.Time{}, nil
	}
	prev := p.Schedule.Prev(s.now())
	if prev.IsZero() {
		return false, prev, nil
	}
	raw, ok, err := s.st.Get(ctx, cutoffKey(bucket))
	if err != nil {
		return false, prev, err
	}
	if !ok {
		return true, prev, nil
	}
	last, err := time.Parse(time.RFC3339Nano, string(raw))
	return err != nil || prev.After(last), prev, nil
}

func (s *Sealer) seal(ctx context.Context, ch Channel, p Profile, force bool) ([]store.Batch, error) {
	bucket := Bucket(ch.Name(), p.Name)
	// Cheap reads first, so an idle replica does not write every poll.
	due, _, err := s.due(ctx, bucket, p)
	if err != nil {
		return nil, fmt.Errorf("batch: %s: %w", bucket, err)
	}
	unsent, err := s.st.ListBatches(ctx, bucket, store.BatchSealed)
	if err != nil {
		return nil, fmt.Errorf("batch: %s: %w", bucket, err)
	}
	if !due && !force && len(unsent) == 0 {
		return nil, nil
	}
	token, ok, err := s.st.Lock(ctx, bucket, s.lockTTL)
	if err != nil {
		return nil, fmt.Errorf("batch: %s: lock: %w", bucket, err)
	}
	if !ok {
		return nil, nil // another replica seals it
	}
	defer func() {
		if err := s.st.Unlock(context.WithoutCancel(ctx), bucket, token); err != nil {
			s.log.WarnContext(ctx, "could not release the seal lock; it runs out by itself", "bucket", bucket, "err", err)
		}
	}()
	// Under the lock, read again: another replica may just have sealed.
	due, prev, err := s.due(ctx, bucket, p)
	if err != nil {
		return nil, fmt.Errorf("batch: %s: %w", bucket, err)
	}
	if unsent, err = s.st.ListBatches(ctx, bucket, store.BatchSealed); err != nil {
		return nil, fmt.Errorf("batch: %s: %w", bucket, err)
	}
	var done []store.Batch
	for _, b := range unsent {
		s.log.InfoContext(ctx, "resuming a sealed batch that was not handed over", "batch", b.ID)
		if err := s.finish(ctx, ch, p, b, token); err != nil {
			return done, err
		}
		done = append(done, b)
	}
	if !due && !force {
		return done, nil
	}
	at := s.now()
	for {
		b, err := s.st.Seal(ctx, bucket, s.name(at), p.Max, token)
		if err != nil {
			return done, fmt.Errorf("batch: %s: seal: %w", bucket, err)
		}
		if b.ID == "" {
			break
		}
		s.log.InfoContext(ctx, "sealed a batch", "batch", b.ID, "bucket", bucket, "items", b.Items)
		if err := s.finish(ctx, ch, p, b, token); err != nil {
			return done, err
		}
		done = append(done, b)
	}
	if due {
		if err := s.st.Set(ctx, cutoffKey(bucket), []byte(prev.UTC().Format(time.RFC3339Nano)), 0); err != nil {
			return done, fmt.Errorf("batch: %s: record the cut-off: %w", bucket, err)
		}
	}
	return done, nil
}

// finish builds and hands over one sealed batch, publishes its outcomes
// and records it as sent. Every step may be repeated after a crash.
func (s *Sealer) finish(ctx context.Context, ch Channel, p Profile, b store.Batch, token int64) error {
	_, items, ok, err := s.st.Batch(ctx, b.ID)
	if err != nil || !ok {
		return fmt.Errorf("batch %s: read: ok=%v: %v", b.ID, ok, err)
	}
	ds, err := decode(items)
	if err != nil {
		// A payload we wrote ourselves does not decode: a bug; the batch
		// stays sealed for an operator to see.
		return fmt.Errorf("batch %s: %w", b.ID, err)
	}
	results, err := ch.Hand(ctx, Sealed{ID: b.ID, Channel: ch.Name(), Profile: p.Name, SealedAt: b.SealedAt, Deliveries: ds})
	if err != nil {
		return fmt.Errorf("batch %s: hand over: %w", b.ID, err)
	}
	byID := make(map[string]*event.Delivery, len(ds))
	for i := range ds {
		byID[ds[i].ID] = &ds[i]
	}
	at := s.now().UTC()
	for _, r := range results {
		d := byID[r.DeliveryID]
		if d == nil {
			return fmt.Errorf("batch %s: %s returned a result for delivery %s, which is not in the batch", b.ID, ch.Name(), r.DeliveryID)
		}
		o := event.Outcome{DeliveryID: d.ID, InboundID: d.InboundID, EventID: d.EventID, Delivery: d, Channel: ch.Name(),
			Status: r.Status, ProviderID: r.ProviderID, Reason: r.Reason, At: at}
		if o.ProviderID == "" {
			o.ProviderID = b.ID
		}
		// A deterministic id: a republish after a crash is deduplicated.
		msg := message.NewMessage(d.ID+":"+r.Status, event.Marshal(o))
		msg.SetContext(ctx)
		if err := s.pub.Publish(event.TopicOutcomes, msg); err != nil {
			return fmt.Errorf("batch %s: publish outcome: %w", b.ID, err)
		}
		delete(byID, d.ID)
	}
	if len(byID) > 0 {
		return fmt.Errorf("batch %s: %s returned no result for %d deliveries", b.ID, ch.Name(), len(byID))
	}
	if err := s.st.MarkSent(ctx, b.ID, token); err != nil {
		return fmt.Errorf("batch %s: %w", b.ID, err)
	}
	return nil
}
