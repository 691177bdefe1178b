package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/rules"
)

// Group windows and throttles keep state in the store, so they live in the
// router, not in rules: rules decide from an event and a recipient alone,
// and the route stage applies the state-bound parts of a decision here.

// Grouper implements group_window: events about one zaak for one recipient
// within the window become one message, with the latest status. The route
// stage calls Hold and delays the decision until the returned time; when
// that time comes, the deliver stage calls Latest and sends only if its
// event is still the latest of the group.
//
// The window is fixed from the first event of a group, so a zaak that keeps
// changing cannot postpone its message forever. State lives in a
// store.Cache so that every replica sees the same group; the read-modify-
// write is not atomic, so two events of one group arriving at the same
// instant on two replicas may both be sent: one message too many, never one
// too few.
type Grouper struct {
	Cache store.Cache
	// Now is the clock; nil means clock.System.
	Now func() time.Time
}

type groupState struct {
	Latest   string    `json:"latest"`
	LatestAt time.Time `json:"latestAt"`
	Until    time.Time `json:"until"`
}

// groupKey hashes the recipient ref (itself a keyed hash, but it need not
// be) so that no identifier is readable in the cache.
func groupKey(recipientRef, zaakURL string) string {
	sum := sha256.Sum256([]byte(recipientRef + "|" + zaakURL))
	return "rules:group:" + hex.EncodeToString(sum[:16])
}

func (g *Grouper) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return clock.System()
}

// Hold records eventID (which happened at occurredAt) in the group of
// (recipientRef, zaakURL) and returns until when its message must wait. A
// window of 0 means no grouping: it returns the zero time.
func (g *Grouper) Hold(ctx context.Context, recipientRef, zaakURL, eventID string, occurredAt time.Time, window time.Duration) (time.Time, error) {
	if window <= 0 {
		return time.Time{}, nil
	}
	key := groupKey(recipientRef, zaakURL)
	now := g.now()
	st, found, err := g.get(ctx, key)
	if err != nil {
		return time.Time{}, err
	}
	switch {
	case !found || !now.Before(st.Until):
		st = groupState{Latest: eventID, LatestAt: occurredAt, Until: now.Add(window)}
	case st.Latest == eventID:
		// A redelivery of the event we already hold.
	case !occurredAt.Before(st.LatestAt):
		// Equal times: the later arrival wins, as it was enriched later.
		st.Latest, st.LatestAt = eventID, occurredAt
	}
	b, _ := json.Marshal(st)
	// Keep the state beyond the window, so that a deliver stage that runs a
	// little late still finds which event is the latest.
	if err := g.Cache.Set(ctx, key, b, st.Until.Sub(now)+max(window, 10*time.Minute)); err != nil {
		return time.Time{}, fmt.Errorf("group window: %w", err)
	}
	return st.Until, nil
}

// Latest reports whether eventID is the latest event of its group. When the
// group is gone (expired, cache flushed) it answers true: sending one
// message too many is better than sending none.
func (g *Grouper) Latest(ctx context.Context, recipientRef, zaakURL, eventID string) (bool, error) {
	st, found, err := g.get(ctx, groupKey(recipientRef, zaakURL))
	if err != nil {
		return false, err
	}
	return !found || st.Latest == eventID, nil
}

func (g *Grouper) get(ctx context.Context, key string) (groupState, bool, error) {
	var st groupState
	b, found, err := g.Cache.Get(ctx, key)
	if err != nil {
		return st, false, fmt.Errorf("group window: %w", err)
	}
	if !found {
		return st, false, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		// A corrupt entry is treated as absent; the next Hold overwrites it.
		return st, false, nil
	}
	return st, true, nil
}

// Throttler implements throttle: at most Max messages of one message name
// to one recipient per Period. Periods are fixed buckets aligned to
// midnight in Amsterdam (for whole days) so that "1 per day" means per
// calendar day. Each allowed message takes one of Max claims in the bucket,
// which is atomic across replicas.
type Throttler struct {
	Claims store.Claims
	// Cache remembers which event took a slot, so a redelivered event is not
	// counted twice. Optional.
	Cache store.Cache
	// Now is the clock; nil means clock.System.
	Now func() time.Time
}

// Allow reports whether eventID may send message to recipientRef under t.
func (th *Throttler) Allow(ctx context.Context, recipientRef, message, eventID string, t rules.Throttle) (bool, error) {
	if t.Max <= 0 || t.Period <= 0 {
		return true, nil
	}
	now := clock.System()
	if th.Now != nil {
		now = th.Now()
	}
	_, offset := now.In(amsterdam).Zone()
	bucket := (now.Unix() + int64(offset)) / int64(t.Period/time.Second)
	sum := sha256.Sum256([]byte(recipientRef + "|" + message))
	base := "rules:throttle:" + hex.EncodeToString(sum[:16])
	seenKey := base + ":event:" + eventID
	if th.Cache != nil {
		if _, seen, err := th.Cache.Get(ctx, seenKey); err != nil {
			return false, fmt.Errorf("throttle: %w", err)
		} else if seen {
			return true, nil
		}
	}
	for i := 0; i < t.Max; i++ {
		first, err := th.Claims.Claim(ctx, fmt.Sprintf("%s:%d:%d", base, bucket, i), t.Period+time.Hour)
		if err != nil {
			return false, fmt.Errorf("throttle: %w", err)
		}
		if first {
			if th.Cache != nil {
				if err := th.Cache.Set(ctx, seenKey, []byte{1}, t.Period+time.Hour); err != nil {
					return false, fmt.Errorf("throttle: %w", err)
				}
			}
			return true, nil
		}
	}
	return false, nil
}

// Timing applies a match's group window and throttle to its decision; the
// route stage calls it after Expand. Quiet hours are already in the
// decision.
type Timing struct {
	Grouper   *Grouper
	Throttler *Throttler
}

// Apply throttles and groups d in place. recipientRef identifies the
// recipient without personal data (a keyed hash of the BSN or KVK).
func (t *Timing) Apply(ctx context.Context, m *rules.Match, d *event.Decision, ev *event.Event, recipientRef string) error {
	if d.Skip || m.Rule == nil {
		return nil
	}
	r := m.Rule
	if r.Throttle != nil && t.Throttler != nil {
		ok, err := t.Throttler.Allow(ctx, recipientRef, r.Message, ev.ID, *r.Throttle)
		if err != nil {
			return err
		}
		if !ok {
			d.Skip = true
			d.Reason = fmt.Sprintf("throttle: bericht %s ging al %d keer naar deze ontvanger in deze periode van %s", r.Message, r.Throttle.Max, formatDuration(r.Throttle.Period))
			d.Explanation = append(d.Explanation, "Niet verstuurd: "+d.Reason+".")
			return nil
		}
	}
	if r.GroupWindow > 0 && t.Grouper != nil && ev.Zaak != nil && ev.Zaak.URL != "" {
		until, err := t.Grouper.Hold(ctx, recipientRef, ev.Zaak.URL, ev.ID, ev.OccurredAt, r.GroupWindow)
		if err != nil {
			return err
		}
		if until.After(d.HoldUntil) {
			d.HoldUntil = until
		}
		d.Grouped = true
		d.Explanation = append(d.Explanation, fmt.Sprintf("group_window %s: berichten over deze zaak worden tot %s samengevoegd; alleen de laatste status gaat weg.",
			formatDuration(r.GroupWindow), until.In(amsterdam).Format("15:04:05")))
	}
	return nil
}

// formatDuration writes a duration the way admins wrote it: 1d, 2m, 1h30m.
func formatDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
