package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/rules"
)

// The end-to-end tests run the real binary's code path (app.New: bus, store,
// router, HTTP) against the sandbox fakes, on the embedded backends and on
// RabbitMQ + Redis.

const rulesFile = "../../config/rules.example.yaml"

// templatesFor registers the Notify templates of the example rules at the
// fake, as the demo does.
func templatesFor(t testing.TB) []notify.Template {
	t.Helper()
	rs, err := rules.Load(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	return notifyTemplates(rs)
}

type harness struct {
	// clock is the one clock of the router, the store, the bus and the
	// fakes. It stands on an ordinary working-day morning unless the test
	// moves it, so no test depends on the hour at which it runs.
	clock *clock.Fake
	sb    *sandbox.Sandbox
	app   *app.App
	url   string
	logs  *syncBuffer
	stop  func()
	token string
	// cfg is the app's configuration (for a second replica on the same
	// bus and store).
	cfg config.Config
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// requireServer skips (or under CI=true fails) when addr is not reachable.
func requireServer(t *testing.T, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s at %s is not reachable under CI=true: %v", name, addr, err)
	}
	t.Skipf("%s at %s is not reachable: %v", name, addr, err)
}

// amqpTestURL gives the test its own RabbitMQ vhost, so queues left by
// other runs cannot interfere; it falls back to the default vhost.
func amqpTestURL(t *testing.T) string {
	t.Helper()
	vhost := fmt.Sprintf("koerier-e2e-%d", rand.Uint32())
	if err := exec.Command("rabbitmqctl", "-q", "add_vhost", vhost).Run(); err == nil {
		if err := exec.Command("rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*").Run(); err == nil {
			t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "-q", "delete_vhost", vhost).Run() })
			return "amqp://guest:guest@127.0.0.1:5672/" + vhost
		}
	}
	t.Logf("rabbitmqctl unavailable; using the default vhost")
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func startHarness(t *testing.T, backend string, tweak ...func(*config.Config)) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	clk := clock.NewFake(clock.WorkingDay)
	operatorClock = clk.Now
	t.Cleanup(func() { operatorClock = clock.System })
	sb, err := sandbox.Start(sandbox.Options{NotifyCallbackURL: url + "/api/v1/callbacks/notify", NotifyTemplates: templatesFor(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })

	dir := t.TempDir()
	cfg := config.Default()
	cfg.File = "(test)"
	cfg.DataDir = dir
	cfg.Bus.SQLite.Path = filepath.Join(dir, "bus.db")
	cfg.Store.SQLitePath = filepath.Join(dir, "store.db")
	cfg.Bus.SQLite.PollInterval = 20 * time.Millisecond
	cfg.Server.Listen = ln.Addr().String()
	cfg.Server.NotificatiesTokens = []string{"Token e2e"}
	cfg.Server.AdminTokens = []string{"Bearer admin-e2e"}
	cfg.Server.EventSources = map[string]string{"vergunningen": "Bearer source-e2e"}
	cfg.Store.SubjectKey = "e2e-subject-key"
	cfg.Rules.Path = rulesFile
	noWatch := time.Duration(0)
	cfg.Rules.WatchInterval = &noWatch
	cfg.Pipeline.TemporaryBackoff = []time.Duration{200 * time.Millisecond, 500 * time.Millisecond}
	cfg.ZGW.RolBackoff = []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, time.Second}
	if backend == "scaled" {
		requireServer(t, "RabbitMQ", "127.0.0.1:5672")
		requireServer(t, "Redis", "127.0.0.1:6379")
		cfg.Bus.Backend = "amqp"
		cfg.Bus.AMQP.URL = amqpTestURL(t)
		cfg.Store.Backend = "redis"
		cfg.Store.Redis.Prefix = fmt.Sprintf("koerier-e2e-%d:", rand.Uint32())
		cfg.Store.DataKey = e2eDataKey
	}
	sb.Configure(&cfg)
	for _, f := range tweak {
		f(&cfg)
	}
	if err := config.Finish(&cfg); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := telemetry.NewLogger(logs, "json", "debug")
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, clk.Now)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	a.UseListener(ln)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	h := &harness{clock: clk, sb: sb, app: a, url: url, logs: logs, token: "Token e2e", cfg: cfg}
	h.stop = sync.OnceFunc(func() {
		cancel()
		<-done
		a.Close()
	})
	t.Cleanup(h.stop)
	select {
	case <-a.Running():
	case <-time.After(20 * time.Second):
		t.Fatal("router did not start")
	}
	return h
}

