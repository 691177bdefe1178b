// Package notify is a fake of Notify NL (GOV.UK Notify API v2) for tests,
// the demo and the sandbox: it authenticates requests with the JWT rules
// Notify uses, validates and renders email and SMS requests from a seeded
// template registry, answers with Notify's documented bodies, records what
// it accepted, serves the look-up endpoints and posts delivery-status
// callbacks. Faults (429, 5xx, delays) come from a fault.Injector.
//
// It speaks the wire protocol only and shares no code with
// channels/notifynl, so that a test of the client against the fake checks
// the protocol, not a shared assumption. Production code never imports it.
package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// Key is an API key the fake accepts. Type is Notify's key type (live,
// team, test), used in the rate-limit message.
type Key struct {
	Name      string
	ServiceID string
	Secret    string
	Type      string
}

// String is the key in Notify's `{key_name}-{service_id}-{secret_key}` form.
func (k Key) String() string { return k.Name + "-" + k.ServiceID + "-" + k.Secret }

// ParseKey reads a key in Notify's format, taking the two UUIDs from the
// right because the name may contain dashes, so that the sandbox can accept
// the very key string Koerier is configured with.
func ParseKey(s string) (Key, error) {
	const n = 36
	if len(s) < 2*n+3 || s[len(s)-n-1] != '-' || s[len(s)-2*n-2] != '-' {
		return Key{}, errors.New("notify fake: API key is not {key_name}-{service_id}-{secret_key}")
	}
	k := Key{Name: s[:len(s)-2*n-2], ServiceID: s[len(s)-2*n-1 : len(s)-n-1], Secret: s[len(s)-n:], Type: "live"}
	if _, err := uuid.Parse(k.ServiceID); err != nil {
		return Key{}, errors.New("notify fake: API key service id is not a UUID")
	}
	if _, err := uuid.Parse(k.Secret); err != nil {
		return Key{}, errors.New("notify fake: API key secret is not a UUID")
	}
	return k, nil
}

// NewKey makes a key with random service id and secret.
func NewKey(name string) Key {
	return Key{Name: name, ServiceID: uuid.NewString(), Secret: uuid.NewString(), Type: "live"}
}

// Template is a Notify template. Subject and Body may hold ((placeholders)).
type Template struct {
	ID      string
	Type    string // "email" or "sms"
	Version int
	Name    string
	Subject string
	Body    string
}

// Notify statuses the fake uses.
const (
	StatusCreated          = "created"
	StatusSending          = "sending"
	StatusDelivered        = "delivered"
	StatusPermanentFailure = "permanent-failure"
	StatusTemporaryFailure = "temporary-failure"
	StatusTechnicalFailure = "technical-failure"
)

// DefaultStatusRules give the final status of a message by the end of its
// recipient, so that a test can provoke a bounce with an address alone.
var DefaultStatusRules = map[string]string{
	"@bounce.example":            StatusPermanentFailure,
	"+31600000000":               StatusPermanentFailure, // an SMS that bounces
	"@temporary-failure.example": StatusTemporaryFailure,
	"@technical-failure.example": StatusTechnicalFailure,
}

