package router

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

// Stage is one step of the pipeline: it reads typed messages (In) from
// Topic and says what it did in a Result. Everything that is the same for
// every stage — decoding, the ids in the context and the log, publishing the
// outputs, the ledger, metrics and the trace attributes — is done once by
// handler; dedup, re-queue and dead-lettering are middleware (middleware.go).
// A stage's Handle holds only its own logic.
type Stage[In any] struct {
	// Name is the stage as the ledger, metrics and logs call it: enrich,
	// route, deliver, settle.
	Name string
	// Channel is set for deliver stages (a metric label).
	Channel string
	// Topic is the topic the stage reads.
	Topic string
	// Refs names the notification, event and delivery a message is about,
	// for the logs and the ledger.
	Refs func(In) Refs
	// Key is the dedup key of a message (see dedup); "" means the stage
	// name and the message's uuid.
	Key func(In) string
	// Handle does the stage's work. An error is classified with the failure
	// package; the middleware decides between retry, re-queue and dead
	// letter.
	Handle func(ctx context.Context, in In) (Result, error)
}

// Result is what a stage did with one message.
type Result struct {
	// Status is the outcome as a bounded metric label (event, skipped,
	// decided, sent, fallback, ...).
	Status string
	// Ledger lines are appended in order before the outputs are published,
	// so the trail never lags what the next stage sees. Empty TraceID,
	// EventID, DeliveryID and Stage are filled from the message's Refs.
	Ledger []store.Record
	// Outputs are published after the ledger lines.
	Outputs []Output
	// Learned are ids the stage found out while handling (a provider
	// callback names only the delivery); they fill the message's empty
	// Refs for the ledger and the log.
	Learned Refs
}

// Output is one message a stage publishes: Value is JSON-encoded.
type Output struct {
	Topic string
	// ID is the message uuid; outputs have deterministic ids so that a
	// retried stage publishes the same messages again, not new ones.
	ID    string
	Value any
	// Due holds the message back until then (quiet hours, timers).
	Due time.Time
}

// Refs are the ids a message is about. Every log line of a stage and every
// ledger line written for it carry them.
type Refs struct {
	Notification string // the inbound id (ledger TraceID)
	Event        string
	Delivery     string
	Stage        string
	Channel      string
	// Attempt is the message's re-queue counter (MetaAttempt), 0 at first.
	Attempt int
	// Redelivered is set when this message was handled before: re-queued,
	// or delivered again by the bus after a crash or a nack.
	Redelivered bool
}

type refsKey struct{}

// withRefs returns ctx carrying r; every logger built by telemetry.NewLogger
// (and the router's) adds the ids to each line logged with that context.
func withRefs(ctx context.Context, r Refs) context.Context {
	attrs := []slog.Attr{slog.String("stage", r.Stage)}
	for _, a := range [][2]string{{"notification", r.Notification}, {"event", r.Event}, {"delivery", r.Delivery}, {"channel", r.Channel}} {
		if a[1] != "" {
			attrs = append(attrs, slog.String(a[0], a[1]))
		}
	}
	return telemetry.WithLogAttrs(context.WithValue(ctx, refsKey{}, r), attrs...)
}

// refsFrom returns the ids ctx carries.
func refsFrom(ctx context.Context) Refs { r, _ := ctx.Value(refsKey{}).(Refs); return r }

// MetaAttempt is the one attempt counter the router controls: how often a
// message was re-queued after a temporary failure (0 or absent at first).
// It travels with the message; the re-queue middleware increments it and
// gives up after Options.TemporaryBackoff. The bus counts something else:
// bus.MetaDeliveryAttempt is how often the bus delivered this copy of the
// message (a crashed or nacked consumer), and the bus dead-letters on its
// own when that runs out. A replay from the dead letters drops both.
const MetaAttempt = "koerier_attempt"

func attempt(msg *message.Message) int {
	n, _ := strconv.Atoi(msg.Metadata.Get(MetaAttempt))
	return max(n, 0)
}

func (s Stage[In]) decode(msg *message.Message) (In, error) {
	var in In
	if err := json.Unmarshal(msg.Payload, &in); err != nil {
		return in, deadLetter("malformed-"+s.Name, err)
	}
	return in, nil
}

// key is the stage's dedup key factory (see dedup).
func (s Stage[In]) key(msg *message.Message) (string, error) {
	if s.Key == nil {
		return s.Name + ":" + msg.UUID, nil
	}
	in, err := s.decode(msg)
	if err != nil {
		return "", nil // the handler dead-letters it
	}
	return s.Key(in), nil
}

