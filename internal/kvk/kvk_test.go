package kvk_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/kvk"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	fakekvk "github.com/mijnservices/koerier/internal/sandbox/kvk"
)

func setup(t *testing.T, key string) (*fakekvk.Server, *kvk.Client) {
	t.Helper()
	fake := fakekvk.NewServer(fakekvk.Options{})
	fake.SeedDemo()
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	return fake, kvk.New(kvk.Options{BaseURL: ts.URL + "/test/api", APIKey: key, HTTPClient: httpclient.New(httpclient.Options{RetryMax: -1})})
}

func TestPostalAddress(t *testing.T) {
	cases := []struct {
		name, kvkNr, vestiging string
		found                  bool
		lines                  []string
		record                 string
	}{
		{"postadres of the hoofdvestiging", fakekvk.DemoKVK, "", true, []string{"Postbus 100", "1230 AA  ONS DORP"}, "basisprofiel " + fakekvk.DemoKVK},
		{"bezoekadres of a vestiging without postadres", fakekvk.DemoKVK, fakekvk.DemoVestiging, true, []string{"Molenweg 12a", "1235 CD  ONS DORP"}, "vestigingsprofiel " + fakekvk.DemoVestiging},
		{"unknown company", "12345678", "", false, nil, "basisprofiel 12345678"},
	}
	_, c := setup(t, fakekvk.DefaultAPIKey)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.PostalAddress(context.Background(), tc.kvkNr, tc.vestiging)
			if err != nil {
				t.Fatal(err)
			}
			if r.Found != tc.found || r.Source.Record != tc.record || r.Source.Registry != "kvk" {
				t.Fatalf("got %+v", r)
			}
			if tc.lines == nil {
				if r.Address != nil {
					t.Fatalf("want no address: %+v", r.Address)
				}
				return
			}
			if r.Address == nil || !slices.Equal(r.Address.Lines, tc.lines) {
				t.Fatalf("address %+v, want %q", r.Address, tc.lines)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name      string
		key       string
		status    int
		temporary bool
	}{
		{"wrong key", "wrong", 0, false},
		{"server error", fakekvk.DefaultAPIKey, 502, true},
		{"rate limited", fakekvk.DefaultAPIKey, 429, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake, c := setup(t, tc.key)
			if tc.status != 0 {
				fake.Faults.Add(fault.Rule{Status: tc.status})
			}
			_, err := c.PostalAddress(context.Background(), fakekvk.DemoKVK, "")
			tmp := failure.Classify(err).Kind == failure.KindTemporary
			if err == nil || tmp != tc.temporary || (failure.Classify(err).Kind == failure.KindPermanent) == tc.temporary {
				t.Fatalf("%v: temporary=%v, want %v", err, tmp, tc.temporary)
			}
		})
	}
}
