package notifynl

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
)

const (
	emailTemplate = "9d751e0e-f929-4891-82a1-a3e1c3c18ee3"
	smsTemplate   = "f33517ff-2a88-4f6e-b855-c550268ce08a"
)

type fixture struct {
	fake   *notify.Server
	faults *fault.Injector
	url    string
	key    notify.Key
}

// newFake starts the fake Notify with one key and an email and SMS template.
func newFake(t *testing.T, mod func(*notify.Options)) *fixture {
	t.Helper()
	f := &fixture{faults: &fault.Injector{}, key: notify.NewKey("koerier_test")}
	o := notify.Options{
		Keys: []notify.Key{f.key},
		Templates: []notify.Template{
			{ID: emailTemplate, Type: "email", Subject: "Nieuwe status van zaak ((zaak))", Body: "Beste ((naam)),\n\nUw zaak ((zaak)) heeft een nieuwe status."},
			{ID: smsTemplate, Type: "sms", Body: "Zaak ((zaak)) heeft een nieuwe status."},
		},
		Faults: f.faults,
	}
	if mod != nil {
		mod(&o)
	}
	f.fake = notify.NewServer(o)
	srv := httptest.NewServer(f.fake)
	t.Cleanup(func() { srv.Close(); f.fake.Close() })
	f.url = srv.URL
	return f
}

// fastRetries keeps in-process retries quick; timing is never asserted.
var fastRetries = httpclient.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Timeout: 5 * time.Second}

