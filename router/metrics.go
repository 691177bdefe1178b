package router

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// metrics are per stage, labelled only with bounded values (stage, channel,
// status, reason code) — never with anything personal.
type metrics struct {
	processed metric.Int64Counter
	requeued  metric.Int64Counter
	latency   metric.Float64Histogram
	// deadLettered counts messages moved to koerier.deadletter.
	deadLettered metric.Int64Counter
	// undeliverable counts decisions whose channel plan this installation
	// cannot deliver on any channel.
	undeliverable metric.Int64Counter
	// unknownReference counts provider receipts for a delivery we do not
	// (or no longer) know: forged, or later than the delivery state's TTL.
	unknownReference metric.Int64Counter
}

func newMetrics(m metric.Meter) (*metrics, error) {
	if m == nil {
		m = noop.NewMeterProvider().Meter("koerier")
	}
	processed, err := m.Int64Counter("koerier_stage_messages_total",
		metric.WithDescription("Messages handled per stage and outcome."))
	if err != nil {
		return nil, err
	}
	requeued, err := m.Int64Counter("koerier_requeued_total",
		metric.WithDescription("Messages re-queued with a delay after a temporary failure."))
	if err != nil {
		return nil, err
	}
	latency, err := m.Float64Histogram("koerier_stage_duration_seconds",
		metric.WithDescription("Time to handle one message per stage."), metric.WithUnit("s"),
		// Stages take milliseconds; OTel's default bounds start at 5 (s).
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	if err != nil {
		return nil, err
	}
	dead, err := m.Int64Counter("koerier_deadlettered_total",
		metric.WithDescription("Messages moved to the dead letters, per stage and reason."))
	if err != nil {
		return nil, err
	}
	undeliverable, err := m.Int64Counter("koerier_undeliverable_total",
		metric.WithDescription("Decisions whose channel plan holds no channel this installation has."))
	if err != nil {
		return nil, err
	}
	unknown, err := m.Int64Counter("koerier_unknown_reference_total",
		metric.WithDescription("Provider receipts whose reference matches no delivery Koerier keeps (forged, or after the delivery state expired)."))
	if err != nil {
		return nil, err
	}
	return &metrics{processed: processed, requeued: requeued, latency: latency, deadLettered: dead, undeliverable: undeliverable,
		unknownReference: unknown}, nil
}
