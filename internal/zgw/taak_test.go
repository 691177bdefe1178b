package zgw

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
)

func TestParseTaakShapes(t *testing.T) {
	tests := []struct {
		file, titel, status, zaak, formulier, idType string
		verloop                                      time.Time
	}{
		{"taak-object.denhaag-v1-verbatim.json", "Aanleveren informatie", "open", "http://localhost:8001/zaken/api/v1/zaken/f621749d-d222-49b8-9392-eff8723e0922",
			"http://localhost:8010/api/v2/objects/0db2a8a0-1ca8-4395-8a7a-c6293e33b4cd", "bsn", time.Date(2024, 5, 3, 21, 59, 59, 999000000, time.UTC)},
		// "2024-09-25 00:00:00" is Dutch local time (CEST, UTC+2).
		{"taak-object.nijmegen-verbatim.json", "test taak 18-9", "open", "", "https://app6-accp.nijmegen.nl/#/form/ontwikkel/uploadBijlage", "bsn",
			time.Date(2024, 9, 24, 22, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var o Object
			if err := json.Unmarshal(readExample(t, tt.file), &o); err != nil {
				t.Fatal(err)
			}
			p, err := ParseTaak(o)
			if err != nil {
				t.Fatal(err)
			}
			tk := p.Taak
			if tk.URL != o.URL || tk.Titel != tt.titel || tk.Status != tt.status || tk.ZaakURL != tt.zaak || tk.FormulierURL != tt.formulier || !tk.Verloopdatum.Equal(tt.verloop) || p.IdentificatieType != tt.idType || p.IdentificatieValue == "" {
				t.Fatalf("got %+v (%+v)", tk, p)
			}
		})
	}
}

