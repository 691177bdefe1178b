package berichtenbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	batchq "github.com/mijnservices/koerier/channels/batch"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
)

func delivery(id, bsn string) event.Delivery {
	return event.Delivery{ID: id, EventID: "e-" + id, Channel: event.ChannelBerichtenbox,
		Recipient: event.Recipient{Subject: event.Subject{Kind: event.KindInwoner, BSN: bsn}},
		Decision:  event.Decision{Message: "besluit", Berichtenbox: &event.BerichtenboxMessage{BerichtType: "Besluit", Subject: "Besluit", Body: "Tekst"}}}
}

// A sealed bucket goes out as one batch; the answer settles each
// delivery; a TechnischProbleem is resent with the same BerichtID and
// then arrives once.
func TestBatchRoundTrip(t *testing.T) {
	c, fake := newEBMS(t)
	fake.AnswerFor("999990001", string(NietActiefOfGeabonneerd))
	fake.AnswerFor("999990002", string(TechnischProbleem), string(Verwerkt))
	var corr corrections
	b := &Batcher{Channel: NewChannel(nil, nil), EBMS: c, OIN: testOIN}
	sent := map[string][]event.Delivery{}
	var settled []Settlement
	p := &Poller{EBMS: c, Settler: Settler{Corrector: &corr},
		Deliveries: func(_ context.Context, batchID string) ([]event.Delivery, bool, error) {
			ds, ok := sent[batchID]
			return ds, ok, nil
		},
		Settled: func(_ context.Context, _ string, ss []Settlement) error { settled = append(settled, ss...); return nil },
	}
	ctx := context.Background()
	round := func(key string, ds []event.Delivery) map[string]Settlement {
		settled = nil
		batch, raw, refused, err := b.Build(ctx, key, ds)
		if err != nil {
			t.Fatal(err)
		}
		var in []event.Delivery
		for _, d := range ds {
			if refused[d.ID] == nil {
				in = append(in, d)
			}
		}
		sent[batch.BatchID] = in
		if _, err := b.HandOver(ctx, batch.BatchID, raw); err != nil {
			t.Fatal(err)
		}
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		out := map[string]Settlement{}
		for _, s := range settled {
			out[s.Delivery.ID] = s
		}
		return out
	}
	noBSN := delivery("d4", "")
	got := round("bucket-1", []event.Delivery{delivery("d1", "999993653"), delivery("d2", "999990001"), delivery("d3", "999990002"), noBSN})
	if got["d1"].Outcome.Status != event.OutcomeDelivered || got["d2"].Outcome.Status != event.OutcomePermanent ||
		got["d3"].Verdict != VerdictTemporary || len(got) != 3 {
		t.Fatalf("first round: %+v", got)
	}
	if len(corr) != 1 || corr[0] != "999990001" {
		t.Fatalf("corrections %v", corr)
	}
	// The temporary one goes again in a later bucket: same BerichtID.
	got = round("bucket-2", []event.Delivery{delivery("d3", "999990002")})
	if got["d3"].Outcome == nil || got["d3"].Outcome.Status != event.OutcomeDelivered {
		t.Fatalf("resend: %+v", got["d3"])
	}
	box := fake.Box("999990002")
	if len(box) != 1 || box[0].BerichtID != BerichtIDFor("d3") {
		t.Fatalf("box %+v", box)
	}
	bs := fake.Batches()
	if len(bs) != 2 || bs[0].Berichten[2].BerichtID != bs[1].Berichten[0].BerichtID {
		t.Fatalf("the resend did not reuse the BerichtID: %+v", bs)
	}
	// A refused delivery (no BSN) never reached Logius.
	for _, br := range bs[0].Berichten {
		if br.GebruikerID == "" {
			t.Fatal("a bericht without BSN was sent")
		}
	}
}

