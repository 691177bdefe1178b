package klant_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
)

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0612345678", "+31612345678"},
		{"06-12 34 56 78", "+31612345678"},
		{"020 123 4567", "+31201234567"},
		{"+31612345678", "+31612345678"},
		{"+31 (0)6 12345678", "+31612345678"},
		{"0031612345678", "+31612345678"},
		{"+32470123456", "+32470123456"},
		{"612345678", ""},
		{"+3", ""},
		{"call me", ""},
		{"", ""},
	}
	for _, c := range cases {
		got, err := klant.NormalizePhone(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("NormalizePhone(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestClientQueries(t *testing.T) {
	fake, client := newFake(t)
	fake.SeedDemo()
	org := fake.AddOrganisatie(openklant.Organisatie{KVK: "69599084", Vestigingsnummer: "000038509504", Naam: "Korenschoof Filiaal Noord"})
	ctx := context.Background()

	ps, err := client.PartijenByIdentificator(ctx, klant.IDBSN, openklant.DemoBSNEmail)
	if err != nil || len(ps) != 1 || ps[0].Identificator(klant.IDBSN) != openklant.DemoBSNEmail {
		t.Fatalf("by bsn: %v, %+v", err, ps)
	}
	q := fake.Requests()[0].Query
	for k, want := range map[string]string{
		"partijIdentificator__codeSoortObjectId": "bsn",
		"partijIdentificator__objectId":          openklant.DemoBSNEmail,
		"expand":                                 "digitaleAdressen",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	if got := fake.Requests()[0].Authorization; got != "Token "+openklant.DefaultToken {
		t.Errorf("Authorization = %q", got)
	}

	vs, err := client.PartijenByVestiging(ctx, "69599084", "000038509504")
	if err != nil || len(vs) != 1 || vs[0].URL != org {
		t.Fatalf("by vestiging: %v, %+v", err, vs)
	}
	if vs, _ := client.PartijenByVestiging(ctx, "12345678", "000038509504"); len(vs) != 0 {
		t.Fatalf("a vestigingsnummer under another KVK number must not match: %+v", vs)
	}

	p, err := client.Partij(ctx, org)
	if err != nil || p.Name() != "Korenschoof Filiaal Noord" || p.SoortPartij != klant.SoortOrganisatie {
		t.Fatalf("by url: %v, %+v", err, p)
	}
	if _, err := client.Partij(ctx, "https://evil.example/partijen/x"); err == nil {
		t.Fatal("a partij URL outside the API must be refused")
	}
}

func TestClientFollowsPages(t *testing.T) {
	fake2, client := newFakeWith(t, openklant.Options{PageSize: 2})
	for i := 0; i < 5; i++ {
		fake2.AddPersoon(openklant.Persoon{BSN: "999991164", Voornaam: "P"})
	}
	ps, err := client.PartijenByIdentificator(context.Background(), klant.IDBSN, "999991164")
	if err != nil || len(ps) != 5 {
		t.Fatalf("got %d partijen, %v; want 5 over 3 pages", len(ps), err)
	}
	if n := len(fake2.Requests()); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestConnectionErrorHidesTheURL(t *testing.T) {
	for _, retries := range []int{-1, 2} {
		c := klant.NewClient("http://127.0.0.1:1/klantinteracties/api/v1", "x",
			httpclient.New(httpclient.Options{RetryMax: retries, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond}))
		_, err := c.PartijenByIdentificator(context.Background(), klant.IDBSN, "999993653")
		if failure.Classify(err).Kind != failure.KindTemporary {
			t.Fatalf("want a temporary error, got %v", err)
		}
		if strings.Contains(err.Error(), "999993653") || strings.Contains(err.Error(), "objectId") {
			t.Fatalf("error names the request URL: %v", err)
		}
	}
}
