package brp_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mijnservices/koerier/internal/brp"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	fakebrp "github.com/mijnservices/koerier/internal/sandbox/brp"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

func newClient(t *testing.T, key string) (*fakebrp.Server, *brp.Client) {
	t.Helper()
	fake := fakebrp.NewServer(fakebrp.Options{})
	fake.SeedDemo()
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	c := brp.New(brp.Options{BaseURL: ts.URL + "/haalcentraal/api/brp", APIKey: key,
		HTTPClient: httpclient.New(httpclient.Options{RetryMax: -1})})
	return fake, c
}

func TestRaadpleeg(t *testing.T) {
	cases := []struct {
		name                                               string
		bsn                                                string
		found, deceased, noPost, abroad, secrecy, curatele bool
		nameLine                                           string
		lines                                              []string
		land                                               string
	}{
		{name: "normal", bsn: fakebrp.DemoNormal, found: true, nameLine: "J. Jansen", lines: []string{"Dorpsstraat 1", "1234 AB  ONS DORP"}},
		{name: "deceased", bsn: fakebrp.DemoDeceased, found: true, deceased: true},
		{name: "secrecy and curatele", bsn: fakebrp.DemoSecrecy, found: true, secrecy: true, curatele: true, nameLine: "K. Bos", lines: []string{"Molenweg 3", "1234 AB  ONS DORP"}},
		{name: "abroad", bsn: fakebrp.DemoAbroad, found: true, abroad: true, nameLine: "E. Clarke", lines: []string{"10 Baker Street", "London NW1 6XE"}, land: "Verenigd Koninkrijk"},
		{name: "registered in error", bsn: fakebrp.DemoFout, found: true, noPost: true},
		{name: "unknown", bsn: "999999990", found: false},
	}
	_, c := newClient(t, fakebrp.DefaultAPIKey)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Raadpleeg(context.Background(), tc.bsn)
			if err != nil {
				t.Fatal(err)
			}
			if r.Found != tc.found || r.Deceased != tc.deceased || r.NoPost != tc.noPost || r.Abroad != tc.abroad || r.Secrecy != tc.secrecy || r.Curatele != tc.curatele {
				t.Fatalf("got %+v", r)
			}
			if tc.lines == nil {
				if r.Address != nil {
					t.Fatalf("want no address, got %+v", r.Address)
				}
			} else if r.Address == nil || r.Address.NameLine != tc.nameLine || !slices.Equal(r.Address.Lines, tc.lines) || r.Address.Land != tc.land {
				t.Fatalf("address %+v, want %q %q %q", r.Address, tc.nameLine, tc.lines, tc.land)
			}
			if r.Source.Registry != "brp" || strings.Contains(r.Source.Record+r.Note, tc.bsn) {
				t.Fatalf("bad source %+v / note %q", r.Source, r.Note)
			}
		})
	}
}

func TestRaadpleegEdgeCases(t *testing.T) {
	fake := fakebrp.NewServer(fakebrp.Options{})
	ts := httptest.NewServer(fake)
	defer ts.Close()
	c := brp.New(brp.Options{BaseURL: ts.URL, APIKey: fakebrp.DefaultAPIKey})
	fake.Add(fakebrp.Persoon{BSN: "999990627", VolledigeNaam: "Anna de Vries", Aanschrijfwijze: "A. de Vries",
		Adresregels: []string{"Kerkplein 12 A", "5678 CD  ONS DORP"}, VerblijftNietOpAdres: true})
	fake.Add(fakebrp.Persoon{BSN: "999991164", VolledigeNaam: "Kees Bos", OverlijdenDatum: "2025-06-01",
		Adresregels: []string{"Molenweg 3", "1234 AB  ONS DORP"}})
	fake.Add(fakebrp.Persoon{BSN: "999991206", VolledigeNaam: "Karel Dijk", Adresregels: []string{"Dorpsstraat 2", "1234 AB  ONS DORP"}})

	cases := []struct {
		name                   string
		bsn                    string
		notAtAddress, deceased bool
		address                bool
		nameLine               string
	}{
		{name: "established not to live at the address", bsn: "999990627", notAtAddress: true},
		{name: "overlijden without opschorting", bsn: "999991164", deceased: true},
		{name: "no aanschrijfwijze: volledige naam as name line", bsn: "999991206", address: true, nameLine: "Karel Dijk"},
	}
	for _, tc := range cases {
		r, err := c.Raadpleeg(context.Background(), tc.bsn)
		if err != nil {
			t.Fatal(err)
		}
		if r.NotAtAddress != tc.notAtAddress || r.Deceased != tc.deceased || (r.Address != nil) != tc.address {
			t.Errorf("%s: got %+v", tc.name, r)
			continue
		}
		if tc.address && r.Address.NameLine != tc.nameLine {
			t.Errorf("%s: name line %q, want %q", tc.name, r.Address.NameLine, tc.nameLine)
		}
	}
}

