package opennotificaties

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/zgw"
)

// callback is a subscriber endpoint that wants auth and records what it got.
type callback struct {
	auth string
	mu   sync.Mutex
	got  []recorded
	// fail answers this many authenticated non-probe requests with 503.
	fail int
}

type recorded struct {
	auth string
	body []byte
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, recorded{r.Header.Get("Authorization"), b})
	switch {
	case r.Header.Get("Authorization") == "":
		w.WriteHeader(http.StatusUnauthorized)
	case r.Header.Get("Authorization") != c.auth:
		w.WriteHeader(http.StatusForbidden)
	case c.fail > 0 && !bytes.Contains(b, []byte(`"kanaal": "test"`)):
		c.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (c *callback) requests() []recorded {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]recorded(nil), c.got...)
}

func newFake(t *testing.T) (*Server, string) {
	t.Helper()
	s := New("", map[string]string{"koerier": "secret"})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	return s, srv.URL
}

func token(t *testing.T, secret string) string {
	t.Helper()
	tok, err := zgw.Credentials{ClientID: "koerier", Secret: secret}.Token(clock.System()) // the fake's clock
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

func call(t *testing.T, method, url, auth string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func createBody(t *testing.T, callbackURL, auth string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/abonnement-create-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["callbackUrl"], m["auth"] = callbackURL, auth
	out, _ := json.Marshal(m)
	return out
}

func TestCreateAbonnementProbesLikeOpenNotificaties(t *testing.T) {
	s, base := newFake(t)
	cb := &callback{auth: "Token cb"}
	cbSrv := httptest.NewServer(cb)
	defer cbSrv.Close()

	resp, body := call(t, "POST", base+"/api/v1/abonnement", token(t, "secret"), createBody(t, cbSrv.URL, "Token cb"))
	if resp.StatusCode != 201 || resp.Header.Get("Location") == "" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "Token cb") {
		t.Error("auth is write-only but was returned")
	}
	got := cb.requests()
	if len(got) != 2 || got[0].auth != "" || got[1].auth != "Token cb" {
		t.Fatalf("probes = %+v, want one without and one with auth", got)
	}
	want, _ := os.ReadFile("testdata/abonnement-callback-probe.open-notificaties-verbatim.json")
	var a, b map[string]any
	_ = json.Unmarshal(want, &a)
	_ = json.Unmarshal(got[0].body, &b)
	if !jsonEqual(a, b) {
		t.Errorf("probe body %s, want %s", got[0].body, want)
	}
	if abs := s.Abonnementen(); len(abs) != 1 || abs[0].Auth != "Token cb" || len(abs[0].Kanalen) != 3 {
		t.Fatalf("abonnementen = %+v", abs)
	}
}

func TestAbonnementAuthAndValidation(t *testing.T) {
	s, base := newFake(t)
	cb := &callback{auth: "Token cb"}
	cbSrv := httptest.NewServer(cb)
	defer cbSrv.Close()
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer open.Close()

	tests := []struct {
		name, auth string
		body       []byte
		want       int
		code       string
	}{
		{"no jwt", "", createBody(t, cbSrv.URL, "Token cb"), 401, ""},
		{"wrong secret", token(t, "nope"), createBody(t, cbSrv.URL, "Token cb"), 403, ""},
		{"callback without auth check", token(t, "secret"), createBody(t, open.URL, "Token cb"), 400, "no-auth-on-callback-url"},
		{"wrong callback auth", token(t, "secret"), createBody(t, cbSrv.URL, "Token other"), 400, "invalid-callback-url"},
		{"missing auth", token(t, "secret"), []byte(`{"callbackUrl":"` + cbSrv.URL + `","kanalen":[]}`), 400, "required"},
		{"bad url", token(t, "secret"), []byte(`{"callbackUrl":"ftp://x","auth":"Token cb","kanalen":[]}`), 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, "POST", base+"/api/v1/abonnement", tt.auth, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.code != "" {
				var p struct {
					InvalidParams []struct{ Code string } `json:"invalidParams"`
				}
				_ = json.Unmarshal(body, &p)
				if len(p.InvalidParams) == 0 || p.InvalidParams[0].Code != tt.code {
					t.Fatalf("problem %s, want code %s", body, tt.code)
				}
			}
		})
	}
	if n := len(s.Abonnementen()); n != 0 {
		t.Fatalf("%d abonnementen created by invalid requests", n)
	}
}

