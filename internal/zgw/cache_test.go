package zgw

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

func TestCatalogusCachedWithTTL(t *testing.T) {
	now := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, func(c *Config) {
		c.Now = func() time.Time { return now }
		c.CatalogiTTL = time.Hour
	})
	in := statusInbound(f.oz.ZakenRoot()+"/statussen/"+openzaak.ExampleStatusUUID, f.demo.ZaakInwoner.URL)
	catalogiGets := func() int {
		n := 0
		for _, r := range f.oz.Requests() {
			if strings.HasPrefix(r.Path, "/catalogi/") {
				n++
			}
		}
		f.oz.ResetRequests()
		return n
	}
	steps := []struct {
		name    string
		advance time.Duration
		fetches bool
	}{
		{"cold", 0, true},
		{"warm", 30 * time.Minute, false},
		{"expired", 31 * time.Minute, true},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if _, err := f.e.Enrich(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if got := catalogiGets(); (got > 0) != s.fetches {
			t.Fatalf("%s: %d catalogi GETs, want fetches=%v", s.name, got, s.fetches)
		}
	}
}