func TestParseTaakNestedDataData(t *testing.T) {
	// Some Den Haag producers put the whole taak one level deeper.
	data := `{"data":{"title":"Betaal leges","status":"open","zaak":"https://oz/zaken/api/v1/zaken/1","verloopdatum":"2025-04-01T12:00:00+02:00","identificatie":{"type":"kvk","value":"69599084"}}}`
	p, err := ParseTaak(Object{URL: "https://obj/api/v2/objects/1", Record: ObjectRecord{Data: json.RawMessage(data)}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Taak.Titel != "Betaal leges" || p.IdentificatieType != "kvk" || !p.Taak.Verloopdatum.Equal(time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("got %+v", p)
	}
	for _, bad := range []string{`[]`, `"x"`, `{"titel":"zonder status"}`, `{"status":"open","verloopdatum":"morgen"}`} {
		if _, err := ParseTaak(Object{Record: ObjectRecord{Data: json.RawMessage(bad)}}); err == nil {
			t.Errorf("ParseTaak(%s) accepted", bad)
		}
	}
}

func FuzzParseTaak(f *testing.F) {
	for _, name := range []string{"taak-object.denhaag-v1-verbatim.json", "taak-object.nijmegen-verbatim.json"} {
		var o Object
		if err := json.Unmarshal(readExample(f, name), &o); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(o.Record.Data))
	}
	f.Add([]byte(`{"data":{"data":{"status":"open"}}}`))
	f.Add([]byte(`{"status":"open","verloopdatum":"2024-09-25 00:00:00","identificatie":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseTaak(Object{URL: "https://obj/api/v2/objects/1", Record: ObjectRecord{Data: data}})
		if err != nil {
			return
		}
		if p.Taak.Status == "" {
			t.Fatalf("parsed a taak without status from %q", data)
		}
		if s, ok := taakSubject(p); ok && s.BSN == "" && s.KVK == "" {
			t.Fatalf("subject without identifier from %q", data)
		}
	})
}

// taakWorld is a fake Objecten API with one taak and an enricher watching it.
type taakWorld struct {
	*world
	id  string
	url string
	n   int
}

func (tw *taakWorld) put(data map[string]any) {
	tw.url = tw.obj.Put(tw.id, exampleTaakType, data)
}

// notify sends an object notification and returns the result.
func (tw *taakWorld) notify(t *testing.T, actie string) Result {
	t.Helper()
	tw.n++
	n := event.Notification{Kanaal: "objecten", Resource: "object", Actie: actie, ResourceURL: tw.url, HoofdObject: tw.url,
		Aanmaakdatum: tw.now.Add(time.Duration(tw.n) * time.Second), Kenmerken: map[string]string{"objectType": exampleTaakType}}
	res, err := tw.e.Enrich(context.Background(), inbound(n))
	if err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	return res
}

func outcome(res Result) string {
	if len(res.Events) == 1 {
		return res.Events[0].Type
	}
	return res.Skipped
}

func TestTaakLifecycle(t *testing.T) {
	w := newWorld(t)
	tw := &taakWorld{world: w, id: "0b5e5a8e-7d8f-4a4e-9c52-1f2e3d4c5b6a"}
	zaakUUID := "6b41d4c4-ef64-453c-b705-606334e79d8a"
	steps := []struct {
		name   string
		data   map[string]any
		actie  string
		want   string
		timers int
	}{
		{"created open", objecten.CommunityTaak("Upload uw loonstrook", "open", zaakUUID, "2025-04-10 17:00:00", "bsn", "999991206"), "create", event.TypeTaakToegewezen, 2},
		{"same notification again is no change", nil, "update", ReasonTaakOngewijzigd, 0},
		{"verloopdatum moved", objecten.CommunityTaak("Upload uw loonstrook", "open", zaakUUID, "2025-04-17 17:00:00", "bsn", "999991206"), "partial_update", event.TypeTaakGewijzigd, 2},
		{"afgerond", objecten.CommunityTaak("Upload uw loonstrook", "afgerond", zaakUUID, "2025-04-17 17:00:00", "bsn", "999991206"), "partial_update", event.TypeTaakAfgerond, 0},
		{"verwerkt after afgerond", objecten.CommunityTaak("Upload uw loonstrook", "verwerkt", zaakUUID, "2025-04-17 17:00:00", "bsn", "999991206"), "partial_update", ReasonTaakOngewijzigd, 0},
		{"reopened", objecten.CommunityTaak("Upload uw loonstrook", "open", zaakUUID, "", "bsn", "999991206"), "update", event.TypeTaakToegewezen, 0},
	}
	for _, s := range steps {
		if s.data != nil {
			if s.data["verloopdatum"] == "" {
				delete(s.data, "verloopdatum")
			}
			tw.put(s.data)
		}
		res := tw.notify(t, s.actie)
		if got := outcome(res); got != s.want {
			t.Fatalf("%s: %q (%s), want %q", s.name, got, res.Detail, s.want)
		}
		if len(res.Timers) != s.timers {
			t.Fatalf("%s: %d timers, want %d", s.name, len(res.Timers), s.timers)
		}
		if len(res.Events) == 1 {
			ev := res.Events[0]
			if ev.Subjects[0].BSN != "999991206" || ev.Subjects[0].Role != event.RoleTaak || ev.Taak == nil || ev.Zaak == nil || ev.Zaak.Identificatie != "ZAAK-2025-0000123" {
				t.Fatalf("%s: event %+v", s.name, ev)
			}
		}
	}
	// The state in the cache holds no BSN.
	b, ok, _ := w.e.cache.Get(context.Background(), taakStateKey(tw.url))
	if !ok || len(b) == 0 {
		t.Fatal("no taak state stored")
	}
	if bytes.Contains(b, []byte("999991206")) {
		t.Fatalf("taak state contains the BSN: %s", b)
	}
}

func TestTaakRedeliveryGivesTheSameEvent(t *testing.T) {
	w := newWorld(t)
	tw := &taakWorld{world: w, id: "2c8d4e6f-1a3b-4c5d-8e9f-0a1b2c3d4e5f"}
	tw.put(objecten.CommunityTaak("Betaal leges", "open", "", "2025-04-10 17:00:00", "kvk", "69599084"))
	n := event.Notification{Kanaal: "objecten", Resource: "object", Actie: "create", ResourceURL: tw.url, Aanmaakdatum: w.now, Kenmerken: map[string]string{"objectType": exampleTaakType}}
	first, err := w.e.Enrich(context.Background(), inbound(n))
	if err != nil || len(first.Events) != 1 {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := w.e.Enrich(context.Background(), inbound(n))
	if err != nil || len(again.Events) != 1 || again.Events[0].ID != first.Events[0].ID || again.Events[0].Type != event.TypeTaakToegewezen {
		t.Fatalf("redelivery: %+v %v, want the same toegewezen event", again, err)
	}
	if first.Events[0].Subjects[0].Kind != event.KindBedrijf || first.Events[0].Subjects[0].KVK != "69599084" {
		t.Fatalf("kvk taak subject %+v", first.Events[0].Subjects[0])
	}
}

func TestTaakHerinnering(t *testing.T) {
	w := newWorld(t)
	tw := &taakWorld{world: w, id: "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"}
	open := objecten.CommunityTaak("Upload uw loonstrook", "open", "", "2025-04-10 17:00:00", "bsn", "999991206")
	tw.put(open)
	res := tw.notify(t, "create")
	if len(res.Timers) != 2 {
		t.Fatalf("timers %+v", res.Timers)
	}
	verloop := time.Date(2025, 4, 10, 15, 0, 0, 0, time.UTC) // 17:00 CEST
	for _, tm := range res.Timers {
		if tm.Source != event.SourceScheduler || tm.Timer == nil || !tm.Timer.Verloopdatum.Equal(verloop) ||
			!tm.DueAt.Equal(verloop.AddDate(0, 0, -tm.Timer.DaysBefore)) || tm.ID == "" {
			t.Fatalf("timer %+v %+v", tm, tm.Timer)
		}
	}
	three := res.Timers[0]

	fire := func() Result {
		t.Helper()
		r, err := w.e.Enrich(context.Background(), three)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := fire(); outcome(r) != event.TypeTaakHerinnering || r.Events[0].Taak.Herinnering != 3 || r.Events[0].Subjects[0].BSN != "999991206" {
		t.Fatalf("open taak: %+v", r)
	}
	// Moving the verloopdatum cancels the old timer (a new one was listed).
	tw.put(objecten.CommunityTaak("Upload uw loonstrook", "open", "", "2025-04-12 17:00:00", "bsn", "999991206"))
	if r := fire(); r.Skipped != ReasonHerinneringVervallen {
		t.Fatalf("moved verloopdatum: %+v", r)
	}
	tw.put(open)
	tw.put(objecten.CommunityTaak("Upload uw loonstrook", "afgerond", "", "2025-04-10 17:00:00", "bsn", "999991206"))
	if r := fire(); r.Skipped != ReasonHerinneringVervallen {
		t.Fatalf("afgeronde taak: %+v", r)
	}
	w.obj.Delete(tw.id)
	if r := fire(); r.Skipped != ReasonNietGevonden {
		t.Fatalf("deleted taak: %+v", r)
	}
}

func TestObjectOfOtherObjecttypeIsSkipped(t *testing.T) {
	w := newWorld(t)
	u := w.obj.Put("", "https://objecttypen.gemeente.example/api/v2/objecttypes/boom", map[string]any{"soort": "eik"})
	n := event.Notification{Kanaal: "objecten", Resource: "object", Actie: "create", ResourceURL: u, Aanmaakdatum: w.now,
		Kenmerken: map[string]string{"objectType": "https://objecttypen.gemeente.example/api/v2/objecttypes/boom"}}
	res, err := w.e.Enrich(context.Background(), inbound(n))
	if err != nil || res.Skipped != ReasonGeenTaakObjecttype {
		t.Fatalf("%+v %v", res, err)
	}
	if reqs := w.obj.Requests(); len(reqs) != 0 {
		t.Fatalf("fetched %d objects of a non-taak objecttype", len(reqs))
	}
}
