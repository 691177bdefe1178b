package telemetry

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricsHaveRuntimeAndProcess(t *testing.T) {
	p, err := NewProviders("koerier-test")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	w := httptest.NewRecorder()
	p.MetricsHandler.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{"\ngo_goroutines ", "\ngo_memstats_heap_inuse_bytes ", "\nprocess_resident_memory_bytes ", "\nprocess_open_fds "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", strings.TrimSpace(want))
		}
	}
}
