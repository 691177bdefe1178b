package batch

import "context"

type progressKey struct{}

// ProgressFunc hears how far the channel is with one batch: done of total
// deliveries rendered and handed over.
type ProgressFunc func(batchID string, done, total int)

// WithProgress returns ctx carrying fn, for `koerier batch flush` to show
// a progress line while Hand runs.
func WithProgress(ctx context.Context, fn ProgressFunc) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// Progress reports done of total for batch id to the ProgressFunc in ctx,
// if any. Channels call it from Hand after each delivery.
func Progress(ctx context.Context, id string, done, total int) {
	if fn, ok := ctx.Value(progressKey{}).(ProgressFunc); ok && fn != nil {
		fn(id, done, total)
	}
}
