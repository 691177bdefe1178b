package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/router"
)

// MetaReplayed counts how often an operator sent a message back from the
// dead-letter queue, so a message that keeps coming back is recognisable.
const MetaReplayed = "koerier_replayed"

// replayIdle is how long replay waits for one more dead letter before it
// concludes the queue is empty and ends.
const replayIdle = 2 * time.Second

// droppedOnReplay are the metadata keys that describe the failed attempt
// (why and where it was poisoned, how often it was delivered or re-queued,
// when it is due); a replayed message starts afresh without them.
var droppedOnReplay = []string{
	middleware.ReasonForPoisonedKey, middleware.PoisonedTopicKey, middleware.PoisonedHandlerKey, middleware.PoisonedSubscriberKey,
	bus.MetaDeadLetterReason, bus.MetaDeadLetterTopic, bus.MetaDeliveryAttempt, bus.MetaNotBefore,
	bus.MetaRetries,    // the RabbitMQ bus's nack counter
	router.MetaAttempt, // the router's re-queue counter: a replay gets the full backoff again
}

// OpenBus connects to the configured bus on the clock now, for an operator
// command. It refuses to create an empty SQLite bus: a wrong path must not
// look like an empty queue.
func OpenBus(ctx context.Context, cfg config.Config, now func() time.Time, log *slog.Logger) (*bus.Bus, error) {
	o := BusOptions(cfg, now, event.TopicDeadLetter)
	if err := busExists(o); err != nil {
		return nil, err
	}
	s, err := busSealer(cfg)
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	b, err := bus.New(ctx, o, watermill.NewSlogLogger(log.With("component", "bus")))
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	sealBus(b, s)
	return b, nil
}

func busExists(o bus.Options) error {
	if o.Backend == "" || o.Backend == bus.BackendSQLite {
		if _, err := os.Stat(o.SQLitePath); err != nil {
			return fmt.Errorf("deadletter: no bus database at %s (check data_dir and bus.sqlite.path in the configuration): %w", o.SQLitePath, err)
		}
	}
	return nil
}

// DeadLetter is what an operator may see of one dead-lettered message: its
// routing facts and the ids inside, never the payload.
type DeadLetter struct {
	UUID         string    `json:"uuid"`
	Topic        string    `json:"topic"`
	Handler      string    `json:"handler,omitempty"`
	Reason       string    `json:"reason"`
	Replayed     int       `json:"replayed,omitempty"`
	DeadSince    time.Time `json:"deadSince,omitzero"`
	Kind         string    `json:"kind,omitempty"` // notification, event, delivery, outcome
	Notification string    `json:"notificationId,omitempty"`
	EventID      string    `json:"eventId,omitempty"`
	DeliveryID   string    `json:"deliveryId,omitempty"`
	Channel      string    `json:"channel,omitempty"`
}

// OriginTopic is the topic a dead letter failed on: set by watermill's
// poison middleware (router errors), by our bus (too many deliveries), or by
// RabbitMQ itself (delivery limit; a delay queue stands for its topic).
func OriginTopic(md message.Metadata) string {
	if t := md.Get(middleware.PoisonedTopicKey); t != "" {
		return t
	}
	if t := md.Get(bus.MetaDeadLetterTopic); t != "" && t != event.TopicDeadLetter {
		return t
	}
	for _, k := range []string{"x-last-death-queue", "x-first-death-queue"} {
		if q := md.Get(k); q != "" {
			if i := strings.Index(q, ".delay."); i > 0 {
				q = q[:i]
			}
			return q
		}
	}
	return ""
}

