package notify

// The messagebox notification type: NotifyNL hands a bericht to the
// inwoner's MijnOverheid Berichtenbox (POST /v2/notifications/messagebox).
// The fake checks what Logius would refuse (lengths, BSN, berichttype,
// at most two PDF attachments of 500 kB together) and records the bericht
// with its attachments, so a test can open what the inwoner would see.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Attachment is a file attached to a messagebox notification.
type Attachment struct {
	Filename string
	Content  []byte
}

var messageboxFields = []string{"recipient", "subject", "message", "message_type", "reference", "attachments"}

type messageboxRequest struct {
	Recipient   string `json:"recipient"`
	Subject     string `json:"subject"`
	Message     string `json:"message"`
	MessageType string `json:"message_type"`
	Reference   string `json:"reference"`
	Attachments []struct {
		Filename string `json:"filename"`
		Content  string `json:"content"`
	} `json:"attachments"`
}

var bsnRE = regexp.MustCompile(`^[0-9]{9}$`)

// Logius' limits on a Berichtenbox bericht.
const (
	maxMessageboxSubject     = 50
	maxMessageboxMessage     = 4000
	maxMessageboxType        = 8
	maxMessageboxAttachments = 2
	maxMessageboxAttachBytes = 500 * 1000
)

func (s *Server) sendMessagebox(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON supplied in POST data")
		return
	}
	var raw map[string]json.RawMessage
	var req messageboxRequest
	if json.Unmarshal(body, &raw) != nil || json.Unmarshal(body, &req) != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON supplied in POST data")
		return
	}
	var errs []string
	for k := range raw {
		if !contains(messageboxFields, k) {
			errs = append(errs, "Additional properties are not allowed ("+k+" was unexpected)")
		}
	}
	if !bsnRE.MatchString(req.Recipient) {
		errs = append(errs, "recipient is not a BSN")
	}
	if n := utf8.RuneCountInString(req.Subject); n < 1 || n > maxMessageboxSubject {
		errs = append(errs, fmt.Sprintf("subject has %d characters, must be 1 to %d", n, maxMessageboxSubject))
	}
	if n := utf8.RuneCountInString(req.Message); n < 1 || n > maxMessageboxMessage {
		errs = append(errs, fmt.Sprintf("message has %d characters, must be 1 to %d", n, maxMessageboxMessage))
	}
	if n := len(req.MessageType); n < 1 || n > maxMessageboxType {
		errs = append(errs, fmt.Sprintf("message_type has %d characters, must be 1 to %d", n, maxMessageboxType))
	}
	if len(req.Attachments) > maxMessageboxAttachments {
		errs = append(errs, fmt.Sprintf("attachments: at most %d", maxMessageboxAttachments))
	}
	var atts []Attachment
	total := 0
	for i, a := range req.Attachments {
		b, err := base64.StdEncoding.DecodeString(a.Content)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("attachments[%d].content is not base64", i))
		case !bytes.HasPrefix(b, []byte("%PDF-")):
			errs = append(errs, fmt.Sprintf("attachments[%d] is not a PDF", i))
		case a.Filename == "":
			errs = append(errs, fmt.Sprintf("attachments[%d].filename is required", i))
		}
		total += len(b)
		atts = append(atts, Attachment{Filename: a.Filename, Content: b})
	}
	if total > maxMessageboxAttachBytes {
		errs = append(errs, fmt.Sprintf("attachments are %d bytes together, at most %d", total, maxMessageboxAttachBytes))
	}
	if len(errs) > 0 {
		items := make([]map[string]string, len(errs))
		for i, e := range errs {
			items[i] = map[string]string{"error": "ValidationError", "message": e}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"status_code": http.StatusBadRequest, "errors": items})
		return
	}
	key := keyFrom(r.Context())
	n := &Sent{ID: uuid.NewString(), Type: "messagebox", To: req.Recipient, Reference: req.Reference, Subject: req.Subject,
		Body: req.Message, MessageType: req.MessageType, Attachments: atts, Status: StatusCreated, CreatedAt: s.now().UTC(), ServiceID: key.ServiceID}
	s.mu.Lock()
	s.sent = append(s.sent, n)
	s.byID[n.ID] = n
	s.mu.Unlock()
	base := s.publicURL(r)
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": n.ID, "reference": nullable(n.Reference), "uri": base + "/v2/notifications/" + n.ID,
		"content": map[string]any{"subject": n.Subject, "body": n.Body}, "scheduled_for": nil,
	})
	if s.opts.AutoStatus {
		_ = s.DeliverStatus(n.ID, s.finalStatus(n.To))
	}
}
