package main

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
	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/router"
)

func init() { register(newDeadletterCmd) }

// metaReplayed counts how often an operator sent a message back from the
// dead-letter queue, so a message that keeps coming back is recognisable.
const metaReplayed = "koerier_replayed"

// deadLetterIdle is how long replay waits for one more dead letter before it
// concludes the queue is empty and ends.
const deadLetterIdle = 2 * time.Second

// droppedOnReplay are the metadata keys that describe the failed attempt
// (why and where it was poisoned, how often it was delivered or re-queued,
// when it is due); a replayed message starts afresh without them.
var droppedOnReplay = []string{
	middleware.ReasonForPoisonedKey, middleware.PoisonedTopicKey, middleware.PoisonedHandlerKey, middleware.PoisonedSubscriberKey,
	bus.MetaDeadLetterReason, bus.MetaDeadLetterTopic, bus.MetaDeliveryAttempt, bus.MetaNotBefore,
	"koerier_retries",  // the RabbitMQ bus's nack counter
	router.MetaAttempt, // the router's re-queue counter: a replay gets the full backoff again
}

func newDeadletterCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "deadletter",
		Short: "List and replay messages in the dead-letter queue (koerier.deadletter)",
		Long: `A message lands in the dead-letter queue (topic koerier.deadletter) when
retrying cannot help: a configuration error (a wrong Notify API key or
template), a malformed payload, a peer that refused us (403), or a message
that failed on every re-queue. Every such step is also in the ledger (see
'koerier trail'). Fix the cause, then replay: each message goes back to the
topic it failed on, as if new, with a koerier_replayed counter.

  koerier deadletter list   --config koerier.yaml [--max 50] [--json]
  koerier deadletter replay --config koerier.yaml [--max N] [--topic koerier.deliveries.email] [--dry-run]`,
	}
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	load := func() (config.Config, error) { return config.Load(path) }
	cmd.AddCommand(newDeadletterListCmd(load), newDeadletterReplayCmd(load))
	return cmd
}

func newDeadletterListCmd(load func() (config.Config, error)) *cobra.Command {
	var (
		max    int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show dead-lettered messages: why, where from, and the ids inside (never the payload)",
		Long: `Shows up to --max dead-lettered messages, oldest first, without taking them
off the queue: the reason, the topic and handler they failed in, and the
notification, event and delivery ids inside (use 'koerier trail ID' for the
whole story). The payload itself is not shown: it may hold personal data.

On the embedded SQLite bus the list only reads the database. On RabbitMQ it
takes the messages unacknowledged and hands them back by closing its
channel: they stay in the queue, but their delivery count rises by one and
their order may change; messages another process holds at that moment are
not listed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			return listDeadLetters(ctx, cmd.OutOrStdout(), cfg, max, asJSON)
		},
	}
	cmd.Flags().IntVar(&max, "max", 50, "show at most this many messages")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines for scripts")
	return cmd
}

func newDeadletterReplayCmd(load func() (config.Config, error)) *cobra.Command {
	var o replayOptions
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Send dead-lettered messages back to the topic they failed on",
		Long: `Takes messages from koerier.deadletter, oldest first, and publishes each to
the topic it failed on (topic_poisoned) with the failure's metadata removed
and koerier_replayed incremented, then acknowledges it. The pipeline then
handles it as new; its idempotency keys still stop a second email for a
delivery that did go out. Ends when --max messages are replayed or no dead
letter arrived for 2 s. Fix the cause first, or the message returns: one
that fails again during the run is left in the queue, not replayed again.

--topic replays only messages from that topic; the others stay in the
queue, moved to its end. --dry-run lists what would be replayed and
changes nothing.

Progress ("replayed 120/500") goes to standard error, the summary to
standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if o.DryRun {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Minute)
				defer cancel()
			}
			o.Progress = cmd.ErrOrStderr()
			return replayDeadLetters(ctx, cmd.OutOrStdout(), cfg, o)
		},
	}
	cmd.Flags().IntVar(&o.Max, "max", 0, "replay at most this many messages (0: all)")
	cmd.Flags().StringVar(&o.Topic, "topic", "", "replay only messages that failed on this topic, e.g. koerier.deliveries.email")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "show what would be replayed; change nothing")
	return cmd
}

