// Package httpapi is Koerier's HTTP front door: the ingest endpoints that
// turn an Open Notificaties callback (POST /api/v1/notificaties), an event
// from a non-ZGW system (POST /api/v1/events) or a CloudEvent
// (POST /api/v1/cloudevents) into an event.Inbound on the bus, plus
// /healthz, /readyz and a place to mount authenticated handlers (Notify
// callbacks, admin API).
//
// Ingest answers within Open Notificaties' timeout and never loses an
// accepted notification: it publishes durably first and only then marks the
// notification as seen and answers 2xx. It knows the bus only as a watermill
// Publisher and state only as a store.Store; it does not know the pipeline.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// SeenTTL is how long an accepted inbound id is remembered for dedup. Open
// Notificaties gives up retrying after about a day; a week covers replays by
// hand too.
const SeenTTL = 7 * 24 * time.Hour

// SeenKey is the store key under which ingest remembers an accepted inbound.
func SeenKey(id string) string { return "inbound:" + id }

// ReadyCheck is one dependency /readyz checks, e.g. the bus.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Options configure a Server. Publisher and Store are required.
type Options struct {
	// Publisher is the bus; its Publish must return only when the message
	// is durable (publisher confirms, SQLite commit).
	Publisher message.Publisher
	Store     store.Store

	// Tokens are the Authorization header values accepted on
	// /api/v1/notificaties and /api/v1/cloudevents, compared whole
	// ("Token abc", "Bearer xyz"): the abonnement's auth value. No tokens
	// means every request is refused.
	Tokens []string
	// SourceTokens maps a source system's name to the Authorization value
	// it sends to /api/v1/events (and may send to /api/v1/cloudevents): the
	// token identifies the source.
	SourceTokens map[string]string
	// AdminTokens are the Authorization values accepted by handlers
	// mounted with MountAdmin.
	AdminTokens []string

	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxInflightRequests and MaxInflightBytes bound the authenticated
	// ingest requests handled at once and the body bytes they declare
	// (defaults DefaultMaxInflightRequests, DefaultMaxInflightBytes).
	MaxInflightRequests int
	MaxInflightBytes    int64
	Logger              *slog.Logger
	// Now is the clock (default clock.System).
	Now func() time.Time
	// Ready lists the checks /readyz runs besides the store's Ping.
	Ready []ReadyCheck
	// ReadyTimeout bounds all checks of one /readyz call (default 3s).
	ReadyTimeout time.Duration
	// Meter records ingest counters (default no-op).
	Meter metric.Meter
	// TracerProvider, when set, gives every request a server span that
	// continues an incoming traceparent; the inbound message published
	// carries the span's context (wrap Publisher in
	// telemetry.TracingPublisher to inject it into the metadata), so one
	// trace runs from webhook to delivery.
	TracerProvider trace.TracerProvider
	// TrustedTraceSources are the networks whose traceparent header is
	// continued. A request from anywhere else starts a new trace with a
	// link to the one it names, so a caller cannot make its own trace
	// ids (and sampling decision) ours. Baggage is never read. Each is a
	// CIDR (10.0.0.0/8) or a single address; New panics on anything else,
	// which config validation refuses first.
	TrustedTraceSources []string
}

// Server is Koerier's HTTP handler. Create it with New; mount extra handlers
// with Mount or MountAdmin before serving.
type Server struct {
	o       Options
	mux     *http.ServeMux
	handler http.Handler
	log     *slog.Logger
	metrics *metrics
	tokens  [][sha256.Size]byte
	admin   [][sha256.Size]byte
	// sourceNames[i] is the source system whose token hashes to sourceSums[i].
	sourceNames []string
	sourceSums  [][sha256.Size]byte
	inflight    *inflight
}

