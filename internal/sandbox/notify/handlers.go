package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// timeLayout is how Notify writes timestamps: 2017-05-14T12:15:30.000000Z.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// request fields each endpoint allows (Notify's schemas forbid others).
var (
	emailFields = []string{"email_address", "template_id", "personalisation", "reference", "email_reply_to_id", "one_click_unsubscribe_url", "scheduled_for"}
	smsFields   = []string{"phone_number", "template_id", "personalisation", "reference", "sms_sender_id", "scheduled_for"}
)

type sendRequest struct {
	To              string
	TemplateID      string
	Personalisation map[string]any
	Reference       string
	ReplyToID       string
	SenderID        string
	Unsubscribe     string
}

func (s *Server) sendEmail(w http.ResponseWriter, r *http.Request) { s.send(w, r, "email") }
func (s *Server) sendSMS(w http.ResponseWriter, r *http.Request)   { s.send(w, r, "sms") }

// decode reads the body as Notify's JSON schema would, collecting every
// validation error rather than stopping at the first.
func decode(body []byte, kind string) (sendRequest, []string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return sendRequest{}, []string{"Invalid JSON supplied in POST data"}
	}
	addrField, allowed := "email_address", emailFields
	if kind == "sms" {
		addrField, allowed = "phone_number", smsFields
	}
	var errs []string
	var extra []string
	for k := range raw {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		errs = append(errs, fmt.Sprintf("Additional properties are not allowed (%s was unexpected)", strings.Join(extra, ", ")))
	}
	str := func(name string, required bool) string {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			if required {
				errs = append(errs, name+" is a required property")
			}
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errs = append(errs, fmt.Sprintf("%s %s is not of type string", name, v))
			return ""
		}
		return s
	}
	var req sendRequest
	req.To = str(addrField, true)
	req.TemplateID = str("template_id", true)
	req.Reference = str("reference", false)
	req.ReplyToID = str("email_reply_to_id", false)
	req.SenderID = str("sms_sender_id", false)
	req.Unsubscribe = str("one_click_unsubscribe_url", false)
	if v, ok := raw["personalisation"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &req.Personalisation); err != nil {
			errs = append(errs, fmt.Sprintf("personalisation %s is not of type object", v))
		}
	}
	if req.TemplateID != "" {
		if _, err := uuid.Parse(req.TemplateID); err != nil {
			errs = append(errs, "template_id is not a valid UUID")
		}
	}
	if req.To != "" {
		if kind == "email" && !validEmail(req.To) {
			errs = append(errs, "email_address Not a valid email address")
		}
		if kind == "sms" {
			if p := phoneProblem(req.To); p != "" {
				errs = append(errs, "phone_number "+p)
			}
		}
	}
	return req, errs
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, kind string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON supplied in POST data")
		return
	}
	req, errs := decode(body, kind)
	if len(errs) > 0 {
		items := make([]map[string]string, len(errs))
		for i, e := range errs {
			items[i] = map[string]string{"error": "ValidationError", "message": e}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"status_code": http.StatusBadRequest, "errors": items})
		return
	}
	s.mu.Lock()
	tpl, ok := s.templates[req.TemplateID]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "BadRequestError", "Template not found")
		return
	}
	if tpl.Type != kind {
		writeError(w, http.StatusBadRequest, "BadRequestError", fmt.Sprintf("%s template is not suitable for %s notification", tpl.Type, kind))
		return
	}
	subject, missS := render(tpl.Subject, req.Personalisation)
	text, missB := render(tpl.Body, req.Personalisation)
	if missing := dedup(sortedUnion(missS, missB)); len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "BadRequestError", "Missing personalisation: "+strings.Join(missing, ", "))
		return
	}

	key := keyFrom(r.Context())
	now := s.now().UTC()
	n := &Sent{
		ID: uuid.NewString(), Type: kind, To: req.To, TemplateID: tpl.ID, TemplateVersion: tpl.Version,
		Personalisation: req.Personalisation, Reference: req.Reference, ReplyToID: req.ReplyToID, SenderID: req.SenderID,
		Body: text, Status: StatusCreated, CreatedAt: now, ServiceID: key.ServiceID,
	}
	if kind == "email" {
		n.Subject = subject
	}
	s.mu.Lock()
	s.sent = append(s.sent, n)
	s.byID[n.ID] = n
	s.mu.Unlock()

	base := s.publicURL(r)
	content := map[string]any{"body": text}
	if kind == "email" {
		content["subject"] = subject
		content["from_email"] = s.opts.FromEmail
		content["one_click_unsubscribe_url"] = nullable(req.Unsubscribe)
	} else {
		content["from_number"] = s.opts.FromNumber
	}
	resp := map[string]any{
		"id":            n.ID,
		"reference":     nullable(req.Reference),
		"content":       content,
		"uri":           base + "/v2/notifications/" + n.ID,
		"template":      map[string]any{"id": tpl.ID, "version": tpl.Version, "uri": base + "/v2/template/" + tpl.ID},
		"scheduled_for": nil,
	}
	if kind == "email" {
		resp["sanitised_content"] = map[string]any{}
	}
	writeJSON(w, http.StatusCreated, resp)

	if s.opts.AutoStatus {
		_ = s.DeliverStatus(n.ID, s.finalStatus(n.To))
	}
}

