// Package failure is Koerier's one vocabulary for what went wrong and what
// the pipeline should do about it. A peer client, a channel or a stage
// classifies an error once, where it knows why it failed, by wrapping it
// with one of four kinds; the router asks only this package (Classify) what
// to do. Nothing else classifies errors.
//
// The four kinds and how the pipeline handles them:
//
//   - Temporary (Temporary, RetryAfter, NotBefore, Later, Park): the peer or our
//     own backend may recover (timeout, connection refused, 429, 5xx, a
//     lease another replica holds). The router retries briefly in-process,
//     then re-queues the message with a growing delay, never sooner than
//     the failure's own hint, and dead-letters it with reason
//     "temporary-failure-exhausted" after the last step of the backoff.
//   - Permanent: this channel cannot reach this recipient this way (no
//     address, a bounce, not subscribed, a 4xx about the recipient). The
//     deliver stage records it and settle moves on to the next channel of
//     the plan; a permanent failure looking up a recipient dead-letters.
//   - Config: Koerier's own configuration is wrong (credentials, template
//     id, sender id, autorisaties). Neither a retry nor another channel can
//     help: the message is dead-lettered at once and logged at ERROR, so an
//     operator fixes the configuration and replays it.
//   - DeadLetter: retrying cannot help this message (malformed payload, a
//     rol that never appeared); it goes straight to koerier.deadletter with
//     its reason.
//
// An error that carries none of these is a bug or an answer nobody
// foresaw: the router dead-letters it without retrying. The one exception
// is the transport: an unclassified error that is a timeout or a network
// error (context.DeadlineExceeded, a net.Error such as *url.Error) counts as
// Temporary, so a path that forgot to classify a dropped connection still
// retries.
//
// Classification works through %w wrapping; when an error is wrapped more
// than once, the outermost kind wins, so a caller that knows better
// re-classifies by wrapping again (the router turns an exhausted Temporary
// into a DeadLetter). The wrappers add nothing to the message except
// DeadLetter, which prefixes its reason.
//
// A reason is a short, stable, machine-readable key in Dutch kebab-case
// ("initiator-rol-ontbreekt", "geen-adres"). It is used as a metrics label
// and in the dead-letter topic, so it must be a constant: never an id, an
// address, a status text or anything personal.
//
// This package imports nothing of Koerier's, so every peer client, channel
// and stage can use it.
package failure

import (
	"context"
	"errors"
	"net"
	"time"
)

// Kind says how the pipeline handles a failure.
type Kind int

const (
	// KindUnclassified: a nil error, or an error nobody classified (a bug).
	KindUnclassified Kind = iota
	// KindTemporary: retry later, honouring Info.RetryAfter and NotBefore.
	KindTemporary
	// KindPermanent: this channel cannot reach this recipient; try the next.
	KindPermanent
	// KindConfig: our configuration is wrong; dead letter and a loud log.
	KindConfig
	// KindDeadLetter: retrying cannot help; dead letter with Info.Reason.
	KindDeadLetter
)

// String returns the kind's name, which is also the reason of a failure
// classified without one.
func (k Kind) String() string {
	switch k {
	case KindTemporary:
		return "temporary"
	case KindPermanent:
		return "permanent"
	case KindConfig:
		return "config"
	case KindDeadLetter:
		return "deadletter"
	}
	return "unclassified"
}

// Info is what Classify found.
type Info struct {
	Kind Kind
	// Reason is the short machine reason the producer gave; empty when it
	// gave none (see the Reason function for a label that is never empty).
	Reason string
	// RetryAfter is a Temporary failure's hint: do not try again sooner.
	RetryAfter time.Duration
	// NotBefore is a Temporary failure's hint as a point in time.
	NotBefore time.Time
	// Parked is set on a Temporary failure that was no attempt at all: the
	// message was held back before it reached the peer (a rate limit, an
	// open circuit breaker, a daily send limit). The router re-queues it
	// without counting an attempt, so a wait of hours does not use up the
	// backoff meant for a peer that fails.
	Parked bool
}

