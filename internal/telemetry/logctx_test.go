package telemetry

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestContextAttrsOnEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "text", "info")
	ctx := WithLogAttrs(context.Background(), slog.String("notification", "n1"), slog.String("stage", "enrich"))
	ctx = WithLogAttrs(ctx, slog.String("stage", "route"))
	log.InfoContext(ctx, "hello", "bsn", "999993653")
	line := buf.String()
	if !strings.Contains(line, "notification=n1") || !strings.Contains(line, "stage=route") || strings.Contains(line, "stage=enrich") {
		t.Fatalf("line %q: want the context's ids, a later stage replacing the earlier", line)
	}
	if strings.Contains(line, "999993653") {
		t.Fatalf("line %q: BSN not masked", line)
	}
	if _, ok := WithContextAttrs(log.Handler()).(ContextHandler); !ok || WithContextAttrs(log.Handler()) != log.Handler() {
		t.Fatal("WithContextAttrs wraps a ContextHandler twice")
	}
}