func (f *fixture) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := New(f.url, f.key.String(), nil, append([]Option{WithHTTPOptions(fastRetries)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseAPIKey(t *testing.T) {
	const svc, sec = "26785a09-ab16-4eb0-8407-a37497a57506", "3d844edf-8d35-48ac-975b-e847b4f122b0"
	tests := []struct {
		name, key, wantName, wantErr string
	}{
		{name: "documented example", key: "my_test_key-" + svc + "-" + sec, wantName: "my_test_key"},
		{name: "name with dashes", key: "gemeente-x-live-" + svc + "-" + sec, wantName: "gemeente-x-live"},
		{name: "too short", key: "key-" + svc, wantErr: "too short"},
		{name: "secret not a uuid", key: "k-" + svc + "-" + strings.Repeat("z", 36), wantErr: "secret key is not a UUID"},
		{name: "service not a uuid", key: "k-" + strings.Repeat("z", 36) + "-" + sec, wantErr: "service id is not a UUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseAPIKey(tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), sec) {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Name != tt.wantName || k.ServiceID != svc || k.Secret != sec {
				t.Fatalf("got %+v", k)
			}
			if k.String() != tt.key {
				t.Fatalf("String() = %q, want %q", k.String(), tt.key)
			}
		})
	}
}

// The request and response types must speak Notify's field names exactly:
// decode the documented examples and encode them back.
func TestWireTypesMatchSpecExamples(t *testing.T) {
	var req EmailRequest
	readFixture(t, "POST_v2_notifications_email.request.json", &req)
	if req.EmailAddress != "amala@example.com" || req.TemplateID != emailTemplate || req.Reference != "your reference" ||
		req.EmailReplyToID != "8e222534-7f05-4972-86e3-17c5d9f894e2" || req.OneClickUnsubscribeURL == "" || req.Personalisation["first_name"] != "Amala" {
		t.Fatalf("request example decoded as %+v", req)
	}
	b, _ := json.Marshal(req)
	var got, want map[string]any
	_ = json.Unmarshal(b, &got)
	readFixture(t, "POST_v2_notifications_email.request.json", &want)
	if keys(got) != keys(want) {
		t.Fatalf("encoded fields %s, spec example has %s", keys(got), keys(want))
	}

	var resp NotificationResponse
	readFixture(t, "POST_v2_notifications_email.response-201.json", &resp)
	if resp.ID != "201b576e-c09b-467b-9dfa-9c3b689ee730" || resp.Reference == nil || *resp.Reference != "your reference" ||
		resp.Content.Subject != "Your upcoming pigeon registration appointment" || !strings.HasPrefix(resp.Content.Body, "Dear Amala") ||
		resp.Content.FromEmail != "pigeon.affairs.bureau@notifications.service.gov.uk" || resp.Template.ID != emailTemplate ||
		resp.Template.Version != 1 || !strings.HasSuffix(resp.URI, resp.ID) || resp.ScheduledFor != nil {
		t.Fatalf("response example decoded as %+v", resp)
	}
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func readFixture(t *testing.T, name string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return b
}

// Each documented error body is classified once, here.
func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		want       string // temporary, permanent, config
		wantMsg    string
		wantRA     time.Duration
	}{
		{name: "rate limit", status: 429, body: string(readFixture(t, "error-429-rate-limit.constructed.json", nil)), retryAfter: "120",
			want: "temporary", wantRA: 120 * time.Second,
			wantMsg: "notifynl: send email: 429 RateLimitError: Exceeded rate limit for key type live of 3000 requests per 60 seconds"},
		{name: "server error array", status: 500, body: `[{"error":"Exception","message":"Internal server error"}]`, want: "temporary",
			wantMsg: "notifynl: send email: 500 Exception: Internal server error"},
		{name: "gateway html", status: 502, body: `<html>bad gateway</html>`, want: "temporary", wantMsg: "notifynl: send email: 502 Bad Gateway"},
		{name: "phone too many digits", status: 400, body: string(readFixture(t, "POST_v2_notifications_sms.response-400.json", nil)), want: "permanent",
			wantMsg: "notifynl: send email: 400 ValidationError: phone_number Too many digits"},
		{name: "invalid email", status: 400, body: `{"status_code":400,"errors":[{"error":"ValidationError","message":"email_address Not a valid email address"}]}`, want: "permanent"},
		{name: "trial mode", status: 400, body: `{"status_code":400,"errors":[{"error":"BadRequestError","message":"Cannot send to this recipient when service is in trial mode - see https://www.notifications.service.gov.uk/trial-mode"}]}`, want: "permanent"},
		{name: "auth", status: 403, body: string(readFixture(t, "error-403-auth.json", nil)), want: "config",
			wantMsg: "notifynl: send email: 403 AuthError: Invalid token: service not found"},
		{name: "team key letter", status: 403, body: string(readFixture(t, "POST_v2_notifications_letter.response-403.json", nil)), want: "config"},
		{name: "template not found", status: 400, body: `{"status_code":400,"errors":[{"error":"BadRequestError","message":"Template not found"}]}`, want: "config"},
		{name: "template id not uuid", status: 400, body: `{"status_code":400,"errors":[{"error":"ValidationError","message":"template_id is not a valid UUID"}]}`, want: "config"},
		{name: "missing personalisation", status: 400, body: `{"status_code":400,"errors":[{"error":"BadRequestError","message":"Missing personalisation: naam"}]}`, want: "config"},
		{name: "no header", status: 401, body: `{"status_code":401,"errors":[{"error":"AuthError","message":"Unauthorized: authentication token must be provided"}]}`, want: "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := New(srv.URL, notify.NewKey("k").String(), nil, WithHTTPOptions(httpclient.Options{RetryMax: -1}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SendEmail(context.Background(), EmailRequest{EmailAddress: "a@example.com", TemplateID: emailTemplate})
			got := class(err)
			if got != tt.want {
				t.Fatalf("class = %s, want %s (err %v)", got, tt.want, err)
			}
			var api *APIError
			if !errors.As(err, &api) || api.StatusCode != tt.status {
				t.Fatalf("err %v does not carry the API error", err)
			}
			if tt.wantMsg != "" && api.Error() != tt.wantMsg {
				t.Fatalf("message = %q, want %q", api.Error(), tt.wantMsg)
			}
			if ra := failure.Classify(err).RetryAfter; ra != tt.wantRA {
				t.Fatalf("retry after = %v, want %v", ra, tt.wantRA)
			}
		})
	}
}

func class(err error) string {
	if err == nil {
		return "ok"
	}
	switch k := failure.Classify(err).Kind; k {
	case failure.KindTemporary, failure.KindPermanent, failure.KindConfig:
		return k.String()
	}
	return "other: " + err.Error()
}

