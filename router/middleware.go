package router

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
)

// The middleware stack, first is outermost (router.New):
//
//	trace → poison queue → dead-letter trail → re-queue → quick retry → recoverer → dedup (per stage) → stage
//
// Every error the stage returns is classified once with the failure
// package. A temporary one is retried in-process a few times, then
// re-queued with a delay; anything else, and a temporary failure that
// outlasts the backoff, is dead-lettered.

// dedup makes a redelivered message that was already handled a cheap no-op.
// It is ours, not watermill's middleware.Deduplicator: that one marks the
// key in ExpiringKeyRepository.IsDuplicate *before* the handler runs and
// never unmarks it, so a handler that fails (a peer down, a crash) would
// turn its own retry or re-queue into a "duplicate" and the message would be
// lost. Here the key is looked up before the handler and set in the store
// only after it succeeded. Two copies handled at the same moment may both
// run: the marker is an optimisation, exactly-once sending comes from
// deterministic ids, the deliver stage's lease and the provider reference.
func (r *Router) dedup(key func(*message.Message) (string, error)) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			k, err := key(msg)
			if err != nil || k == "" {
				return h(msg)
			}
			k = "done:" + k
			if _, ok, err := r.d.Store.Get(msg.Context(), k); err == nil && ok {
				r.log.DebugContext(msg.Context(), "duplicate message ignored", "key", k)
				return nil, nil
			}
			out, err := h(msg)
			if err != nil {
				return out, err
			}
			if err := r.d.Store.Set(msg.Context(), k, []byte{1}, r.o.MarkerTTL); err != nil {
				r.log.WarnContext(msg.Context(), "could not set done marker", "key", k, "err", err)
			}
			return out, nil
		}
	}
}

// quickRetry reports whether the in-process retry applies: a temporary
// failure that did not ask for a wait and is not a peer's HTTP answer. A
// peer that answered 5xx or 429 is up but unwell; calling it again within
// milliseconds does not help it, and each attempt should be one WARN line:
// the re-queue backs off instead. The quick retry is for blips of our own
// (store, bus) and dropped connections.
func (r *Router) quickRetry(err error) bool {
	f := failure.Classify(err)
	if f.Kind != failure.KindTemporary || f.Reason != "" || f.Wait(r.d.Now()) > 0 {
		return false
	}
	_, status := peerOf(err)
	return status == 0
}

// requeue re-publishes a message whose handler failed with a temporary error
// (after the quick retries) to its own topic with a delay and MetaAttempt
// incremented, and acknowledges the original: a peer that is down for an
// hour must not hold a worker for an hour. The wait is the step of
// Options.TemporaryBackoff for this attempt, or the peer's Retry-After if
// longer; after the last step the error goes on to be dead-lettered.
//
// An error that names its reason and its own wait (failure.Later: the ZGW
// rol race, a taak another replica handles) is paced by the peer client that
// returned it, which also decides when to give up (it reads the same counter
// as event.Inbound.Attempt). A parked failure (failure.Park: held back by
// a rate limiter, an open circuit breaker or a daily limit before the peer
// was called) is re-queued for its own time without counting an attempt.
func (r *Router) requeue(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		f := failure.Classify(err)
		if err == nil || f.Kind != failure.KindTemporary {
			return out, err
		}
		ctx := msg.Context()
		n := attempt(msg)
		steps := len(r.o.TemporaryBackoff)
		var wait = f.Wait(r.d.Now())
		if f.Reason == "" {
			if n >= steps {
				return nil, deadLetter("temporary-failure-exhausted", fmt.Errorf("gave up after %d attempts: %w", n+1, err))
			}
			wait = max(wait, r.o.TemporaryBackoff[n])
		}
		next := r.d.Now().Add(wait)
		topic := message.SubscribeTopicFromCtx(ctx)
		cp := msg.Copy()
		cp.SetContext(ctx)
		counted := n + 1
		if f.Parked {
			// Held back before the peer was called (rate limit, open
			// breaker, daily limit): not an attempt, so a park of hours
			// leaves the backoff for real failures intact.
			counted = n
		}
		cp.Metadata.Set(MetaAttempt, strconv.Itoa(counted))
		setDue(cp, next)
		if perr := r.pub.Publish(topic, cp); perr != nil {
			return nil, fmt.Errorf("re-queue after %v: %w", err, perr)
		}
		refs := refsFrom(ctx)
		r.metrics.requeued.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", refs.Stage)))
		peer, status := peerOf(err)
		args := []any{"attempt", n + 1, "next_attempt", next.UTC().Format("2006-01-02T15:04:05Z"), "peer", peer}
		if status != 0 {
			args = append(args, "http_status", status)
		}
		if f.Reason != "" {
			args = append(args, "reason", f.Reason)
		}
		r.log.WarnContext(ctx, "temporary failure, re-queued", append(args, "err", err)...)

		detail := fmt.Sprintf("tijdelijke fout bij poging %d van %d; volgende poging om %s", n+1, steps+1, next.In(amsterdam).Format("02-01-2006 15:04:05"))
		if f.Reason != "" {
			detail = fmt.Sprintf("%s (poging %d); volgende poging om %s", f.Reason, n+1, next.In(amsterdam).Format("02-01-2006 15:04:05"))
		}
		if f.Parked {
			detail = fmt.Sprintf("geparkeerd (%s), telt niet als poging; volgende poging om %s", f.Reason, next.In(amsterdam).Format("02-01-2006 15:04:05"))
		}
		if peer != "" {
			detail += "; " + peer
			if status != 0 {
				detail += fmt.Sprintf(" antwoordde %d", status)
			}
		}
		// The message is on the bus again: a ledger failure must not fail
		// the handler now, or the re-queue would happen twice.
		if lerr := r.record(ctx, fill(store.Record{Status: "requeued", Detail: detail + ": " + err.Error()}, refs)); lerr != nil {
			r.log.WarnContext(ctx, "could not record the re-queue in the ledger", "err", lerr)
		}
		return nil, nil
	}
}