// Wait is how long, seen from now, a Temporary failure asks the caller to
// wait at least: the larger of RetryAfter and the time until NotBefore, and
// never negative.
func (i Info) Wait(now time.Time) time.Duration {
	w := i.RetryAfter
	if !i.NotBefore.IsZero() {
		if d := i.NotBefore.Sub(now); d > w {
			w = d
		}
	}
	if w < 0 {
		return 0
	}
	return w
}

// classified is the one wrapper type behind every constructor, so that
// Classify finds the outermost classification with a single errors.As.
type classified struct {
	info Info
	err  error
}

func (c *classified) Error() string {
	if c.info.Kind == KindDeadLetter {
		return c.info.Reason + ": " + c.err.Error()
	}
	return c.err.Error()
}

func (c *classified) Unwrap() error { return c.err }

func wrap(info Info, err error) error {
	if err == nil {
		err = errors.New(info.Kind.String())
	}
	return &classified{info: info, err: err}
}

// Temporary marks err as a failure that may pass: retry later.
func Temporary(err error) error {
	return wrap(Info{Kind: KindTemporary}, err)
}

// RetryAfter marks err as temporary and asks not to retry within d (a
// peer's Retry-After, a lease's remaining time). d <= 0 is no hint.
func RetryAfter(err error, d time.Duration) error {
	return wrap(Info{Kind: KindTemporary, RetryAfter: max(d, 0)}, err)
}

// NotBefore marks err as temporary and asks not to retry before t.
func NotBefore(err error, t time.Time) error {
	return wrap(Info{Kind: KindTemporary, NotBefore: t}, err)
}

// Later marks err as a temporary failure the producer expected and names:
// a known race (the ZGW initiator rol created after the first status) or
// work another replica holds. The producer has decided, from its own
// attempt count, that another try after d is worthwhile; a stage that
// passes the attempt count on re-queues it itself instead of leaving it to
// the generic backoff.
func Later(reason string, d time.Duration, err error) error {
	return wrap(Info{Kind: KindTemporary, Reason: reason, RetryAfter: max(d, 0)}, err)
}

// Park marks err as a temporary failure that was not an attempt: the
// message waits until t (a rate limiter's turn, an open circuit breaker,
// Notify's daily limit that resets at midnight) and is then tried as if for
// the first time. reason is a short constant, as for Later. The router
// re-queues it without incrementing the attempt counter, so a park is never
// dead-lettered as "temporary-failure-exhausted".
func Park(reason string, t time.Time, err error) error {
	return wrap(Info{Kind: KindTemporary, Reason: reason, NotBefore: t, Parked: true}, err)
}

// Permanent marks err as: this channel or peer will not reach this
// recipient this way; try the next channel of the plan. reason is a short
// constant such as "geen-adres" or "ontvanger-geweigerd".
func Permanent(reason string, err error) error {
	return wrap(Info{Kind: KindPermanent, Reason: reason}, err)
}

// Config marks err as a fault in Koerier's own configuration (credentials,
// template ids, autorisaties): dead letter and a loud log. The error text
// should say what to check, and never contain a secret.
func Config(err error) error {
	return wrap(Info{Kind: KindConfig}, err)
}

// DeadLetter marks err as one no retry can fix: the message goes straight
// to the dead-letter topic, its error text prefixed with reason.
func DeadLetter(reason string, err error) error {
	return wrap(Info{Kind: KindDeadLetter, Reason: reason}, err)
}

// Classify reports how err is classified: by the outermost of the
// constructors above in its %w chain, else Temporary for a timeout or a
// network error, else KindUnclassified.
func Classify(err error) Info {
	if err == nil {
		return Info{}
	}
	var c *classified
	if errors.As(err, &c) {
		return c.info
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) {
		return Info{Kind: KindTemporary}
	}
	return Info{}
}

// Reason is the label for metrics and logs: the producer's reason, or the
// kind's name when it gave none ("temporary", "config", "unclassified");
// "" for a nil error.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	i := Classify(err)
	if i.Reason != "" {
		return i.Reason
	}
	return i.Kind.String()
}
