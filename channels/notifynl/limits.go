package notifynl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/ratelimit"
)

// What keeps Koerier a good citizen towards Notify, per service (API key):
// a limiter shared by all replicas (Notify's 3,000 requests per minute per
// key), a pause for every replica when Notify answers 429 anyway, a park
// until after midnight (Europe/Amsterdam) when the daily send limit is
// reached, and a circuit breaker that stops a retry storm against a Notify
// that answers 5xx or not at all. Each of these holds a message back
// before Notify is called: the message is re-queued with a delay
// (failure.Park), which is no attempt and holds no worker.

// Reasons of the parks, as the trail and the metrics show them.
const (
	ReasonRateLimit   = "notify-snelheidslimiet"
	ReasonDailyLimit  = "notify-daglimiet"
	ReasonBreakerOpen = "notify-storing-stroomonderbreker-open"
)

// ErrBreakerOpen is returned (wrapped in a park) while a service's circuit
// breaker is open.
var ErrBreakerOpen = errors.New("circuit breaker open: Notify failed repeatedly, not calling it until the next probe")

// BreakerSettings configure the circuit breaker of one service.
type BreakerSettings struct {
	// Failures is the number of consecutive 5xx answers or timeouts after
	// which the breaker opens (0: no breaker).
	Failures int
	// Interval is how long it stays open before one probe is let through.
	Interval time.Duration
}

// WithLimiter makes every API call (sends and look-ups) take a turn from
// l under key (one per API key, shared by all replicas on Redis).
func WithLimiter(l ratelimit.Limiter) Option { return func(c *Client) { c.limiter = l } }

// WithRetryAfterCap bounds how long a 429's Retry-After may hold a key back
// (default 5 minutes): a proxy answering "Retry-After: 86400" must not stop
// sending for a day.
func WithRetryAfterCap(d time.Duration) Option { return func(c *Client) { c.retryCap = d } }

// WithBreaker gives the client a circuit breaker (see BreakerSettings).
func WithBreaker(s BreakerSettings) Option { return func(c *Client) { c.breakerCfg = s } }

// WithService names the Notify service this client sends for, in metrics,
// logs and errors (default "default").
func WithService(name string) Option { return func(c *Client) { c.service = name } }

// WithMeter records the client's metrics (rate-limit waits, 429s, breaker
// state) on m.
func WithMeter(m metric.Meter) Option { return func(c *Client) { c.meter = m } }

// WithLogger logs breaker state changes and 429s.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

type guard struct {
	mu      sync.Mutex
	daily   map[string]time.Time // op -> parked until
	breaker *gobreaker.CircuitBreaker[struct{}]
	limited metric.Int64Counter
	// Counts since start, for Status (the admin API).
	calls, heldBack, tooMany, dailyHits, breakerParks atomic.Int64
	changedAt                                         atomic.Int64 // unix nanos of the last breaker state change
}

// setup finishes the guard after the options were applied.
func (c *Client) setupGuard() error {
	if c.service == "" {
		c.service = "default"
	}
	if c.retryCap <= 0 {
		c.retryCap = 5 * time.Minute
	}
	if c.meter == nil {
		c.meter = noop.NewMeterProvider().Meter("notifynl")
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.g = &guard{daily: map[string]time.Time{}}
	var err error
	if c.g.limited, err = c.meter.Int64Counter("koerier_notify_rate_limited_total",
		metric.WithDescription("Notify NL calls held back or refused for a limit, by service and kind (limiter: our own limiter made it wait; 429: Notify answered RateLimitError; daily: the daily send limit)")); err != nil {
		return err
	}
	if b := c.breakerCfg; b.Failures > 0 {
		if b.Interval <= 0 {
			b.Interval = 30 * time.Second
		}
		c.breakerCfg = b
		c.g.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name: c.service, MaxRequests: 1, Timeout: b.Interval,
			ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= uint32(b.Failures) },
			// Only an outage trips it: a 5xx, a timeout, a dropped
			// connection. A 4xx or a 429 is Notify working as designed.
			IsSuccessful: func(err error) bool { return !isOutage(err) },
			OnStateChange: func(name string, from, to gobreaker.State) {
				c.g.changedAt.Store(c.now().UnixNano())
				c.log.Warn("notify circuit breaker changed state", "service", name, "from", from.String(), "to", to.String())
			},
		})
		_, err = c.meter.Int64ObservableGauge("koerier_notify_breaker_state",
			metric.WithDescription("Circuit breaker of a Notify NL service: 0 closed, 1 half-open (one probe), 2 open."),
			metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(int64(c.BreakerState()), metric.WithAttributes(attribute.String("service", c.service)))
				return nil
			}))
		if err != nil {
			return err
		}
	}
	return nil
}

