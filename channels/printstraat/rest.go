package printstraat

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/internal/event"
)

// REST is the REST sink of a profile: each letter is POSTed on its own, as
// Notify NL hands letters to a municipality's print street.
type REST struct {
	// Endpoint receives POST {"filename","content","reference","notificationId"}.
	Endpoint string
	// APIKeyHeader and APIKey authenticate by header (e.g. X-Api-Key);
	// else Username and Password by basic auth.
	APIKeyHeader, APIKey string
	Username, Password   string
	// Backoff are the waits before the retries of a 429 or 5xx (default
	// 1s, 5s, 30s); after the last the batch is retried at the next tick.
	Backoff []time.Duration
	// Client (default: a client with a 60 s timeout).
	Client *http.Client
}

type restSink struct{ cfg REST }

func newRESTSink(c REST) (*restSink, error) {
	if c.Endpoint == "" {
		return nil, errors.New("rest: set endpoint")
	}
	if (c.APIKeyHeader == "") != (c.APIKey == "") {
		return nil, errors.New("rest: set both api_key_header and api_key")
	}
	if c.Backoff == nil {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 60 * time.Second}
	}
	return &restSink{cfg: c}, nil
}

// restLetter is the body of one POST.
type restLetter struct {
	Filename       string `json:"filename"`
	Content        string `json:"content"`
	Reference      string `json:"reference"`
	NotificationID string `json:"notificationId"`
}

// hand POSTs every letter with Idempotency-Key = delivery id, so a batch
// resumed after a crash posts the same letters again and the print street
// keeps one of each. 2xx: handed over; other 4xx: permanent, with the
// answer as reason; 429, 5xx and network errors are retried, and when
// the retries are spent Hand fails and the whole batch is resumed later.
func (r *restSink) hand(ctx context.Context, b batch.Sealed, letter func(event.Delivery) (Letter, error), win Window) ([]batch.Result, error) {
	var out []batch.Result
	var buf bytes.Buffer
	for i, d := range b.Deliveries {
		batch.Progress(ctx, b.ID, i, len(b.Deliveries))
		l, err := letter(d)
		if err == nil {
			err = checkRecipient(d.Recipient)
		}
		if err != nil {
			out = append(out, batch.Result{DeliveryID: d.ID, Status: event.OutcomePermanent, Reason: "geen brief gemaakt: " + err.Error()})
			continue
		}
		buf.Reset()
		pages, err := Render(&buf, l, win)
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(restLetter{Filename: d.ID + ".pdf", Content: base64.StdEncoding.EncodeToString(buf.Bytes()), Reference: d.ID, NotificationID: d.ID})
		status, answer, err := r.post(ctx, d.ID, body)
		if err != nil {
			return nil, fmt.Errorf("printstraat: rest: letter %s: %w", d.ID, err)
		}
		if status >= 200 && status < 300 {
			out = append(out, batch.Result{DeliveryID: d.ID, Status: event.OutcomeHandedOver, ProviderID: b.ID,
				Reason: fmt.Sprintf("brief (%d pagina's) overgedragen aan de printstraat (REST, batch %s)", pages, b.ID)})
			continue
		}
		out = append(out, batch.Result{DeliveryID: d.ID, Status: event.OutcomePermanent,
			Reason: fmt.Sprintf("de printstraat weigerde de brief: HTTP %d: %s", status, answer)})
	}
	batch.Progress(ctx, b.ID, len(b.Deliveries), len(b.Deliveries))
	return out, nil
}

// post sends one letter; it returns the final status (2xx or a
// permanent 4xx) or an error when the retries are spent.
func (r *restSink) post(ctx context.Context, id string, body []byte) (int, string, error) {
	var last error
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Endpoint, bytes.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", id)
		if r.cfg.APIKey != "" {
			req.Header.Set(r.cfg.APIKeyHeader, r.cfg.APIKey)
		} else if r.cfg.Username != "" {
			req.SetBasicAuth(r.cfg.Username, r.cfg.Password)
		}
		var wait time.Duration
		resp, err := r.cfg.Client.Do(req)
		if err != nil {
			last = err
		} else {
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
				return resp.StatusCode, string(bytes.TrimSpace(raw)), nil
			}
			last = fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = min(time.Duration(s)*time.Second, 5*time.Minute)
			}
		}
		if attempt >= len(r.cfg.Backoff) {
			return 0, "", fmt.Errorf("gave up after %d attempts: %w", attempt+1, last)
		}
		wait = max(wait, r.cfg.Backoff[attempt])
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, "", ctx.Err()
		case <-t.C:
		}
	}
}