// DescribeDeadLetter is what an operator may see of msg, dead-lettered
// at since.
func DescribeDeadLetter(msg *message.Message, since time.Time) DeadLetter {
	md := msg.Metadata
	d := DeadLetter{UUID: msg.UUID, Topic: OriginTopic(md), Handler: md.Get(middleware.PoisonedHandlerKey), DeadSince: since}
	d.Reason = md.Get(middleware.ReasonForPoisonedKey)
	if d.Reason == "" {
		d.Reason = md.Get(bus.MetaDeadLetterReason)
	}
	if d.Reason == "" && md.Get("x-first-death-reason") != "" {
		d.Reason = "RabbitMQ: " + md.Get("x-first-death-reason")
	}
	// Errors should carry no personal data, but a peer's answer quoted in
	// one might: mask what looks like a BSN, email address or phone number.
	d.Reason = telemetry.Mask(d.Reason)
	d.Replayed, _ = strconv.Atoi(md.Get(MetaReplayed))
	switch t := d.Topic; {
	case t == event.TopicInbound:
		var in event.Inbound
		if json.Unmarshal(msg.Payload, &in) == nil {
			d.Kind, d.Notification = "notification", in.ID
		}
	case t == event.TopicEvents:
		var ev event.Event
		if json.Unmarshal(msg.Payload, &ev) == nil {
			d.Kind, d.Notification, d.EventID = "event", ev.InboundID, ev.ID
		}
	case strings.HasPrefix(t, event.DeliveryTopic("")):
		var dl event.Delivery
		if json.Unmarshal(msg.Payload, &dl) == nil {
			d.Kind, d.Notification, d.EventID, d.DeliveryID, d.Channel = "delivery", dl.InboundID, dl.EventID, dl.ID, dl.Channel
		}
	case t == event.TopicOutcomes:
		var o event.Outcome
		if json.Unmarshal(msg.Payload, &o) == nil {
			d.Kind, d.DeliveryID, d.Channel = "outcome", o.DeliveryID, o.Channel
			if o.Delivery != nil {
				d.Notification, d.EventID = o.Delivery.InboundID, o.Delivery.EventID
			}
		}
	}
	return d
}

// PeekDeadLetters returns up to max dead letters, oldest first, without
// taking them off the queue (see 'koerier deadletter list --help' for what
// that means on RabbitMQ).
func PeekDeadLetters(ctx context.Context, cfg config.Config, now func() time.Time, max int) ([]DeadLetter, error) {
	o := BusOptions(cfg, now, event.TopicDeadLetter)
	if err := busExists(o); err != nil {
		return nil, err
	}
	msgs, err := bus.Peek(ctx, o, event.TopicDeadLetter, max)
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	s, err := busSealer(cfg)
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	out := make([]DeadLetter, len(msgs))
	for i, p := range msgs {
		if clear, err := s.Open(busAD, p.Msg.Payload); err == nil {
			p.Msg.Payload = clear
		}
		out[i] = DescribeDeadLetter(p.Msg, p.PublishedAt)
	}
	return out, nil
}

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// Max is the most messages to replay; 0 means all.
	Max int
	// Topic, when set, replays only messages that failed on it.
	Topic string
	// UUID, when set, replays only that message.
	UUID string
	// Reason, when set, replays only messages whose (masked) reason
	// contains it, case-insensitively.
	Reason string
	// Idle ends the replay when no dead letter arrived for this long
	// (default 2s).
	Idle time.Duration
	// Progress receives "replayed 120/500" lines; nil for none.
	Progress io.Writer
}

// selects says whether the filters of o let msg, which failed on topic,
// be replayed.
func (o ReplayOptions) selects(msg *message.Message, topic string) bool {
	if o.Topic != "" && topic != o.Topic {
		return false
	}
	if o.UUID != "" && msg.UUID != o.UUID {
		return false
	}
	if o.Reason != "" {
		reason := DescribeDeadLetter(msg, time.Time{}).Reason
		return strings.Contains(strings.ToLower(reason), strings.ToLower(o.Reason))
	}
	return true
}

// ReplayMessage is msg as it goes back to its topic: the same uuid and
// payload, the failure's metadata removed, koerier_replayed incremented.
func ReplayMessage(msg *message.Message) *message.Message {
	out := message.NewMessage(msg.UUID, msg.Payload)
	for k, v := range msg.Metadata {
		if strings.HasPrefix(k, "x-") {
			continue // the broker's own headers describe the failed delivery
		}
		out.Metadata.Set(k, v)
	}
	for _, k := range droppedOnReplay {
		delete(out.Metadata, k)
	}
	n, _ := strconv.Atoi(msg.Metadata.Get(MetaReplayed))
	out.Metadata.Set(MetaReplayed, strconv.Itoa(n+1))
	return out
}

// ReplayStats counts what a replay did: messages sent back to their topic,
// left in the queue because they failed on another topic than asked, left
// because their origin is unknown, and seen failing again during the run.
type ReplayStats struct{ Replayed, Skipped, Unknown, FailedAgain int }