// BreakerState is the circuit breaker's state: 0 closed (or no breaker),
// 1 half-open, 2 open.
func (c *Client) BreakerState() int {
	if c.g == nil || c.g.breaker == nil {
		return 0
	}
	switch c.g.breaker.State() {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}

// Service is the name of the Notify service the client sends for.
func (c *Client) Service() string { return c.service }

// isOutage reports whether err means Notify is down rather than saying no.
func isOutage(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500
	}
	return failure.Classify(err).Kind == failure.KindTemporary
}

// limitKey is the limiter's key for this API key: service id and key name,
// never the secret.
func (c *Client) limitKey() string { return "notify:" + c.key.ServiceID + ":" + c.key.Name }

// before holds a call back when the daily limit, the breaker or the
// limiter says so.
func (c *Client) before(ctx context.Context, op string) error {
	now := c.now()
	c.g.mu.Lock()
	until := c.g.daily[op]
	c.g.mu.Unlock()
	if now.Before(until) {
		return failure.Park(ReasonDailyLimit, until, fmt.Errorf("notifynl: %s: service %s reached its daily send limit; parked until %s", op, c.service, until.In(clock.Amsterdam).Format("2006-01-02 15:04")))
	}
	if c.g.breaker != nil && c.g.breaker.State() == gobreaker.StateOpen {
		c.g.breakerParks.Add(1)
		return c.breakerPark(op)
	}
	if c.limiter != nil {
		wait, err := c.limiter.Take(ctx, c.limitKey())
		if err != nil {
			return failure.Temporary(fmt.Errorf("notifynl: %s: %w", op, err))
		}
		if wait > 0 {
			c.g.heldBack.Add(1)
			c.g.limited.Add(ctx, 1, metric.WithAttributes(attribute.String("service", c.service), attribute.String("kind", "limiter")))
			// Spread the parked messages over the wait, so they do not
			// all come back at the same instant for one turn.
			wait += time.Duration(now.UnixNano() % int64(wait+1))
			return failure.Park(ReasonRateLimit, now.Add(wait), fmt.Errorf("notifynl: %s: rate limit of service %s reached; waiting %s", op, c.service, wait.Round(time.Millisecond)))
		}
	}
	return nil
}

func (c *Client) breakerPark(op string) error {
	return failure.Park(ReasonBreakerOpen, c.now().Add(c.breakerCfg.Interval),
		fmt.Errorf("notifynl: %s: service %s: %w", op, c.service, ErrBreakerOpen))
}

