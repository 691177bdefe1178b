// Package router is Koerier's pipeline: it wires the stages
// enrich → route → deliver → settle as watermill handlers on the bus, with
// one middleware stack for tracing, dead-lettering, re-queueing and retries.
// One file per stage; each stage reads one topic and publishes to the next.
//
// The router does not know which bus or store backend it runs on, nor how a
// channel talks to its provider.
package router

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

// Deps are the parts the pipeline is built from.
type Deps struct {
	Publisher  message.Publisher
	Subscriber message.Subscriber
	Store      store.Store
	Enricher   Enricher
	Rules      RuleSource
	Recipients RecipientResolver
	// Timing applies group windows and throttles; nil disables both.
	Timing   *Timing
	Channels *channels.Registry
	// Klantcontacten registers final outcomes in Open Klant; nil: off.
	Klantcontacten Klantcontacten
	Logger         *slog.Logger
	Tracer         trace.Tracer
	Meter          metric.Meter
	// Now is the clock (default clock.System).
	Now func() time.Time
	// PurgeZaak purges a destroyed zaak; nil ignores zaak destroy
	// notifications.
	PurgeZaak ZaakPurgeFunc
}

// Defaults of Options, for a router used without config. config.Default()
// holds the same values (config's TestDefaultsMatchPackages fails when they
// drift).
const (
	DefaultConcurrency = 4
	DefaultRetryMax    = 2
	DefaultLeaseTTL    = 2 * time.Minute
)

// DefaultTemporaryBackoff is the re-queue schedule for temporary failures:
// about 2.5 hours in all, enough to ride out a peer's maintenance window
// before an operator has to replay from the dead letters.
var DefaultTemporaryBackoff = []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// Options tune the pipeline.
type Options struct {
	// Concurrency is the number of handlers per stage (default 4).
	Concurrency int
	// RetryMax is the number of quick in-process retries of a temporary
	// failure (default 2).
	RetryMax int
	// RetryInitial is the first quick-retry interval (default 100ms).
	RetryInitial time.Duration
	// TemporaryBackoff is the re-queue schedule for temporary failures that
	// outlast the quick retries; after the last step: dead letter.
	TemporaryBackoff []time.Duration
	// SubjectKey keys the hash the ledger stores instead of a BSN.
	SubjectKey []byte
	// DeliveryStateTTL is how long a delivery is kept for fallback on a late
	// provider callback (default 72h).
	DeliveryStateTTL time.Duration
	// MarkerTTL is how long "already done" markers are kept (default 7 days).
	MarkerTTL time.Duration
	// LeaseTTL bounds how long one worker may hold a delivery before another
	// may try it (default 2m). A send never takes this long (the HTTP client
	// times out first), so a held lease means the holder is still working or
	// died; in the latter case the provider's reference lookup prevents a
	// second send.
	LeaseTTL time.Duration
	// PurgeGrace is how long after a zaak destroy notification the zaak is
	// purged (default 0: at once).
	PurgeGrace time.Duration
}

// Router is the running pipeline.
type Router struct {
	d       Deps
	o       Options
	pub     message.Publisher
	wm      *message.Router
	log     *slog.Logger
	metrics *metrics
}

// New builds the pipeline; Run starts it.
func New(d Deps, o Options) (*Router, error) {
	if d.Now == nil {
		d.Now = clock.System
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Tracer == nil {
		d.Tracer = noop.NewTracerProvider().Tracer("koerier")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.RetryMax == 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.RetryInitial == 0 {
		o.RetryInitial = 100 * time.Millisecond
	}
	if len(o.TemporaryBackoff) == 0 {
		o.TemporaryBackoff = slices.Clone(DefaultTemporaryBackoff)
	}
	if o.DeliveryStateTTL == 0 {
		o.DeliveryStateTTL = 72 * time.Hour
	}
	if o.MarkerTTL == 0 {
		o.MarkerTTL = 7 * 24 * time.Hour
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if len(o.SubjectKey) == 0 {
		return nil, errors.New("router: a subject key is required (store.subject_key)")
	}
	m, err := newMetrics(d.Meter)
	if err != nil {
		return nil, err
	}
	// Every line logged with a stage's context names its notification,
	// event and delivery.
	d.Logger = slog.New(telemetry.WithContextAttrs(d.Logger.Handler()))
	r := &Router{d: d, o: o, pub: telemetry.TracingPublisher{Publisher: d.Publisher}, log: d.Logger, metrics: m}

	wm, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, watermill.NewSlogLogger(d.Logger))
	if err != nil {
		return nil, err
	}
	poison, err := middleware.PoisonQueue(r.pub, event.TopicDeadLetter)
	if err != nil {
		return nil, err
	}
	// First added is outermost: trace → poison queue → dead-letter trail →
	// re-queue → quick retry → recoverer; each stage adds dedup inside
	// (addStage). See middleware.go.
	wm.AddMiddleware(
		telemetry.TracingMiddleware(d.Tracer),
		poison,
		r.deadLetterTrail,
		r.requeue,
		middleware.Retry{
			MaxRetries:      o.RetryMax,
			InitialInterval: o.RetryInitial,
			MaxInterval:     2 * time.Second,
			Multiplier:      2,
			ShouldRetry:     func(p middleware.RetryParams) bool { return r.quickRetry(p.Err) },
		}.Middleware,
		middleware.Recoverer,
	)
	r.wm = wm
	addStage(r, r.enrichStage())
	addStage(r, r.routeStage())
	addStage(r, r.settleStage())
	if d.Klantcontacten != nil {
		addStage(r, r.klantcontactStage())
	}
	for _, ch := range d.Channels.Names() {
		addStage(r, r.deliverStage(ch))
	}
	return r, nil
}

// Topics lists every topic the pipeline uses, for declaring them at
// start-up (RabbitMQ loses messages published before their queue exists).
func Topics(channelNames []string) []string {
	t := []string{event.TopicInbound, event.TopicEvents, event.TopicOutcomes, event.TopicDeadLetter, TopicKlantcontacten}
	for _, ch := range channelNames {
		t = append(t, event.DeliveryTopic(ch))
	}
	return t
}

// Run runs the pipeline until ctx ends.
func (r *Router) Run(ctx context.Context) error { return r.wm.Run(ctx) }

// Running is closed once all handlers are subscribed.
func (r *Router) Running() chan struct{} { return r.wm.Running() }

// Close stops the pipeline, waiting for in-flight messages.
func (r *Router) Close() error { return r.wm.Close() }
