package berichtenbox

// This file is the client for the ebMS adapter (ebms-core's REST API,
// /service/rest/v19/ebms) that carries GLOBE batches to Logius as
// GLOBE-R-BV-Request messages and receives GLOBE-R-BV-Result messages.
// It is thin: one method per call Koerier makes; batching and result
// handling live with the sealer.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
)

// Defaults of the Berichtenbox contract in the CPA (Worth-NL's
// ebms-adapter-client uses the same).
const (
	EBMSService      = "urn:osb:services:MIJNOVERHEID.ebMS.BB.2.0"
	EBMSAction       = "GLOBE-R-BV-Request"
	EBMSResultAction = "GLOBE-R-BV-Result"
	EBMSFromRole     = "SR"
	EBMSToRole       = "SP"
)

// ebMS event types the client asks for.
const (
	EventDelivered = "DELIVERED"
	EventFailed    = "FAILED"
	EventExpired   = "EXPIRED"
)

// EBMSOptions configure an EBMS client.
type EBMSOptions struct {
	// URL is the REST base, e.g. http://ebms:8080/service/rest/v19.
	URL   string
	CPAID string
	// OIN is ours: the from party is urn:osb:oin:<OIN> (a bare OIN fails
	// with "No fromParty found").
	OIN string
	// ToPartyID is optional; the adapter derives it from the CPA.
	ToPartyID          string
	Service, Action    string // defaults EBMSService, EBMSAction
	ResultAction       string // default EBMSResultAction
	FromRole, ToRole   string // defaults SR, SP (a missing role makes ebms-core answer 500)
	Username, Password string // HTTP Basic, when the adapter runs with -authentication
	HTTPClient         *http.Client
}

// EBMS talks to the ebMS adapter.
type EBMS struct {
	o    EBMSOptions
	base string
}

// NewEBMS returns a client.
func NewEBMS(o EBMSOptions) (*EBMS, error) {
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("berichtenbox: ebms: URL %q is not an absolute URL", o.URL)
	}
	if o.CPAID == "" || o.OIN == "" {
		return nil, errors.New("berichtenbox: ebms: CPA id and OIN are required")
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.Service, EBMSService)
	def(&o.Action, EBMSAction)
	def(&o.ResultAction, EBMSResultAction)
	def(&o.FromRole, EBMSFromRole)
	def(&o.ToRole, EBMSToRole)
	if o.HTTPClient == nil {
		// No in-process retry of a POST: the sealer resends the batch
		// with the same BatchID, which Logius recognises.
		o.HTTPClient = httpclient.New(httpclient.Options{RetryMax: -1})
	}
	return &EBMS{o: o, base: u.String() + "/ebms"}, nil
}

// MessageRequest is the body of POST messages.
type MessageRequest struct {
	Properties  MessageRequestProperties `json:"properties"`
	DataSources []DataSource             `json:"dataSources"`
}

// MessageRequestProperties are an outgoing message's ebMS headers.
type MessageRequestProperties struct {
	CPAID          string `json:"cpaId"`
	FromPartyID    string `json:"fromPartyId"`
	FromRole       string `json:"fromRole"`
	ToPartyID      string `json:"toPartyId,omitempty"`
	ToRole         string `json:"toRole,omitempty"`
	Service        string `json:"service"`
	Action         string `json:"action"`
	ConversationID string `json:"conversationId,omitempty"`
	MessageID      string `json:"messageId,omitempty"`
	RefToMessageID string `json:"refToMessageId,omitempty"`
}

// DataSource is a payload; Content is base64 in JSON.
type DataSource struct {
	Name        string `json:"name,omitempty"`
	ContentID   string `json:"contentId,omitempty"`
	ContentType string `json:"contentType"`
	Content     []byte `json:"content"`
}

// Message is a message as GET messages/{id} answers it.
type Message struct {
	Properties  MessageProperties `json:"properties"`
	DataSources []DataSource      `json:"dataSources"`
}

// MessageProperties are a stored message's ebMS headers.
type MessageProperties struct {
	CPAID          string `json:"cpaId"`
	FromParty      Party  `json:"fromParty"`
	ToParty        Party  `json:"toParty"`
	Service        string `json:"service"`
	Action         string `json:"action"`
	Timestamp      string `json:"timestamp"`
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	RefToMessageID string `json:"refToMessageId,omitempty"`
	MessageStatus  string `json:"messageStatus"`
}

// Party is an ebMS party and role.
type Party struct {
	PartyID string `json:"partyId"`
	Role    string `json:"role"`
}

// MessageEvent is an event about an outgoing message.
type MessageEvent struct {
	MessageID string `json:"messageId"`
	Type      string `json:"type"`
}

