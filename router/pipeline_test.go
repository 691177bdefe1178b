package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
	"github.com/mijnservices/koerier/rules"
)

// These tests run the real router on the SQLite bus and the SQLite store in
// a temporary directory. Only the router's own dependency interfaces
// (Enricher, RecipientResolver, RuleSource, channels.Channel) are small
// in-test implementations, so a test can say "Open Zaak is down twice".

const testRules = `version: 1
defaults:
  channels:
    inwoner: [email, sms]
    bedrijf: [email, sms]
messages:
  m:
    email: {notify_template: 11111111-1111-4111-8111-111111111111}
    sms: {notify_template: 22222222-2222-4222-8222-222222222222}
rules:
  - name: alles
    when: event.type == "zaak.status_gewijzigd"
    message: m
`

var testSubject = event.Subject{BSN: "999993653"}

type staticRules struct{ rs *rules.RuleSet }

func (s staticRules) Current() *rules.RuleSet { return s.rs }

// enricher answers with one status event per inbound message, after
// failing as fail says.
type enricher struct {
	mu    sync.Mutex
	calls int
	fail  func(call int, in event.Inbound) error
}

func (e *enricher) Enrich(_ context.Context, in event.Inbound) (zgw.Result, error) {
	e.mu.Lock()
	e.calls++
	n := e.calls
	e.mu.Unlock()
	if e.fail != nil {
		if err := e.fail(n, in); err != nil {
			return zgw.Result{}, err
		}
	}
	return zgw.Result{Events: []event.Event{{ID: "ev-" + in.ID, Type: event.TypeZaakStatusGewijzigd, InboundID: in.ID,
		Subjects: []event.Subject{testSubject}, Zaak: &event.Zaak{Identificatie: "ZAAK-1"}}}}, nil
}

func (e *enricher) Calls() int { e.mu.Lock(); defer e.mu.Unlock(); return e.calls }

type resolver struct{}

func (resolver) Resolve(_ context.Context, s event.Subject, _ klant.Need, _ string) (event.Recipient, error) {
	return event.Recipient{Subject: s, Kind: event.KindInwoner, Name: "Jan", Language: "nld",
		Email: "jan@example.com", Phone: "+31612345678"}, nil
}

// channel records sends and fails as fail says.
type channel struct {
	name string
	mu   sync.Mutex
	sent []string
	fail func(d event.Delivery) error
}

func (c *channel) Name() string { return c.name }

func (c *channel) Send(_ context.Context, d event.Delivery) (channels.Receipt, error) {
	if c.fail != nil {
		if err := c.fail(d); err != nil {
			return channels.Receipt{}, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, d.ID)
	return channels.Receipt{ProviderID: "p-" + d.ID}, nil
}

func (c *channel) Sent() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.sent) }