// Replay moves dead letters back to their topics through b. It ends at
// o.Max, after o.Idle without a message, or when a message it left in the
// queue comes round again (it has then seen them all). A message that fails
// again while the replay runs is left in the queue, not replayed again: the
// cause is evidently not fixed, and replaying it would loop.
func Replay(ctx context.Context, b *bus.Bus, o ReplayOptions) (ReplayStats, error) {
	var st ReplayStats
	if o.Idle <= 0 {
		o.Idle = replayIdle
	}
	total, err := b.Pending(ctx, b.DeadLetterTopic())
	if err != nil {
		total = 0 // only the progress line needs it
	}
	if o.Max > 0 && (total == 0 || o.Max < total) {
		total = o.Max
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, err := b.Subscriber.Subscribe(ctx, b.DeadLetterTopic())
	if err != nil {
		return st, fmt.Errorf("deadletter: replay: subscribe to %s: %w", b.DeadLetterTopic(), err)
	}
	left, replayed := map[string]bool{}, map[string]bool{}
	idle := time.NewTimer(o.Idle)
	defer idle.Stop()
	lastProgress := time.Now()
	for o.Max <= 0 || st.Replayed < o.Max {
		var msg *message.Message
		select {
		case m, ok := <-msgs:
			if !ok {
				return st, fmt.Errorf("deadletter: replay: the subscription to %s ended", b.DeadLetterTopic())
			}
			msg = m
		case <-idle.C:
			return st, nil
		case <-ctx.Done():
			return st, ctx.Err()
		}
		idle.Reset(o.Idle)
		if left[msg.UUID] {
			// Round once: everything before it was seen. Not acking it
			// hands it back when the subscription ends.
			return st, nil
		}
		topic := OriginTopic(msg.Metadata)
		if again := replayed[msg.UUID]; again || topic == "" || !o.selects(msg, topic) {
			left[msg.UUID] = true
			switch {
			case again:
				st.FailedAgain++
			case topic == "":
				st.Unknown++
			default:
				st.Skipped++
			}
			if err := b.Publisher.Publish(b.DeadLetterTopic(), keptMessage(msg, topic)); err != nil {
				return st, fmt.Errorf("deadletter: replay: put %s back: %w", msg.UUID, err)
			}
			msg.Ack()
			continue
		}
		out := ReplayMessage(msg)
		if err := b.Publisher.Publish(topic, out); err != nil {
			// Unacked, it goes back to the queue when the subscription ends.
			return st, fmt.Errorf("deadletter: replay %s to %s: %w", msg.UUID, topic, err)
		}
		msg.Ack()
		replayed[msg.UUID] = true
		st.Replayed++
		if o.Max > 0 && st.Replayed >= o.Max {
			settled(msgs)
		}
		if o.Progress != nil && (time.Since(lastProgress) > time.Second || st.Replayed%100 == 0) {
			lastProgress = time.Now()
			if total > 0 {
				fmt.Fprintf(o.Progress, "replayed %d/%d\n", st.Replayed, max(total, st.Replayed))
			} else {
				fmt.Fprintf(o.Progress, "replayed %d\n", st.Replayed)
			}
		}
	}
	return st, nil
}

// keptMessage is a dead letter that a filtered replay leaves alone, put
// back at the end of the queue rather than nacked: on RabbitMQ a Nack
// becomes a delayed re-publish through a delay queue the dead-letter topic
// does not have. The origin topic and reason move into Koerier's own keys,
// because RabbitMQ's x- headers do not survive a re-publish.
func keptMessage(msg *message.Message, topic string) *message.Message {
	keep := message.NewMessage(msg.UUID, msg.Payload)
	for k, v := range msg.Metadata {
		if !strings.HasPrefix(k, "x-") && k != bus.MetaDeliveryAttempt && k != bus.MetaNotBefore {
			keep.Metadata.Set(k, v)
		}
	}
	if topic != "" && keep.Metadata.Get(middleware.PoisonedTopicKey) == "" {
		keep.Metadata.Set(bus.MetaDeadLetterTopic, topic)
	}
	if keep.Metadata.Get(middleware.ReasonForPoisonedKey) == "" && keep.Metadata.Get(bus.MetaDeadLetterReason) == "" {
		if r := msg.Metadata.Get("x-first-death-reason"); r != "" {
			keep.Metadata.Set(bus.MetaDeadLetterReason, "RabbitMQ: "+r)
		}
	}
	return keep
}

// settled gives the subscriber time to commit the last ack before the
// subscription is cancelled: a subscriber that sees the ack and the
// cancellation at once may hand the message back instead, and it would be
// replayed twice. The next message arriving proves the ack was committed
// (the SQLite bus claims it in the same write); it is not acked and goes
// back at its place when the subscription ends.
func settled(msgs <-chan *message.Message) {
	t := time.NewTimer(500 * time.Millisecond)
	defer t.Stop()
	select {
	case <-msgs:
	case <-t.C:
	}
}