func (h *harness) post(t *testing.T, n event.Notification) int {
	t.Helper()
	body, _ := json.Marshal(n)
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/notificaties", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", within, what)
}

func (h *harness) trail(t *testing.T, id string) []store.Record {
	recs, err := h.app.Store().Trail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func hasStatus(recs []store.Record, stage, status string) bool {
	for _, r := range recs {
		if r.Stage == stage && r.Status == status {
			return true
		}
	}
	return false
}

func sentTo(sb *sandbox.Sandbox, to string) []notify.Sent {
	var out []notify.Sent
	for _, s := range sb.Notify.Sent() {
		if s.To == to {
			out = append(out, s)
		}
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend)
			oz, d := h.sb.OpenZaak, h.sb.Demo
			st := oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now())
			n := statusNotification(oz, d.ZaakInwoner, st)

			// Open Notificaties retries: the same notification twice, and
			// a third time concurrently with the second.
			if code := h.post(t, n); code != http.StatusNoContent {
				t.Fatalf("first post: HTTP %d", code)
			}
			var wg sync.WaitGroup
			for i := 0; i < 2; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); h.post(t, n) }()
			}
			wg.Wait()
			id := httpapi.NotificationID(n)
			eventually(t, 20*time.Second, "the email to be delivered", func() bool {
				return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered)
			})
			got := sentTo(h.sb, "jan.jansen@example.com")
			if len(got) != 1 {
				t.Fatalf("Notify got %d emails for one notification posted three times, want 1", len(got))
			}
			if got[0].TemplateID != "f6619e17-d547-4c7a-80f7-97f69efd742d" || got[0].Type != "email" {
				t.Fatalf("sent %+v, want template zaak-ontvangen email", got[0])
			}
			if p := got[0].Personalisation["zaak_identificatie"]; p != d.ZaakInwoner.Identificatie {
				t.Fatalf("personalisation zaak_identificatie = %v, want %s", p, d.ZaakInwoner.Identificatie)
			}
			if strings.Contains(got[0].Reference, openzaak.DemoBSNJansen) {
				t.Fatal("Notify reference contains the BSN")
			}

			// A status whose statustype says informeren: false is a
			// recorded skip, and nothing is sent.
			intern := oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[2], h.clock.Now())
			ni := statusNotification(oz, d.ZaakInwoner, intern)
			h.post(t, ni)
			eventually(t, 20*time.Second, "the informeren=false skip in the ledger", func() bool {
				return hasStatus(h.trail(t, httpapi.NotificationID(ni)), "enrich", "skipped")
			})
			if n := len(h.sb.Notify.Sent()); n != 1 {
				t.Fatalf("Notify got %d messages, want still 1", n)
			}
		})
	}
}

func TestEndToEndBounceFallsBackToSMS(t *testing.T) {
	h := startHarness(t, "embedded")
	seedDemoExtras(h.sb)
	oz, d := h.sb.OpenZaak, h.sb.Demo
	z := newDemoZaak(oz, d, "ZAAK-E2E-1", "Bounce", demoBSNBounce, "Kees")
	st := oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now())
	n := statusNotification(oz, z, st)
	h.post(t, n)
	id := httpapi.NotificationID(n)
	eventually(t, 20*time.Second, "the fallback SMS to be delivered", func() bool {
		recs := h.trail(t, id)
		for _, r := range recs {
			if r.Stage == "settle" && r.Channel == "sms" && r.Status == event.OutcomeDelivered {
				return true
			}
		}
		return false
	})
	if !hasStatus(h.trail(t, id), "settle", "fallback") {
		t.Fatal("no fallback record in the ledger")
	}
	var types []string
	for _, s := range h.sb.Notify.Sent() {
		types = append(types, s.Type+":"+s.Status)
	}
	if strings.Join(types, ",") != "email:permanent-failure,sms:delivered" {
		t.Fatalf("Notify messages = %v, want an email that bounced and one SMS", types)
	}
}

