package berichtenbox

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

type corrections []string

func (c *corrections) MarkNotSubscribed(_ context.Context, bsn string) { *c = append(*c, bsn) }

func TestSettleGivesOneOutcomePerDelivery(t *testing.T) {
	mk := func(id, bsn string) event.Delivery {
		return event.Delivery{ID: id, EventID: "e", Channel: event.ChannelBerichtenbox, Recipient: event.Recipient{Subject: event.Subject{BSN: bsn}}}
	}
	ds := []event.Delivery{mk("ok", "1"), mk("niet", "2"), mk("techn", "3"), mk("config", "4"), mk("vreemd", "5"), mk("al", "6"), mk("zonder-antwoord", "7")}
	r := Response{BatchID: BatchIDFor("s"), Berichten: []Result{
		{BerichtID: BerichtIDFor("ok"), Code: Verwerkt},
		{BerichtID: strings.ToUpper(BerichtIDFor("niet")), Code: NietActiefOfGeabonneerd},
		{BerichtID: BerichtIDFor("techn"), Code: TechnischProbleem},
		{BerichtID: BerichtIDFor("config"), Code: BerichtTypeNietOndersteund},
		{BerichtID: BerichtIDFor("vreemd"), Code: "Onbekend"},
		{BerichtID: BerichtIDFor("al"), Code: BerichtBestaatAl},
		{BerichtID: BerichtIDFor("not-in-batch"), Code: Verwerkt},
	}}
	var corr corrections
	var logs bytes.Buffer
	s := Settler{Corrector: &corr, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return aanmaak }}
	got := map[string]Settlement{}
	for _, st := range s.Settle(context.Background(), r, ds) {
		got[st.Delivery.ID] = st
	}
	if len(got) != 6 {
		t.Fatalf("%d settlements, want 6 (none for the delivery without a result)", len(got))
	}
	status := func(id string) string {
		if got[id].Outcome == nil {
			return "-"
		}
		return got[id].Outcome.Status
	}
	for id, want := range map[string]string{"ok": event.OutcomeDelivered, "al": event.OutcomeDelivered, "niet": event.OutcomePermanent,
		"config": event.OutcomePermanent, "techn": "-", "vreemd": "-"} {
		if status(id) != want {
			t.Errorf("%s: outcome %s, want %s", id, status(id), want)
		}
	}
	if got["techn"].Verdict != VerdictTemporary || got["vreemd"].Verdict != VerdictDeadLetter {
		t.Fatalf("techn %v, vreemd %v", got["techn"].Verdict, got["vreemd"].Verdict)
	}
	if o := got["niet"].Outcome; o.Delivery == nil || !strings.Contains(o.Reason, "NietActiefOfGeabonneerd") {
		t.Fatalf("permanent outcome must carry the delivery (for the fallback) and the code: %+v", o)
	}
	if len(corr) != 1 || corr[0] != "2" {
		t.Fatalf("corrected %v, want the subscription of 2", corr)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "BerichtTypeNietOndersteund") {
		t.Fatalf("no loud log for a configuration code:\n%s", logs.String())
	}
}
