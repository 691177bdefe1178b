package router

import (
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/internal/failure"
)

// Errors are classified once, where they arise, with the failure package
// (see its doc for what each kind means); the router asks only
// failure.Classify. temporary and deadLetter are the stages' short names for
// its constructors.

func temporary(err error) error { return failure.Temporary(err) }

func deadLetter(reason string, err error) error { return failure.DeadLetter(reason, err) }

// isTemporary reports whether the quick retry and the re-queue apply.
func isTemporary(err error) bool {
	return failure.Classify(err).Kind == failure.KindTemporary
}

// MetaAttempt is the metadata key of the router's re-queue counter; a
// dead-letter replay removes it so the message gets the full backoff again.
const MetaAttempt = "koerier_attempt"

const attemptKey = MetaAttempt

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
		if hint := failure.Classify(err).Wait(r.d.Now()); hint > wait {
			wait = hint
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
