package telemetry

import (
	"context"
	"log/slog"
	"slices"
)

// Per-message facts for the log travel in the context, as Alertmanager's
// stages carry theirs: the router puts a message's notification, event and
// delivery ids in with WithLogAttrs, and every line logged with that context
// through a logger from NewLogger — the router's own, a peer client's, a
// channel's — carries them, without each call site repeating them.

type logAttrsKey struct{}

// WithLogAttrs returns ctx carrying attrs, added to those ctx already
// carries (an attribute replaces an earlier one with the same key), for
// every line logged with it.
func WithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev := LogAttrs(ctx)
	all := make([]slog.Attr, 0, len(prev)+len(attrs))
	for _, p := range prev {
		if !slices.ContainsFunc(attrs, func(a slog.Attr) bool { return a.Key == p.Key }) {
			all = append(all, p)
		}
	}
	return context.WithValue(ctx, logAttrsKey{}, append(all, attrs...))
}

// LogAttrs returns the attributes ctx carries for the log.
func LogAttrs(ctx context.Context) []slog.Attr {
	if ctx == nil {
		return nil
	}
	a, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return a
}

// ContextHandler adds LogAttrs(ctx) to every record it handles.
type ContextHandler struct{ slog.Handler }

// WithContextAttrs wraps h in a ContextHandler unless it is one already.
func WithContextAttrs(h slog.Handler) slog.Handler {
	if _, ok := h.(ContextHandler); ok {
		return h
	}
	return ContextHandler{h}
}

func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if as := LogAttrs(ctx); len(as) > 0 {
		r = r.Clone()
		r.AddAttrs(as...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h ContextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(as)}
}

func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}