// Options configure a Server. The zero value accepts nothing (no keys).
type Options struct {
	Keys      []Key
	Templates []Template
	// Now is the fake's clock (default clock.System); the 30-second iat window
	// is checked against it.
	Now func() time.Time
	// PublicURL is used in the uri fields of answers (default: derived from
	// the request's Host).
	PublicURL  string
	FromEmail  string // default "gemeente@notifynl.example"
	FromNumber string // default "Gemeente"

	// CallbackURL and CallbackToken: where and with which bearer token the
	// fake posts delivery receipts (none when CallbackURL is empty).
	CallbackURL   string
	CallbackToken string
	// CallbackClient posts the callbacks (default a plain client with a 5 s
	// timeout).
	CallbackClient *http.Client
	// CallbackRetries is how often a failed callback is retried (default 5,
	// as Notify does), CallbackRetryWait the pause between tries (default
	// 50 ms: Notify waits 5 minutes, which no test wants).
	CallbackRetries   int
	CallbackRetryWait time.Duration

	// AutoStatus settles every accepted notification at once with the
	// status from StatusRules (default delivered) and posts its callback.
	// Without it, call DeliverStatus.
	AutoStatus bool
	// StatusRules maps a suffix of the recipient (email address or phone
	// number as sent) to a final status; nil means DefaultStatusRules.
	StatusRules map[string]string

	// RateLimit is the number of API requests one key may make per 60
	// seconds of the fake's clock before it is answered 429 RateLimitError,
	// as Notify does at 3,000 (0: no limit).
	RateLimit int

	// Faults is consulted before every request (after it is recorded in
	// Requests); nil means a fresh injector, see Server.Faults.
	Faults *fault.Injector
	Logger *slog.Logger
}

// Sent is one notification the fake accepted.
type Sent struct {
	ID              string
	Type            string // email or sms
	To              string
	TemplateID      string
	TemplateVersion int
	Personalisation map[string]any
	Reference       string
	ReplyToID       string
	SenderID        string
	Subject         string
	Body            string
	Status          string
	CreatedAt       time.Time
	SentAt          time.Time
	CompletedAt     time.Time
	ServiceID       string
	// MessageType and Attachments are set for a messagebox notification
	// (To is then the BSN).
	MessageType string
	Attachments []Attachment
}

// Request is one HTTP request that reached the fake, before faults and
// authentication: what a client sent, for assertions about retries.
type Request struct {
	Method string
	Path   string
	// Token is the bearer token (empty if none); IssuedAt its unverified
	// iat claim (zero if unreadable).
	Token    string
	IssuedAt time.Time
	At       time.Time
}

// CallbackAttempt is one try to post a delivery receipt.
type CallbackAttempt struct {
	NotificationID string
	Status         string
	StatusCode     int // 0 when the request failed
	Err            string
}

// Server is the fake Notify API. It is safe for concurrent use.
type Server struct {
	opts     Options
	now      func() time.Time
	handler  http.Handler
	log      *slog.Logger
	services map[string][]Key

	mu        sync.Mutex
	templates map[string]Template
	sent      []*Sent
	byID      map[string]*Sent
	requests  []Request
	hits      map[string][]time.Time // per service id, for RateLimit
	callbacks []CallbackAttempt
	closed    bool

	wg   sync.WaitGroup
	stop chan struct{}
}

// NewServer builds the fake from opts.
func NewServer(opts Options) *Server {
	s := &Server{
		opts:      opts,
		now:       opts.Now,
		log:       opts.Logger,
		services:  map[string][]Key{},
		templates: map[string]Template{},
		byID:      map[string]*Sent{},
		hits:      map[string][]time.Time{},
		stop:      make(chan struct{}),
	}
	if s.now == nil {
		s.now = clock.System
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.FromEmail == "" {
		s.opts.FromEmail = "gemeente@notifynl.example"
	}
	if s.opts.FromNumber == "" {
		s.opts.FromNumber = "Gemeente"
	}
	if s.opts.CallbackClient == nil {
		s.opts.CallbackClient = &http.Client{Timeout: 5 * time.Second}
	}
	if s.opts.CallbackRetries == 0 {
		s.opts.CallbackRetries = 5
	}
	if s.opts.CallbackRetryWait == 0 {
		s.opts.CallbackRetryWait = 50 * time.Millisecond
	}
	if s.opts.StatusRules == nil {
		s.opts.StatusRules = DefaultStatusRules
	}
	for _, k := range opts.Keys {
		if k.Type == "" {
			k.Type = "live"
		}
		s.services[k.ServiceID] = append(s.services[k.ServiceID], k)
	}
	for _, t := range opts.Templates {
		s.AddTemplate(t)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/notifications/email", s.auth(s.sendEmail))
	mux.HandleFunc("POST /v2/notifications/sms", s.auth(s.sendSMS))
	mux.HandleFunc("POST /v2/notifications/messagebox", s.auth(s.sendMessagebox))
	mux.HandleFunc("GET /v2/notifications", s.auth(s.listNotifications))
	mux.HandleFunc("GET /v2/notifications/{id}", s.auth(s.getNotification))
	if s.opts.Faults == nil {
		s.opts.Faults = &fault.Injector{}
	}
	s.handler = s.opts.Faults.Wrap(mux)
	return s
}

// ServeHTTP records the request and serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body before anything else: net/http only notices that a
	// client hung up (and cancels r.Context()) once the body is consumed,
	// and an injected delay must end when a timed-out client goes away.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON supplied in POST data")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	tok := bearer(r.Header.Get("Authorization"))
	s.mu.Lock()
	if len(s.requests) >= maxRequests {
		// A long-running sandbox must not grow without bound; tests look
		// at the recent requests only.
		s.requests = append(s.requests[:0], s.requests[len(s.requests)-maxRequests/2:]...)
	}
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Token: tok, IssuedAt: unverifiedIAT(tok), At: s.now()})
	s.mu.Unlock()
	s.handler.ServeHTTP(w, r)
}

