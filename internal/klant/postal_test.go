package klant_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/brp"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/klant"
	fakebrp "github.com/mijnservices/koerier/internal/sandbox/brp"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/store"
)

// spyCache is the real SQLite store with a clock the test moves, and a
// record of the keys and TTLs it was given, so the test can check that no
// BSN is used as a key.
type spyCache struct {
	*store.SQLite
	mu   sync.Mutex
	ttls map[string]time.Duration
	now  time.Time
}

func newSpyCache(t *testing.T) *spyCache {
	t.Helper()
	c := &spyCache{ttls: map[string]time.Duration{}, now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	db, err := store.OpenSQLite(filepath.Join(t.TempDir(), "koerier.db"), store.WithClock(c.clock), store.WithPurgeInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c.SQLite = db
	return c
}

func (c *spyCache) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *spyCache) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *spyCache) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	c.mu.Lock()
	c.ttls[k] = ttl
	c.mu.Unlock()
	return c.SQLite.Set(ctx, k, v, ttl)
}

func (c *spyCache) keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.ttls {
		out = append(out, k)
	}
	return out
}

func newBRP(t *testing.T) (*fakebrp.Server, *brp.Client) {
	t.Helper()
	fake := fakebrp.NewServer(fakebrp.Options{})
	fake.SeedDemo()
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	return fake, brp.New(brp.Options{BaseURL: ts.URL, APIKey: fakebrp.DefaultAPIKey, HTTPClient: httpclient.New(httpclient.Options{RetryMax: -1})})
}

func TestResolvePostal(t *testing.T) {
	cases := []struct {
		name                                string
		bsn                                 string
		fault                               int
		deceased, noPost, secrecy, curatele bool
		unknown                             bool
		lines                               []string
		land                                string
		temporary                           bool
		postalRegistry                      string
	}{
		{name: "normal", bsn: fakebrp.DemoNormal, lines: []string{"Dorpsstraat 1", "1234 AB  ONS DORP"}, postalRegistry: "brp"},
		{name: "deceased", bsn: fakebrp.DemoDeceased, deceased: true, postalRegistry: "brp"},
		{name: "secrecy", bsn: fakebrp.DemoSecrecy, secrecy: true, curatele: true, lines: []string{"Molenweg 3", "1234 AB  ONS DORP"}, postalRegistry: "brp"},
		{name: "abroad", bsn: fakebrp.DemoAbroad, lines: []string{"10 Baker Street", "London NW1 6XE"}, land: "Verenigd Koninkrijk", postalRegistry: "brp"},
		{name: "registered in error", bsn: fakebrp.DemoFout, noPost: true, postalRegistry: "brp"},
		{name: "unknown", bsn: "999999990", unknown: true, postalRegistry: "brp"},
		{name: "BRP down", bsn: fakebrp.DemoNormal, fault: 503, temporary: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fb, bc := newBRP(t)
			if c.fault != 0 {
				fb.Faults.Add(fault.Rule{Status: c.fault})
			}
			r := klant.NewResolver(klant.ResolverOptions{BRP: bc})
			got, err := r.Resolve(context.Background(), inwoner(c.bsn), klant.Need{Postal: true}, "")
			if c.temporary {
				if failure.Classify(err).Kind != failure.KindTemporary {
					t.Fatalf("want a temporary error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Deceased != c.deceased || got.NoPost != c.noPost || got.Secrecy != c.secrecy || got.Curatele != c.curatele || got.Unknown != c.unknown {
				t.Fatalf("flags: %+v", got)
			}
			if c.lines == nil {
				if got.PostalAddress != nil {
					t.Fatalf("want no postal address, got %+v", got.PostalAddress)
				}
			} else if got.PostalAddress == nil || !slices.Equal(got.PostalAddress.Lines, c.lines) || got.PostalAddress.Land != c.land {
				t.Fatalf("postal address %+v, want %q %q", got.PostalAddress, c.lines, c.land)
			}
			if src := got.Sources[klant.FactPostalAddress]; src.Registry != c.postalRegistry {
				t.Fatalf("postal source %+v", src)
			}
			if c.deceased && got.Sources[klant.FactDeceased].Registry != "brp" {
				t.Fatalf("deceased without a source: %+v", got.Sources)
			}
		})
	}
}

func TestResolveAsksBRPOnlyForPost(t *testing.T) {
	fb, bc := newBRP(t)
	fok, kc := newFake(t)
	fok.SeedDemo()
	r := klant.NewResolver(klant.ResolverOptions{Klant: kc, BRP: bc})
	got, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fb.Requests()); n != 0 || got.Email == "" {
		t.Fatalf("an email recipient caused %d BRP calls (email %q)", n, got.Email)
	}
	got, err = r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true, Postal: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fb.Requests()); n != 1 || got.PostalAddress == nil || got.Email == "" || got.Name != "Jan Jansen" {
		t.Fatalf("%d BRP calls, recipient %+v", n, got)
	}
}

func TestResolveCaches(t *testing.T) {
	fb, bc := newBRP(t)
	fok, kc := newFake(t)
	fok.SeedDemo()
	cache := newSpyCache(t)
	r := klant.NewResolver(klant.ResolverOptions{Klant: kc, BRP: bc, Cache: cache, KlantCacheTTL: time.Minute, BRPCacheTTL: 2 * time.Minute})
	for i := 0; i < 3; i++ {
		if _, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true, Postal: true}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n, m := len(fb.Requests()), len(fok.Requests()); n != 1 || m != 1 {
		t.Fatalf("BRP called %d times, Open Klant %d times; want 1 each", n, m)
	}
	keys := cache.keys()
	if len(keys) != 2 {
		t.Fatalf("cache keys %q, want 2", keys)
	}
	ttls := map[time.Duration]bool{}
	for _, k := range keys {
		if strings.Contains(k, openklant.DemoBSNEmail) || !strings.HasPrefix(k, "klant:") {
			t.Fatalf("cache key %q reveals the BSN or lacks the prefix", k)
		}
		ttls[cache.ttls[k]] = true
	}
	if !ttls[time.Minute] || !ttls[2*time.Minute] {
		t.Fatalf("TTLs %v, want 1m for Open Klant and 2m for BRP", ttls)
	}

	// After Open Klant's TTL, Open Klant is asked again and BRP is not.
	cache.advance(90 * time.Second)
	if _, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true, Postal: true}, ""); err != nil {
		t.Fatal(err)
	}
	if n, m := len(fb.Requests()), len(fok.Requests()); n != 1 || m != 2 {
		t.Fatalf("after 90s: BRP called %d times, Open Klant %d times; want 1 and 2", n, m)
	}

	// TTL 0 disables caching.
	r = klant.NewResolver(klant.ResolverOptions{Klant: kc, Cache: newSpyCache(t)})
	fok.ResetRequests()
	for i := 0; i < 2; i++ {
		if _, err := r.Resolve(context.Background(), inwoner(openklant.DemoBSNEmail), klant.Need{Digital: true}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if m := len(fok.Requests()); m != 2 {
		t.Fatalf("with TTL 0 Open Klant was called %d times, want 2", m)
	}
}