func TestPublishDeliversToMatchingAbonnementen(t *testing.T) {
	s, base := newFake(t)
	s.RetryBackoff = []time.Duration{time.Millisecond, time.Millisecond}
	cb := &callback{auth: "Token cb"}
	cbSrv := httptest.NewServer(cb)
	defer cbSrv.Close()
	other := &callback{auth: "Token other"}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()

	// cb wants zaken of bronorganisatie 002220647, other only besluiten.
	if resp, b := call(t, "POST", base+"/api/v1/abonnement", token(t, "secret"),
		[]byte(`{"callbackUrl":"`+cbSrv.URL+`","auth":"Token cb","kanalen":[{"naam":"zaken","filters":{"bronorganisatie":"002220647"}}]}`)); resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, "POST", base+"/api/v1/abonnement", token(t, "secret"),
		[]byte(`{"callbackUrl":"`+otherSrv.URL+`","auth":"Token other","kanalen":[{"naam":"besluiten"}]}`)); resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	raw, _ := os.ReadFile("testdata/status-created.json")
	var n event.Notification
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	cb.mu.Lock()
	cb.got, cb.fail = nil, 2
	cb.mu.Unlock()
	other.mu.Lock()
	other.got = nil
	other.mu.Unlock()

	ds := s.Publish(context.Background(), n)
	if len(ds) != 1 || ds[0].Status != 204 || ds[0].Attempt != 3 {
		t.Fatalf("deliveries = %+v, want one delivered on the third attempt", ds)
	}
	if got := cb.requests(); len(got) != 3 || got[2].auth != "Token cb" {
		t.Fatalf("callback got %+v", got)
	}
	if got := other.requests(); len(got) != 0 {
		t.Fatalf("a besluiten abonnement got a zaken notification: %+v", got)
	}

	n.Kenmerken["bronorganisatie"] = "999999999"
	if ds := s.Publish(context.Background(), n); len(ds) != 0 {
		t.Fatalf("filter mismatch delivered: %+v", ds)
	}
	// A filter on a kenmerk the notification does not carry does not
	// exclude it (match_pattern skips it).
	delete(n.Kenmerken, "bronorganisatie")
	if ds := s.Publish(context.Background(), n); len(ds) != 1 || ds[0].Status != 204 {
		t.Fatalf("notification without the filtered kenmerk: %+v", ds)
	}

	// Through the API, as Open Zaak publishes: 201, then delivered.
	cb.mu.Lock()
	cb.got = nil
	cb.mu.Unlock()
	if resp, b := call(t, "POST", base+"/api/v1/notificaties", token(t, "secret"), raw); resp.StatusCode != 201 {
		t.Fatalf("publish: %d %s", resp.StatusCode, b)
	}
	s.Wait()
	if got := cb.requests(); len(got) != 1 || !jsonBytesEqual(got[0].body, raw) {
		t.Fatalf("API publish delivered %+v", got)
	}
	if resp, b := call(t, "POST", base+"/api/v1/notificaties", token(t, "secret"), bytes.Replace(raw, []byte(`"zaken"`), []byte(`"onbekend"`), 1)); resp.StatusCode != 400 {
		t.Fatalf("unknown kanaal: %d %s", resp.StatusCode, b)
	}
}

func TestFaultsApplyToTheAPI(t *testing.T) {
	s, base := newFake(t)
	s.Faults.Add(fault.Rule{Method: "GET", PathPrefix: "/api/v1/abonnement", Status: 503, Times: 1})
	if resp, _ := call(t, "GET", base+"/api/v1/abonnement", token(t, "secret"), nil); resp.StatusCode != 503 {
		t.Fatalf("status %d, want injected 503", resp.StatusCode)
	}
	if resp, _ := call(t, "GET", base+"/api/v1/abonnement", token(t, "secret"), nil); resp.StatusCode != 200 {
		t.Fatalf("status %d after the fault, want 200", resp.StatusCode)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func jsonBytesEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && jsonEqual(x, y)
}

func TestConsistentNames(t *testing.T) {
	kanaal := []string{"bronorganisatie", "zaaktype", "vertrouwelijkheidaanduiding"}
	tests := []struct {
		names []string
		want  bool
	}{
		{nil, true},
		{[]string{"zaaktype"}, true},
		{append(append([]string{}, kanaal...), "extra"), true},
		{[]string{"zaaktype", "extra"}, false},
		{[]string{"bsn"}, false},
	}
	for _, tt := range tests {
		if got := consistentNames(kanaal, tt.names); got != tt.want {
			t.Errorf("consistentNames(%v) = %v, want %v", tt.names, got, tt.want)
		}
	}
}
