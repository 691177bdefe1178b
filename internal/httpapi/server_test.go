package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

const testToken = "Token s3cret-abonnement"

var fixedNow = time.Date(2025, 3, 15, 10, 1, 8, 0, time.UTC)

// harness is a Server on a real in-memory watermill Pub/Sub, with a
// subscriber collecting what ingest published. The Pub/Sub blocks Publish
// until the subscriber acked, so once a request has been answered its
// messages are in got: no waiting needed.
type harness struct {
	srv    *Server
	pubsub *gochannel.GoChannel
	store  *store.SQLite

	mu  sync.Mutex
	got []*message.Message
}

func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	ps := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = ps.Close() })
	msgs, err := ps.Subscribe(context.Background(), event.TopicInbound)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	o := Options{
		Publisher:    ps,
		Store:        st,
		Tokens:       []string{"Bearer other", testToken},
		SourceTokens: map[string]string{"belastingen": "Token belasting-token"},
		AdminTokens:  []string{"Token admin"},
		Now:          func() time.Time { return fixedNow },
	}
	if mod != nil {
		mod(&o)
	}
	h := &harness{srv: New(o), pubsub: ps, store: st}
	go func() {
		for m := range msgs {
			h.mu.Lock()
			h.got = append(h.got, m)
			h.mu.Unlock()
			m.Ack()
		}
	}()
	return h
}

func (h *harness) do(method, path, auth, contentType string, body []byte) *httptest.ResponseRecorder {
	return h.doHeaders(method, path, auth, contentType, nil, body)
}

func (h *harness) doHeaders(method, path, auth, contentType string, headers map[string]string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// ledger returns every ledger record so far.
func (h *harness) ledger(t *testing.T) []store.Record {
	t.Helper()
	recs, err := h.store.Recent(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// published returns, and forgets, what has been published so far.
func (h *harness) published(t *testing.T) []event.Inbound {
	t.Helper()
	h.mu.Lock()
	msgs := h.got
	h.got = nil
	h.mu.Unlock()
	var out []event.Inbound
	for _, m := range msgs {
		var in event.Inbound
		if err := json.Unmarshal(m.Payload, &in); err != nil {
			t.Fatalf("published payload is not an Inbound: %v", err)
		}
		if m.UUID != in.ID {
			t.Fatalf("message UUID %q differs from inbound id %q", m.UUID, in.ID)
		}
		out = append(out, in)
	}
	return out
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, rec.Body)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if p.Status != rec.Code || p.Title == "" || p.Type == "" || p.Code == "" || p.Instance == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, rec.Code)
	}
	return p
}

func TestNotificatiesStatusCodes(t *testing.T) {
	status := readTestdata(t, "status-created.json")
	probe := readTestdata(t, "abonnement-callback-probe.open-notificaties-verbatim.json")
	tests := []struct {
		name        string
		auth        string
		body        []byte
		maxBody     int64
		want        int
		wantPublish int
		wantParams  []string
	}{
		{name: "no authorization", body: status, want: 401},
		{name: "wrong authorization", auth: "Token wrong", body: status, want: 403},
		{name: "token without scheme", auth: "s3cret-abonnement", body: status, want: 403},
		{name: "probe without authorization", body: probe, want: 401},
		{name: "probe with authorization", auth: testToken, body: probe, want: 204},
		{name: "status notification", auth: testToken, body: status, want: 204, wantPublish: 1},
		{name: "second accepted token", auth: "Bearer other", body: status, want: 204, wantPublish: 1},
		{name: "body too large", auth: testToken, body: status, maxBody: 100, want: 413},
		{name: "not json", auth: testToken, body: []byte("kanaal=zaken"), want: 400, wantParams: []string{"nonFieldErrors"}},
		{name: "json array", auth: testToken, body: []byte(`[]`), want: 400, wantParams: []string{"nonFieldErrors"}},
		{name: "empty object", auth: testToken, body: []byte(`{}`), want: 400,
			wantParams: []string{"kanaal", "hoofdObject", "resource", "resourceUrl", "actie", "aanmaakdatum"}},
		{name: "bad aanmaakdatum", auth: testToken, body: replaceJSON(t, status, "aanmaakdatum", "gisteren"), want: 400, wantParams: []string{"aanmaakdatum"}},
		{name: "resourceUrl not a url", auth: testToken, body: replaceJSON(t, status, "resourceUrl", "statussen/1"), want: 400, wantParams: []string{"resourceUrl"}},
		{name: "kanaal a number", auth: testToken, body: replaceJSON(t, status, "kanaal", 7), want: 400, wantParams: []string{"kanaal"}},
		{name: "kanaal too long", auth: testToken, body: replaceJSON(t, status, "kanaal", strings.Repeat("z", 51)), want: 400, wantParams: []string{"kanaal"}},
		{name: "kenmerken a list", auth: testToken, body: replaceJSON(t, status, "kenmerken", []string{"a"}), want: 400, wantParams: []string{"kenmerken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.MaxBodyBytes = tt.maxBody })
			rec := h.do("POST", "/api/v1/notificaties", tt.auth, "application/json", tt.body)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want >= 400 {
				p := decodeProblem(t, rec)
				var names []string
				for _, ip := range p.InvalidParams {
					names = append(names, ip.Name)
				}
				if strings.Join(names, ",") != strings.Join(tt.wantParams, ",") {
					t.Fatalf("invalidParams = %v, want %v", names, tt.wantParams)
				}
			}
			if tt.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if got := len(h.published(t)); got != tt.wantPublish {
				t.Fatalf("published %d messages, want %d", got, tt.wantPublish)
			}
			if recs := h.ledger(t); tt.wantPublish == 0 && len(recs) != 0 {
				t.Fatalf("ledger has %d records for a request that was not accepted", len(recs))
			}
		})
	}
}

