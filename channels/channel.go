// Package channels defines what an output channel is (email, SMS,
// Berichtenbox, print), how its errors are classified, and the registry the
// deliver stage looks channels up in. Each channel lives in a sub-package and
// must not import the router.
package channels

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// Channel sends one Delivery. Errors are wrapped with Temporary or Permanent;
// any other error is treated as a bug (dead letter).
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

// TemporaryError means: retry later (timeout, 429, 5xx). RetryAfter, when
// set, is the provider's hint.
type TemporaryError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *TemporaryError) Error() string { return "temporary: " + e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// PermanentError means: this channel will not reach this recipient (bad
// address, bounce, not subscribed); move on to the next channel in the plan.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Temporary wraps err as temporary.
func Temporary(err error, retryAfter time.Duration) error {
	return &TemporaryError{Err: err, RetryAfter: retryAfter}
}

// Permanent wraps err as permanent.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsTemporary reports whether err is classified temporary, and its hint.
func IsTemporary(err error) (bool, time.Duration) {
	var t *TemporaryError
	if errors.As(err, &t) {
		return true, t.RetryAfter
	}
	return false, 0
}

// IsPermanent reports whether err is classified permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
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