// SendBatch hands a GLOBE batch to the adapter and returns the ebMS
// MessageId. The BatchID is the conversation id, so the message can be
// found by batch in the adapter's console.
func (e *EBMS) SendBatch(ctx context.Context, batchID string, batchXML []byte) (string, error) {
	req := MessageRequest{
		Properties: MessageRequestProperties{CPAID: e.o.CPAID, FromPartyID: "urn:osb:oin:" + e.o.OIN, FromRole: e.o.FromRole,
			Service: e.o.Service, Action: e.o.Action, ConversationID: batchID},
		DataSources: []DataSource{{Name: "GLOBE-R-BV-Request-" + batchID + ".xml", ContentID: batchID, ContentType: "text/xml", Content: batchXML}},
	}
	if e.o.ToPartyID != "" {
		req.Properties.ToPartyID, req.Properties.ToRole = e.o.ToPartyID, e.o.ToRole
	}
	var id []byte
	if err := e.do(ctx, "send batch "+batchID, http.MethodPost, "/messages", req, &id); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(id)), nil
}

// UnprocessedResults lists the ids of GLOBE-R-BV-Result messages not yet
// marked processed, for our CPA only (other inbound messages are not ours
// to parse).
func (e *EBMS) UnprocessedResults(ctx context.Context) ([]string, error) {
	q := url.Values{"cpaId": {e.o.CPAID}, "action": {e.o.ResultAction}}
	var ids []string
	err := e.do(ctx, "list results", http.MethodGet, "/messages/unprocessed?"+q.Encode(), nil, &ids)
	return ids, err
}

// Result fetches a result message (without marking it processed) and
// parses its BerichtVerwerkResponse; gzipped payloads are unpacked.
func (e *EBMS) Result(ctx context.Context, messageID string) (Response, error) {
	var m Message
	if err := e.do(ctx, "get result "+messageID, http.MethodGet, "/messages/"+url.PathEscape(messageID)+"?process=false", nil, &m); err != nil {
		return Response{}, err
	}
	if len(m.DataSources) == 0 {
		return Response{}, fmt.Errorf("berichtenbox: ebms: result %s has no payload", messageID)
	}
	raw := m.DataSources[0].Content
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return Response{}, fmt.Errorf("berichtenbox: ebms: result %s: %w", messageID, err)
		}
		if raw, err = io.ReadAll(io.LimitReader(zr, 64<<20)); err != nil {
			return Response{}, fmt.Errorf("berichtenbox: ebms: result %s: %w", messageID, err)
		}
	}
	return ParseResponse(raw)
}

// MarkProcessed takes a message off the unprocessed list.
func (e *EBMS) MarkProcessed(ctx context.Context, messageID string) error {
	return e.do(ctx, "process "+messageID, http.MethodPatch, "/messages/"+url.PathEscape(messageID), nil, nil)
}

// UnprocessedEvents lists FAILED and EXPIRED events of our outgoing
// messages (they need eventListener.type=DAO in the adapter).
func (e *EBMS) UnprocessedEvents(ctx context.Context) ([]MessageEvent, error) {
	q := url.Values{"cpaId": {e.o.CPAID}, "eventTypes": {EventFailed, EventExpired}}
	var evs []MessageEvent
	err := e.do(ctx, "list events", http.MethodGet, "/events/unprocessed?"+q.Encode(), nil, &evs)
	return evs, err
}

// MarkEventProcessed takes an event off the unprocessed list.
func (e *EBMS) MarkEventProcessed(ctx context.Context, messageID string) error {
	return e.do(ctx, "process event "+messageID, http.MethodPatch, "/events/"+url.PathEscape(messageID), nil, nil)
}

// do performs one call. out is *[]byte for text/plain answers, a pointer
// to decode JSON into, or nil. Transport errors and 5xx are temporary (the
// adapter answers every send validation error with 500 too, so those
// retry until the attempt limit dead-letters them); 400, 401, 403 mean our
// configuration is wrong; 404 is an unknown message.
func (e *EBMS) do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("berichtenbox: ebms: %s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, body)
	if err != nil {
		return fmt.Errorf("berichtenbox: ebms: %s: %w", op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.o.Username != "" {
		req.SetBasicAuth(e.o.Username, e.o.Password)
	}
	resp, err := e.o.HTTPClient.Do(req)
	if err != nil {
		return failure.Temporary(fmt.Errorf("berichtenbox: ebms: %s: %w", op, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return failure.Temporary(fmt.Errorf("berichtenbox: ebms: %s: read answer: %w", op, err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("berichtenbox: ebms: %s: HTTP %d: %s", op, resp.StatusCode, strings.TrimSpace(string(b[:min(len(b), 300)])))
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return failure.Temporary(err)
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return failure.Config(err)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = b
		return nil
	default:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("berichtenbox: ebms: %s: decode answer: %w", op, err)
		}
		return nil
	}
}

// ErrNotFound: the adapter does not know the message.
var ErrNotFound = errors.New("not found")