func sortedUnion(a, b []string) []string {
	out := append(append([]string(nil), a...), b...)
	sort.Strings(out)
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// view is a notification as GET /v2/notifications answers it.
func (s *Server) view(n *Sent, base string) map[string]any {
	v := map[string]any{
		"id": n.ID, "reference": nullable(n.Reference),
		"email_address": nil, "phone_number": nil,
		"line_1": nil, "line_2": nil, "line_3": nil, "line_4": nil, "line_5": nil, "line_6": nil,
		"postcode": nil, "postage": nil,
		"type": n.Type, "status": n.Status,
		"template": map[string]any{"id": n.TemplateID, "version": n.TemplateVersion,
			"uri": fmt.Sprintf("%s/v2/template/%s/version/%d", base, n.TemplateID, n.TemplateVersion)},
		"body": n.Body, "subject": nil,
		"created_at": n.CreatedAt.UTC().Format(timeLayout), "created_by_name": nil,
		"sent_at": nullTime(n.SentAt), "completed_at": nullTime(n.CompletedAt),
		"scheduled_for": nil, "one_click_unsubscribe_url": nil,
		"is_cost_data_ready": false, "cost_in_pounds": nil, "cost_details": map[string]any{},
	}
	if n.Type == "email" {
		v["email_address"] = n.To
		v["subject"] = n.Subject
	} else if n.Type == "sms" {
		v["phone_number"] = n.To
	} else if n.Type == "messagebox" {
		v["subject"] = n.Subject
	}
	return v
}

var knownStatuses = map[string]bool{
	"cancelled": true, "created": true, "sending": true, "sent": true, "delivered": true, "pending": true, "failed": true,
	"technical-failure": true, "temporary-failure": true, "permanent-failure": true, "pending-virus-check": true,
	"validation-failed": true, "virus-scan-failed": true, "returned-letter": true, "accepted": true, "received": true,
}

// pageSize is Notify's page of GET /v2/notifications.
const pageSize = 250

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if tt := q.Get("template_type"); tt != "" && tt != "sms" && tt != "email" && tt != "letter" && tt != "messagebox" {
		writeError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("'%s' is not one of [sms, email, letter]", tt))
		return
	}
	statuses := q["status"]
	for _, st := range statuses {
		if !knownStatuses[st] {
			writeError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("status '%s' is not one of [cancelled, created, sending, sent, delivered, pending, failed, technical-failure, temporary-failure, permanent-failure, pending-virus-check, validation-failed, virus-scan-failed, returned-letter, accepted, received]", st))
			return
		}
	}
	olderThan := q.Get("older_than")
	if olderThan != "" {
		if _, err := uuid.Parse(olderThan); err != nil {
			writeError(w, http.StatusBadRequest, "ValidationError", "older_than is not a valid UUID")
			return
		}
	}
	service := keyFrom(r.Context()).ServiceID
	base := s.publicURL(r)

	s.mu.Lock()
	var page []map[string]any
	skipping := olderThan != ""
	for i := len(s.sent) - 1; i >= 0 && len(page) < pageSize; i-- { // newest first
		n := s.sent[i]
		if skipping {
			if n.ID == olderThan {
				skipping = false
			}
			continue
		}
		if n.ServiceID != service {
			continue
		}
		if tt := q.Get("template_type"); tt != "" && n.Type != tt {
			continue
		}
		if ref, ok := q["reference"]; ok && n.Reference != ref[0] {
			continue
		}
		if len(statuses) > 0 && !contains(statuses, n.Status) {
			continue
		}
		page = append(page, s.view(n, base))
	}
	s.mu.Unlock()

	links := map[string]any{"current": base + r.URL.RequestURI()}
	if len(page) == pageSize {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("older_than", page[len(page)-1]["id"].(string))
		links["next"] = base + r.URL.Path + "?" + nq.Encode()
	}
	if page == nil {
		page = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": page, "links": links})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *Server) getNotification(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		writeError(w, http.StatusBadRequest, "ValidationError", "notification_id is not a valid UUID")
		return
	}
	s.mu.Lock()
	n, ok := s.byID[id]
	var v map[string]any
	if ok && n.ServiceID == keyFrom(r.Context()).ServiceID {
		v = s.view(n, s.publicURL(r))
	}
	s.mu.Unlock()
	if v == nil {
		writeError(w, http.StatusNotFound, "NoResultFound", "No result found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// DeliverStatus sets the status of an accepted notification, as Notify does
// when its provider reports back, and posts the delivery receipt to the
// callback URL (asynchronously, with retries) when one is configured.
func (s *Server) DeliverStatus(id, status string) error {
	if !knownStatuses[status] {
		return fmt.Errorf("notify fake: unknown status %q", status)
	}
	now := s.now().UTC()
	s.mu.Lock()
	n, ok := s.byID[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("notify fake: no notification %s", id)
	}
	n.Status = status
	if n.SentAt.IsZero() && status != StatusCreated {
		n.SentAt = now
	}
	if status != StatusCreated && status != StatusSending && status != "pending" {
		n.CompletedAt = now
	}
	cb := map[string]any{
		"id": n.ID, "reference": nullable(n.Reference), "to": n.To, "status": status,
		"created_at": n.CreatedAt.Format(timeLayout), "completed_at": nullTime(n.CompletedAt), "sent_at": nullTime(n.SentAt),
		"notification_type": n.Type, "template_id": n.TemplateID, "template_version": n.TemplateVersion,
	}
	closed := s.closed
	s.mu.Unlock()
	if s.opts.CallbackURL == "" || closed {
		return nil
	}
	body, err := json.Marshal(cb)
	if err != nil {
		return fmt.Errorf("notify fake: encode callback: %w", err)
	}
	s.wg.Add(1)
	go s.postCallback(id, status, body)
	return nil
}

// postCallback posts one receipt, retrying on failure like Notify does.
func (s *Server) postCallback(id, status string, body []byte) {
	defer s.wg.Done()
	for attempt := 0; attempt <= s.opts.CallbackRetries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(s.opts.CallbackRetryWait)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return
			}
		}
		a := CallbackAttempt{NotificationID: id, Status: status}
		req, err := http.NewRequest(http.MethodPost, s.opts.CallbackURL, bytes.NewReader(body))
		if err != nil {
			a.Err = err.Error()
			s.record(a)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.opts.CallbackToken)
		resp, err := s.opts.CallbackClient.Do(req)
		if err != nil {
			a.Err = err.Error()
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			a.StatusCode = resp.StatusCode
		}
		s.record(a)
		if err == nil && resp.StatusCode < 300 {
			return
		}
		s.log.Info("notify fake: callback failed", "notification", id, "status", a.StatusCode, "error", a.Err)
	}
}

func (s *Server) record(a CallbackAttempt) {
	s.mu.Lock()
	s.callbacks = append(s.callbacks, a)
	s.mu.Unlock()
}
