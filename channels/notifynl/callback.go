package notifynl

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
)

// Callback is Notify's delivery receipt, POSTed to the callback URL
// configured in Notify. To is the recipient's address: personal data, never
// to be logged.
type Callback struct {
	ID               string  `json:"id"`
	Reference        *string `json:"reference"`
	To               string  `json:"to"`
	Status           string  `json:"status"`
	CreatedAt        string  `json:"created_at"`
	CompletedAt      *string `json:"completed_at"`
	SentAt           *string `json:"sent_at"`
	NotificationType string  `json:"notification_type"`
	TemplateID       string  `json:"template_id"`
	TemplateVersion  int     `json:"template_version"`
}

// Outcome maps a receipt to an Outcome for the settle stage. ok is false
// for receipts that carry no decision (an in-flight status, or no
// reference, i.e. a message Koerier did not send).
func (cb Callback) Outcome(now time.Time) (event.Outcome, bool) {
	status := outcomeStatus(cb.Status)
	if status == "" || cb.Reference == nil || *cb.Reference == "" {
		return event.Outcome{}, false
	}
	o := event.Outcome{
		DeliveryID: *cb.Reference,
		Channel:    channelOf(cb.NotificationType),
		Status:     status,
		ProviderID: cb.ID,
		At:         now.UTC(),
	}
	if status != event.OutcomeDelivered {
		o.Reason = "notifynl: " + cb.Status
	}
	if cb.CompletedAt != nil {
		if t, err := parseNotifyTime(*cb.CompletedAt); err == nil {
			o.At = t
		}
	}
	return o, true
}

// parseNotifyTime reads Notify's timestamps, 2017-05-14T12:15:30.000000Z
// (and, leniently, without the Z or the fraction).
func parseNotifyTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Parse(time.RFC3339Nano, s)
}

// CallbackHandler serves Notify's delivery-status callbacks. Notify sends
// `Authorization: Bearer <token>` with the token configured in Notify;
// a missing or non-bearer header is answered 401, a wrong token 403 (an
// empty bearerToken refuses everything). Each receipt with a final status is
// passed to sink as an Outcome whose DeliveryID is the reference Koerier
// sent. The handler answers 204 once sink has accepted the outcome, and 500
// when sink fails, so that Notify retries (every 5 minutes, 5 times).
// Receipts without a decision (in-flight status, no reference) are
// acknowledged with 204 and dropped.
func CallbackHandler(bearerToken string, sink func(context.Context, event.Outcome) error) http.Handler {
	want := []byte(bearerToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := r.Header.Get("Authorization")
		if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
			http.Error(w, "bearer token required", http.StatusUnauthorized)
			return
		}
		got := []byte(strings.TrimSpace(h[7:]))
		if len(want) == 0 || subtle.ConstantTimeCompare(got, want) != 1 {
			http.Error(w, "invalid bearer token", http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		var cb Callback
		if err := json.Unmarshal(body, &cb); err != nil {
			// The decode error may quote the body, which holds the
			// recipient's address: answer without it.
			http.Error(w, "body is not a Notify delivery receipt", http.StatusBadRequest)
			return
		}
		o, ok := cb.Outcome(clock.System())
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := sink(r.Context(), o); err != nil {
			http.Error(w, "could not record the outcome, retry later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