func TestRequestMatchesExample(t *testing.T) {
	fake, c := newClient(t, fakebrp.DefaultAPIKey)
	if _, err := c.Raadpleeg(context.Background(), fakebrp.DemoNormal); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if got := reqs[0].Header.Get("X-API-KEY"); got != fakebrp.DefaultAPIKey {
		t.Fatalf("X-API-KEY = %q", got)
	}
	var got, want map[string]any
	if err := json.Unmarshal(reqs[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/brp-raadpleeg-met-bsn-request.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "burgerservicenummer", "fields"} {
		g, _ := json.Marshal(got[k])
		w, _ := json.Marshal(want[k])
		if string(g) != string(w) {
			t.Errorf("%s = %s, want %s", k, g, w)
		}
	}
}

func TestErrorsAreClassified(t *testing.T) {
	cases := []struct {
		name      string
		key       string
		status    int
		temporary bool
		code      string
	}{
		{name: "server error", key: fakebrp.DefaultAPIKey, status: 500, temporary: true},
		{name: "unavailable", key: fakebrp.DefaultAPIKey, status: 503, temporary: true},
		{name: "rate limited", key: fakebrp.DefaultAPIKey, status: 429, temporary: true},
		{name: "wrong key", key: "wrong", code: "authentication"},
		{name: "forbidden", key: fakebrp.DefaultAPIKey, status: 403},
		{name: "malformed answer", key: fakebrp.DefaultAPIKey, status: 200, temporary: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake, c := newClient(t, tc.key)
			switch {
			case tc.status == 200:
				fake.Faults.Add(fault.Rule{Status: 200, Body: "<html>gateway</html>", ContentType: "text/html"})
			case tc.status != 0:
				fake.Faults.Add(fault.Rule{Status: tc.status})
			}
			_, err := c.Raadpleeg(context.Background(), fakebrp.DemoNormal)
			if err == nil {
				t.Fatal("want an error")
			}
			tmp := failure.Classify(err).Kind == failure.KindTemporary
			if tmp != tc.temporary || (failure.Classify(err).Kind == failure.KindPermanent) == tc.temporary {
				t.Fatalf("%v: temporary=%v, want %v", err, tmp, tc.temporary)
			}
			if tc.code != "" && !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("%v does not name problem code %q", err, tc.code)
			}
			if strings.Contains(err.Error(), fakebrp.DemoNormal) {
				t.Fatalf("error names the BSN: %v", err)
			}
		})
	}
}

func TestCustomHeaderAndToken(t *testing.T) {
	fake := fakebrp.NewServer(fakebrp.Options{APIKeyHeader: "X-Gateway-Key"})
	fake.SeedDemo()
	ts := httptest.NewServer(fake)
	defer ts.Close()
	c := brp.New(brp.Options{BaseURL: ts.URL, APIKey: fakebrp.DefaultAPIKey, APIKeyHeader: "X-Gateway-Key",
		Token: func(context.Context) (string, error) { return "tok", nil }})
	if _, err := c.Raadpleeg(context.Background(), fakebrp.DemoNormal); err != nil {
		t.Fatal(err)
	}
	if got := fake.Requests()[0].Header.Get("Authorization"); got != "Bearer tok" {
		t.Fatalf("Authorization = %q", got)
	}
}