func TestBatchBuildRefusesPerDeliveryAndRetriesTemporary(t *testing.T) {
	down := func(context.Context, string, int64) ([]Document, error) {
		return nil, failure.Temporary(fmt.Errorf("documenten api down"))
	}
	d := delivery("d1", "999993653")
	d.Decision.Berichtenbox.Attach, d.Decision.Berichtenbox.BesluitURL = "besluit-document", "https://oz/besluiten/api/v1/besluiten/1"
	b := &Batcher{Channel: NewChannel(nil, down), OIN: testOIN}
	if _, _, _, err := b.Build(context.Background(), "k", []event.Delivery{d}); failure.Classify(err).Kind != failure.KindTemporary {
		t.Fatalf("err = %v, want temporary", err)
	}
	batch, raw, refused, err := b.Build(context.Background(), "k", []event.Delivery{delivery("d2", "")})
	if err != nil || raw != nil || len(batch.Berichten) != 0 || failure.Classify(refused["d2"]).Kind != failure.KindPermanent {
		t.Fatalf("batch %+v raw %d refused %v err %v", batch, len(raw), refused, err)
	}
}

// The sealer calls Hand again for a batch it sealed but did not record as
// sent (a crash, an error): the batch reaches the adapter once.
func TestHandIsIdempotentPerSealedBatch(t *testing.T) {
	c, fake := newEBMS(t)
	bc := NewBatchChannel(&Batcher{Channel: NewChannel(nil, nil), EBMS: c, OIN: testOIN}, newMemCache(), 0)
	s := batchq.Sealed{ID: "koerier-20260609-1000-1", Channel: event.ChannelBerichtenbox, Profile: EBMSProfile,
		Deliveries: []event.Delivery{delivery("d1", "999993653"), delivery("d2", "")}}
	ctx := context.Background()
	fake.RefuseNext(1) // the adapter is down at the first try
	if _, err := bc.Hand(ctx, s); failure.Classify(err).Kind != failure.KindTemporary {
		t.Fatalf("err = %v, want temporary", err)
	}
	for i := 0; i < 2; i++ {
		rs, err := bc.Hand(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].Status != event.OutcomeSent || rs[1].Status != event.OutcomePermanent {
			t.Fatalf("results %+v", rs)
		}
	}
	if n := len(fake.Batches()); n != 1 {
		t.Fatalf("the adapter got %d batches, want 1", n)
	}
	ds, ok, err := bc.Deliveries(ctx, fake.Batches()[0].BatchID)
	if err != nil || !ok || len(ds) != 1 || ds[0].ID != "d1" {
		t.Fatalf("deliveries of the batch: %v %v %v", ds, ok, err)
	}
}

type memCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemCache() *memCache { return &memCache{m: map[string][]byte{}} }

func (c *memCache) Get(_ context.Context, k string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok, nil
}

func (c *memCache) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = v
	return nil
}

func (c *memCache) Delete(_ context.Context, k string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
	return nil
}

func TestOldestUnsealed(t *testing.T) {
	now := aanmaak
	bc := NewBatchChannel(&Batcher{Channel: NewChannel(nil, nil), Now: func() time.Time { return now }}, newMemCache(), 0)
	ctx := context.Background()
	if _, err := bc.Profile(ctx, delivery("d1", "999993653")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(40 * time.Second)
	if _, err := bc.Profile(ctx, delivery("d2", "999993653")); err != nil {
		t.Fatal(err)
	}
	if got := bc.OldestUnsealed(ctx, 2, now.Add(5*time.Second)); got != 45*time.Second {
		t.Fatalf("oldest = %s, want 45s (the first bericht's wait)", got)
	}
	if got := bc.OldestUnsealed(ctx, 0, now); got != 0 {
		t.Fatalf("empty bucket: %s", got)
	}
	if _, err := bc.Profile(ctx, delivery("d3", "")); failure.Classify(err).Kind != failure.KindPermanent {
		t.Fatalf("no BSN: %v", err)
	}
}
