// Package channels defines what an output channel is (email, SMS,
// Berichtenbox, print) and the registry the deliver stage looks channels up
// in. A channel classifies its errors with the failure package. Each channel lives in a sub-package and
// must not import the router.
package channels

import (
	"context"
	"fmt"
	"sort"

	"github.com/mijnservices/koerier/internal/event"
)

// Channel sends one Delivery. Errors are classified with the failure
// package: failure.Temporary (retry later), failure.Permanent (the next
// channel of the plan), failure.Config (dead letter, and an operator fixes
// the configuration); any other error is treated as a bug (dead letter).
type Channel interface {
	Name() string
	Send(ctx context.Context, d event.Delivery) (Receipt, error)
}

// Receipt is what the provider said when it accepted a delivery.
type Receipt struct {
	ProviderID string
	// Status is event.OutcomeSent or event.OutcomeDelivered.
	Status string
}

// Registry maps channel names to channels.
type Registry struct{ m map[string]Channel }

// NewRegistry builds a registry; a duplicate name is an error.
func NewRegistry(chs ...Channel) (*Registry, error) {
	r := &Registry{m: map[string]Channel{}}
	for _, c := range chs {
		if _, dup := r.m[c.Name()]; dup {
			return nil, fmt.Errorf("channels: %q registered twice", c.Name())
		}
		r.m[c.Name()] = c
	}
	return r, nil
}

// Get returns the channel by name.
func (r *Registry) Get(name string) (Channel, bool) {
	c, ok := r.m[name]
	return c, ok
}

// Names returns the registered channel names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type redeliveryKey struct{}

// WithRedelivery marks ctx as the send of a delivery that was tried
// before (re-queued, or redelivered by the bus after a crash). Only then
// can the provider already have it, so only then is a look-up by
// reference worth its call against the provider's rate limit.
func WithRedelivery(ctx context.Context, again bool) context.Context {
	return context.WithValue(ctx, redeliveryKey{}, again)
}

// Redelivery reports whether ctx is marked by WithRedelivery; true when
// unmarked, so that a caller that does not know errs on the safe side.
func Redelivery(ctx context.Context) bool {
	again, ok := ctx.Value(redeliveryKey{}).(bool)
	return !ok || again
}
