package httpapi

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// metrics are ingest counters. Labels are only the source (a constant) and a
// reason from a fixed set: never a value from the request, which could be
// personal data or blow up cardinality.
type metrics struct {
	recv, acc, dup, rej, probes metric.Int64Counter
}

// noopMeterProvider keeps otelhttp's own server metrics out: the ingest
// counters here are the ones we chose, with bounded labels.
var noopMeterProvider = noop.NewMeterProvider()

func newMetrics(m metric.Meter) *metrics {
	if m == nil {
		m = noop.NewMeterProvider().Meter("koerier/httpapi")
	}
	c := func(name, desc string) metric.Int64Counter {
		ctr, err := m.Int64Counter(name, metric.WithDescription(desc))
		if err != nil {
			ctr, _ = noop.NewMeterProvider().Meter("").Int64Counter(name)
		}
		return ctr
	}
	return &metrics{
		recv:   c("koerier.ingest.received", "Inbound requests received, by source."),
		acc:    c("koerier.ingest.accepted", "Inbound messages published to the bus, by source."),
		dup:    c("koerier.ingest.duplicate", "Inbound messages already seen and not published again, by source."),
		rej:    c("koerier.ingest.rejected", "Inbound requests rejected, by source and reason."),
		probes: c("koerier.ingest.probes", "Open Notificaties callback probes (kanaal test) answered."),
	}
}

func (m *metrics) received(ctx context.Context, source string) {
	m.recv.Add(ctx, 1, metric.WithAttributes(attribute.String("source", source)))
}

func (m *metrics) accepted(ctx context.Context, source string) {
	m.acc.Add(ctx, 1, metric.WithAttributes(attribute.String("source", source)))
}

func (m *metrics) duplicate(ctx context.Context, source string) {
	m.dup.Add(ctx, 1, metric.WithAttributes(attribute.String("source", source)))
}

func (m *metrics) probe(ctx context.Context, source string) {
	m.probes.Add(ctx, 1, metric.WithAttributes(attribute.String("source", source)))
}

// rejected counts a refusal; reason is one of unauthenticated, forbidden,
// too_large, read_error, invalid, unsupported_media_type, publish_failed,
// overloaded (the in-flight limiter refused it).
func (m *metrics) rejected(ctx context.Context, source, reason string) {
	m.rej.Add(ctx, 1, metric.WithAttributes(attribute.String("source", source), attribute.String("reason", reason)))
}
