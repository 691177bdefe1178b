package zgw

import (
	"context"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
)

// The demo story, driven as the demo command would: change the fake, post
// the notification it says Open Zaak would send.
func TestDemoStory(t *testing.T) {
	f := newFixture(t)
	d := f.demo
	at := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		do   func() event.Notification
		want string
	}{
		{"first status", func() event.Notification {
			return f.oz.Notification("create", f.oz.ZakenRoot()+"/statussen/"+"0c5f8e2d-3b7a-4c1e-9f2a-8d6b4e1a7c33", at)
		}, event.TypeZaakAangemaakt},
		{"in behandeling", func() event.Notification {
			return f.oz.Notification("create", f.oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[1], at).URL, at)
		}, event.TypeZaakStatusGewijzigd},
		{"intern", func() event.Notification {
			return f.oz.Notification("create", f.oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[2], at.Add(time.Hour)).URL, at)
		}, ReasonInformerenUit},
		{"besluit", func() event.Notification { return f.oz.Notification("create", d.Besluit.URL, at) }, event.TypeBesluitGenomen},
		{"afgehandeld", func() event.Notification {
			st, _ := f.oz.CloseZaak(d.ZaakInwoner.URL, d.Statustypen[3], d.Resultaattype, at.Add(2*time.Hour))
			return f.oz.Notification("create", st.URL, at)
		}, event.TypeZaakAfgesloten},
		{"bedrijf status", func() event.Notification {
			return f.oz.Notification("create", f.oz.SetStatus(d.ZaakBedrijf.URL, d.Statustypen[1], at).URL, at)
		}, event.TypeZaakStatusGewijzigd},
	}
	for _, s := range steps {
		res, err := f.e.Enrich(context.Background(), inbound(s.do()))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := outcome(res); got != s.want {
			t.Fatalf("%s: %q (%s), want %q", s.name, got, res.Detail, s.want)
		}
	}
}

func TestDemoTaken(t *testing.T) {
	w := newWorld(t)
	dm := objecten.SeedDemo(w.obj, w.demo.ZaakInwoner.URL)
	for _, c := range []struct {
		url, bsn, kvk string
	}{{dm.TaakInwoner, "999993653", ""}, {dm.TaakBedrijf, "", "69599084"}} {
		res, err := w.e.Enrich(context.Background(), inbound(w.obj.Notification("create", c.url, w.now)))
		if err != nil || outcome(res) != event.TypeTaakToegewezen {
			t.Fatalf("%s: %+v %v", c.url, res, err)
		}
		s := res.Events[0].Subjects[0]
		if s.BSN != c.bsn || s.KVK != c.kvk || len(res.Timers) != 2 {
			t.Fatalf("%s: subject %+v, %d timers", c.url, s, len(res.Timers))
		}
	}
}
