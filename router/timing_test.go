package router

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/rules"
)

// stepClock is an injected clock that tests move by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t *testing.T, c *stepClock) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(filepath.Join(t.TempDir(), "koerier.db"), store.WithClock(c.Now), store.WithPurgeInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// backends runs a test against every store backend: SQLite always, Redis
// when it is reachable (and always in CI).
func backends(t *testing.T, test func(t *testing.T, c *stepClock, s store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		c := &stepClock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
		test(t, c, openStore(t, c))
	})
	t.Run("redis", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		// A fresh prefix per run keeps runs apart; keys expire by themselves.
		r, err := store.OpenRedis(ctx, store.RedisOptions{Addr: "127.0.0.1:6379", Prefix: "koerier-rules-test:" + uuid.NewString() + ":"})
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("redis: %v", err)
			}
			t.Skipf("redis not reachable: %v", err)
		}
		t.Cleanup(func() { r.Close() })
		// Redis expires keys by its own clock; the tests only move the
		// injected clock within those expiries.
		test(t, &stepClock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}, r)
	})
}

func TestGroupWindow(t *testing.T) { backends(t, testGroupWindow) }

func testGroupWindow(t *testing.T, c *stepClock, s store.Store) {
	ctx := context.Background()
	g := &Grouper{Cache: s, Now: c.Now}
	const ref, zaak = "subj-ref-1", "https://openzaak.example/zaken/api/v1/zaken/1"
	window := 2 * time.Minute
	t0 := c.Now()

	// Three status changes in two minutes become one message: each is held
	// until the window (fixed from the first) closes, and only the last is
	// the latest.
	steps := []struct {
		id      string
		after   time.Duration
		wantEnd time.Time
	}{
		{"s1", 0, t0.Add(window)},
		{"s2", 30 * time.Second, t0.Add(window)},
		{"s3", 50 * time.Second, t0.Add(window)},
	}
	for _, s := range steps {
		c.Add(s.after)
		until, err := g.Hold(ctx, ref, zaak, s.id, c.Now(), window)
		if err != nil {
			t.Fatal(err)
		}
		if !until.Equal(s.wantEnd) {
			t.Errorf("%s held until %v, want %v", s.id, until, s.wantEnd)
		}
	}
	c.Add(window) // the holds expire; the deliver stage asks which is latest
	for id, want := range map[string]bool{"s1": false, "s2": false, "s3": true} {
		got, err := g.Latest(ctx, ref, zaak, id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Latest(%s) = %v, want %v", id, got, want)
		}
	}
	// Another recipient or zaak is its own group.
	if ok, _ := g.Latest(ctx, "subj-ref-2", zaak, "s1"); !ok {
		t.Error("an unknown group must answer latest, so nothing is lost")
	}

	// After the window a new event opens a new group.
	until, err := g.Hold(ctx, ref, zaak, "s4", c.Now(), window)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.Now().Add(window); !until.Equal(want) {
		t.Errorf("new group held until %v, want %v", until, want)
	}

	// An event that happened earlier but arrived later does not replace
	// the latest.
	if _, err := g.Hold(ctx, ref, zaak, "s0-late", c.Now().Add(-time.Hour), window); err != nil {
		t.Fatal(err)
	}
	if ok, _ := g.Latest(ctx, ref, zaak, "s4"); !ok {
		t.Error("an older, late event replaced the latest")
	}

	// Window 0: no grouping.
	if until, err := g.Hold(ctx, ref, zaak, "x", c.Now(), 0); err != nil || !until.IsZero() {
		t.Errorf("window 0: until %v, err %v", until, err)
	}
}

func TestThrottle(t *testing.T) { backends(t, testThrottle) }

func testThrottle(t *testing.T, c *stepClock, s store.Store) {
	ctx := context.Background()
	// The clock starts at 10:00 in Amsterdam.
	th := &Throttler{Claims: s, Cache: s, Now: c.Now}
	limit := rules.Throttle{Max: 2, Period: 24 * time.Hour}
	steps := []struct {
		after time.Duration
		event string
		ref   string
		want  bool
	}{
		{0, "e1", "r1", true},
		{time.Hour, "e2", "r1", true},
		{time.Hour, "e3", "r1", false},                     // third on the same day
		{0, "e2", "r1", true},                              // a redelivery of e2 keeps its slot
		{0, "e4", "r2", true},                              // another recipient has its own budget
		{11*time.Hour + 30*time.Minute, "e5", "r1", false}, // 23:30 Amsterdam, same day
		{time.Hour, "e6", "r1", true},                      // 00:30 the next day
	}
	for i, st := range steps {
		c.Add(st.after)
		got, err := th.Allow(ctx, st.ref, "taak-gewijzigd", st.event, limit)
		if err != nil {
			t.Fatal(err)
		}
		if got != st.want {
			t.Errorf("step %d (%s at %s): allowed %v, want %v", i, st.event, c.Now().In(amsterdam).Format("Jan 2 15:04"), got, st.want)
		}
	}
}

func TestTimingApply(t *testing.T) {
	ctx := context.Background()
	rs, err := rules.Load("../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := &stepClock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	s := openStore(t, c)
	timing := &Timing{Grouper: &Grouper{Cache: s, Now: c.Now}, Throttler: &Throttler{Claims: s, Cache: s, Now: c.Now}}
	r := &event.Recipient{Kind: "inwoner", Email: "a@example.org", PreferredChannel: "email", Subject: event.Subject{Kind: "inwoner", BSN: "999993653"}}
	zaak := &event.Zaak{URL: "https://openzaak.example/zaken/api/v1/zaken/1", Vertrouwelijkheidaanduiding: "openbaar"}

	// statuswijziging has the default group window of 2m.
	ev := &event.Event{ID: "s1", Type: event.TypeZaakStatusGewijzigd, OccurredAt: c.Now(), Zaak: zaak, Statustype: &event.Statustype{Informeren: true}}
	in := rules.Input{Event: ev, Recipient: r, Subject: r.Subject, Now: c.Now()}
	m := rs.Match(in)
	d := m.Expand(r)
	if err := timing.Apply(ctx, m, &d, ev, "ref-1"); err != nil {
		t.Fatal(err)
	}
	if want := c.Now().Add(2 * time.Minute); !d.HoldUntil.Equal(want) {
		t.Errorf("status change held until %v, want %v", d.HoldUntil, want)
	}

	// taak-gewijzigd is throttled to one a day.
	for i, want := range []bool{false, true} {
		ev := &event.Event{ID: "t" + string(rune('1'+i)), Type: event.TypeTaakGewijzigd, Taak: &event.Taak{Status: "open"}}
		in := rules.Input{Event: ev, Recipient: r, Subject: event.Subject{Role: "taak", Kind: "inwoner"}, Now: c.Now()}
		m := rs.Match(in)
		d := m.Expand(r)
		if err := timing.Apply(ctx, m, &d, ev, "ref-1"); err != nil {
			t.Fatal(err)
		}
		if d.Skip != want {
			t.Errorf("taak-gewijzigd #%d: skip %v, want %v (%s)", i+1, d.Skip, want, d.Reason)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "1d", 48 * time.Hour: "2d", 2 * time.Minute: "2m", 90 * time.Second: "1m30s",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 36 * time.Hour: "36h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