func TestSendAgainstFake(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(t)
	ctx := context.Background()

	resp, err := c.SendEmail(ctx, EmailRequest{EmailAddress: "inwoner@example.nl", TemplateID: emailTemplate,
		Personalisation: map[string]any{"naam": "J. Jansen", "zaak": "ZAAK-2026-0001"}, Reference: "ref-email-1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID == "" || resp.Reference == nil || *resp.Reference != "ref-email-1" ||
		resp.Content.Subject != "Nieuwe status van zaak ZAAK-2026-0001" || resp.Template.ID != emailTemplate || resp.Template.Version != 1 {
		t.Fatalf("email response %+v", resp)
	}

	sms, err := c.SendSMS(ctx, SMSRequest{PhoneNumber: "+31612345678", TemplateID: smsTemplate,
		Personalisation: map[string]any{"zaak": "ZAAK-2026-0001"}, Reference: "ref-sms-1"})
	if err != nil {
		t.Fatal(err)
	}
	if sms.Content.Body != "Zaak ZAAK-2026-0001 heeft een nieuwe status." || sms.Content.FromNumber == "" {
		t.Fatalf("sms response %+v", sms)
	}

	sent := f.fake.Sent()
	if len(sent) != 2 || sent[0].ID != resp.ID || sent[1].ID != sms.ID || sent[1].To != "+31612345678" {
		t.Fatalf("fake recorded %+v", sent)
	}

	ns, err := c.NotificationsByReference(ctx, "ref-sms-1", "sms")
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].ID != sms.ID || ns[0].Type != "sms" || ns[0].Status != "created" {
		t.Fatalf("lookup = %+v", ns)
	}
	n, err := c.Notification(ctx, resp.ID)
	if err != nil || n.Subject == nil || *n.Subject != resp.Content.Subject {
		t.Fatalf("get = %+v, %v", n, err)
	}
	_, err = c.Notification(ctx, "740e5834-3a29-46b4-9a6f-16142fde533a")
	if class(err) != "config" || !strings.Contains(err.Error(), "404 NoResultFound: No result found") {
		t.Fatalf("unknown id: %v", err)
	}
}

// Notify refuses a token whose iat is more than 30 s off its clock, either
// way; the fake must do the same and the client must call it configuration.
func TestClockSkewRefused(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f := newFake(t, func(o *notify.Options) { o.Now = func() time.Time { return now } })
	for _, skew := range []time.Duration{-31 * time.Second, 31 * time.Second, -29 * time.Second} {
		c := f.client(t, WithClock(func() time.Time { return now.Add(skew) }))
		_, err := c.SendEmail(context.Background(), EmailRequest{EmailAddress: "inwoner@example.nl", TemplateID: emailTemplate,
			Personalisation: map[string]any{"naam": "x", "zaak": "y"}})
		if skew == -29*time.Second {
			if err != nil {
				t.Fatalf("skew %v: %v", skew, err)
			}
			continue
		}
		if class(err) != "config" || !strings.Contains(err.Error(), "403 AuthError: Error: Your system clock must be accurate to within 30 seconds") {
			t.Fatalf("skew %v: err = %v", skew, err)
		}
	}
}

// A retried request must carry a freshly minted token, not the first one.
func TestRetryMintsFreshToken(t *testing.T) {
	base := clock.System() // the fake Notify's clock
	var calls atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(calls.Add(1)) * time.Second) }
	f := newFake(t, nil)
	// A 503 with a short Retry-After is retried in-process (other 5xx go
	// back to the router, which re-queues).
	f.faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/v2/notifications/email", Status: 503, RetryAfter: time.Second, Times: 1,
		Body: `{"status_code":503,"errors":[{"error":"Exception","message":"Service unavailable"}]}`})
	c := f.client(t, WithClock(clock))
	resp, err := c.SendEmail(context.Background(), EmailRequest{EmailAddress: "inwoner@example.nl", TemplateID: emailTemplate,
		Personalisation: map[string]any{"naam": "x", "zaak": "y"}})
	if err != nil {
		t.Fatalf("send after one injected 503: %v", err)
	}
	var posts []notify.Request
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodPost {
			posts = append(posts, r)
		}
	}
	if len(posts) != 2 {
		t.Fatalf("fake saw %d POSTs, want 2 (one failed, one retried)", len(posts))
	}
	if posts[0].Token == posts[1].Token || !posts[1].IssuedAt.After(posts[0].IssuedAt) {
		t.Fatalf("retry reused the token: iat %v then %v", posts[0].IssuedAt, posts[1].IssuedAt)
	}
	if s := f.fake.Sent(); len(s) != 1 || s[0].ID != resp.ID {
		t.Fatalf("sent = %+v", s)
	}
}