type pipeline struct {
	r     *Router
	bus   *bus.Bus
	store store.Store
	enr   *enricher
	email *channel
	sms   *channel
	logs  *syncBuffer
	o     Options
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
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startPipeline(t *testing.T, chs []string, tweak func(*pipeline)) *pipeline {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.NewFake(time.Date(2025, 3, 20, 10, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	p := &pipeline{enr: &enricher{}, email: &channel{name: "email"}, sms: &channel{name: "sms"}, logs: &syncBuffer{},
		o: Options{Concurrency: 1, RetryMax: 1, RetryInitial: time.Millisecond, SubjectKey: []byte("test"),
			TemporaryBackoff: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, LeaseTTL: time.Minute}}
	if tweak != nil {
		tweak(p)
	}
	var reg []channels.Channel
	for _, name := range chs {
		reg = append(reg, map[string]channels.Channel{"email": p.email, "sms": p.sms}[name])
	}
	registry, err := channels.NewRegistry(reg...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.New(ctx, bus.Options{SQLitePath: filepath.Join(dir, "bus.db"), Now: clk.Now, PollInterval: 10 * time.Millisecond,
		NackDelay: 10 * time.Millisecond, Topics: Topics(registry.Names())}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(filepath.Join(dir, "store.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.LoadSources(rules.Source{Name: "rules.yaml", Data: []byte(testRules)})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p.r, err = New(Deps{Publisher: b.Publisher, Subscriber: b.Subscriber, Store: st, Enricher: p.enr,
		Rules: staticRules{rs}, Recipients: resolver{}, Channels: registry, Logger: log, Now: clk.Now}, p.o)
	if err != nil {
		t.Fatal(err)
	}
	p.bus, p.store = b, st
	done := make(chan struct{})
	go func() { defer close(done); _ = p.r.Run(ctx) }()
	<-p.r.Running()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = b.Close()
		_ = st.Close()
	})
	return p
}

func (p *pipeline) post(t *testing.T, id string) {
	t.Helper()
	in := event.Inbound{ID: id, Source: "test", Notification: &event.Notification{Kanaal: "zaken"}}
	if err := p.bus.Publisher.Publish(event.TopicInbound, message.NewMessage(id, event.Marshal(in))); err != nil {
		t.Fatal(err)
	}
}

func (p *pipeline) trail(t *testing.T, id string) []store.Record {
	t.Helper()
	recs, err := p.store.Trail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func count(recs []store.Record, stage, status string) int {
	n := 0
	for _, r := range recs {
		if r.Stage == stage && r.Status == status {
			n++
		}
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A peer that is down twice: the inbound message is re-queued twice, with
// the one attempt counter, then delivered once; the trail tells the story
// and every stage log line names the notification.
func TestRequeueThenDeliver(t *testing.T) {
	p := startPipeline(t, []string{"email", "sms"}, func(p *pipeline) {
		p.enr.fail = func(call int, in event.Inbound) error {
			if in.Attempt < 2 {
				return failure.Temporary(fmt.Errorf("zgw: open zaak answered 503 (call %d)", call))
			}
			return nil
		}
	})
	p.post(t, "n1")
	eventually(t, "the email", func() bool { return p.email.Sent() == 1 })
	recs := p.trail(t, "n1")
	eventually(t, "the trail", func() bool { recs = p.trail(t, "n1"); return count(recs, "deliver", "sent") == 1 })
	if got := count(recs, "enrich", "requeued"); got != 2 {
		t.Fatalf("%d re-queues in the trail, want 2: %+v", got, recs)
	}
	for _, r := range recs {
		if r.Status == "requeued" && !strings.Contains(r.Detail, "van 3") {
			t.Fatalf("re-queue detail %q does not say attempt n of m", r.Detail)
		}
	}
	// The quick in-process retry (RetryMax 1) calls the enricher again
	// within an attempt; the re-queues are what the counter counts.
	if p.enr.Calls() < 3 {
		t.Fatalf("enricher called %d times", p.enr.Calls())
	}
	warns := 0
	for _, line := range strings.Split(strings.TrimSpace(p.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["stage"] != nil && m["notification"] != "n1" {
			t.Fatalf("stage log line without the notification id: %s", line)
		}
		if m["level"] == "WARN" && m["msg"] == "temporary failure, re-queued" {
			warns++
		}
	}
	if warns != 2 {
		t.Fatalf("%d WARN lines for 2 re-queues:\n%s", warns, p.logs.String())
	}
}

// A peer that never comes back: after the backoff the message goes to the
// dead letters with its attempt count, and the ledger says why.
func TestDeadLetterAfterBackoff(t *testing.T) {
	p := startPipeline(t, []string{"email"}, func(p *pipeline) {
		p.enr.fail = func(int, event.Inbound) error { return failure.Temporary(errors.New("open zaak is down")) }
	})
	dead, err := p.bus.Subscriber.Subscribe(context.Background(), event.TopicDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	p.post(t, "n2")
	var msg *message.Message
	select {
	case msg = <-dead:
		msg.Ack()
	case <-time.After(15 * time.Second):
		t.Fatal("nothing dead-lettered")
	}
	if msg.UUID != "n2" || msg.Metadata.Get(MetaAttempt) != "2" {
		t.Fatalf("dead letter %s with attempt %q, want n2 after 2 re-queues", msg.UUID, msg.Metadata.Get(MetaAttempt))
	}
	recs := p.trail(t, "n2")
	eventually(t, "the dead letter in the trail", func() bool { recs = p.trail(t, "n2"); return count(recs, "enrich", "deadletter") == 1 })
	if count(recs, "enrich", "requeued") != 2 {
		t.Fatalf("trail %+v, want 2 re-queues before the dead letter", recs)
	}
	if !strings.Contains(p.logs.String(), `"msg":"dead-lettered"`) {
		t.Fatalf("no log line for the dead letter:\n%s", p.logs.String())
	}
}

// A delivery whose lease another worker holds waits for the lease to run
// out, then is sent once.
func TestLeaseTakeover(t *testing.T) {
	const lease = 300 * time.Millisecond
	p := startPipeline(t, []string{"email"}, func(p *pipeline) { p.o.LeaseTTL = lease })
	id := deliveryID("ev-n3", "email", p.r.subjectRef(testSubject), "m")
	if first, err := p.store.Claim(context.Background(), "lease:"+id, lease); err != nil || !first {
		t.Fatalf("claim: %v %v", first, err)
	}
	p.post(t, "n3")
	eventually(t, "the email after the lease ran out", func() bool { return p.email.Sent() == 1 })
	recs := p.trail(t, "n3")
	if count(recs, "deliver", "requeued") == 0 {
		t.Fatalf("trail %+v, want the held lease to re-queue the delivery", recs)
	}
	time.Sleep(100 * time.Millisecond)
	if p.email.Sent() != 1 {
		t.Fatalf("%d emails, want 1", p.email.Sent())
	}
}

// An email address that bounces permanently falls back to SMS.
func TestFallbackToNextChannel(t *testing.T) {
	p := startPipeline(t, []string{"email", "sms"}, func(p *pipeline) {
		p.email.fail = func(event.Delivery) error { return failure.Permanent("bad-address", errors.New("no such mailbox")) }
	})
	p.post(t, "n4")
	eventually(t, "the sms", func() bool { return p.sms.Sent() == 1 })
	recs := p.trail(t, "n4")
	eventually(t, "the trail", func() bool { recs = p.trail(t, "n4"); return count(recs, "deliver", "sent") == 1 })
	if count(recs, "deliver", "failed") != 1 || count(recs, "settle", "fallback") != 1 {
		t.Fatalf("trail %+v, want email failed, fallback, sms sent", recs)
	}
}

// A message the bus delivers again after it was handled is a no-op; one
// that failed is not remembered as handled.
func TestDedupOfRedeliveredMessage(t *testing.T) {
	p := startPipeline(t, []string{"email"}, nil)
	p.post(t, "n5")
	eventually(t, "the email", func() bool { return p.email.Sent() == 1 })
	calls := p.enr.Calls()
	p.post(t, "n5") // the same message uuid, as a redelivery has
	p.post(t, "n6") // and a new one, to know the first was consumed
	eventually(t, "the second email", func() bool { return p.email.Sent() == 2 })
	if got := p.enr.Calls(); got != calls+1 {
		t.Fatalf("enricher called %d more times, want 1 (n6 only)", got-calls)
	}
}

// A plan whose channels this installation does not have is recorded as
// undeliverable, not skipped.
func TestUndeliverablePlan(t *testing.T) {
	p := startPipeline(t, nil, nil)
	p.post(t, "n7")
	eventually(t, "the undeliverable decision", func() bool { return count(p.trail(t, "n7"), "route", "undeliverable") == 1 })
	if !strings.Contains(p.logs.String(), "no channel of the plan is configured") {
		t.Fatalf("no WARN for the undeliverable plan:\n%s", p.logs.String())
	}
}

// A delivery the channel accepted, whose step then failed (the outcome
// could not be published) and came back, is finished without a second
// send: the receipt kept right after the send says it went out.
func TestSentDeliveryIsNotSentAgain(t *testing.T) {
	p := startPipeline(t, []string{"email"}, nil)
	id := deliveryID("ev-n8", "email", p.r.subjectRef(testSubject), "m")
	if err := p.store.Set(context.Background(), "receipt:"+id, event.Marshal(channels.Receipt{ProviderID: "earlier"}), time.Hour); err != nil {
		t.Fatal(err)
	}
	p.post(t, "n8")
	var recs []store.Record
	eventually(t, "the delivery in the trail", func() bool { recs = p.trail(t, "n8"); return count(recs, "deliver", "sent") == 1 })
	for _, r := range recs {
		if r.Status == "sent" && r.ProviderID != "earlier" {
			t.Fatalf("sent record %+v, want the earlier receipt's provider id", r)
		}
	}
	if p.email.Sent() != 0 {
		t.Fatalf("%d emails, want none (it went out before)", p.email.Sent())
	}
}

// A provider receipt whose reference matches no delivery (forged, or a
// bounce after the delivery state expired) is recorded on a trail of its
// own and never dead-lettered, whatever its status.
func TestReceiptForUnknownDelivery(t *testing.T) {
	p := startPipeline(t, []string{"email"}, nil)
	dead, err := p.bus.Subscriber.Subscribe(context.Background(), event.TopicDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	for i, status := range []string{event.OutcomePermanent, event.OutcomeDelivered, "temporary-failure"} {
		ref := fmt.Sprintf("onbekend-%d", i)
		o := event.Outcome{DeliveryID: ref, Channel: "email", Status: status, Reason: "bounce"}
		if err := p.bus.Publisher.Publish(event.TopicOutcomes, message.NewMessage(ref, event.Marshal(o))); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the unknown-reference record", func() bool { return count(p.trail(t, ref), "settle", "unknown-reference") == 1 })
	}
	select {
	case msg := <-dead:
		t.Fatalf("a receipt for an unknown delivery was dead-lettered: %s %s", msg.UUID, msg.Metadata)
	case <-time.After(300 * time.Millisecond):
	}
}

// A channel that parks a delivery (rate limit, open breaker, daily limit)
// more often than the backoff has steps: parks are no attempts, so the
// delivery is neither dead-lettered nor counted, and goes out once the park
// ends; the trail says it was parked.
func TestParkDoesNotCountAsAttempt(t *testing.T) {
	var mu sync.Mutex
	parks := 0
	p := startPipeline(t, []string{"email"}, func(p *pipeline) {
		p.email.fail = func(d event.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			if parks < 5 { // the backoff has 2 steps
				parks++
				return failure.Park("notify-snelheidslimiet", p.r.d.Now().Add(20*time.Millisecond), errors.New("notifynl: rate limit: wait"))
			}
			return nil
		}
	})
	p.post(t, "n-park")
	eventually(t, "the email", func() bool { return p.email.Sent() == 1 })
	recs := p.trail(t, "n-park")
	eventually(t, "the trail", func() bool { recs = p.trail(t, "n-park"); return count(recs, "deliver", "sent") == 1 })
	if got := count(recs, "deliver", "requeued"); got != 5 {
		t.Fatalf("%d parks in the trail, want 5: %+v", got, recs)
	}
	if count(recs, "deliver", "deadletter") != 0 {
		t.Fatalf("a parked delivery was dead-lettered: %+v", recs)
	}
	for _, r := range recs {
		if r.Status == "requeued" && !strings.Contains(r.Detail, "geparkeerd (notify-snelheidslimiet), telt niet als poging") {
			t.Fatalf("park detail %q", r.Detail)
		}
	}
}
