package router

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/channels"
)

// Errors are classified once, where they arise, into three kinds:
//   - temporary: the peer or our backend may recover (5xx, timeout, 429);
//     retried quickly in-process, then re-queued with a growing delay, then
//     dead-lettered;
//   - dead letter: retrying cannot help (configuration error, malformed
//     payload, rol never appeared); goes straight to koerier.deadletter with
//     the reason;
//   - anything else is a bug and is dead-lettered too, after the recoverer
//     turned a panic into an error.
type temporaryError struct {
	err   error
	after time.Duration
}

func (e *temporaryError) Error() string { return e.err.Error() }
func (e *temporaryError) Unwrap() error { return e.err }

func temporary(err error) error { return &temporaryError{err: err} }

// deadLetterError sends the message to the dead-letter topic with Reason.
type deadLetterError struct {
	Reason string
	err    error
}

func (e *deadLetterError) Error() string { return e.Reason + ": " + e.err.Error() }
func (e *deadLetterError) Unwrap() error { return e.err }

func deadLetter(reason string, err error) error { return &deadLetterError{Reason: reason, err: err} }

// isTemporary is the single place that knows every package's temporary
// error type.
func isTemporary(err error) bool {
	if err == nil {
		return false
	}
	var dl *deadLetterError
	if errors.As(err, &dl) {
		return false
	}
	var t *temporaryError
	if errors.As(err, &t) {
		return true
	}
	if ok, _ := channels.IsTemporary(err); ok {
		return true
	}
	return peerTemporary(err)
}

const attemptKey = "koerier_attempt"

// requeueMiddleware re-publishes a message whose handler failed with a
// temporary error (after the quick retries) to its own topic with a delay,
// and acknowledges the original: a peer that is down for an hour must not
// hold a worker for an hour. After the last step of the backoff the error
// goes on to the dead-letter middleware.
func (r *Router) requeueMiddleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil || !isTemporary(err) {
			return out, err
		}
		attempt, _ := strconv.Atoi(msg.Metadata.Get(attemptKey))
		if attempt >= len(r.o.TemporaryBackoff) {
			return nil, deadLetter("temporary-failure-exhausted", fmt.Errorf("gave up after %d re-queues: %w", attempt, err))
		}
		wait := r.o.TemporaryBackoff[attempt]
		var te *temporaryError
		if errors.As(err, &te) && te.after > wait {
			wait = te.after
		}
		if ok, ra := channels.IsTemporary(err); ok && ra > wait {
			wait = ra
		}
		topic := message.SubscribeTopicFromCtx(msg.Context())
		cp := msg.Copy()
		cp.SetContext(msg.Context())
		cp.Metadata.Set(attemptKey, strconv.Itoa(attempt+1))
		setDue(cp, r.d.Now().Add(wait))
		if perr := r.pub.Publish(topic, cp); perr != nil {
			return nil, fmt.Errorf("re-queue after %v: %w", err, perr)
		}
		r.metrics.requeued.Add(msg.Context(), 1)
		r.log.WarnContext(msg.Context(), "temporary failure, re-queued", "topic", topic, "attempt", attempt+1, "wait", wait.String(), "err", err)
		return nil, nil
	}
}
