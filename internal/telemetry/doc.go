// Package telemetry owns logging, tracing and metrics: the slog logger with
// personal-data masking, the OpenTelemetry tracer and meter providers, and
// trace-context propagation through bus message metadata. It must not know
// about stages or channels.
package telemetry
