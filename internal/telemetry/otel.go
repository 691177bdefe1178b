package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// NewLogger returns a JSON or text slog logger at level that masks personal
// data in every line and adds the ids its context carries (WithLogAttrs).
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(level)))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(ContextHandler{NewMaskingHandler(h)})
}

// Propagator is the only propagator Koerier uses, inbound and outbound:
// W3C trace context and nothing else. Baggage is left out on purpose: a
// source system could otherwise put headers of its choosing into our calls
// to Notify and the ZGW peers, and whatever it holds would travel on the
// bus with the message.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Providers holds the OpenTelemetry providers of one process. Metrics are
// exported in Prometheus format on MetricsHandler; traces are sampled and
// kept in-process (an OTLP exporter can be added to the TracerProvider by
// configuration later) so trace ids are available for log correlation.
type Providers struct {
	Tracer         trace.Tracer
	TracerProvider *sdktrace.TracerProvider
	Meter          metric.Meter
	MeterProvider  *sdkmetric.MeterProvider
	MetricsHandler http.Handler
}

// NewProviders builds tracer and meter providers on a fresh Prometheus
// registry (never the global one, so tests can build several).
func NewProviders(service string) (*Providers, error) {
	reg := prometheus.NewRegistry()
	// Go runtime (go_goroutines, go_memstats_*, GC) and process
	// (process_resident_memory_bytes, process_open_fds) metrics: an
	// operator sees a connection flood or a memory climb before the
	// process runs out of file descriptors or is OOM-killed.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	res := resource.NewSchemaless(semconv.ServiceName(service))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res))
	otel.SetTextMapPropagator(Propagator)
	return &Providers{
		Tracer:         tp.Tracer(service),
		TracerProvider: tp,
		Meter:          mp.Meter(service),
		MeterProvider:  mp,
		MetricsHandler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}, nil
}

// Shutdown flushes the providers.
func (p *Providers) Shutdown(ctx context.Context) error {
	err1 := p.TracerProvider.Shutdown(ctx)
	err2 := p.MeterProvider.Shutdown(ctx)
	if err1 != nil {
		return err1
	}
	return err2
}

// metadataCarrier adapts watermill message metadata to a TextMapCarrier.
type metadataCarrier message.Metadata

func (c metadataCarrier) Get(k string) string { return c[k] }
func (c metadataCarrier) Set(k, v string)     { c[k] = v }
func (c metadataCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}

// Inject writes the trace context of ctx into msg's metadata, so the next
// stage continues the same trace. There is no official watermill OTel module;
// this and Extract are the whole of it.
func Inject(ctx context.Context, msg *message.Message) {
	if msg.Metadata == nil {
		msg.Metadata = message.Metadata{}
	}
	otel.GetTextMapPropagator().Inject(ctx, metadataCarrier(msg.Metadata))
}

// Extract returns ctx with the trace context carried in msg's metadata.
func Extract(ctx context.Context, msg *message.Message) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, metadataCarrier(msg.Metadata))
}

// TracingMiddleware starts a consumer span per handled message, as a child
// of the span that published it.
func TracingMiddleware(tracer trace.Tracer) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := Extract(msg.Context(), msg)
			ctx, span := tracer.Start(ctx, message.HandlerNameFromCtx(msg.Context()), trace.WithSpanKind(trace.SpanKindConsumer))
			defer span.End()
			msg.SetContext(ctx)
			// The router's stages publish through TracingPublisher (they
			// write to several topics, so they are registered without a
			// handler publisher); that is where the context is injected.
			out, err := h(msg)
			if err != nil {
				span.RecordError(err)
			}
			return out, err
		}
	}
}

// TracingPublisher injects the trace context of each message's context into
// its metadata before publishing.
type TracingPublisher struct{ message.Publisher }

// Publish implements message.Publisher.
func (p TracingPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		Inject(m.Context(), m)
	}
	return p.Publisher.Publish(topic, msgs...)
}