// A body without Content-Length (chunked) is cut off at the limit too.
func TestNotificatiesChunkedBodyTooLarge(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBodyBytes = 100 })
	req := httptest.NewRequest("POST", "/api/v1/notificaties", io.MultiReader(bytes.NewReader(readTestdata(t, "status-created.json"))))
	req.ContentLength = -1
	req.Header.Set("Authorization", testToken)
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("status %d, want 413", rec.Code)
	}
	decodeProblem(t, rec)
}

func TestNotificatiesAcceptsPublishesThenRemembers(t *testing.T) {
	h := newHarness(t, nil)
	body := readTestdata(t, "status-created.json")
	if rec := h.do("POST", "/api/v1/notificaties", testToken, "application/json", body); rec.Code != 204 {
		t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
	}
	got := h.published(t)
	if len(got) != 1 {
		t.Fatalf("published %d, want 1", len(got))
	}
	in := got[0]
	wantID := hashKey("zaken", "https://openzaak.gemeente.example/zaken/api/v1/statussen/0c5f8e2d-3b7a-4c1e-9f2a-8d6b4e1a7c33", "create", "2025-03-15T10:01:07.118204Z")
	if in.ID != wantID {
		t.Errorf("id = %s, want %s", in.ID, wantID)
	}
	if in.Source != event.SourceNotificaties || !in.ReceivedAt.Equal(fixedNow) || in.Notification == nil || in.External != nil {
		t.Fatalf("inbound = %+v", in)
	}
	n := in.Notification
	if n.Resource != "status" || n.Actie != "create" || n.Kenmerken["bronorganisatie"] != "002220647" {
		t.Errorf("notification = %+v", n)
	}
	if want := time.Date(2025, 3, 15, 10, 1, 7, 118204000, time.UTC); !n.Aanmaakdatum.Equal(want) {
		t.Errorf("aanmaakdatum = %v, want %v", n.Aanmaakdatum, want)
	}
	if _, ok, _ := h.store.Get(context.Background(), SeenKey(in.ID)); !ok {
		t.Error("accepted notification not remembered")
	}
	trail, _ := h.store.Trail(context.Background(), in.ID)
	if len(trail) != 1 || trail[0].Stage != "ingest" || trail[0].Status != "accepted" {
		t.Errorf("ledger trail = %+v", trail)
	}

	// The same notification again (Open Notificaties retries after a lost
	// response) is answered 204 and not published a second time.
	if rec := h.do("POST", "/api/v1/notificaties", testToken, "application/json", body); rec.Code != 204 {
		t.Fatalf("duplicate: status = %d", rec.Code)
	}
	if got := h.published(t); len(got) != 0 {
		t.Fatalf("duplicate published %d messages", len(got))
	}
}

func TestNotificatiesPublishFailure(t *testing.T) {
	h := newHarness(t, nil)
	// A closed Pub/Sub refuses every publish, as a disconnected broker does.
	if err := h.pubsub.Close(); err != nil {
		t.Fatal(err)
	}
	body := readTestdata(t, "status-created.json")
	rec := h.do("POST", "/api/v1/notificaties", testToken, "application/json", body)
	if rec.Code != 503 {
		t.Fatalf("status = %d, want 503; body %s", rec.Code, rec.Body)
	}
	decodeProblem(t, rec)
	n, _ := ParseNotification(body)
	if _, ok, _ := h.store.Get(context.Background(), SeenKey(NotificationID(n))); ok {
		t.Fatal("a notification that was not published is marked seen: a retry would be dropped")
	}
	if len(h.ledger(t)) != 0 {
		t.Fatal("ledger records an unpublished notification as accepted")
	}
}

