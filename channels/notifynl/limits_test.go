package notifynl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/ratelimit"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
)

// Both 429 shapes honour Retry-After up to the cap and pause the key in
// the limiter, so the next call waits without reaching Notify.
func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	for name, rule := range map[string]func(int, time.Duration) fault.Rule{
		"RateLimitError":       notify.RateLimitFault,
		"TooManyRequestsError": notify.TooManyRequestsFault,
	} {
		t.Run(name, func(t *testing.T) {
			clk := clock.NewFake(clock.WorkingDay)
			f := newFake(t, func(o *notify.Options) { o.Now = clk.Now })
			lim := ratelimit.NewLocal(ratelimit.Limit{Requests: 3000, Per: time.Minute, Margin: 0.02}, clk.Now)
			c := f.client(t, WithClock(clk.Now), WithLimiter(lim), WithRetryAfterCap(2*time.Minute))
			f.faults.Add(rule(1, 45*time.Second))
			_, err := c.SendEmail(context.Background(), emailReq())
			info := failure.Classify(err)
			if info.Kind != failure.KindTemporary || info.RetryAfter != 45*time.Second || info.Parked {
				t.Fatalf("429: %+v (%v), want a temporary failure after 45s", info, err)
			}
			n := len(f.fake.Requests())
			_, err = c.SendEmail(context.Background(), emailReq())
			if info := failure.Classify(err); !info.Parked || info.Reason != ReasonRateLimit || info.Wait(clk.Now()) < 40*time.Second {
				t.Fatalf("next send: %+v (%v), want parked by the limiter for the Retry-After", info, err)
			}
			if len(f.fake.Requests()) != n {
				t.Fatal("the paused key still called Notify")
			}
			clk.Advance(46 * time.Second)
			if _, err := c.SendEmail(context.Background(), emailReq()); err != nil {
				t.Fatalf("after the pause: %v", err)
			}
			// A Retry-After of a day is capped.
			f.faults.Add(rule(1, 24*time.Hour))
			_, err = c.SendEmail(context.Background(), emailReq())
			if got := failure.Classify(err).RetryAfter; got != 2*time.Minute {
				t.Fatalf("Retry-After of a day held %v, want the cap of 2m", got)
			}
		})
	}
}

// The daily limit parks sends until after midnight in Amsterdam, without
// calling Notify again, and sends resume the next day.
func TestDailyLimitParksUntilMidnight(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 9, 22, 30, 0, 0, clock.Amsterdam))
	f := newFake(t, func(o *notify.Options) { o.Now = clk.Now })
	c := f.client(t, WithClock(clk.Now))
	f.faults.Add(notify.DailyLimitFault(1, 1000))
	_, err := c.SendEmail(context.Background(), emailReq())
	info := failure.Classify(err)
	want := time.Date(2026, 6, 10, 0, 1, 0, 0, clock.Amsterdam)
	if !info.Parked || info.Reason != ReasonDailyLimit || !info.NotBefore.Equal(want) {
		t.Fatalf("daily limit: %+v (%v), want parked until %v", info, err, want)
	}
	n := len(f.fake.Requests())
	if _, err := c.SendEmail(context.Background(), emailReq()); !failure.Classify(err).Parked || len(f.fake.Requests()) != n {
		t.Fatalf("second send before midnight: %v, %d requests (want parked without a call)", err, len(f.fake.Requests())-n)
	}
	// SMS has its own limit: not parked.
	if _, err := c.SendSMS(context.Background(), SMSRequest{PhoneNumber: "+31612345678", TemplateID: smsTemplate, Personalisation: map[string]any{"zaak": "Z-1"}}); err != nil {
		t.Fatalf("sms during the email park: %v", err)
	}
	clk.Set(want.Add(time.Second))
	if _, err := c.SendEmail(context.Background(), emailReq()); err != nil {
		t.Fatalf("after midnight: %v", err)
	}
}