// TestNoPersonalDataInLogs runs a flow with debug logging and fails if a
// synthetic BSN, email address or phone number appears in clear.
func TestNoPersonalDataInLogs(t *testing.T) {
	h := startHarness(t, "embedded")
	seedDemoExtras(h.sb)
	oz, d := h.sb.OpenZaak, h.sb.Demo
	z := newDemoZaak(oz, d, "ZAAK-E2E-2", "Privacy", demoBSNBounce, "Kees")
	n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
	h.post(t, n)
	eventually(t, 20*time.Second, "the fallback SMS", func() bool { return len(h.sb.Notify.Sent()) >= 2 })
	h.stop()
	logs := h.logs.String()
	if len(logs) < 1000 {
		t.Fatalf("suspiciously few log lines captured (%d bytes)", len(logs))
	}
	for _, secret := range []string{demoBSNBounce, "999993653", "kees.bos@bounce.example", "0687654321", "+31687654321"} {
		if strings.Contains(logs, secret) {
			i := strings.Index(logs, secret)
			t.Fatalf("log leaks %q: …%s…", secret, logs[max(0, i-200):min(len(logs), i+100)])
		}
	}
}

func (h *harness) postRaw(t *testing.T, path, contentType, auth, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestEndToEndExternalEvent: a non-ZGW system informs a citizen through
// POST /api/v1/events; the same idempotency key twice sends one email.
func TestEndToEndExternalEvent(t *testing.T) {
	h := startHarness(t, "embedded")
	body := `{"type":"zaak.aangemaakt","subject":{"bsn":"999993653"},"idempotencyKey":"aanvraag-42",
		"personalisation":{"zaak_identificatie":"EXT-42"}}`
	for i := 0; i < 2; i++ {
		if code := h.postRaw(t, "/api/v1/events", "application/json", "Bearer source-e2e", body); code != http.StatusAccepted {
			t.Fatalf("post %d: HTTP %d, want 202", i, code)
		}
	}
	if code := h.postRaw(t, "/api/v1/events", "application/json", "Bearer wrong", body); code != http.StatusForbidden {
		t.Fatalf("wrong source token: HTTP %d, want 403", code)
	}
	eventually(t, 20*time.Second, "the email for the external event", func() bool {
		return len(sentTo(h.sb, "jan.jansen@example.com")) >= 1
	})
	time.Sleep(300 * time.Millisecond)
	got := sentTo(h.sb, "jan.jansen@example.com")
	if len(got) != 1 || got[0].Personalisation["zaak_identificatie"] != "EXT-42" {
		t.Fatalf("sent %+v, want one email with zaak_identificatie EXT-42", got)
	}
}

// TestEndToEndCloudEvent: Open Notificaties in cloud-event mode.
func TestEndToEndCloudEvent(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	st := oz.SetStatus(d.ZaakBedrijf.URL, d.Statustypen[0], h.clock.Now())
	ce := fmt.Sprintf(`{"specversion":"1.0","type":"nl.overheid.zaken.status.create","source":"urn:nld:oin:00000001234567890000:systeem:open-notificaties",
		"id":"f347fd1f-dac1-4870-9dd0-f6c00edf4bf7","time":"2025-03-15T10:05:00Z","subject":"%s","dataref":"%s",
		"datacontenttype":"application/json","data":{"hoofdObject":"%s","kenmerken":{"bronorganisatie":"002220647"}}}`,
		st.UUID, st.URL, d.ZaakBedrijf.URL)
	if code := h.postRaw(t, "/api/v1/cloudevents", "application/cloudevents+json", h.token, ce); code/100 != 2 {
		t.Fatalf("cloudevent: HTTP %d", code)
	}
	eventually(t, 20*time.Second, "the email to the bedrijf", func() bool {
		return len(sentTo(h.sb, "info@korenschoof.example")) == 1
	})
}

// zaakWithoutRol is a zaak whose initiator rol does not exist yet.
func zaakWithoutRol(oz *openzaak.Server, d openzaak.Demo, ident string) openzaak.Zaak {
	return oz.AddZaak(openzaak.Zaak{Identificatie: ident, Bronorganisatie: "002220647", VerantwoordelijkeOrganisatie: "002220647",
		Omschrijving: "Rol race", Zaaktype: d.Zaaktype.URL, Registratiedatum: "2025-03-20", Startdatum: "2025-03-20"})
}

// TestEndToEndRolRace: Open Zaak sends the first status before the
// initiator rol exists. Koerier re-queues (short test backoff), the rol
// appears a second later, and the citizen still gets the message.
func TestEndToEndRolRace(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	z := zaakWithoutRol(oz, d, "ZAAK-RACE-1")
	n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
	h.post(t, n)
	id := httpapi.NotificationID(n)
	eventually(t, 10*time.Second, "a re-queue for the missing rol", func() bool { return hasStatus(h.trail(t, id), "enrich", "requeued") })
	time.Sleep(time.Second)
	oz.AddRol(openzaak.Rol{Zaak: z.URL, BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator",
		Registratiedatum: "2025-03-20T09:00:00Z", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon(openzaak.DemoBSNJansen, "Jan", "Jansen")})
	eventually(t, 20*time.Second, "the email after the rol appeared", func() bool {
		return len(sentTo(h.sb, "jan.jansen@example.com")) == 1
	})
}

// TestEndToEndRolNeverAppears dead-letters with reason
// initiator-rol-ontbreekt after the last backoff step.
func TestEndToEndRolNeverAppears(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	z := zaakWithoutRol(oz, d, "ZAAK-RACE-2")
	n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
	h.post(t, n)
	id := httpapi.NotificationID(n)
	eventually(t, 20*time.Second, "the dead letter", func() bool {
		for _, r := range h.trail(t, id) {
			if r.Status == "deadletter" && strings.Contains(r.Detail, "initiator-rol-ontbreekt") {
				return true
			}
		}
		return false
	})
}

// TestEndToEndZaakAfsluiten posts zaak_afsluiten's three notifications in
// every order and requires exactly one zaak.afgesloten message per zaak.
func TestEndToEndZaakAfsluiten(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	orders := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	const afgesloten = "95c7738b-5279-4cb3-8ddf-d290acb4b236" // zaak-afgesloten email template in the example rules
	for i, order := range orders {
		z := newDemoZaak(oz, d, fmt.Sprintf("ZAAK-AFSL-%d", i), "Afsluiten", openzaak.DemoBSNJansen, "Jan")
		now := h.clock.Now()
		eind, res := oz.CloseZaak(z.URL, d.Statustypen[3], d.Resultaattype, now)
		three := []event.Notification{oz.Notification("partial_update", z.URL, now), oz.Notification("create", eind.URL, now), oz.Notification("create", res.URL, now)}
		for _, k := range order {
			if code := h.post(t, three[k]); code != http.StatusNoContent {
				t.Fatalf("order %v: HTTP %d", order, code)
			}
		}
	}
	count := func() int {
		n := 0
		for _, s := range h.sb.Notify.Sent() {
			if s.TemplateID == afgesloten {
				n++
			}
		}
		return n
	}
	eventually(t, 20*time.Second, "one zaak.afgesloten email per zaak", func() bool { return count() >= len(orders) })
	time.Sleep(500 * time.Millisecond)
	if got := count(); got != len(orders) {
		t.Fatalf("%d zaak.afgesloten emails for %d closed zaken, want one each", got, len(orders))
	}
	for _, s := range h.sb.Notify.Sent() {
		if s.TemplateID == afgesloten && s.Personalisation["resultaat_omschrijving"] != "Verleend" {
			t.Fatalf("zaak.afgesloten without resultaat: %+v", s.Personalisation)
		}
	}
}

// TestEndToEndPeerOutageIsRequeued: Open Zaak answers 503 twice, then 200.
// Each 503 ends an attempt (no in-process hammering of an unwell peer): the
// message is re-queued with a delay (no worker held), each re-queue is one
// WARN line and a ledger line, and the email goes out once Open Zaak is
// back. An operator can follow the whole story in the trail and in the
// logs, where every stage line names the notification.
func TestEndToEndPeerOutageIsRequeued(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend)
			oz, d := h.sb.OpenZaak, h.sb.Demo
			h.sb.OpenZaakFaults.Add(fault.Rule{PathPrefix: "/zaken/api/v1/statussen", Status: http.StatusServiceUnavailable, Times: 2})
			n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
			id := httpapi.NotificationID(n)
			h.post(t, n)
			eventually(t, 60*time.Second, "the email after the outage", func() bool {
				return len(sentTo(h.sb, "jan.jansen@example.com")) == 1
			})
			var recs []store.Record
			eventually(t, 10*time.Second, "the delivery in the trail", func() bool {
				recs = h.trail(t, id)
				return hasStatus(recs, "deliver", "sent")
			})
			requeued := 0
			for _, r := range recs {
				if r.Stage == "enrich" && r.Status == "requeued" {
					requeued++
					if !strings.Contains(r.Detail, "503") || !strings.Contains(r.Detail, "volgende poging") {
						t.Fatalf("re-queue detail %q does not say the status and the next attempt", r.Detail)
					}
				}
			}
			if requeued != 2 {
				t.Fatalf("%d re-queues in the trail, want 2: %+v", requeued, recs)
			}

			warns := 0
			for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if m["stage"] != nil && m["notification"] != id {
					t.Fatalf("a stage log line does not name notification %s: %s", id, line)
				}
				if m["msg"] == "temporary failure, re-queued" {
					warns++
					if m["level"] != "WARN" || m["http_status"] != float64(503) || m["next_attempt"] == nil || m["peer"] == "" {
						t.Fatalf("re-queue line without level WARN, status, peer and next attempt: %s", line)
					}
				}
				if m["level"] == "ERROR" {
					t.Fatalf("an ERROR line for a temporary outage: %s", line)
				}
			}
			if warns != 2 {
				t.Fatalf("%d re-queue WARN lines, want one per attempt (2):\n%s", warns, h.logs.String())
			}

			req, _ := http.NewRequest(http.MethodGet, h.url+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer admin-e2e")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), "koerier_requeued_total") {
				t.Fatalf("no re-queue counted in /metrics:\n%s", body)
			}
			if !strings.Contains(string(body), `koerier_queue_depth{otel_scope_name="koerier",otel_scope_schema_url="",otel_scope_version="",topic="koerier.inbound"}`) {
				t.Fatalf("no queue depth for koerier.inbound in /metrics:\n%s", body)
			}
		})
	}
}