func TestEveryExampleNotificationIsAccepted(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	ids := map[string]string{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var bodies []json.RawMessage
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
			if err := json.Unmarshal(b, &bodies); err != nil {
				t.Fatal(err)
			}
		} else {
			bodies = []json.RawMessage{b}
		}
		for i, body := range bodies {
			h := newHarness(t, nil)
			rec := h.do("POST", "/api/v1/notificaties", testToken, "application/json", body)
			if rec.Code != 204 {
				t.Fatalf("%s[%d]: status %d: %s", f, i, rec.Code, rec.Body)
			}
			n, err := ParseNotification(body)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if n.Kanaal == "test" {
				want = 0
			}
			if got := len(h.published(t)); got != want {
				t.Fatalf("%s[%d]: published %d, want %d", f, i, got, want)
			}
			if want == 1 {
				id := NotificationID(n)
				if prev, dup := ids[id]; dup && !strings.Contains(f, "zaak-created") {
					t.Errorf("%s[%d] has the same dedup key as %s", f, i, prev)
				}
				ids[id] = f
			}
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	busDown := errors.New("amqp: dial tcp 10.1.2.3:5672: connection refused")
	tests := []struct {
		name      string
		storeDown bool
		busErr    error
		path      string
		want      int
	}{
		{name: "healthz", path: "/healthz", busErr: busDown, want: 200},
		{name: "ready", path: "/readyz", want: 200},
		{name: "bus down", path: "/readyz", busErr: busDown, want: 503},
		{name: "both down", path: "/readyz", busErr: busDown, storeDown: true, want: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) {
				o.Ready = []ReadyCheck{{Name: "bus", Check: func(context.Context) error { return tt.busErr }}}
			})
			if tt.storeDown {
				_ = h.store.Close()
			}
			rec := h.do("GET", tt.path, "", "", nil)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			// /readyz is open to anyone (Kubernetes probes carry no
			// token), so it names no dependency and no peer address.
			for _, leak := range []string{"bus", "store", "10.1.2.3", "amqp", "sqlite"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Fatalf("body names %q: %s", leak, rec.Body)
				}
			}
			if tt.want == 503 {
				if p := decodeProblem(t, rec); len(p.InvalidParams) != 0 {
					t.Fatalf("problem lists checks: %+v", p.InvalidParams)
				}
			}
		})
	}
}

// TestReadyzIsOpenAndSaysNoMore pins the decision in README.md
// (Endpoints): /readyz answers without a token, for Kubernetes probes, and
// never shows why a check fails (peer addresses, error texts): the log does.
func TestReadyzIsOpenAndSaysNoMore(t *testing.T) {
	const secret = "dial tcp 10.1.2.3:5672: connection refused"
	h := newHarness(t, func(o *Options) {
		o.Ready = []ReadyCheck{{Name: "bus", Check: func(context.Context) error { return errors.New(secret) }}}
	})
	for _, auth := range []string{"", "Token wrong", testToken, "Token admin"} {
		rec := h.do("GET", "/readyz", auth, "", nil)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("auth %q: status = %d, want 503", auth, rec.Code)
		}
		if body := rec.Body.String(); strings.Contains(body, "10.1.2.3") || strings.Contains(body, "connection refused") {
			t.Errorf("auth %q: /readyz shows error detail: %s", auth, body)
		}
	}
}

func TestMountAdmin(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.MountAdmin("GET /api/v1/admin/ping", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {testToken, 403}, {"Token admin", 418}} {
		if rec := h.do("GET", "/api/v1/admin/ping", tt.auth, "", nil); rec.Code != tt.want {
			t.Errorf("auth %q: status %d, want %d", tt.auth, rec.Code, tt.want)
		}
	}
}

func TestMatchToken(t *testing.T) {
	sums := hashAll([]string{"Token a", "", "Bearer b"})
	tests := []struct {
		header string
		want   int
	}{{"Token a", 0}, {"Bearer b", 1}, {"Token a ", -1}, {"token a", -1}, {"", -1}, {"Bearer", -1}}
	for _, tt := range tests {
		if got := matchToken(tt.header, sums); got != tt.want {
			t.Errorf("matchToken(%q) = %d, want %d", tt.header, got, tt.want)
		}
	}
	if got := matchToken("anything", nil); got != -1 {
		t.Errorf("no tokens configured must refuse everything, got %d", got)
	}
}

// replaceJSON returns the JSON object body with field set to v.
func replaceJSON(t *testing.T, body []byte, field string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m[field] = v
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
