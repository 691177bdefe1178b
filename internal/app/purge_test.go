package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
	"github.com/mijnservices/koerier/router"
)

// PurgeZaak finds the state the stages derive from the zaak's ledger lines
// (group window, delivery plan and markers, lease, ingest marker) and the
// taak state linked to the zaak, and leaves another zaak's alone.
func TestPurgeZaakFindsDerivedState(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(t.TempDir(), "s.db"), DataKey: make([]byte, 32), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := []byte("subject-key")
	zaakA, zaakB := "https://zaken.example/zaken/a", "https://zaken.example/zaken/b"
	refA, refB := store.ZaakRef(key, zaakA), store.ZaakRef(key, zaakB)
	subj := "subject-ref"
	g := &router.Grouper{Cache: st, Now: func() time.Time { return now }}
	for _, z := range []struct{ url, ref, id string }{{zaakA, refA, "a"}, {zaakB, refB, "b"}} {
		recs := []store.Record{
			{TraceID: "t" + z.id, EventID: "e" + z.id, Stage: "enrich", Status: "event", ZaakRef: z.ref},
			{TraceID: "t" + z.id, EventID: "e" + z.id, Stage: "route", Status: "decided", SubjectRef: subj},
			{TraceID: "t" + z.id, EventID: "e" + z.id, DeliveryID: "d" + z.id, Stage: "deliver", Status: "sent", SubjectRef: subj},
		}
		for _, r := range recs {
			if err := st.Append(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := g.Hold(ctx, subj, z.url, "e"+z.id, now, time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"delivery:d" + z.id, "sent:d" + z.id, "settled:d" + z.id, "enriched:t" + z.id + ":0", "enriched:t" + z.id + ":3",
			httpapi.SeenKey("t" + z.id), zgw.TaakStateKey("https://objecten.example/objects/" + z.id)} {
			if err := st.Set(ctx, k, []byte("x"), time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.LinkZaak(ctx, st, z.ref, zgw.TaakStateKey("https://objecten.example/objects/"+z.id)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Claim(ctx, "lease:d"+z.id, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := PurgeZaak(ctx, st, key, zaakA, now); err != nil {
		t.Fatal(err)
	}
	for _, z := range []struct {
		id     string
		url    string
		exists bool
	}{{"a", zaakA, false}, {"b", zaakB, true}} {
		for _, k := range []string{"delivery:d" + z.id, "sent:d" + z.id, "settled:d" + z.id, "enriched:t" + z.id + ":0", "enriched:t" + z.id + ":3",
			httpapi.SeenKey("t" + z.id), zgw.TaakStateKey("https://objecten.example/objects/" + z.id), router.GroupKey(subj, z.url)} {
			if _, ok, err := st.Get(ctx, k); err != nil || ok != z.exists {
				t.Errorf("after purging zaak a, %q present = %v (%v), want %v", k, ok, err, z.exists)
			}
		}
		first, err := st.Claim(ctx, "lease:d"+z.id, time.Hour)
		if err != nil || first == z.exists {
			t.Errorf("after purging zaak a, lease:d%s free = %v (%v), want %v", z.id, first, err, !z.exists)
		}
	}
	recs, err := Trail(ctx, st, key, TrailQuery{Zaak: zaakA})
	if err != nil || len(recs) != 1 || recs[0].Stage != "purge" {
		t.Fatalf("trail --zaak after the purge = %+v, %v; want the purge line only", recs, err)
	}

	// Retention: the dedup markers of zaak b are older than a day a day later.
	got, err := Retain(ctx, st, config.Config{Store: config.Store{LedgerRetention: time.Hour,
		Retention: config.Retention{TaakState: time.Hour, Dedup: time.Hour}}}, 0, []string{ClassDedup}, now.Add(2*time.Hour))
	if err != nil || got[ClassDedup] == 0 {
		t.Fatalf("Retain(dedup) = %v, %v; want markers deleted", got, err)
	}
	if _, ok, _ := st.Get(ctx, "sent:db"); ok {
		t.Error("a dedup marker older than its retention survived")
	}
	if _, ok, _ := st.Get(ctx, "delivery:db"); !ok {
		t.Error("retention of dedup markers deleted a delivery plan")
	}
}