// TestRulesHotReload: a running router receives a broken rules file and
// keeps routing with the old rules; then a fixed file, and it switches.
func TestRulesHotReload(t *testing.T) {
	orig, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, "embedded", func(c *config.Config) { c.Rules.Path = path })
	oz, d := h.sb.OpenZaak, h.sb.Demo
	reload := func() int {
		req, _ := http.NewRequest(http.MethodPost, h.url+"/admin/rules/reload", nil)
		req.Header.Set("Authorization", "Bearer admin-e2e")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	send := func(ident string) notify.Sent {
		z := newDemoZaak(oz, d, ident, "Reload", openzaak.DemoBSNJansen, "Jan")
		h.post(t, statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now())))
		var got notify.Sent
		eventually(t, 20*time.Second, "the email for "+ident, func() bool {
			for _, s := range h.sb.Notify.Sent() {
				if s.Personalisation["zaak_identificatie"] == ident {
					got = s
					return true
				}
			}
			return false
		})
		return got
	}
	const oldTemplate = "f6619e17-d547-4c7a-80f7-97f69efd742d"
	const newTemplate = "84780e7d-9573-4e6a-a879-a0e08f5615ef" // registered at the fake (eng variant)

	broken := strings.Replace(string(orig), "message: zaak-ontvangen", "message: zaak-ontvangen\n    chanels: [email]", 1)
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := reload(); code != http.StatusUnprocessableEntity {
		t.Fatalf("reload of a broken file: HTTP %d, want 422", code)
	}
	if st := h.app.Rules().Status(); st.LastReloadSuccessful || !strings.Contains(st.LastError, "chanels") {
		t.Fatalf("status after a failed reload = %+v", st)
	}
	if s := send("ZAAK-RELOAD-1"); s.TemplateID != oldTemplate {
		t.Fatalf("after a failed reload the old rules must route: template %s", s.TemplateID)
	}

	fixed := strings.Replace(string(orig), oldTemplate, newTemplate, 1)
	if err := os.WriteFile(path, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := reload(); code != http.StatusOK {
		t.Fatalf("reload of a fixed file: HTTP %d", code)
	}
	if s := send("ZAAK-RELOAD-2"); s.TemplateID != newTemplate {
		t.Fatalf("after a good reload the new rules must route: template %s", s.TemplateID)
	}
}