// After N consecutive 5xx the breaker opens: sends are parked without
// calling Notify; after the interval one probe goes through and closes it.
func TestBreakerOpensAfterConsecutiveServerErrors(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(t, WithBreaker(BreakerSettings{Failures: 3, Interval: 200 * time.Millisecond}), WithHTTPOptions(fastRetriesNone))
	f.faults.Add(notify.ServerErrorFault(0))
	for i := range 3 {
		_, err := c.SendEmail(context.Background(), emailReq())
		if info := failure.Classify(err); info.Kind != failure.KindTemporary || info.Parked {
			t.Fatalf("call %d: %+v", i+1, info)
		}
	}
	if c.BreakerState() != 2 {
		t.Fatalf("breaker state %d after 3 5xx, want open (2)", c.BreakerState())
	}
	n := len(f.fake.Requests())
	for range 10 {
		_, err := c.SendEmail(context.Background(), emailReq())
		if info := failure.Classify(err); !info.Parked || info.Reason != ReasonBreakerOpen || !errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("open breaker: %+v %v", info, err)
		}
		if !strings.Contains(err.Error(), "circuit breaker open") {
			t.Fatalf("error %q does not say the breaker is open", err)
		}
	}
	if got := len(f.fake.Requests()) - n; got != 0 {
		t.Fatalf("%d calls reached Notify while the breaker was open", got)
	}
	f.faults.Clear()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.SendEmail(context.Background(), emailReq())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker never let a probe through: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c.BreakerState() != 0 {
		t.Fatalf("breaker state %d after a good probe", c.BreakerState())
	}
}

// A first send skips the reference look-up; a redelivery does it.
func TestLookupOnlyOnRedelivery(t *testing.T) {
	f := newFake(t, nil)
	ch := EmailChannel(f.client(t))
	d := delivery("first-send", "inwoner@example.nl", "")
	if _, err := ch.Send(channels.WithRedelivery(context.Background(), false), d); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.fake.Requests() {
		if r.Method == "GET" {
			t.Fatalf("first send looked up the reference: %+v", r)
		}
	}
	if _, err := ch.Send(channels.WithRedelivery(context.Background(), true), d); err != nil {
		t.Fatal(err)
	}
	if len(f.fake.Sent()) != 1 {
		t.Fatalf("redelivery sent again: %d sent", len(f.fake.Sent()))
	}
}

func emailReq() EmailRequest {
	return EmailRequest{EmailAddress: "inwoner@example.nl", TemplateID: emailTemplate, Personalisation: map[string]any{"naam": "J. Jansen", "zaak": "Z-1"}}
}

// fastRetriesNone makes one HTTP call per send, so the breaker counts calls.
var fastRetriesNone = httpclient.Options{RetryMax: -1, Timeout: 5 * time.Second}

// Two services with their own keys: a message naming the second goes out
// with the second key (Notify records its service), the default with the
// first; an unknown service is a configuration error.
func TestTwoServicesTheirOwnKeys(t *testing.T) {
	second := notify.NewKey("koerier_vergunningen")
	f := newFake(t, func(o *notify.Options) { o.Keys = append(o.Keys, second) })
	first := f.client(t, WithService("default"))
	c2, err := New(f.url, second.String(), nil, WithHTTPOptions(fastRetries), WithService("vergunningen"), WithEmailReplyToID("8e222534-7f05-4972-86e3-17c5d9f894e2"))
	if err != nil {
		t.Fatal(err)
	}
	ch := EmailChannel(first, c2)
	ctx := channels.WithRedelivery(context.Background(), false)
	d := delivery("to-second", "inwoner@example.nl", "")
	d.Decision.NotifyService = "vergunningen"
	if _, err := ch.Send(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Send(ctx, delivery("to-default", "inwoner@example.nl", "")); err != nil {
		t.Fatal(err)
	}
	sent := f.fake.Sent()
	if len(sent) != 2 || sent[0].ServiceID != second.ServiceID || sent[1].ServiceID != f.key.ServiceID {
		t.Fatalf("sent %+v, want the first by service %s and the second by %s", sent, second.ServiceID, f.key.ServiceID)
	}
	if sent[0].ReplyToID != "8e222534-7f05-4972-86e3-17c5d9f894e2" || sent[1].ReplyToID != "" {
		t.Fatalf("reply-to ids %q and %q", sent[0].ReplyToID, sent[1].ReplyToID)
	}
	d.Decision.NotifyService = "onbekend"
	if _, err := ch.Send(ctx, d); failure.Classify(err).Kind != failure.KindConfig {
		t.Fatalf("unknown service: %v, want a configuration error", err)
	}
}