// Faults returns the injector in front of the API (Options.Faults, or one
// the server made), to add faults while it runs.
func (s *Server) Faults() *fault.Injector { return s.opts.Faults }

// AddTemplate adds or replaces a template; Version defaults to 1.
func (s *Server) AddTemplate(t Template) {
	if t.Version == 0 {
		t.Version = 1
	}
	s.mu.Lock()
	s.templates[t.ID] = t
	s.mu.Unlock()
}

// Sent returns copies of the accepted notifications, oldest first.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sent, len(s.sent))
	for i, n := range s.sent {
		out[i] = *n
	}
	return out
}

// SentCount is the number of accepted notifications, without copying them
// (koerier bench polls it while thousands arrive).
func (s *Server) SentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// Requests returns every request that reached the fake, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Callbacks returns every callback attempt so far.
func (s *Server) Callbacks() []CallbackAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAttempt(nil), s.callbacks...)
}

// Close stops callback retries and waits for callbacks in flight.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// maxRequests bounds the request log kept for Requests.
const maxRequests = 10000

// maxRequestBody bounds a request; Notify refuses emails over 2 MB anyway.
const maxRequestBody = 4 << 20

// limited records a request of key's service and reports whether it is
// over RateLimit within the last 60 seconds.
func (s *Server) limited(k Key) bool {
	if s.opts.RateLimit <= 0 {
		return false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	hits := s.hits[k.ServiceID]
	i := 0
	for i < len(hits) && now.Sub(hits[i]) >= time.Minute {
		i++
	}
	hits = hits[i:]
	if len(hits) >= s.opts.RateLimit {
		s.hits[k.ServiceID] = hits
		return true
	}
	s.hits[k.ServiceID] = append(hits, now)
	return false
}

func (s *Server) rateLimitMessage(k Key) string {
	return fmt.Sprintf("Exceeded rate limit for key type %s of %d requests per 60 seconds", strings.ToUpper(k.Type), s.opts.RateLimit)
}

// writeError writes Notify's documented error shape.
func writeError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, map[string]any{
		"status_code": status,
		"errors":      []map[string]string{{"error": kind, "message": msg}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// publicURL is the base for uri fields.
func (s *Server) publicURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// finalStatus picks the status a recipient's message ends in.
func (s *Server) finalStatus(to string) string {
	// Longest suffix wins, so a specific address can override a domain.
	keys := make([]string, 0, len(s.opts.StatusRules))
	for k := range s.opts.StatusRules {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	lower := strings.ToLower(to)
	for _, k := range keys {
		if strings.HasSuffix(lower, strings.ToLower(k)) {
			return s.opts.StatusRules[k]
		}
	}
	return StatusDelivered
}