func TestTemporaryFailures(t *testing.T) {
	tests := []struct {
		name   string
		rule   fault.Rule
		opts   httpclient.Options
		wantRA time.Duration
		want   string
	}{
		{name: "429 with a Retry-After beyond the in-process cap", rule: notify.RateLimitFault(0, time.Minute), opts: fastRetries,
			wantRA: time.Minute, want: "429 RateLimitError: Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"},
		{name: "5xx until retries run out", rule: notify.ServerErrorFault(0), opts: fastRetries, want: "500 Exception: Internal server error"},
		{name: "timeout", rule: fault.Rule{Delay: 10 * time.Second}, opts: httpclient.Options{Timeout: 50 * time.Millisecond, RetryMax: -1}, want: "send email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, nil)
			f.faults.Add(tt.rule)
			c, err := New(f.url, f.key.String(), nil, WithHTTPOptions(tt.opts))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SendEmail(context.Background(), EmailRequest{EmailAddress: "inwoner@example.nl", TemplateID: emailTemplate})
			info := failure.Classify(err)
			tmp, ra := info.Kind == failure.KindTemporary, info.RetryAfter
			if !tmp || ra != tt.wantRA || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (temporary %v, retry after %v), want temporary %v containing %q", err, tmp, ra, tt.wantRA, tt.want)
			}
			if len(f.fake.Sent()) != 0 {
				t.Fatal("fake accepted a notification despite the fault")
			}
		})
	}
}

func delivery(id, email, phone string) event.Delivery {
	return event.Delivery{
		ID:              id,
		Channel:         event.ChannelEmail,
		Decision:        event.Decision{Message: "zaak-status", Language: "nld"},
		Recipient:       event.Recipient{Kind: event.KindInwoner, Subject: event.Subject{Kind: event.KindInwoner, BSN: "999993653"}, Email: email, Phone: phone},
		TemplateID:      emailTemplate,
		Personalisation: map[string]string{"naam": "J. Jansen", "zaak": "ZAAK-2026-0001"},
	}
}

func TestChannelSend(t *testing.T) {
	tests := []struct {
		name     string
		sms      bool
		d        func(event.Delivery) event.Delivery
		want     string
		wantText string
	}{
		{name: "email", d: func(d event.Delivery) event.Delivery { return d }, want: "ok"},
		{name: "sms", sms: true, d: func(d event.Delivery) event.Delivery { d.TemplateID = smsTemplate; return d }, want: "ok"},
		{name: "no email address", d: func(d event.Delivery) event.Delivery { d.Recipient.Email = ""; return d }, want: "permanent", wantText: "no email address"},
		{name: "no phone", sms: true, d: func(d event.Delivery) event.Delivery { d.Recipient.Phone = ""; return d }, want: "permanent", wantText: "no phone number"},
		{name: "invalid email", d: func(d event.Delivery) event.Delivery { d.Recipient.Email = "inwoner@@example"; return d }, want: "permanent", wantText: "email_address Not a valid email address"},
		{name: "invalid phone", sms: true, d: func(d event.Delivery) event.Delivery {
			d.TemplateID = smsTemplate
			d.Recipient.Phone = "0612"
			return d
		}, want: "permanent", wantText: "phone_number Not enough digits"},
		{name: "unknown template", d: func(d event.Delivery) event.Delivery { d.TemplateID = "11111111-2222-3333-4444-555555555555"; return d }, want: "config", wantText: "400 BadRequestError: Template not found"},
		{name: "no template", d: func(d event.Delivery) event.Delivery { d.TemplateID = ""; return d }, want: "config", wantText: `no Notify template id for message "zaak-status"`},
		{name: "missing personalisation", d: func(d event.Delivery) event.Delivery { d.Personalisation = nil; return d }, want: "config", wantText: "Missing personalisation: naam, zaak"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, nil)
			c := f.client(t)
			ch := EmailChannel(c)
			if tt.sms {
				ch = SMSChannel(c)
			}
			d := tt.d(delivery("delivery-"+strings.ReplaceAll(tt.name, " ", "-"), "inwoner@example.nl", "+31612345678"))
			rec, err := ch.Send(context.Background(), d)
			if got := class(err); got != tt.want {
				t.Fatalf("class = %s, want %s (err %v)", got, tt.want, err)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantText)
			}
			if err != nil {
				if strings.Contains(err.Error(), "999993653") {
					t.Fatalf("error carries a BSN: %v", err)
				}
				return
			}
			sent := f.fake.Sent()
			if len(sent) != 1 || rec.ProviderID != sent[0].ID || rec.Status != event.OutcomeSent || sent[0].Reference != d.ID {
				t.Fatalf("receipt %+v, fake sent %+v", rec, sent)
			}
		})
	}
	f := newFake(t, nil)
	c := f.client(t, WithEmailReplyToID("8e222534-7f05-4972-86e3-17c5d9f894e2"), WithSMSSenderID("0c9d3f7e-1a2b-4c5d-8e9f-a0b1c2d3e4f5"))
	if _, err := EmailChannel(c).Send(context.Background(), delivery("with-reply-to", "inwoner@example.nl", "")); err != nil {
		t.Fatal(err)
	}
	sd := delivery("with-sender", "", "+31612345678")
	sd.TemplateID = smsTemplate
	if _, err := SMSChannel(c).Send(context.Background(), sd); err != nil {
		t.Fatal(err)
	}
	if s := f.fake.Sent(); len(s) != 2 || s[0].ReplyToID != "8e222534-7f05-4972-86e3-17c5d9f894e2" || s[1].SenderID != "0c9d3f7e-1a2b-4c5d-8e9f-a0b1c2d3e4f5" {
		t.Fatalf("reply-to and sender ids not sent: %+v", s)
	}
	if EmailChannel(nil).Name() != "email" || SMSChannel(nil).Name() != "sms" {
		t.Fatal("channel names must be email and sms")
	}
}