// TestEndToEndBedrijfContactpersonen: the rule addresses a bedrijf as the
// organisation and through its contactpersonen; both get the status email.
func TestEndToEndBedrijfContactpersonen(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	h.post(t, statusNotification(oz, d.ZaakBedrijf, oz.SetStatus(d.ZaakBedrijf.URL, d.Statustypen[1], h.clock.Now())))
	eventually(t, 20*time.Second, "emails to the organisation and its contactpersoon", func() bool {
		return len(sentTo(h.sb, "info@korenschoof.example")) == 1 && len(sentTo(h.sb, "sanne@korenschoof.example")) == 1
	})
	a, b := sentTo(h.sb, "info@korenschoof.example")[0], sentTo(h.sb, "sanne@korenschoof.example")[0]
	if a.Reference == b.Reference {
		t.Fatal("organisation and contactpersoon share a delivery reference")
	}
	if b.Personalisation["naam"] != "Sanne Bakker" {
		t.Fatalf("contactpersoon salutation = %v", b.Personalisation["naam"])
	}
}

// TestEndToEndZaakReopenedAndClosedAgain: a new eindstatus is a new fact,
// and the citizen hears about it again.
func TestEndToEndZaakReopenedAndClosedAgain(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	const afgesloten = "95c7738b-5279-4cb3-8ddf-d290acb4b236"
	z := newDemoZaak(oz, d, "ZAAK-HEROPEND", "Heropend", openzaak.DemoBSNJansen, "Jan")
	closes := func() int {
		n := 0
		for _, s := range h.sb.Notify.Sent() {
			if s.TemplateID == afgesloten {
				n++
			}
		}
		return n
	}
	for i := 1; i <= 2; i++ {
		eind, _ := oz.CloseZaak(z.URL, d.Statustypen[3], d.Resultaattype, h.clock.Now())
		h.post(t, oz.Notification("create", eind.URL, h.clock.Now()))
		eventually(t, 20*time.Second, fmt.Sprintf("closing email %d", i), func() bool { return closes() == i })
		oz.SetStatus(z.URL, d.Statustypen[1], h.clock.Now()) // heropend
	}
}

