package zgw

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// BenchmarkEnrich measures one enrich of a first-status notification (the
// zaak.aangemaakt path koerier bench drives) against the fake Open Zaak
// over loopback HTTP: the status, zaak and rollen reads with signed ZGW
// JWTs, the catalogue reads served from the enricher's cache after the
// first round. The enricher uses the production HTTP client options, as
// the router builds it. It cycles over a pool of distinct zaken so that the
// fake's list filters cost the same whatever b.N is.
func BenchmarkEnrich(b *testing.B) {
	oz := openzaak.New("", map[string]string{testClientID: testSecret})
	ts := httptest.NewServer(oz)
	b.Cleanup(ts.Close)
	oz.SetBaseURL(ts.URL)
	d := openzaak.SeedDemo(oz)
	e, err := New(Config{APIs: ozAPIs(oz, testSecret), HTTP: httpclient.Options{}})
	if err != nil {
		b.Fatal(err)
	}
	const pool = 1000
	at := time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC)
	ins := make([]event.Inbound, pool)
	for i := range ins {
		z := oz.AddZaak(openzaak.Zaak{Identificatie: fmt.Sprintf("ZAAK-BENCH-%05d", i), Bronorganisatie: "002220647",
			VerantwoordelijkeOrganisatie: "002220647", Zaaktype: d.Zaaktype.URL, Registratiedatum: "2025-03-20", Startdatum: "2025-03-20"})
		oz.AddRol(openzaak.Rol{Zaak: z.URL, BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator",
			Registratiedatum: "2025-03-20T09:00:00Z", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon("999993653", "Jan", "Jansen")})
		st := oz.SetStatus(z.URL, d.Statustypen[0], at)
		ins[i] = inbound(oz.Notification("create", st.URL, at))
	}
	ctx := context.Background()
	enrich := func(i int) {
		res, err := e.Enrich(ctx, ins[i%pool])
		if err != nil || len(res.Events) != 1 || res.Events[0].Type != event.TypeZaakAangemaakt {
			b.Fatalf("enrich: %+v, %v", res, err)
		}
	}
	enrich(0) // fill the catalogue cache
	b.Run("serial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			enrich(i)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(2) // 2×GOMAXPROCS goroutines, about a stage's concurrency
		var next int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				enrich(int(atomicAdd(&next)))
			}
		})
	})
}

func atomicAdd(p *int64) int64 { return atomic.AddInt64(p, 1) }