// A redelivered Delivery (crash between send and ledger write) must not
// send a second email: the reference look-up finds the first one.
func TestReferenceLookupPreventsDuplicate(t *testing.T) {
	for _, lookup := range []bool{true, false} {
		f := newFake(t, nil)
		ch := EmailChannel(f.client(t, WithReferenceLookup(lookup)))
		d := delivery("3f1c0a8e5b7d4e2f9a6c1b0d8e7f6a5b", "inwoner@example.nl", "")
		first, err := ch.Send(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		second, err := ch.Send(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		n := len(f.fake.Sent())
		if lookup && (n != 1 || second.ProviderID != first.ProviderID) {
			t.Fatalf("lookup on: %d sent, receipts %v and %v", n, first, second)
		}
		if !lookup && n != 2 {
			t.Fatalf("lookup off: %d sent, want 2 (the option must switch the look-up off)", n)
		}
	}
}

// An earlier send that Notify already reported as failed is a permanent
// failure, not a reason to send into the same bounce again.
func TestReferenceLookupReportsEarlierFailure(t *testing.T) {
	f := newFake(t, nil)
	ch := EmailChannel(f.client(t))
	d := delivery("7c2e9b4a1d3f4e5a8b6c0d9e2f1a3b4c", "inwoner@example.nl", "")
	first, err := ch.Send(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.fake.DeliverStatus(first.ProviderID, notify.StatusPermanentFailure); err != nil {
		t.Fatal(err)
	}
	_, err = ch.Send(context.Background(), d)
	if failure.Classify(err).Kind != failure.KindPermanent || len(f.fake.Sent()) != 1 {
		t.Fatalf("err = %v, sent %d", err, len(f.fake.Sent()))
	}
}

func TestCallbackHandler(t *testing.T) {
	const token = "s3cret-callback-token"
	example := string(readFixture(t, "callback.delivery-receipt.constructed.json", nil))
	withStatus := func(status string) string {
		return strings.Replace(example, `"status": "delivered"`, `"status": "`+status+`"`, 1)
	}
	tests := []struct {
		name       string
		auth       string
		body       string
		sinkErr    error
		wantCode   int
		wantStatus string // outcome status given to sink, "" for none
	}{
		{name: "no auth", body: example, wantCode: 401},
		{name: "basic auth", auth: "Basic dXNlcjpwYXNz", body: example, wantCode: 401},
		{name: "wrong token", auth: "Bearer nope", body: example, wantCode: 403},
		{name: "delivered", auth: "Bearer " + token, body: example, wantCode: 204, wantStatus: event.OutcomeDelivered},
		{name: "lower-case scheme", auth: "bearer " + token, body: example, wantCode: 204, wantStatus: event.OutcomeDelivered},
		{name: "permanent failure", auth: "Bearer " + token, body: withStatus("permanent-failure"), wantCode: 204, wantStatus: event.OutcomePermanent},
		{name: "temporary failure is final for routing", auth: "Bearer " + token, body: withStatus("temporary-failure"), wantCode: 204, wantStatus: event.OutcomePermanent},
		{name: "technical failure", auth: "Bearer " + token, body: withStatus("technical-failure"), wantCode: 204, wantStatus: event.OutcomePermanent},
		{name: "in flight status is dropped", auth: "Bearer " + token, body: withStatus("sending"), wantCode: 204},
		{name: "no reference is dropped", auth: "Bearer " + token, body: strings.Replace(example, `"12345678"`, "null", 1), wantCode: 204},
		{name: "sink fails so Notify retries", auth: "Bearer " + token, body: example, sinkErr: errors.New("bus down"), wantCode: 500, wantStatus: event.OutcomeDelivered},
		{name: "not json", auth: "Bearer " + token, body: "hello@gov.uk", wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []event.Outcome
			h := CallbackHandler(token, func(_ context.Context, o event.Outcome) error {
				got = append(got, o)
				return tt.sinkErr
			})
			req := httptest.NewRequest(http.MethodPost, "/callbacks/notify", strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("code = %d, want %d", rec.Code, tt.wantCode)
			}
			if strings.Contains(rec.Body.String(), "hello@gov.uk") {
				t.Fatal("answer echoes the recipient")
			}
			if tt.wantStatus == "" {
				if len(got) != 0 {
					t.Fatalf("sink got %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("sink got %d outcomes", len(got))
			}
			o := got[0]
			if o.Status != tt.wantStatus || o.DeliveryID != "12345678" || o.ProviderID != "740e5834-3a29-46b4-9a6f-16142fde533a" ||
				o.Channel != "email" || !o.At.Equal(time.Date(2017, 5, 14, 12, 15, 30, 0, time.UTC)) {
				t.Fatalf("outcome %+v", o)
			}
			if o.Status == event.OutcomePermanent && !strings.Contains(o.Reason, "failure") {
				t.Fatalf("reason %q does not name Notify's status", o.Reason)
			}
		})
	}
	if code := serve(CallbackHandler("", func(context.Context, event.Outcome) error { return nil }), "Bearer ", example); code != 403 {
		t.Fatalf("empty configured token must refuse everything, got %d", code)
	}
}

func serve(h http.Handler, auth, body string) int {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// The whole loop: send to an address the fake bounces, receive the fake's
// callback through CallbackHandler, and get a permanent outcome for the
// delivery.
func TestBounceCallbackEndToEnd(t *testing.T) {
	const token = "callback-token"
	var mu sync.Mutex
	var outcomes []event.Outcome
	cbSrv := httptest.NewServer(CallbackHandler(token, func(_ context.Context, o event.Outcome) error {
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
		return nil
	}))
	defer cbSrv.Close()
	f := newFake(t, func(o *notify.Options) {
		o.CallbackURL, o.CallbackToken, o.AutoStatus = cbSrv.URL, token, true
	})
	ch := EmailChannel(f.client(t))
	d := delivery("b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5", "inwoner@bounce.example", "")
	rec, err := ch.Send(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(outcomes)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no callback within deadline; attempts %+v", f.fake.Callbacks())
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	o := outcomes[0]
	if o.DeliveryID != d.ID || o.Status != event.OutcomePermanent || o.ProviderID != rec.ProviderID || o.Reason != "notifynl: permanent-failure" {
		t.Fatalf("outcome %+v", o)
	}
}

func BenchmarkSendEmail(b *testing.B) {
	key := notify.NewKey("bench")
	fake := notify.NewServer(notify.Options{Keys: []notify.Key{key}, Templates: []notify.Template{{ID: emailTemplate, Type: "email", Subject: "s", Body: "Beste ((naam))"}}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c, err := New(srv.URL, key.String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	req := EmailRequest{EmailAddress: "inwoner@example.nl", TemplateID: emailTemplate, Personalisation: map[string]any{"naam": "x"}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.SendEmail(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