// New builds the server and registers its routes. It panics without a
// Publisher or Store: that is a wiring mistake, not a runtime condition.
func New(o Options) *Server {
	if o.Publisher == nil || o.Store == nil {
		panic("httpapi: New needs Options.Publisher and Options.Store")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxInflightRequests <= 0 {
		o.MaxInflightRequests = DefaultMaxInflightRequests
	}
	if o.MaxInflightBytes <= 0 {
		o.MaxInflightBytes = DefaultMaxInflightBytes
	}
	o.MaxInflightBytes = max(o.MaxInflightBytes, o.MaxBodyBytes)
	if o.Now == nil {
		o.Now = clock.System
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 3 * time.Second
	}
	s := &Server{
		o:       o,
		mux:     http.NewServeMux(),
		log:     o.Logger.With("component", "httpapi"),
		metrics: newMetrics(o.Meter),
		tokens:  hashAll(o.Tokens),
		admin:   hashAll(o.AdminTokens),
		inflight: &inflight{maxRequests: o.MaxInflightRequests, maxBytes: o.MaxInflightBytes,
			bodyLimit: o.MaxBodyBytes},
	}
	// Sorted, so that a token shared by mistake always names the same system.
	for _, name := range slices.Sorted(maps.Keys(o.SourceTokens)) {
		if tok := o.SourceTokens[name]; tok != "" {
			s.sourceNames = append(s.sourceNames, name)
			s.sourceSums = append(s.sourceSums, sha256.Sum256([]byte(tok)))
		}
	}
	s.handler = s.mux
	trusted := make([]netip.Prefix, 0, len(o.TrustedTraceSources))
	for _, src := range o.TrustedTraceSources {
		p, err := netip.ParsePrefix(src)
		if err != nil {
			a, aerr := netip.ParseAddr(src)
			if aerr != nil {
				panic(fmt.Sprintf("httpapi: trusted trace source %q is not a network: %v", src, err))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		trusted = append(trusted, p.Masked())
	}
	if o.TracerProvider != nil {
		s.handler = otelhttp.NewHandler(s.mux, "koerier.http",
			otelhttp.WithTracerProvider(o.TracerProvider),
			otelhttp.WithMeterProvider(noopMeterProvider),
			// The route pattern, not the path: paths may carry ids.
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
				if r.Pattern != "" {
					return r.Pattern
				}
				return r.Method
			}),
			otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" }),
			otelhttp.WithPropagators(telemetry.Propagator),
			otelhttp.WithPublicEndpointFn(func(r *http.Request) bool { return !trustedSource(r, trusted) }),
		)
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("POST /api/v1/notificaties", s.notificaties)
	s.mux.HandleFunc("POST /api/v1/events", s.events)
	s.mux.HandleFunc("POST /api/v1/cloudevents", s.cloudevents)
	return s
}

// trustedSource reports whether r comes from one of the trusted networks.
// It looks at the peer address only: a proxy's X-Forwarded-For is as easy
// to forge as the traceparent itself.
func trustedSource(r *http.Request, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ServeHTTP implements http.Handler. A panic in any handler becomes a 500
// problem instead of a dropped connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(v))
			WriteProblem(w, http.StatusInternalServerError, "Internal error", "The request could not be handled.")
		}
	}()
	s.handler.ServeHTTP(w, r)
}

// Mount registers h for pattern (http.ServeMux syntax, e.g.
// "POST /api/v1/notify/callback") without any authentication: h must
// authenticate itself, e.g. with RequireAuthorization.
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// MountAdmin registers h for pattern behind the admin tokens.
func (s *Server) MountAdmin(pattern string, h http.Handler) {
	s.mux.Handle(pattern, requireHashed(s.admin, h))
}

// RequireAuthorization wraps h so that it is reached only with an
// Authorization header equal to one of tokens: 401 without the header, 403
// with a wrong one.
func RequireAuthorization(tokens []string, h http.Handler) http.Handler {
	return requireHashed(hashAll(tokens), h)
}