// guarded runs call through the circuit breaker, if there is one.
func (c *Client) guarded(op string, call func() error) error {
	call = func(call func() error) func() error {
		return func() error { c.g.calls.Add(1); return call() }
	}(call)
	if c.g.breaker == nil {
		return call()
	}
	_, err := c.g.breaker.Execute(func() (struct{}, error) { return struct{}{}, call() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		c.g.breakerParks.Add(1)
		return c.breakerPark(op)
	}
	return err
}

// tooMany handles a 429. Notify answers it in two shapes: RateLimitError
// (or TooManyRequestsError with the same "requests per 60 seconds" text)
// for the per-minute limit, and TooManyRequestsError "Exceeded send limits
// (N) for today" for the daily limit of a service.
func (c *Client) tooMany(ctx context.Context, op string, e *APIError) error {
	if e.has("Exceeded send limits") || strings.Contains(strings.ToLower(e.Error()), "for today") {
		until := nextMidnight(c.now())
		c.g.mu.Lock()
		c.g.daily[op] = until
		c.g.mu.Unlock()
		c.g.dailyHits.Add(1)
		c.g.limited.Add(ctx, 1, metric.WithAttributes(attribute.String("service", c.service), attribute.String("kind", "daily")))
		c.log.WarnContext(ctx, "Notify daily send limit reached: parking messages until after midnight", "service", c.service, "op", op, "until", until.UTC().Format(time.RFC3339))
		return failure.Park(ReasonDailyLimit, until, fmt.Errorf("%w; parked until %s", e, until.In(clock.Amsterdam).Format("2006-01-02 15:04")))
	}
	c.g.tooMany.Add(1)
	c.g.limited.Add(ctx, 1, metric.WithAttributes(attribute.String("service", c.service), attribute.String("kind", "429")))
	wait := min(e.RetryAfter, c.retryCap)
	if wait <= 0 {
		wait = min(10*time.Second, c.retryCap)
	}
	if c.limiter != nil {
		// Every replica pauses this key, not only the one Notify told.
		if err := c.limiter.Slow(ctx, c.limitKey(), wait); err != nil {
			c.log.WarnContext(ctx, "could not pause the Notify rate limiter", "err", err)
		}
	}
	return failure.RetryAfter(e, wait)
}

// nextMidnight is the first moment of the next day in Europe/Amsterdam
// (when Notify's daily limits reset for a Dutch service), plus a minute so
// that a clock a little behind Notify's does not meet the old day's limit.
func nextMidnight(now time.Time) time.Time {
	a := now.In(clock.Amsterdam)
	return time.Date(a.Year(), a.Month(), a.Day()+1, 0, 1, 0, 0, clock.Amsterdam)
}

// Status is what the admin API shows of one Notify service: its circuit
// breaker, its daily-limit parks and how much of the limiter this replica
// used since it started.
type Status struct {
	Service string `json:"service"`
	// Breaker is closed, half-open or open ("" without a breaker).
	Breaker             string    `json:"breaker"`
	BreakerSince        time.Time `json:"breakerSince,omitzero"`
	ConsecutiveFailures uint32    `json:"consecutiveFailures"`
	BreakerFailures     int       `json:"breakerFailures"`
	BreakerInterval     string    `json:"breakerInterval,omitempty"`
	// ParkedUntil is, per operation (email, sms), until when the daily
	// send limit parks it; empty when no daily limit was hit.
	ParkedUntil map[string]time.Time `json:"parkedUntil,omitempty"`
	// LimiterKey is the limiter's key (service id and key name, no secret).
	LimiterKey string `json:"limiterKey"`
	// Counts since this replica started.
	Calls        int64 `json:"calls"`
	HeldBack     int64 `json:"heldBackByLimiter"`
	TooMany      int64 `json:"answered429"`
	DailyLimit   int64 `json:"dailyLimitHits"`
	BreakerParks int64 `json:"parkedByBreaker"`
}

// Status reports the service's guard state now.
func (c *Client) Status() Status {
	st := Status{Service: c.service, LimiterKey: c.limitKey(), Calls: c.g.calls.Load(), HeldBack: c.g.heldBack.Load(),
		TooMany: c.g.tooMany.Load(), DailyLimit: c.g.dailyHits.Load(), BreakerParks: c.g.breakerParks.Load()}
	if b := c.g.breaker; b != nil {
		st.Breaker = b.State().String()
		st.ConsecutiveFailures = b.Counts().ConsecutiveFailures
		st.BreakerFailures, st.BreakerInterval = c.breakerCfg.Failures, c.breakerCfg.Interval.String()
		if t := c.g.changedAt.Load(); t != 0 {
			st.BreakerSince = time.Unix(0, t).UTC()
		}
	}
	now := c.now()
	c.g.mu.Lock()
	for op, until := range c.g.daily {
		if now.Before(until) {
			if st.ParkedUntil == nil {
				st.ParkedUntil = map[string]time.Time{}
			}
			st.ParkedUntil[op] = until.UTC()
		}
	}
	c.g.mu.Unlock()
	return st
}
