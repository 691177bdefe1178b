package httpapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// serve runs h behind NewHTTPServer on a loopback port and returns its
// address.
func serve(t *testing.T, h http.Handler, o ListenerOptions) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(h, o)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// Anyone can open a connection and leave it idle; with the file limit at
// 300, 284 of them once made /healthz and ingest time out.
func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	const conns = 1000
	const idle = 500 * time.Millisecond
	var closed atomic.Int64
	h := newHarness(t, nil)
	addr := serve(t, h.srv, ListenerOptions{IdleTimeout: idle, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}})

	// Open every connection, make one keep-alive request on it, and leave
	// it idle.
	open := make([]net.Conn, conns)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	sem := make(chan struct{}, 50)
	for i := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			open[i] = c
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: koerier\r\n\r\n"); err != nil {
				errs <- err
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("healthz: %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	idleSince := time.Now()
	t.Cleanup(func() {
		for _, c := range open {
			_ = c.Close()
		}
	})

	// Every connection must be closed by the server: a read returns EOF.
	deadline := idleSince.Add(idle + 3*time.Second)
	var stillOpen atomic.Int64
	for _, c := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(deadline)
			if _, err := c.Read(make([]byte, 1)); err != io.EOF {
				stillOpen.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(idleSince)
	if n := stillOpen.Load(); n > 0 {
		t.Fatalf("%d of %d idle connections still open %s after the idle timeout of %s", n, conns, took-idle, idle)
	}
	// The server counts a close just after the client sees it.
	for end := time.Now().Add(2 * time.Second); closed.Load() < conns && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := closed.Load(); got < conns {
		t.Fatalf("server counted %d closed connections, want %d", got, conns)
	}
	t.Logf("%d idle keep-alive connections closed %s after they went idle (idle timeout %s)", conns, took.Round(time.Millisecond), idle)
}

// A client that trickles its body holds a connection and a goroutine; the
// read timeout cuts it off.
func TestSlowBodyIsCutOffAtReadTimeout(t *testing.T) {
	const readTimeout = 500 * time.Millisecond
	h := newHarness(t, nil)
	addr := serve(t, h.srv, ListenerOptions{ReadTimeout: readTimeout})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /api/v1/notificaties HTTP/1.1\r\nHost: koerier\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", testToken)

	// Send one byte every 50 ms (the whole body would take 50 s) until the
	// server closes the connection.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_ = c.SetReadDeadline(start.Add(10 * time.Second))
	_, err = io.ReadAll(c) // whatever the server answers, it then closes
	took := time.Since(start)
	if err != nil {
		t.Fatalf("connection not closed by the server after %s: %v", took, err)
	}
	if took > readTimeout+2*time.Second {
		t.Fatalf("slow body cut off after %s, want about the read timeout %s", took, readTimeout)
	}
	_ = c.Close()
	<-done
	if len(h.published(t)) != 0 {
		t.Fatal("a cut-off body was published")
	}
	t.Logf("slow body cut off after %s (read timeout %s)", took.Round(time.Millisecond), readTimeout)
}

// slowPublisher holds every publish, so that requests overlap as they do
// when the broker is slow.
type slowPublisher struct {
	message.Publisher
	d time.Duration
}

func (p slowPublisher) Publish(topic string, msgs ...*message.Message) error {
	time.Sleep(p.d)
	return p.Publisher.Publish(topic, msgs...)
}

// 80 parallel 1 MB notifications once took the process to 1.88 GB. The
// limiter bounds what ingest holds at once; beyond it a caller gets a 503
// with Retry-After and tries again.
func TestIngestLimiterBoundsParallelLargeBodies(t *testing.T) {
	const (
		parallel    = 100
		maxRequests = 8
		maxBytes    = 4 << 20
		bodySize    = 1_000_000
	)
	h := newHarness(t, func(o *Options) {
		o.Publisher = slowPublisher{Publisher: o.Publisher, d: 100 * time.Millisecond}
		o.MaxInflightRequests = maxRequests
		o.MaxInflightBytes = maxBytes
	})
	// Generous timeouts: under -race on a busy runner a 1 MB body takes
	// long to arrive, and this test is about the limiter, not timeouts.
	addr := serve(t, h.srv, ListenerOptions{ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	base := readTestdata(t, "status-created.json")
	pad := bodySize - len(base) - len(`,"padding":""`)
	big := bytes.Replace(base, []byte("{"), []byte(`{"padding":"`+strings.Repeat("x", pad)+`",`), 1)
	if len(big) < bodySize-100 || len(big) > DefaultMaxBodyBytes {
		t.Fatalf("body is %d bytes", len(big))
	}

	type result struct {
		code       int
		retryAfter string
		ctype      string
	}
	results := make(chan result, parallel)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Every notification distinct, so none is a duplicate.
			body := bytes.Replace(big, []byte("10:01:07.118204Z"), fmt.Appendf(nil, "10:%02d:%02dZ", i/60, i%60), 1)
			req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/notificaties", bytes.NewReader(body))
			req.Header.Set("Authorization", testToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			results <- result{resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type")}
		}()
	}
	close(start)
	wg.Wait()
	close(results)

	var accepted, refused int
	for r := range results {
		switch r.code {
		case http.StatusNoContent:
			accepted++
		case http.StatusServiceUnavailable:
			refused++
			if r.retryAfter == "" || r.ctype != "application/problem+json" {
				t.Errorf("503 without Retry-After or problem body: %+v", r)
			}
		default:
			t.Errorf("unexpected status %d", r.code)
		}
	}
	peakReq, peakBytes := h.srv.inflight.peak()
	t.Logf("%d accepted, %d refused with 503; peak in flight %d requests, %d bytes", accepted, refused, peakReq, peakBytes)
	if peakReq > maxRequests || peakBytes > maxBytes {
		t.Fatalf("in flight peaked at %d requests / %d bytes, bound %d / %d", peakReq, peakBytes, maxRequests, maxBytes)
	}
	if refused == 0 {
		t.Fatal("no request was refused: the limiter did not act")
	}
	if accepted == 0 {
		t.Fatal("no request was accepted")
	}
	if got := len(h.published(t)); got != accepted {
		t.Fatalf("published %d, accepted %d", got, accepted)
	}
}