// addStage registers the stage's handler, concurrency times, with the dedup
// middleware keyed by the stage.
func addStage[In any](r *Router, s Stage[In]) {
	for i := 0; i < r.o.Concurrency; i++ {
		name := fmt.Sprintf("%s-%d", s.Name, i)
		if s.Channel != "" {
			name = fmt.Sprintf("%s-%s-%d", s.Name, s.Channel, i)
		}
		h := r.wm.AddNoPublisherHandler(name, s.Topic, r.d.Subscriber, handler(r, s))
		h.AddMiddleware(r.dedup(s.key))
	}
}

// handler adapts a Stage to a watermill handler.
func handler[In any](r *Router, s Stage[In]) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		start := r.d.Now()
		refs := Refs{Stage: s.Name, Channel: s.Channel, Attempt: attempt(msg)}
		busAttempt, _ := strconv.Atoi(msg.Metadata.Get(bus.MetaDeliveryAttempt))
		refs.Redelivered = refs.Attempt > 0 || busAttempt > 1
		in, err := s.decode(msg)
		if err == nil && s.Refs != nil {
			got := s.Refs(in)
			refs.Notification, refs.Event, refs.Delivery = got.Notification, got.Event, got.Delivery
			refs.Channel = cmp.Or(refs.Channel, got.Channel)
		}
		ctx := withRefs(msg.Context(), refs)
		trace.SpanFromContext(ctx).SetAttributes(attribute.String("koerier.notification", refs.Notification),
			attribute.String("koerier.event", refs.Event), attribute.String("koerier.delivery", refs.Delivery))
		msg.SetContext(ctx) // the middleware around us logs with these ids too
		var res Result
		if err == nil {
			res, err = s.Handle(ctx, in)
		}
		if err == nil {
			if l := res.Learned; (l.Notification != "" && refs.Notification == "") || (l.Event != "" && refs.Event == "") {
				refs.Notification, refs.Event = cmp.Or(refs.Notification, l.Notification), cmp.Or(refs.Event, l.Event)
				ctx = withRefs(ctx, refs)
				msg.SetContext(ctx)
			}
			err = r.commit(ctx, refs, res)
		}
		status := res.Status
		if err != nil {
			status = failure.Classify(err).Kind.String()
		}
		attrs := []attribute.KeyValue{attribute.String("stage", s.Name)}
		if s.Channel != "" {
			attrs = append(attrs, attribute.String("channel", s.Channel))
		}
		r.metrics.latency.Record(ctx, r.d.Now().Sub(start).Seconds(), metric.WithAttributes(attrs...))
		r.metrics.processed.Add(ctx, 1, metric.WithAttributes(append(attrs, attribute.String("status", status))...))
		r.log.DebugContext(ctx, "stage done", "status", status)
		return err
	}
}

// commit writes res's ledger lines, then publishes its outputs. A ledger or
// publish failure fails the handler so the step is retried rather than
// silently unaccounted for.
func (r *Router) commit(ctx context.Context, refs Refs, res Result) error {
	for _, rec := range res.Ledger {
		if err := r.record(ctx, fill(rec, refs)); err != nil {
			return err
		}
	}
	for _, o := range res.Outputs {
		if err := r.publish(ctx, o.Topic, o.ID, event.Marshal(o.Value), o.Due); err != nil {
			return temporary(err)
		}
	}
	return nil
}

// fill completes a ledger line with the ids of the message it is about.
func fill(rec store.Record, refs Refs) store.Record {
	if rec.TraceID == "" {
		rec.TraceID = refs.Notification
	}
	if rec.EventID == "" {
		rec.EventID = refs.Event
	}
	if rec.DeliveryID == "" {
		rec.DeliveryID = refs.Delivery
	}
	if rec.Stage == "" {
		rec.Stage = refs.Stage
	}
	if rec.Channel == "" {
		rec.Channel = refs.Channel
	}
	return rec
}

// publish sends payload to topic as a new message with uuid id, carrying the
// trace context of ctx, optionally not before due.
func (r *Router) publish(ctx context.Context, topic, id string, payload []byte, due time.Time) error {
	msg := message.NewMessage(id, payload)
	msg.SetContext(ctx)
	if !due.IsZero() && due.After(r.d.Now()) {
		setDue(msg, due)
	}
	if err := r.pub.Publish(topic, msg); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// record appends a ledger line.
func (r *Router) record(ctx context.Context, rec store.Record) error {
	if rec.At.IsZero() {
		rec.At = r.d.Now().UTC()
	}
	if err := r.d.Store.Append(ctx, rec); err != nil {
		return temporary(fmt.Errorf("ledger: %w", err))
	}
	return nil
}