// openBus connects to the configured bus. It refuses to create an empty
// SQLite bus: a wrong path must not look like an empty queue.
func openBus(ctx context.Context, cfg config.Config, log *slog.Logger) (*bus.Bus, error) {
	o := busOptions(cfg, event.TopicDeadLetter)
	if err := busExists(o); err != nil {
		return nil, err
	}
	b, err := bus.New(ctx, o, watermill.NewSlogLogger(log.With("component", "bus")))
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
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

// deadLetter is what an operator may see of one dead-lettered message: its
// routing facts and the ids inside, never the payload.
type deadLetter struct {
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

// originTopic is the topic a dead letter failed on: set by watermill's
// poison middleware (router errors), by our bus (too many deliveries), or by
// RabbitMQ itself (delivery limit; a delay queue stands for its topic).
func originTopic(md message.Metadata) string {
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

func describeDeadLetter(msg *message.Message, since time.Time) deadLetter {
	md := msg.Metadata
	d := deadLetter{UUID: msg.UUID, Topic: originTopic(md), Handler: md.Get(middleware.PoisonedHandlerKey), DeadSince: since}
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
	d.Replayed, _ = strconv.Atoi(md.Get(metaReplayed))
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

func listDeadLetters(ctx context.Context, w io.Writer, cfg config.Config, max int, asJSON bool) error {
	if err := busExists(busOptions(cfg, event.TopicDeadLetter)); err != nil {
		return err
	}
	msgs, err := bus.Peek(ctx, busOptions(cfg, event.TopicDeadLetter), event.TopicDeadLetter, max)
	if err != nil {
		return fmt.Errorf("deadletter: list: %w", err)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, p := range msgs {
			if err := enc.Encode(describeDeadLetter(p.Msg, p.PublishedAt)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(msgs) == 0 {
		fmt.Fprintln(w, "The dead-letter queue is empty.")
		return nil
	}
	for i, p := range msgs {
		printDeadLetter(w, i+1, describeDeadLetter(p.Msg, p.PublishedAt))
	}
	if len(msgs) == max {
		fmt.Fprintf(w, "(showing the first %d; there may be more: use --max)\n", max)
	}
	return nil
}

func printDeadLetter(w io.Writer, n int, d deadLetter) {
	fmt.Fprintf(w, "%d. message %s from %s", n, d.UUID, orDash(d.Topic))
	if d.Handler != "" {
		fmt.Fprintf(w, " (handler %s)", d.Handler)
	}
	fmt.Fprintln(w)
	if !d.DeadSince.IsZero() {
		fmt.Fprintf(w, "   dead-lettered  %s\n", localTime(d.DeadSince))
	}
	for i, l := range wrap(orDash(d.Reason), 90) {
		label := ""
		if i == 0 {
			label = "reason"
		}
		fmt.Fprintf(w, "   %-14s %s\n", label, l)
	}
	if d.Replayed > 0 {
		fmt.Fprintf(w, "   %-14s %d time(s) before\n", "replayed", d.Replayed)
	}
	for _, f := range [][2]string{{"notification", d.Notification}, {"event", d.EventID}, {"delivery", d.DeliveryID}, {"channel", d.Channel}} {
		if f[1] != "" {
			fmt.Fprintf(w, "   %-14s %s\n", f[0], f[1])
		}
	}
	fmt.Fprintln(w)
}

type replayOptions struct {
	// Max is the most messages to replay; 0 means all.
	Max int
	// Topic, when set, replays only messages that failed on it.
	Topic  string
	DryRun bool
	// Idle ends the replay when no dead letter arrived for this long
	// (default deadLetterIdle).
	Idle time.Duration
	// Progress receives "replayed 120/500" lines; nil for none.
	Progress io.Writer
}

// replayMessage is msg as it goes back to its topic: the same uuid and
// payload, the failure's metadata removed, koerier_replayed incremented.
func replayMessage(msg *message.Message) *message.Message {
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
	n, _ := strconv.Atoi(msg.Metadata.Get(metaReplayed))
	out.Metadata.Set(metaReplayed, strconv.Itoa(n+1))
	return out
}

func replayDeadLetters(ctx context.Context, w io.Writer, cfg config.Config, o replayOptions) error {
	if o.DryRun {
		max := o.Max
		if max <= 0 {
			max = 10000
		}
		if err := busExists(busOptions(cfg, event.TopicDeadLetter)); err != nil {
			return err
		}
		msgs, err := bus.Peek(ctx, busOptions(cfg, event.TopicDeadLetter), event.TopicDeadLetter, max)
		if err != nil {
			return fmt.Errorf("deadletter: replay: %w", err)
		}
		n := 0
		for _, p := range msgs {
			d := describeDeadLetter(p.Msg, p.PublishedAt)
			if o.Topic != "" && d.Topic != o.Topic {
				continue
			}
			n++
			fmt.Fprintf(w, "would replay %s to %s (%s)\n", d.UUID, orDash(d.Topic), telemetry.Mask(firstLine(d.Reason)))
		}
		fmt.Fprintf(w, "dry run: %d message(s) would be replayed; nothing changed\n", n)
		return nil
	}
	log := telemetry.NewLogger(os.Stderr, cfg.Telemetry.LogFormat, "warn")
	b, err := openBus(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	st, err := replayFrom(ctx, b, o)
	fmt.Fprintf(w, "replayed %d message(s)", st.replayed)
	if st.skipped > 0 {
		fmt.Fprintf(w, ", left %d from other topics in the queue", st.skipped)
	}
	if st.unknown > 0 {
		fmt.Fprintf(w, ", left %d whose origin topic is unknown", st.unknown)
	}
	if st.failedAgain > 0 {
		fmt.Fprintf(w, "; %d failed again and are back in the queue (is the cause fixed? see 'koerier deadletter list')", st.failedAgain)
	}
	fmt.Fprintln(w)
	return err
}

type replayStats struct{ replayed, skipped, unknown, failedAgain int }

// replayFrom moves dead letters back to their topics through b. It ends at
// o.Max, after o.Idle without a message, or when a message it left in the
// queue comes round again (it has then seen them all). A message that fails
// again while the replay runs is left in the queue, not replayed again: the
// cause is evidently not fixed, and replaying it would loop.
func replayFrom(ctx context.Context, b *bus.Bus, o replayOptions) (replayStats, error) {
	var st replayStats
	if o.Idle <= 0 {
		o.Idle = deadLetterIdle
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
	for o.Max <= 0 || st.replayed < o.Max {
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
		topic := originTopic(msg.Metadata)
		if again := replayed[msg.UUID]; again || topic == "" || (o.Topic != "" && topic != o.Topic) {
			left[msg.UUID] = true
			switch {
			case again:
				st.failedAgain++
			case topic == "":
				st.unknown++
			default:
				st.skipped++
			}
			if err := b.Publisher.Publish(b.DeadLetterTopic(), keptMessage(msg, topic)); err != nil {
				return st, fmt.Errorf("deadletter: replay: put %s back: %w", msg.UUID, err)
			}
			msg.Ack()
			continue
		}
		out := replayMessage(msg)
		if err := b.Publisher.Publish(topic, out); err != nil {
			// Unacked, it goes back to the queue when the subscription ends.
			return st, fmt.Errorf("deadletter: replay %s to %s: %w", msg.UUID, topic, err)
		}
		msg.Ack()
		replayed[msg.UUID] = true
		st.replayed++
		if o.Max > 0 && st.replayed >= o.Max {
			settled(msgs)
		}
		if o.Progress != nil && (time.Since(lastProgress) > time.Second || st.replayed%100 == 0) {
			lastProgress = time.Now()
			if total > 0 {
				fmt.Fprintf(o.Progress, "replayed %d/%d\n", st.replayed, max(total, st.replayed))
			} else {
				fmt.Fprintf(o.Progress, "replayed %d\n", st.replayed)
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

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
