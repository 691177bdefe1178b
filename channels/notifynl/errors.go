package notifynl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
)

// ErrorItem is one entry of Notify's `errors` array.
type ErrorItem struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// APIError is a non-2xx answer from Notify, with its documented error body
// `{"status_code": 400, "errors": [{"error": "...", "message": "..."}]}`.
type APIError struct {
	// Op is what we were doing: "send email", "send sms", "get notifications".
	Op         string
	StatusCode int
	Errors     []ErrorItem
	// RetryAfter is the server's Retry-After hint, if it sent one.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notifynl: %s: %d", e.Op, e.StatusCode)
	if len(e.Errors) == 0 {
		b.WriteString(" " + http.StatusText(e.StatusCode))
	}
	for i, it := range e.Errors {
		if i > 0 {
			b.WriteString(";")
		}
		if it.Error != "" {
			b.WriteString(" " + it.Error + ":")
		}
		b.WriteString(" " + it.Message)
	}
	return b.String()
}

// has reports whether any error entry's message starts with one of prefixes.
func (e *APIError) has(prefixes ...string) bool {
	for _, it := range e.Errors {
		for _, p := range prefixes {
			if strings.HasPrefix(it.Message, p) {
				return true
			}
		}
	}
	return false
}

// configError classifies err as a fault in Koerier's Notify configuration
// (API key, template id, reply-to or sender id, a template whose
// placeholders the message does not fill). Retrying or moving to the next
// channel does not help: the router dead-letters the delivery and an
// operator must fix the configuration.
func configError(err error) error {
	return failure.Config(fmt.Errorf("%w (a Notify NL configuration error: check the API key, template id and sender ids)", err))
}

// Messages Notify answers with when the recipient, not our request, is the
// problem: the address or number is malformed, or this service may not send
// to it. Another channel may still reach the person.
var recipientPrefixes = []string{
	"email_address ",
	"phone_number ",
	"Cannot send to this recipient",
	"Can't send to this recipient",
	"Cannot send to international mobile numbers",
}

// classify turns a Notify error answer into Koerier's error classes.
func classify(e *APIError) error {
	switch {
	case e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500:
		return failure.RetryAfter(e, e.RetryAfter)
	case e.StatusCode == http.StatusBadRequest && e.has(recipientPrefixes...):
		return failure.Permanent("ongeldig-adres", e)
	default:
		// 401/403 (key), 400 about template_id, personalisation, reply-to or
		// sender id, 404 (wrong base URL): our configuration, not the
		// recipient. An unrecognised 400 is treated the same way, because it
		// means our request is wrong and will stay wrong.
		return configError(e)
	}
}

// parseError reads Notify's error body. Notify documents an object for 4xx
// and, for 500, sometimes a bare array; a proxy in front of it may answer
// with HTML, in which case only the status is kept.
func parseError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Op: op, StatusCode: resp.StatusCode, RetryAfter: httpclient.RetryAfter(resp)}
	body = bytes.TrimSpace(body)
	var obj struct {
		StatusCode int         `json:"status_code"`
		Errors     []ErrorItem `json:"errors"`
	}
	if err := json.Unmarshal(body, &obj); err == nil && len(obj.Errors) > 0 {
		e.Errors = obj.Errors
		return e
	}
	var arr []ErrorItem
	if err := json.Unmarshal(body, &arr); err == nil && len(arr) > 0 {
		e.Errors = arr
	}
	return e
}
