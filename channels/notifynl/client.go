package notifynl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/ratelimit"
)

// maxBody bounds what we read from Notify: its answers are small, and a
// misbehaving proxy must not exhaust memory.
const maxBody = 1 << 20

// Client talks to the Notify NL API v2 with one API key.
type Client struct {
	base   *url.URL
	key    APIKey
	hc     *http.Client
	now    func() time.Time
	lookup bool
	hopts  httpclient.Options
	// replyTo and sender are the channels' email_reply_to_id and
	// sms_sender_id; empty means the service's default.
	replyTo, sender string

	// See limits.go.
	service    string
	limiter    ratelimit.Limiter
	retryCap   time.Duration
	breakerCfg BreakerSettings
	meter      metric.Meter
	log        *slog.Logger
	g          *guard
}

// Option tunes a Client.
type Option func(*Client)

// WithClock sets the clock used for the token's iat (tests; default
// time.Now). It also applies to retries when New builds the http client.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithReferenceLookup turns the look-up-before-send of the email and SMS
// channels on or off (default on). The look-up makes a redelivered message
// safe: if Notify already has a notification with the delivery's reference,
// the channel returns it instead of sending a second email or SMS. It costs
// one extra GET per delivery, which counts against Notify's rate limit of
// 3,000 requests per minute per key, so the effective send rate halves.
func WithReferenceLookup(on bool) Option { return func(c *Client) { c.lookup = on } }

// WithEmailReplyToID makes the email channel send with this
// email_reply_to_id (a reply-to address configured in Notify).
func WithEmailReplyToID(id string) Option { return func(c *Client) { c.replyTo = id } }

// WithSMSSenderID makes the SMS channel send with this sms_sender_id (a
// text message sender configured in Notify).
func WithSMSSenderID(id string) Option { return func(c *Client) { c.sender = id } }

// WithHTTPOptions tunes the *http.Client that New builds when it is given
// none. PrepareRetry is always overwritten to re-sign retries.
func WithHTTPOptions(o httpclient.Options) Option { return func(c *Client) { c.hopts = o } }

// New returns a client for the Notify API at baseURL (for example
// https://api.notifynl.nl) with apiKey in Notify's format
// `{key_name}-{service_id}-{secret_key}`.
//
// httpClient may be nil: New then builds one with httpclient.New whose
// PrepareRetry mints a fresh token for every retry, which is what Notify's
// 30-second iat window requires. If you pass your own, build it with
// httpclient.New(httpclient.Options{PrepareRetry: p}) where p comes from
// PrepareRetry(apiKey); otherwise a retry that happens more than 30 s after
// the first attempt is refused with 403.
func New(baseURL, apiKey string, httpClient *http.Client, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("notifynl: base URL %q is not an absolute URL", baseURL)
	}
	k, err := ParseAPIKey(apiKey)
	if err != nil {
		return nil, err
	}
	c := &Client{base: u, key: k, hc: httpClient, now: clock.System, lookup: true}
	for _, o := range opts {
		o(c)
	}
	if err := c.setupGuard(); err != nil {
		return nil, fmt.Errorf("notifynl: %w", err)
	}
	if c.hc == nil {
		o := c.hopts
		o.PrepareRetry = func(r *http.Request) error { return c.key.authorize(r, c.now()) }
		c.hc = httpclient.New(o)
	}
	return c, nil
}

// EmailRequest is the body of POST /v2/notifications/email.
type EmailRequest struct {
	EmailAddress    string         `json:"email_address"`
	TemplateID      string         `json:"template_id"`
	Personalisation map[string]any `json:"personalisation,omitempty"`
	// Reference identifies the notification for us; it must not contain
	// personal data. Koerier sends the delivery's idempotency key.
	Reference              string `json:"reference,omitempty"`
	EmailReplyToID         string `json:"email_reply_to_id,omitempty"`
	OneClickUnsubscribeURL string `json:"one_click_unsubscribe_url,omitempty"`
}

// SMSRequest is the body of POST /v2/notifications/sms.
type SMSRequest struct {
	PhoneNumber     string         `json:"phone_number"`
	TemplateID      string         `json:"template_id"`
	Personalisation map[string]any `json:"personalisation,omitempty"`
	Reference       string         `json:"reference,omitempty"`
	SMSSenderID     string         `json:"sms_sender_id,omitempty"`
}

// NotificationResponse is Notify's 201 answer to a send. Content carries
// subject/from_email for email and from_number for SMS.
type NotificationResponse struct {
	ID           string   `json:"id"`
	Reference    *string  `json:"reference"`
	Content      Content  `json:"content"`
	URI          string   `json:"uri"`
	Template     Template `json:"template"`
	ScheduledFor *string  `json:"scheduled_for"`
}

// Content is the rendered message as Notify will send it.
type Content struct {
	Subject                string  `json:"subject,omitempty"`
	Body                   string  `json:"body"`
	FromEmail              string  `json:"from_email,omitempty"`
	FromNumber             string  `json:"from_number,omitempty"`
	OneClickUnsubscribeURL *string `json:"one_click_unsubscribe_url,omitempty"`
}