// TestEndToEndQuietHoursHoldFallbackSMS runs the bounce → SMS fallback
// with the clock inside the SMS quiet hours (21:00–08:00 in the example
// rules): the SMS is held, on the bus, with the Dutch reason in the trail,
// and goes out once the clock passes 08:00 — also across the night on
// which summer time ends.
func TestEndToEndQuietHoursHoldFallbackSMS(t *testing.T) {
	for _, tc := range []struct {
		name           string
		at, release    time.Time
		wantHoldReason string
	}{
		{"tuesday-night", time.Date(2026, 6, 9, 22, 30, 0, 0, clock.Amsterdam), time.Date(2026, 6, 10, 8, 0, 0, 0, clock.Amsterdam),
			"vastgehouden tot 2026-06-10 08:00"},
		{"dst-ends", time.Date(2026, 10, 24, 23, 30, 0, 0, clock.Amsterdam), time.Date(2026, 10, 25, 8, 0, 0, 0, clock.Amsterdam),
			"vastgehouden tot 2026-10-25 08:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, "embedded")
			h.clock.Set(tc.at)
			seedDemoExtras(h.sb)
			oz, d := h.sb.OpenZaak, h.sb.Demo
			z := newDemoZaak(oz, d, "ZAAK-NACHT-1", "Nacht", demoBSNBounce, "Kees")
			n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
			if code := h.post(t, n); code != http.StatusNoContent {
				t.Fatalf("post: HTTP %d", code)
			}
			id := httpapi.NotificationID(n)
			var held store.Record
			eventually(t, 20*time.Second, "the held fallback SMS in the trail", func() bool {
				for _, r := range h.trail(t, id) {
					if r.Stage == "settle" && r.Status == "decided" && r.Channel == "sms" {
						held = r
						return true
					}
				}
				return false
			})
			for _, want := range []string{"stille uren", "quiet_hours", tc.wantHoldReason} {
				if !strings.Contains(held.Detail, want) {
					t.Fatalf("trail says %q, want it to contain %q", held.Detail, want)
				}
			}
			t.Logf("held: %s", held.Detail)
			// The SMS waits on its topic, not in a worker.
			eventually(t, 10*time.Second, "the SMS waiting on the bus", func() bool {
				n, err := h.app.Bus().Pending(context.Background(), event.DeliveryTopic("sms"))
				return err == nil && n == 1
			})
			for _, s := range h.sb.Notify.Sent() {
				if s.Type == "sms" {
					t.Fatalf("an SMS went out during the quiet hours: %+v", s)
				}
			}
			for _, r := range h.trail(t, id) {
				if r.Stage == "deliver" && r.Channel == "sms" {
					t.Fatalf("the trail records an SMS delivery during the quiet hours: %+v", r)
				}
			}

			// A minute before the window ends it still waits.
			h.clock.Set(tc.release.Add(-time.Minute))
			if n, err := h.app.Bus().Pending(context.Background(), event.DeliveryTopic("sms")); err != nil || n != 1 {
				t.Fatalf("at %s: %d SMS waiting (err %v), want 1", tc.release.Add(-time.Minute).Format("15:04"), n, err)
			}
			h.clock.Set(tc.release.Add(time.Second))
			eventually(t, 20*time.Second, "the SMS after 08:00", func() bool {
				for _, r := range h.trail(t, id) {
					if r.Stage == "settle" && r.Channel == "sms" && r.Status == event.OutcomeDelivered {
						return true
					}
				}
				return false
			})
			var types []string
			for _, s := range h.sb.Notify.Sent() {
				types = append(types, s.Type+":"+s.Status)
				if s.Type == "sms" && s.CreatedAt.Before(tc.release) {
					t.Fatalf("SMS created at %s, before the quiet hours ended at %s", s.CreatedAt, tc.release)
				}
			}
			if strings.Join(types, ",") != "email:permanent-failure,sms:delivered" {
				t.Fatalf("Notify messages = %v, want an email that bounced and one SMS", types)
			}
		})
	}
}

