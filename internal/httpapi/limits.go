package httpapi

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of the listener limits (config.Default() sets the same values;
// config/defaults_test.go keeps them in step). Every connection can be
// opened by anyone, without credentials, so none of them may be unbounded.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout covers headers and body: Open Notificaties' own
	// client gives up after 10 s, so a body still arriving then is not
	// from a client that will wait for our answer.
	DefaultReadTimeout = 10 * time.Second
	// DefaultWriteTimeout runs from the end of the request headers, so it
	// must leave room for the read and the durable publish.
	DefaultWriteTimeout        = 15 * time.Second
	DefaultIdleTimeout         = 60 * time.Second
	DefaultMaxHeaderBytes      = 64 << 10
	DefaultMaxInflightRequests = 32
	DefaultMaxInflightBytes    = 16 << 20
)

// ListenerOptions bound what a connection may cost. Zero values take the
// defaults above.
type ListenerOptions struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// ConnState, when set, is called on every connection state change
	// (tests count open connections with it).
	ConnState func(net.Conn, http.ConnState)
}

// NewHTTPServer returns an *http.Server for h with every timeout and the
// header limit set, so that idle keep-alive connections, slow bodies and
// readers that never read are closed instead of exhausting file
// descriptors.
func NewHTTPServer(h http.Handler, o ListenerOptions) *http.Server {
	or := func(d, def time.Duration) time.Duration {
		if d <= 0 {
			return def
		}
		return d
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: or(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       or(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      or(o.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       or(o.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ConnState:         o.ConnState,
	}
}

// inflight bounds the ingest requests handled at once and the body bytes
// they may hold. It never queues: a request beyond a bound is answered 503
// with Retry-After at once, which Open Notificaties and our event sources
// retry, so a burst costs a bounded amount of memory instead of all of it.
type inflight struct {
	maxRequests int
	maxBytes    int64
	bodyLimit   int64

	mu       sync.Mutex
	requests int
	bytes    int64
	// peakRequests and peakBytes are the highest values seen (for tests
	// and the metric).
	peakRequests int
	peakBytes    int64
}

// reserve takes room for one request that may read up to n body bytes.
func (l *inflight) reserve(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.requests+1 > l.maxRequests || l.bytes+n > l.maxBytes {
		return false
	}
	l.requests++
	l.bytes += n
	l.peakRequests = max(l.peakRequests, l.requests)
	l.peakBytes = max(l.peakBytes, l.bytes)
	return true
}

func (l *inflight) release(n int64) {
	l.mu.Lock()
	l.requests--
	l.bytes -= n
	l.mu.Unlock()
}

// peak returns the highest number of requests and bytes held at once.
func (l *inflight) peak() (int, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peakRequests, l.peakBytes
}

// admit reserves room for one authenticated ingest request, or answers
// 503 with Retry-After and returns false. It runs after authentication, so
// callers without credentials cannot take the room of those with them, and
// before the body is read. A request is charged its declared
// Content-Length, or the body limit when it declares none (chunked): the
// handler never reads more than that. Call release when done.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, source string) (release func(), ok bool) {
	n := s.inflight.bodyLimit
	if r.ContentLength >= 0 && r.ContentLength < n {
		n = r.ContentLength
	}
	if !s.inflight.reserve(n) {
		s.metrics.rejected(r.Context(), source, "overloaded")
		// Read the body to the bin (a small buffer, no memory held): a
		// server that answers before the client has sent its body closes
		// the connection under it, and the client sees a broken pipe
		// instead of the 503 and its Retry-After. The read timeout still
		// bounds how long this takes.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, s.inflight.bodyLimit+1))
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", strconv.Itoa(overloadRetryAfter))
		WriteProblem(w, http.StatusServiceUnavailable, "Too busy",
			"Too many requests are being handled at once; try again later.")
		return nil, false
	}
	return func() { s.inflight.release(n) }, true
}

// overloadRetryAfter is the Retry-After (seconds) of a 503 for overload:
// short, because an overload passes as soon as the requests in flight end.
const overloadRetryAfter = 1
