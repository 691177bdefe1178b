package httpapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/mijnservices/koerier/internal/telemetry"
)

func TestTraceContextReachesTheBus(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := newHarness(t, func(o *Options) {
		o.TracerProvider = tp
		o.Publisher = telemetry.TracingPublisher{Publisher: o.Publisher}
		// httptest.NewRequest comes from 192.0.2.1.
		o.TrustedTraceSources = []string{"192.0.2.0/24"}
	})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req := httptest.NewRequest("POST", "/api/v1/notificaties", strings.NewReader(string(readTestdata(t, "status-created.json"))))
	req.Header.Set("Authorization", testToken)
	req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != 204 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) != 1 {
		t.Fatalf("published %d", len(h.got))
	}
	if tp := h.got[0].Metadata.Get("traceparent"); !strings.Contains(tp, traceID) {
		t.Fatalf("message traceparent %q does not continue trace %s", tp, traceID)
	}
}

// From a source that is not trusted, a traceparent does not become our
// trace: the request starts a new one that links to it. Baggage is never
// taken over, from anyone.
func TestUntrustedTraceContextIsOnlyLinked(t *testing.T) {
	otel.SetTextMapPropagator(telemetry.Propagator)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for _, trusted := range [][]string{nil, {"10.0.0.0/8", "192.0.2.9"}} {
		h := newHarness(t, func(o *Options) {
			o.TracerProvider = tp
			o.Publisher = telemetry.TracingPublisher{Publisher: o.Publisher}
			o.TrustedTraceSources = trusted
		})
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		req := httptest.NewRequest("POST", "/api/v1/notificaties", strings.NewReader(string(readTestdata(t, "status-created.json"))))
		req.Header.Set("Authorization", testToken)
		req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		req.Header.Set("Baggage", "userId=alice,x-injected=evil")
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, req)
		if w.Code != 204 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		h.mu.Lock()
		md := h.got[0].Metadata
		h.mu.Unlock()
		if tp := md.Get("traceparent"); tp == "" || strings.Contains(tp, traceID) {
			t.Fatalf("trusted %v: message traceparent %q, want a new trace", trusted, tp)
		}
		for k, v := range md {
			if strings.Contains(strings.ToLower(k), "baggage") || strings.Contains(v, "evil") {
				t.Fatalf("message metadata carries baggage: %s=%s", k, v)
			}
		}
	}
	var linked int
	for _, s := range rec.Ended() {
		for _, l := range s.Links() {
			if l.SpanContext.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" {
				linked++
			}
		}
		if s.Parent().IsValid() {
			t.Fatalf("server span %s has a parent: it continued the caller's trace", s.Name())
		}
	}
	if linked != 2 {
		t.Fatalf("%d server spans link to the incoming trace, want 2", linked)
	}
}

func TestIngestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	h := newHarness(t, func(o *Options) { o.Meter = mp.Meter("test") })
	status := readTestdata(t, "status-created.json")
	h.do("POST", "/api/v1/notificaties", testToken, "", status)
	h.do("POST", "/api/v1/notificaties", testToken, "", status)
	h.do("POST", "/api/v1/notificaties", "", "", status)
	h.do("POST", "/api/v1/notificaties", testToken, "", []byte(`{}`))
	h.do("POST", "/api/v1/events", "Token belasting-token", "", []byte(`{"type":"extern.x","subject":{"bsn":"999993653"},"idempotencyKey":"k"}`))
	h.do("POST", "/api/v1/events", "Token belasting-token", "", []byte(`{"type":"extern.x","subject":{"bsn":"999993654"},"idempotencyKey":"k"}`))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is not an int64 sum", m.Name)
			}
			for _, dp := range sum.DataPoints {
				var labels []string
				for _, kv := range dp.Attributes.ToSlice() {
					if kv.Key != "source" && kv.Key != "reason" {
						t.Errorf("%s has label %s: only source and reason are allowed", m.Name, kv.Key)
					}
					if strings.ContainsAny(kv.Value.Emit(), "0123456789") {
						t.Errorf("%s label %s=%s carries request data", m.Name, kv.Key, kv.Value.Emit())
					}
					labels = append(labels, kv.Value.Emit())
				}
				got[m.Name+"{"+strings.Join(labels, ",")+"}"] += dp.Value
			}
		}
	}
	want := map[string]int64{
		"koerier.ingest.received{notificaties}":                 4,
		"koerier.ingest.accepted{notificaties}":                 1,
		"koerier.ingest.duplicate{notificaties}":                1,
		"koerier.ingest.rejected{unauthenticated,notificaties}": 1,
		"koerier.ingest.rejected{invalid,notificaties}":         1,
		"koerier.ingest.received{events}":                       2,
		"koerier.ingest.accepted{events}":                       1,
		"koerier.ingest.rejected{invalid,events}":               1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
