package berichtenbox

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/sandbox/ebms"
)

const testOIN = "00000001234567890000"

func newEBMS(t *testing.T) (*EBMS, *ebms.Server) {
	t.Helper()
	fake := ebms.New(ebms.Options{OIN: testOIN, RequireXSD: os.Getenv("CI") == "true"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := NewEBMS(EBMSOptions{URL: srv.URL + "/service/rest/v19", CPAID: fake.CPAID(), OIN: testOIN})
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

// results sends a batch, then polls and processes its result as the
// sealer does.
func results(t *testing.T, c *EBMS, b Batch) map[string]Code {
	t.Helper()
	raw, err := MarshalBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.SendBatch(ctx, b.BatchID, raw); err != nil {
		t.Fatal(err)
	}
	ids, err := c.UnprocessedResults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Code{}
	for _, id := range ids {
		r, err := c.Result(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.BatchID != b.BatchID {
			t.Fatalf("result for batch %s, want %s", r.BatchID, b.BatchID)
		}
		for _, m := range r.Berichten {
			out[m.BerichtID] = m.Code
		}
		if err := c.MarkProcessed(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if ids, _ := c.UnprocessedResults(ctx); len(ids) != 0 {
		t.Fatalf("still unprocessed after PATCH: %v", ids)
	}
	return out
}

func TestEBMSSendsBatchesAndReadsResults(t *testing.T) {
	c, fake := newEBMS(t)
	fake.AnswerFor("999990001", string(NietActiefOfGeabonneerd))
	fake.AnswerFor("999990002", string(TechnischProbleem), string(Verwerkt))
	withPDFs := bericht(0)
	withPDFs.GebruikerID = "999993653"
	withPDFs.Bijlagen = []Bijlage{{Inhoud: pdf(1000), Omschrijving: "Besluit"}, {Inhoud: pdf(2000), Omschrijving: "Bijlage"}}
	notSub, techn := bericht(1), bericht(2)
	notSub.GebruikerID, techn.GebruikerID = "999990001", "999990002"
	b := Batch{BatchID: BatchIDFor("b1"), AanmaakDatum: aanmaak, BerichtLeverancierID: testOIN, Berichten: []Bericht{withPDFs, notSub, techn}}

	got := results(t, c, b)
	want := map[string]Code{withPDFs.BerichtID: Verwerkt, notSub.BerichtID: NietActiefOfGeabonneerd, techn.BerichtID: TechnischProbleem}
	for id, code := range want {
		if got[id] != code {
			t.Fatalf("results %v, want %v", got, want)
		}
	}
	if box := fake.Box("999993653"); len(box) != 1 || len(box[0].Bijlagen) != 2 || box[0].BerichtTekst != CRLF(withPDFs.BerichtTekst) {
		t.Fatalf("box %+v", box)
	}
	if bs := fake.Batches(); bs[0].XSDError != "" {
		t.Fatalf("the fake found the batch invalid: %s", bs[0].XSDError)
	}

	// TechnischProbleem: the same BerichtID again, in a batch with the
	// same BatchID; a bericht that had arrived answers BerichtBestaatAl.
	b.Berichten = []Bericht{techn, withPDFs}
	got = results(t, c, b)
	if got[techn.BerichtID] != Verwerkt || got[withPDFs.BerichtID] != BerichtBestaatAl || len(fake.Box("999990002")) != 1 || len(fake.Box("999993653")) != 1 {
		t.Fatalf("resend: %v", got)
	}
}

func TestEBMSFaults(t *testing.T) {
	c, fake := newEBMS(t)
	ctx := context.Background()
	b := Batch{BatchID: BatchIDFor("f"), AanmaakDatum: aanmaak, BerichtLeverancierID: testOIN, Berichten: []Bericht{bericht(1)}}
	raw, _ := MarshalBatch(b)

	fake.FailNext(1)
	id, err := c.SendBatch(ctx, b.BatchID, raw)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := c.UnprocessedEvents(ctx)
	if err != nil || len(evs) != 1 || evs[0].MessageID != id || evs[0].Type != EventFailed {
		t.Fatalf("events %+v, %v", evs, err)
	}
	if err := c.MarkEventProcessed(ctx, id); err != nil {
		t.Fatal(err)
	}
	if evs, _ := c.UnprocessedEvents(ctx); len(evs) != 0 {
		t.Fatalf("events after PATCH: %+v", evs)
	}

	fake.SilenceNext(1)
	if _, err := c.SendBatch(ctx, b.BatchID, raw); err != nil {
		t.Fatal(err)
	}
	if ids, _ := c.UnprocessedResults(ctx); len(ids) != 0 {
		t.Fatalf("a silenced batch got results %v", ids)
	}
	if len(fake.Box(bericht(1).GebruikerID)) != 0 {
		t.Fatal("a batch without an answer filled a box")
	}

	// Our configuration is wrong: an unknown CPA is ebms-core's 500.
	bad, _ := NewEBMS(EBMSOptions{URL: c.o.URL, CPAID: "other", OIN: testOIN})
	if _, err := bad.SendBatch(ctx, b.BatchID, raw); failure.Classify(err).Kind != failure.KindTemporary {
		t.Fatalf("unknown CPA: %v", err)
	}
	if _, err := c.Result(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
}
