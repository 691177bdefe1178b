// Package httpclient builds the one kind of *http.Client every outbound call
// of Koerier uses: go-retryablehttp for retries with backoff (honouring
// Retry-After, capped), otelhttp for trace propagation, and sane timeouts.
// Peer clients (internal/zgw, internal/klant, channels/notifynl, ...) take
// the result in their constructors.
package httpclient

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/mijnservices/koerier/internal/telemetry"
)

// Options tune a client. The zero value is usable.
type Options struct {
	// Timeout per attempt (default 10s).
	Timeout time.Duration
	// RetryMax is the number of retries after the first attempt (default 3;
	// negative disables retries).
	RetryMax int
	// RetryWaitMin/Max bound the backoff between attempts (defaults 200ms/5s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter caps a server's Retry-After hint (default 30s): a longer
	// hint is not slept on in-process; the caller gets the response and
	// re-queues instead of holding a worker.
	MaxRetryAfter time.Duration
	// PrepareRetry is called before every retry, e.g. to mint a fresh JWT.
	PrepareRetry func(*http.Request) error
	// Transport is the base transport (default http.DefaultTransport clone);
	// set it for mTLS.
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// New returns an *http.Client that retries connection errors with backoff
// and 429/503 answers that carry a short Retry-After, and on the final
// failure returns the last response unchanged (PassthroughErrorHandler) so the caller can classify it.
func New(o Options) *http.Client {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = 3
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = 200 * time.Millisecond
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = 5 * time.Second
	}
	if o.MaxRetryAfter == 0 {
		o.MaxRetryAfter = 30 * time.Second
	}
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	rc := retryablehttp.NewClient()
	// Trace context only, never baggage: whatever a caller sent us must not
	// reach a peer (see telemetry.Propagator).
	rc.HTTPClient = &http.Client{Transport: otelhttp.NewTransport(base, otelhttp.WithPropagators(telemetry.Propagator)), Timeout: o.Timeout}
	rc.RetryMax = o.RetryMax
	rc.RetryWaitMin = o.RetryWaitMin
	rc.RetryWaitMax = o.RetryWaitMax
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	// retryablehttp logs every attempt and its final give-up at ERROR
	// (about a dozen lines per failing call), without the notification the
	// call was for. The caller classifies the final answer and the router
	// logs one WARN per attempt with the peer and status, so the client's
	// own chatter is DEBUG.
	rc.Logger = nil
	if o.Logger != nil {
		rc.Logger = debugLogger{o.Logger}
	}
	maxRA := o.MaxRetryAfter
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		// A peer that answers 5xx or 429 is up but unwell. Retrying it a few
		// times within seconds rarely helps and multiplied with the
		// router's attempts (a dozen calls per attempt); the caller
		// classifies the answer as temporary and the router re-queues it
		// with minutes of backoff and one WARN line. Only an answer that
		// says when to come back (Retry-After within our cap) is waited
		// for here; a longer hint is not worth holding a worker for.
		if err == nil && resp != nil && (resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests) {
			hinted := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
			if ra := RetryAfter(resp); !hinted || ra == 0 || ra > maxRA {
				return false, nil
			}
		}
		// DefaultRetryPolicy, not ErrorPropagatedRetryPolicy: the latter
		// turns a final 5xx/429 into an error, and the standard client then
		// drops the response ("RoundTripper returned a response & error"),
		// so the caller could not read the peer's error body or Retry-After.
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	rc.Backoff = func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if ra := RetryAfter(resp); ra > 0 && ra <= maxRA {
			return ra
		}
		return retryablehttp.DefaultBackoff(min, max, attempt, nil)
	}
	if o.PrepareRetry != nil {
		rc.PrepareRetry = o.PrepareRetry
	}
	return rc.StandardClient()
}

// RetryAfter parses a Retry-After header (seconds or HTTP date); 0 if absent.
func RetryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// debugLogger is a retryablehttp.LeveledLogger that logs everything at
// DEBUG.
type debugLogger struct{ l *slog.Logger }

func (d debugLogger) Error(msg string, kv ...any) { d.l.Debug(msg, kv...) }
func (d debugLogger) Info(msg string, kv ...any)  { d.l.Debug(msg, kv...) }
func (d debugLogger) Debug(msg string, kv ...any) { d.l.Debug(msg, kv...) }
func (d debugLogger) Warn(msg string, kv ...any)  { d.l.Debug(msg, kv...) }
