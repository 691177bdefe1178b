package failure

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	base := errors.New("notifynl: send email: 400 BadRequestError: email_address Not a valid email address")
	at := time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		err    error
		want   Info
		reason string
		text   string
	}{
		{name: "nil", err: nil, want: Info{}, reason: "", text: ""},
		{name: "unclassified", err: base, want: Info{}, reason: "unclassified", text: base.Error()},
		{name: "temporary", err: Temporary(base), want: Info{Kind: KindTemporary}, reason: "temporary", text: base.Error()},
		{name: "retry after", err: RetryAfter(base, time.Minute), want: Info{Kind: KindTemporary, RetryAfter: time.Minute}, reason: "temporary", text: base.Error()},
		{name: "retry after negative is no hint", err: RetryAfter(base, -time.Second), want: Info{Kind: KindTemporary}, reason: "temporary", text: base.Error()},
		{name: "not before", err: NotBefore(base, at), want: Info{Kind: KindTemporary, NotBefore: at}, reason: "temporary", text: base.Error()},
		{name: "later", err: Later("initiator-rol-ontbreekt", 10*time.Second, base), want: Info{Kind: KindTemporary, Reason: "initiator-rol-ontbreekt", RetryAfter: 10 * time.Second}, reason: "initiator-rol-ontbreekt", text: base.Error()},
		{name: "park", err: Park("notify-daglimiet", at, base), want: Info{Kind: KindTemporary, Reason: "notify-daglimiet", NotBefore: at, Parked: true}, reason: "notify-daglimiet", text: base.Error()},
		{name: "permanent", err: Permanent("ongeldig-adres", base), want: Info{Kind: KindPermanent, Reason: "ongeldig-adres"}, reason: "ongeldig-adres", text: base.Error()},
		{name: "permanent without reason", err: Permanent("", base), want: Info{Kind: KindPermanent}, reason: "permanent", text: base.Error()},
		{name: "config", err: Config(base), want: Info{Kind: KindConfig}, reason: "config", text: base.Error()},
		{name: "dead letter", err: DeadLetter("malformed-inbound", base), want: Info{Kind: KindDeadLetter, Reason: "malformed-inbound"}, reason: "malformed-inbound", text: "malformed-inbound: " + base.Error()},
		{name: "through %w", err: fmt.Errorf("email: %w", Permanent("ongeldig-adres", base)), want: Info{Kind: KindPermanent, Reason: "ongeldig-adres"}, reason: "ongeldig-adres", text: "email: " + base.Error()},
		{name: "through errors.Join", err: errors.Join(errors.New("other"), Config(base)), want: Info{Kind: KindConfig}, reason: "config", text: "other\n" + base.Error()},
		{name: "outermost wins", err: DeadLetter("temporary-failure-exhausted", fmt.Errorf("gave up: %w", RetryAfter(base, time.Hour))), want: Info{Kind: KindDeadLetter, Reason: "temporary-failure-exhausted"}, reason: "temporary-failure-exhausted", text: "temporary-failure-exhausted: gave up: " + base.Error()},
		{name: "deadline exceeded is temporary", err: fmt.Errorf("zgw: get: %w", context.DeadlineExceeded), want: Info{Kind: KindTemporary}, reason: "temporary", text: "zgw: get: context deadline exceeded"},
		{name: "network error is temporary", err: &url.Error{Op: "Get", URL: "http://openzaak", Err: errors.New("connection refused")}, want: Info{Kind: KindTemporary}, reason: "temporary", text: `Get "http://openzaak": connection refused`},
		{name: "explicit kind beats the network fallback", err: Permanent("ongeldige-url", &url.Error{Op: "parse", URL: "::", Err: errors.New("missing protocol scheme")}), want: Info{Kind: KindPermanent, Reason: "ongeldige-url"}, reason: "ongeldige-url", text: `parse "::": missing protocol scheme`},
		{name: "canceled is not temporary", err: fmt.Errorf("x: %w", context.Canceled), want: Info{}, reason: "unclassified", text: "x: context canceled"},
		{name: "nil cause", err: Temporary(nil), want: Info{Kind: KindTemporary}, reason: "temporary", text: "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify = %+v, want %+v", got, tt.want)
			}
			if got := Reason(tt.err); got != tt.reason {
				t.Errorf("Reason = %q, want %q", got, tt.reason)
			}
			if tt.err != nil && tt.err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.text)
			}
		})
	}
}

func TestWrappedErrorStaysReachable(t *testing.T) {
	type statusError struct{ error }
	se := &statusError{errors.New("503")}
	err := fmt.Errorf("klant: get partij: %w", RetryAfter(se, time.Second))
	var got *statusError
	if !errors.As(err, &got) || got != se {
		t.Fatalf("errors.As did not find the wrapped error through %v", err)
	}
	sentinel := errors.New("niet gevonden")
	if !errors.Is(Permanent("niet-gevonden", fmt.Errorf("%w: 404", sentinel)), sentinel) {
		t.Fatal("errors.Is did not find the sentinel")
	}
}

func TestWait(t *testing.T) {
	now := time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		info Info
		want time.Duration
	}{
		{"no hint", Info{Kind: KindTemporary}, 0},
		{"retry after", Info{RetryAfter: time.Minute}, time.Minute},
		{"not before", Info{NotBefore: now.Add(90 * time.Second)}, 90 * time.Second},
		{"not before in the past", Info{NotBefore: now.Add(-time.Hour)}, 0},
		{"the larger of both", Info{RetryAfter: time.Minute, NotBefore: now.Add(2 * time.Minute)}, 2 * time.Minute},
		{"the larger of both, other way", Info{RetryAfter: 3 * time.Minute, NotBefore: now.Add(2 * time.Minute)}, 3 * time.Minute},
	}
	for _, tt := range tests {
		if got := tt.info.Wait(now); got != tt.want {
			t.Errorf("%s: Wait = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindUnclassified: "unclassified", KindTemporary: "temporary", KindPermanent: "permanent", KindConfig: "config", KindDeadLetter: "deadletter", Kind(42): "unclassified"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