// TestDemo runs the README's first command on a working-day clock: every
// scenario ends as the demo promises, including the SMS after the bounce.
func TestDemo(t *testing.T) {
	now, err := demoClock("2026-06-09T10:00")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out, rulesFile, t.TempDir(), false, now); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"Clock: Tuesday 2026-06-09 10:00", "sms verzonden", "email: fallback", "Notify NL ontving hiervoor 2 bericht(en) [email sms]",
		"batch koerier-20260609-1000-1: 1 brief/brieven", "manifest.csv  file,delivery_id,name_line,",
		`→ in de Berichtenbox van BSN`, `(berichttype Besluit): "Besluit op uw aanvraag", 1 PDF-bijlage(n), status delivered`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestEndToEndPortaalLinkPerKind: an inwoner and a bedrijf with a zaak of
// the same zaaktype each get the link to their own portal (issue 17), on
// top of the fixed personalisation keys.
func TestEndToEndPortaalLinkPerKind(t *testing.T) {
	h := startHarness(t, "embedded")
	oz, d := h.sb.OpenZaak, h.sb.Demo
	if d.ZaakInwoner.Zaaktype != d.ZaakBedrijf.Zaaktype {
		t.Fatal("the demo zaken must share a zaaktype for this test")
	}
	// The first status is the zaak-ontvangen message (no group window).
	h.post(t, statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now())))
	h.post(t, statusNotification(oz, d.ZaakBedrijf, oz.SetStatus(d.ZaakBedrijf.URL, d.Statustypen[1], h.clock.Now())))
	eventually(t, 20*time.Second, "emails to the inwoner and the bedrijf", func() bool {
		return len(sentTo(h.sb, "jan.jansen@example.com")) == 1 && len(sentTo(h.sb, "info@korenschoof.example")) == 1
	})
	inwoner, bedrijf := sentTo(h.sb, "jan.jansen@example.com")[0], sentTo(h.sb, "info@korenschoof.example")[0]
	if got, want := inwoner.Personalisation["portaal_link"], "https://mijn.gemeente.nl/zaken/"+d.ZaakInwoner.UUID; got != want {
		t.Errorf("inwoner portaal_link = %v, want %s", got, want)
	}
	if got, want := bedrijf.Personalisation["portaal_link"], "https://ondernemers.gemeente.nl/zaken/"+d.ZaakBedrijf.UUID; got != want {
		t.Errorf("bedrijf portaal_link = %v, want %s", got, want)
	}
	if inwoner.Personalisation["zaak_identificatie"] != d.ZaakInwoner.Identificatie || inwoner.Personalisation["naam"] == "" {
		t.Errorf("the fixed keys are gone: %v", inwoner.Personalisation)
	}
	for k, v := range inwoner.Personalisation {
		if s, _ := v.(string); strings.Contains(s, openzaak.DemoBSNJansen) {
			t.Fatalf("personalisation %s carries the BSN", k)
		}
	}
}