// deadLetterTrail writes the ledger line and the log line for a message
// that is about to be dead-lettered (the poison queue middleware around it
// moves it to koerier.deadletter), so `koerier trail` ends with why.
func (r *Router) deadLetterTrail(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil {
			return out, nil
		}
		ctx := msg.Context()
		refs := refsFrom(ctx)
		reason := failure.Reason(err)
		defer func() {
			r.metrics.deadLettered.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", refs.Stage), attribute.String("reason", reasonLabel(reason))))
		}()
		if isConfig(err) {
			// Our fault, not the peer's: the one loud line an operator needs.
			if failure.Classify(err).Kind == failure.KindConfig {
				err = deadLetter("configuratiefout", err)
				reason = failure.Reason(err)
			}
			r.log.ErrorContext(ctx, "configuration error: fix the configuration, then replay the dead letter", "reason", reason, "err", err)
		} else {
			r.log.ErrorContext(ctx, "dead-lettered", "reason", reason, "attempt", refs.Attempt+1, "err", err)
		}
		detail := fmt.Sprintf("naar de dead letters (%s) na poging %d: %v", reason, refs.Attempt+1, err)
		if lerr := r.record(ctx, fill(store.Record{Status: "deadletter", Detail: detail}, refs)); lerr != nil {
			r.log.WarnContext(ctx, "could not record the dead letter in the ledger", "err", lerr)
		}
		return out, err
	}
}

// isConfig reports whether a configuration error is anywhere in err's
// chain (a stage may wrap one as a dead letter with its own reason).
func isConfig(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if failure.Classify(e).Kind == failure.KindConfig {
			return true
		}
	}
	return false
}

// reasonLabel bounds a failure reason for a metric label.
func reasonLabel(reason string) string {
	if len(reason) > 40 || strings.ContainsAny(reason, " /:") {
		return "other"
	}
	return reason
}

// peerOf names the peer and HTTP status of a failed call, where the peer
// client says so, for the one WARN line per attempt.
func peerOf(err error) (peer string, status int) {
	var se *zgw.StatusError
	var ke *klant.HTTPError
	switch {
	case errors.As(err, &se):
		if u, perr := url.Parse(se.URL); perr == nil {
			return u.Host, se.Status
		}
		return "zgw", se.Status
	case errors.As(err, &ke):
		return "openklant", ke.StatusCode
	}
	var sc interface{ HTTPStatus() int }
	if errors.As(err, &sc) {
		status = sc.HTTPStatus()
	}
	if i := strings.Index(err.Error(), ":"); i > 0 && i < 20 {
		peer = err.Error()[:i]
	}
	return peer, status
}