// Template identifies the template version Notify used.
type Template struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	URI     string `json:"uri"`
}

// Notification is one message as GET /v2/notifications returns it.
type Notification struct {
	ID                     string   `json:"id"`
	Reference              *string  `json:"reference"`
	EmailAddress           *string  `json:"email_address"`
	PhoneNumber            *string  `json:"phone_number"`
	Line1                  *string  `json:"line_1"`
	Line2                  *string  `json:"line_2"`
	Line3                  *string  `json:"line_3"`
	Line4                  *string  `json:"line_4"`
	Line5                  *string  `json:"line_5"`
	Line6                  *string  `json:"line_6"`
	Postcode               *string  `json:"postcode"`
	Postage                *string  `json:"postage"`
	Type                   string   `json:"type"`
	Status                 string   `json:"status"`
	Template               Template `json:"template"`
	Body                   string   `json:"body"`
	Subject                *string  `json:"subject"`
	CreatedAt              string   `json:"created_at"`
	CreatedByName          *string  `json:"created_by_name"`
	SentAt                 *string  `json:"sent_at"`
	CompletedAt            *string  `json:"completed_at"`
	ScheduledFor           *string  `json:"scheduled_for"`
	OneClickUnsubscribeURL *string  `json:"one_click_unsubscribe_url"`
	IsCostDataReady        bool     `json:"is_cost_data_ready"`
	CostInPounds           *float64 `json:"cost_in_pounds"`
}

// NotificationList is the answer of GET /v2/notifications.
type NotificationList struct {
	Notifications []Notification `json:"notifications"`
	Links         struct {
		Current string `json:"current"`
		Next    string `json:"next,omitempty"`
	} `json:"links"`
}

// SendEmail sends one email.
func (c *Client) SendEmail(ctx context.Context, r EmailRequest) (NotificationResponse, error) {
	var out NotificationResponse
	err := c.do(ctx, "send email", http.MethodPost, "/v2/notifications/email", r, http.StatusCreated, &out)
	return out, err
}

// SendSMS sends one text message.
func (c *Client) SendSMS(ctx context.Context, r SMSRequest) (NotificationResponse, error) {
	var out NotificationResponse
	err := c.do(ctx, "send sms", http.MethodPost, "/v2/notifications/sms", r, http.StatusCreated, &out)
	return out, err
}

// NotificationsByReference returns the notifications (at most one page,
// newest first, within Notify's 7-day retention) sent with reference.
// templateType ("email", "sms" or "") narrows the search.
func (c *Client) NotificationsByReference(ctx context.Context, reference, templateType string) ([]Notification, error) {
	q := url.Values{"reference": {reference}}
	if templateType != "" {
		q.Set("template_type", templateType)
	}
	var out NotificationList
	if err := c.do(ctx, "get notifications", http.MethodGet, "/v2/notifications?"+q.Encode(), nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return out.Notifications, nil
}

// Notification returns one notification by Notify's id.
func (c *Client) Notification(ctx context.Context, id string) (Notification, error) {
	var out Notification
	err := c.do(ctx, "get notification", http.MethodGet, "/v2/notifications/"+url.PathEscape(id), nil, http.StatusOK, &out)
	return out, err
}

// do performs one API call (retries happen inside the http client) and
// classifies failures: see classify.
func (c *Client) do(ctx context.Context, op, method, path string, in any, want int, out any) error {
	var body io.Reader
	var raw []byte
	if in != nil {
		var err error
		if raw, err = json.Marshal(in); err != nil {
			return fmt.Errorf("notifynl: %s: encode request: %w", op, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return fmt.Errorf("notifynl: %s: %w", op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "koerier-notifynl")
	if err := c.before(ctx, op); err != nil {
		return err
	}
	return c.guarded(op, func() error { return c.call(ctx, op, req, want, out) })
}

// call sends req once (retries happen inside the http client) and reads
// the answer.
func (c *Client) call(ctx context.Context, op string, req *http.Request, want int, out any) error {
	if err := c.key.authorize(req, c.now()); err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// Connection refused, reset, timeout, cancelled context: whether or
		// not Notify got the request, trying again later is right, and the
		// reference look-up keeps the retry from sending twice.
		return failure.Temporary(fmt.Errorf("notifynl: %s: %w", op, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return failure.Temporary(fmt.Errorf("notifynl: %s: read response: %w", op, err))
	}
	if resp.StatusCode != want {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return fmt.Errorf("notifynl: %s: unexpected status %d, want %d", op, resp.StatusCode, want)
		}
		e := parseError(op, resp, b)
		if e.StatusCode == http.StatusTooManyRequests {
			return c.tooMany(ctx, op, e)
		}
		return classify(e)
	}
	if err := json.Unmarshal(b, out); err != nil {
		// Notify accepted the request but we cannot read its answer; this is
		// not the recipient's fault and a retry would send twice without the
		// look-up, so it is a bug to look at.
		return fmt.Errorf("notifynl: %s: decode response: %w", op, err)
	}
	return nil
}