// TestEndToEndTaakLinksToItsForm: a taak message links to the taak's form
// with the taak id when the form's host is on link_hosts, and goes out
// without the link (never with a link off the list) when it is not.
func TestEndToEndTaakLinksToItsForm(t *testing.T) {
	const formHost = "formulieren.gemeente.example" // the Objecten fake's form host
	for _, listed := range []bool{true, false} {
		t.Run(fmt.Sprintf("listed=%v", listed), func(t *testing.T) {
			orig, err := os.ReadFile(rulesFile)
			if err != nil {
				t.Fatal(err)
			}
			if listed {
				orig = bytes.Replace(orig, []byte("link_hosts:\n"), []byte("link_hosts:\n  - "+formHost+"\n"), 1)
			}
			path := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			h := startHarness(t, "embedded", func(c *config.Config) { c.Rules.Path = path })
			now := h.clock.Now()
			taakURL := h.sb.Objecten.Put("", objecten.DemoTaakObjecttype, objecten.DenHaagTaak("Aanvullende gegevens aanleveren", "open",
				h.sb.Demo.ZaakInwoner.URL, now.Add(4*24*time.Hour).UTC().Format(time.RFC3339), openzaak.DemoBSNJansen))
			h.post(t, h.sb.Objecten.Notification("create", taakURL, now))
			eventually(t, 20*time.Second, "the taak email", func() bool { return len(sentTo(h.sb, "jan.jansen@example.com")) == 1 })
			got := sentTo(h.sb, "jan.jansen@example.com")[0]
			link, _ := got.Personalisation["portaal_link"].(string)
			uuid := taakURL[strings.LastIndexByte(taakURL, '/')+1:]
			if !listed {
				if link != "" {
					t.Fatalf("portaal_link = %q: a link off link_hosts was sent", link)
				}
				return
			}
			if !strings.HasPrefix(link, "https://"+formHost+"/") || !strings.HasSuffix(link, "?taak="+uuid) {
				t.Fatalf("portaal_link = %q, want the form on %s with ?taak=%s", link, formHost, uuid)
			}
		})
	}
}

// TestEndToEndReceiptForUnknownReference: a Notify receipt whose reference
// Koerier does not know (forged, or after the 72 h retention) is answered
// 204 and recorded, and never fills the dead-letter queue.
func TestEndToEndReceiptForUnknownReference(t *testing.T) {
	h := startHarness(t, "embedded")
	const ref = "0123456789abcdef0123456789abcdef"
	body := `{"id":"740e5834-3a29-46b4-9a6f-16142fde533a","reference":"` + ref + `","to":"someone@example.com","status":"permanent-failure",
		"created_at":"2026-06-09T08:00:00.000000Z","completed_at":"2026-06-09T08:00:01.000000Z","sent_at":"2026-06-09T08:00:00.500000Z",
		"notification_type":"email","template_id":"f6619e17-d547-4c7a-80f7-97f69efd742d","template_version":1}`
	if code := h.postRaw(t, "/api/v1/callbacks/notify", "application/json", "Bearer "+sandbox.CallbackToken, body); code != http.StatusNoContent {
		t.Fatalf("callback: HTTP %d, want 204", code)
	}
	eventually(t, 20*time.Second, "the unknown-reference record", func() bool { return hasStatus(h.trail(t, ref), "settle", "unknown-reference") })
	if dls := listed(t, h); len(dls) != 0 {
		t.Fatalf("dead letters after a receipt for an unknown reference: %+v", dls)
	}
}