func requireHashed(sums [][sha256.Size]byte, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorize(w, r, sums) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorize answers 401/403 and returns false unless the Authorization
// header matches one of sums. Open Notificaties relies on exactly this when
// it creates an abonnement: it posts a probe without the header and wants a
// 401 or 403, then posts it with the header and wants a 204.
func authorize(w http.ResponseWriter, r *http.Request, sums [][sha256.Size]byte) bool {
	got := r.Header.Get("Authorization")
	if got == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="koerier"`)
		WriteProblem(w, http.StatusUnauthorized, "Not authenticated", "The Authorization header is missing.")
		return false
	}
	if matchToken(got, sums) < 0 {
		WriteProblem(w, http.StatusForbidden, "Permission denied", "The Authorization header is not accepted.")
		return false
	}
	return true
}

// matchToken returns the index of the token equal to header, or -1. Both
// sides are hashed first so that the comparison takes the same time whatever
// the lengths, and every token is compared so that the position of a match
// does not show in the timing either.
func matchToken(header string, sums [][sha256.Size]byte) int {
	h := sha256.Sum256([]byte(header))
	found := -1
	for i := range sums {
		if subtle.ConstantTimeCompare(h[:], sums[i][:]) == 1 && found < 0 {
			found = i
		}
	}
	return found
}

func hashAll(tokens []string) [][sha256.Size]byte {
	out := make([][sha256.Size]byte, 0, len(tokens))
	for _, t := range tokens {
		if t != "" {
			out = append(out, sha256.Sum256([]byte(t)))
		}
	}
	return out
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// readyz answers Kubernetes' readiness probe, which cannot send a token:
// so it is open, and says no more than ready or not. Which check failed,
// and why (peer addresses, error texts), goes to the log only.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.o.ReadyTimeout)
	defer cancel()
	checks := s.o.Ready
	if s.o.Store != nil {
		checks = append([]ReadyCheck{{Name: "store", Check: s.o.Store.Ping}}, checks...)
	}
	ready := true
	for _, c := range checks {
		if err := c.Check(ctx); err != nil {
			ready = false
			s.log.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
		}
	}
	if !ready {
		w.Header().Set("Retry-After", "5")
		WriteProblem(w, http.StatusServiceUnavailable, "Not ready", "A dependency is unavailable; see the log.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// readBody reads at most MaxBodyBytes; it answers 413 itself and returns
// false when the body is larger.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, source string) ([]byte, bool) {
	if r.ContentLength > s.o.MaxBodyBytes {
		s.metrics.rejected(r.Context(), source, "too_large")
		WriteProblem(w, http.StatusRequestEntityTooLarge, "Body too large",
			fmt.Sprintf("The body is larger than %d bytes.", s.o.MaxBodyBytes))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.metrics.rejected(r.Context(), source, "too_large")
			WriteProblem(w, http.StatusRequestEntityTooLarge, "Body too large",
				fmt.Sprintf("The body is larger than %d bytes.", s.o.MaxBodyBytes))
			return nil, false
		}
		s.metrics.rejected(r.Context(), source, "read_error")
		WriteProblem(w, http.StatusBadRequest, "Unreadable body", "The request body could not be read.")
		return nil, false
	}
	return body, true
}

// writeValidation answers 400 for err (a *ValidationError or anything else).
func (s *Server) writeValidation(w http.ResponseWriter, r *http.Request, source string, err error) {
	s.metrics.rejected(r.Context(), source, "invalid")
	var verr *ValidationError
	if errors.As(err, &verr) {
		WriteProblem(w, http.StatusBadRequest, "Invalid request body", verr.Error()+".", verr.Params...)
		return
	}
	WriteProblem(w, http.StatusBadRequest, "Invalid request body", "The request body is not valid.")
}

func (s *Server) notificaties(w http.ResponseWriter, r *http.Request) {
	const source = event.SourceNotificaties
	s.metrics.received(r.Context(), source)
	if !s.authorizeIngest(w, r, source, s.tokens) {
		return
	}
	s.ingestNotification(w, r, "")
}

// ingestNotification takes an authenticated Notificaties API message, on
// /api/v1/notificaties or the OMC's /Events/Listen: bounded in flight,
// parsed, probes answered, then durably published. via, when set, is added
// to the ledger detail (which endpoint took it).
func (s *Server) ingestNotification(w http.ResponseWriter, r *http.Request, via string) {
	const source = event.SourceNotificaties
	release, ok := s.admit(w, r, source)
	if !ok {
		return
	}
	defer release()
	body, ok := s.readBody(w, r, source)
	if !ok {
		return
	}
	n, err := ParseNotification(body)
	if err != nil {
		s.writeValidation(w, r, source, err)
		return
	}
	// Open Notificaties sends kanaal "test" only to validate a callback URL
	// while an abonnement is created or updated; it wants a plain 204.
	if n.Kanaal == "test" {
		s.metrics.probe(r.Context(), source)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	in := event.Inbound{
		ID:           NotificationID(n),
		Source:       source,
		ReceivedAt:   s.o.Now().UTC(),
		Notification: &n,
	}
	detail := IngestDetail(in)
	if via != "" {
		detail += " (" + via + ")"
	}
	// Open Notificaties counts only 204 as delivered.
	s.accept(w, r, in, detail, http.StatusNoContent)
}

func (s *Server) authorizeIngest(w http.ResponseWriter, r *http.Request, source string, sums [][sha256.Size]byte) bool {
	if r.Header.Get("Authorization") == "" {
		s.metrics.rejected(r.Context(), source, "unauthenticated")
	} else if matchToken(r.Header.Get("Authorization"), sums) < 0 {
		s.metrics.rejected(r.Context(), source, "forbidden")
	}
	return authorize(w, r, sums)
}

// accept runs ingest for one inbound and answers: ok (with a JSON body
// unless ok is 204) when it was accepted or already seen, 503 when the bus
// refused it.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, in event.Inbound, detail string, ok int) {
	what, err := s.ingest(r.Context(), in, detail)
	if err != nil {
		writeUnavailable(w)
		return
	}
	writeAccepted(w, ok, in.ID, what)
}

func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "30")
	WriteProblem(w, http.StatusServiceUnavailable, "Temporarily unavailable",
		"The message could not be queued; try again later.")
}

// ingest is the one path every inbound takes once it is authenticated and
// valid: skip it when already seen, publish it durably, and only then
// remember it. Marking it seen before the publish succeeded would lose it if
// the process died in between; publishing a duplicate when the mark fails is
// harmless because every later stage is idempotent. It returns "accepted" or
// "duplicate", or the publish error.
func (s *Server) ingest(ctx context.Context, in event.Inbound, detail string) (string, error) {
	key := SeenKey(in.ID)
	if _, seen, err := s.o.Store.Get(ctx, key); err != nil {
		s.log.WarnContext(ctx, "ingest: dedup lookup failed, publishing anyway", "inbound", in.ID, "err", err)
	} else if seen {
		s.metrics.duplicate(ctx, in.Source)
		s.log.DebugContext(ctx, "ingest: duplicate", "inbound", in.ID, "source", in.Source)
		return "duplicate", nil
	}

	trace.SpanFromContext(ctx).SetAttributes(attribute.String("koerier.inbound.id", in.ID), attribute.String("koerier.inbound.source", in.Source))
	msg := message.NewMessage(in.ID, event.Marshal(in))
	msg.SetContext(ctx)
	msg.Metadata.Set("source", in.Source)
	if err := s.o.Publisher.Publish(event.TopicInbound, msg); err != nil {
		s.metrics.rejected(ctx, in.Source, "publish_failed")
		s.log.ErrorContext(ctx, "ingest: publish failed", "inbound", in.ID, "source", in.Source, "err", err)
		return "", fmt.Errorf("httpapi: publish inbound: %w", err)
	}

	// The message is on the bus: from here on nothing the client does may
	// stop the bookkeeping. A client that hangs up (Open Notificaties
	// after its 10 s timeout) used to cancel these writes and leave the
	// trail without its start and a redelivery unrecognised.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterPublishTimeout)
	defer cancel()
	if err := s.o.Store.Set(wctx, key, []byte(in.ReceivedAt.Format(time.RFC3339Nano)), SeenTTL); err != nil {
		s.log.WarnContext(ctx, "ingest: remember inbound failed", "inbound", in.ID, "err", err)
	}
	if err := recordIngest(wctx, s.o.Store, in, detail); err != nil {
		// Enrich writes it when it takes the message (EnsureIngested).
		s.log.WarnContext(ctx, "ingest: ledger append failed; enrich will record it", "inbound", in.ID, "err", err)
	}
	s.metrics.accepted(ctx, in.Source)
	s.log.InfoContext(ctx, "ingest: accepted", "inbound", in.ID, "source", in.Source, "detail", detail)
	return "accepted", nil
}

// AcceptedResponse is the body of a 202 from /api/v1/events: the inbound id
// is what an admin looks the trail up by.
type AcceptedResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"` // accepted or duplicate
}

func writeAccepted(w http.ResponseWriter, status int, id, what string) {
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(AcceptedResponse{ID: id, Status: what})
}
