package berichtenbox_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	fakebb "github.com/mijnservices/koerier/internal/sandbox/berichtenbox"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/store"
)

// spyCache is the real SQLite store recording the keys and TTLs it gets.
type spyCache struct {
	*store.SQLite
	mu   sync.Mutex
	ttls map[string]time.Duration
}

func newSpyCache(t *testing.T) *spyCache {
	t.Helper()
	db, err := store.OpenSQLite(filepath.Join(t.TempDir(), "koerier.db"), store.WithPurgeInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &spyCache{SQLite: db, ttls: map[string]time.Duration{}}
}

func (c *spyCache) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	c.mu.Lock()
	c.ttls[k] = ttl
	c.mu.Unlock()
	return c.SQLite.Set(ctx, k, v, ttl)
}

const leverancier = "00000001234567890000"

func setup(t *testing.T, o berichtenbox.ValidatorOptions) (*fakebb.Server, *berichtenbox.Validator) {
	t.Helper()
	fake := fakebb.NewServer(fakebb.Options{BerichtleverancierCode: leverancier})
	fake.SeedDemo()
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	o.URL = ts.URL + "/BerichtenboxValidatieService"
	o.BerichtleverancierCode = leverancier
	o.HTTPClient = httpclient.New(httpclient.Options{RetryMax: -1})
	v, err := berichtenbox.NewValidator(o)
	if err != nil {
		t.Fatal(err)
	}
	return fake, v
}

// synthetic makes n distinct 9-digit test keys; the fake does not check
// the elfproef, and none of these is ever logged.
func synthetic(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("9%08d", i)
	}
	return out
}

func TestCheckManySplitsAt250(t *testing.T) {
	fake, v := setup(t, berichtenbox.ValidatorOptions{})
	bsns := append(synthetic(298), "999993653", "999990627")
	got, err := v.CheckMany(context.Background(), fakebb.DemoBerichtType, bsns)
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 2 || len(calls[0].BSNs) != 250 || len(calls[1].BSNs) != 50 {
		t.Fatalf("%d calls, want 2 of 250 and 50", len(calls))
	}
	if len(got) != 300 || got["999993653"] != event.Yes || got["999990627"] != event.No || got[bsns[0]] != event.No {
		t.Fatalf("answers: %d, %q %q %q", len(got), got["999993653"], got["999990627"], got[bsns[0]])
	}
}

func TestConcurrentLookupsShareCalls(t *testing.T) {
	// A window far longer than the test: batches are sent only because
	// they fill up, which makes the number of calls exact.
	fake, v := setup(t, berichtenbox.ValidatorOptions{BatchWindow: time.Hour, MaxBatch: 100})
	bsns := append(synthetic(299), "999993653")
	results := make([]event.Tri, len(bsns))
	errs := make([]error, len(bsns))
	var wg sync.WaitGroup
	for i, b := range bsns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = v.Check(context.Background(), fakebb.DemoBerichtType, b)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
	}
	if n := len(fake.Calls()); n != 3 {
		t.Fatalf("%d calls for 300 concurrent lookups, want 3", n)
	}
	if results[299] != event.Yes || results[0] != event.No {
		t.Fatalf("answers %q %q", results[299], results[0])
	}
}

func TestShortWindowNeverExceedsTheLimit(t *testing.T) {
	fake, v := setup(t, berichtenbox.ValidatorOptions{})
	bsns := synthetic(600)
	var wg sync.WaitGroup
	for _, b := range bsns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Check(context.Background(), fakebb.DemoBerichtType, b); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range fake.Calls() {
		if len(c.BSNs) > berichtenbox.MaxKlantenPerCall {
			t.Fatalf("a call with %d BSNs", len(c.BSNs))
		}
		total += len(c.BSNs)
	}
	if total != 600 {
		t.Fatalf("%d BSNs asked, want 600", total)
	}
}

func TestAnswersAreCached(t *testing.T) {
	cache := newSpyCache(t)
	fake, v := setup(t, berichtenbox.ValidatorOptions{Cache: cache, CacheTTL: 24 * time.Hour})
	c := v.ForBerichtType(fakebb.DemoBerichtType)
	for i := 0; i < 3; i++ {
		tri, src, err := c.Subscribed(context.Background(), "999993653")
		if err != nil || tri != event.Yes || src.Registry != "berichtenbox" {
			t.Fatalf("got %q %+v %v", tri, src, err)
		}
		if i > 0 && !strings.Contains(src.Note, "cached") {
			t.Fatalf("second answer not from the cache: %+v", src)
		}
	}
	if n := len(fake.Calls()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	for k, ttl := range cache.ttls {
		if strings.Contains(k, "999993653") || ttl != 24*time.Hour {
			t.Fatalf("cache key %q ttl %v", k, ttl)
		}
	}
	// Another berichttype is another question.
	if _, err := v.Check(context.Background(), "Belastingaanslag", "999993653"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls()); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

func TestFaultsAreClassified(t *testing.T) {
	cases := []struct {
		name      string
		soapFault string
		status    int
		temporary bool
	}{
		{name: "dependent service down", soapFault: fakebb.DependentServiceFault, temporary: true},
		{name: "application fault", soapFault: fakebb.ApplicationFault},
		{name: "http 503", status: 503, temporary: true},
		{name: "http 403", status: 403},
		{name: "malformed answer", status: 200, temporary: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake, v := setup(t, berichtenbox.ValidatorOptions{})
			if c.soapFault != "" {
				fake.FailNext(c.soapFault, 1)
			}
			if c.status != 0 {
				fake.Faults.Add(fault.Rule{Status: c.status, Body: "<html>gateway", ContentType: "text/html"})
			}
			_, err := v.Check(context.Background(), fakebb.DemoBerichtType, "999993653")
			if err == nil {
				t.Fatal("want an error")
			}
			tmp := failure.Classify(err).Kind == failure.KindTemporary
			if tmp != c.temporary || (failure.Classify(err).Kind == failure.KindPermanent) == c.temporary {
				t.Fatalf("%v: temporary=%v, want %v", err, tmp, c.temporary)
			}
			if c.soapFault != "" && !strings.Contains(err.Error(), c.soapFault) {
				t.Fatalf("%v does not name the fault", err)
			}
		})
	}
}

func TestWrongLeverancierIsPermanent(t *testing.T) {
	fake := fakebb.NewServer(fakebb.Options{BerichtleverancierCode: "other"})
	ts := httptest.NewServer(fake)
	defer ts.Close()
	v, err := berichtenbox.NewValidator(berichtenbox.ValidatorOptions{URL: ts.URL, BerichtleverancierCode: leverancier,
		HTTPClient: httpclient.New(httpclient.Options{RetryMax: -1})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Check(context.Background(), "Zaakstatus", "999993653"); failure.Classify(err).Kind != failure.KindPermanent {
		t.Fatalf("want a permanent error, got %v", err)
	}
}
