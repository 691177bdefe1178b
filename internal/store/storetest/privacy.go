package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/store"
)

var (
	dataKey1 = bytes.Repeat([]byte{1}, store.DataKeySize)
	dataKey2 = bytes.Repeat([]byte{2}, store.DataKeySize)
)

// testEncrypted checks the Encrypted decorator over the backend: values are
// unreadable at rest, bound to their key, readable under the previous key
// and rewritten by Rekey.
func testEncrypted(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	raw := s
	if e, ok := s.(*store.Encrypted); ok {
		raw = e.Unwrap()
	}
	ctx := ctxFor(t)
	enc := func(key, prev []byte) *store.Encrypted {
		t.Helper()
		e, err := store.Encrypt(raw, key, prev, nil)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		return e
	}
	secret := []byte(`{"bsn":"999993653","email":"jan@example.org"}`)
	e1 := enc(dataKey1, nil)
	if err := e1.Set(ctx, "delivery:d1", secret, time.Hour); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, ok, err := e1.Get(ctx, "delivery:d1"); err != nil || !ok || !bytes.Equal(got, secret) {
		t.Fatalf("Get = %q, %v, %v; want the value back", got, ok, err)
	}
	b, ok, err := raw.Get(ctx, "delivery:d1")
	if err != nil || !ok {
		t.Fatalf("raw Get: %v, %v", ok, err)
	}
	if bytes.Contains(b, []byte("999993653")) || bytes.Contains(b, []byte("jan@example.org")) {
		t.Fatalf("the backend holds the value in clear: %q", b)
	}
	// The record's key is the associated data: a value moved to another
	// key does not decrypt.
	if err := raw.Set(ctx, "delivery:d2", b, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e1.Get(ctx, "delivery:d2"); err == nil {
		t.Fatal("a value copied to another key decrypted")
	}
	// A value written before encryption is read as it is.
	if err := raw.Set(ctx, "legacy", []byte("plain"), 0); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := e1.Get(ctx, "legacy"); err != nil || !ok || string(got) != "plain" {
		t.Fatalf("legacy Get = %q, %v, %v", got, ok, err)
	}
	// Rotation: key 2 current, key 1 previous reads the old values.
	e21 := enc(dataKey2, dataKey1)
	if got, ok, err := e21.Get(ctx, "delivery:d1"); err != nil || !ok || !bytes.Equal(got, secret) {
		t.Fatalf("Get under the previous key = %q, %v, %v", got, ok, err)
	}
	if _, _, err := enc(dataKey2, nil).Get(ctx, "delivery:d1"); err == nil {
		t.Fatal("a value under key 1 decrypted with key 2 alone")
	}
	if err := raw.Delete(ctx, "delivery:d2"); err != nil {
		t.Fatal(err)
	}
	st, err := e21.Rekey(ctx)
	if err != nil {
		t.Fatalf("Rekey: %v", err)
	}
	if st.Rewritten != 2 {
		t.Errorf("Rekey rewrote %d entries, want 2 (the old one and the legacy one)", st.Rewritten)
	}
	e2 := enc(dataKey2, nil)
	for k, want := range map[string][]byte{"delivery:d1": secret, "legacy": []byte("plain")} {
		if got, ok, err := e2.Get(ctx, k); err != nil || !ok || !bytes.Equal(got, want) {
			t.Fatalf("after Rekey, Get(%q) with key 2 alone = %q, %v, %v", k, got, ok, err)
		}
	}
	if b, _, _ := raw.Get(ctx, "legacy"); bytes.Equal(b, []byte("plain")) {
		t.Error("Rekey left the legacy value in clear")
	}
	// Rekey kept the expiry.
	sc := raw.(store.CacheScanner)
	err = sc.ScanCache(ctx, "delivery:", func(ce store.CacheEntry) error {
		if ce.TTL <= 0 || ce.TTL > time.Hour {
			t.Errorf("after Rekey %s has ttl %v, want up to an hour", ce.Key, ce.TTL)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanCache: %v", err)
	}
	if st, err := e2.Rekey(ctx); err != nil || st.Rewritten != 0 {
		t.Fatalf("second Rekey = %+v, %v; want nothing to rewrite", st, err)
	}
}

// testPurgeZaak checks that everything about one zaak goes and the other
// zaak's records stay.
func testPurgeZaak(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	p, ok := s.(store.ZaakPurger)
	if !ok {
		t.Fatalf("%T does not implement store.ZaakPurger", s)
	}
	ctx := ctxFor(t)
	recs := []store.Record{
		{TraceID: "tA", Stage: "ingest", Status: "accepted", At: base},
		{TraceID: "tA", EventID: "eA", Stage: "enrich", Status: "event", ZaakRef: "zaak-a", At: base.Add(time.Second)},
		{TraceID: "tA", EventID: "eA", Stage: "route", Status: "decided", SubjectRef: "ref-1", At: base.Add(2 * time.Second)},
		{TraceID: "tA", EventID: "eA", DeliveryID: "dA", Stage: "deliver", Status: "sent", SubjectRef: "ref-1", At: base.Add(3 * time.Second)},
		{DeliveryID: "dA", TraceID: "dA", Stage: "settle", Status: "delivered", At: base.Add(4 * time.Second)},
		{TraceID: "tB", Stage: "ingest", Status: "accepted", At: base},
		{TraceID: "tB", EventID: "eB", Stage: "enrich", Status: "event", ZaakRef: "zaak-b", At: base.Add(time.Second)},
		{TraceID: "tB", EventID: "eB", DeliveryID: "dB", Stage: "deliver", Status: "sent", SubjectRef: "ref-1", At: base.Add(3 * time.Second)},
	}
	for _, r := range recs {
		if err := s.Append(ctx, r); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	for _, k := range []string{"delivery:dA", "delivery:dB", "zgw:taak:A", "zgw:taak:B"} {
		if err := s.Set(ctx, k, []byte("x"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if !claim(t, s, "lease:dA", time.Hour) || !claim(t, s, "lease:dB", time.Hour) {
		t.Fatal("Claim failed")
	}
	if err := store.LinkZaak(ctx, s, "zaak-a", "zgw:taak:A"); err != nil {
		t.Fatal(err)
	}
	if err := store.LinkZaak(ctx, s, "zaak-b", "zgw:taak:B"); err != nil {
		t.Fatal(err)
	}
	got, err := p.ByZaak(ctx, "zaak-a")
	if err != nil || len(got) != 1 {
		t.Fatalf("ByZaak before = %+v, %v; want the enrich record", got, err)
	}
	tomb := store.Record{TraceID: store.PurgedTraceID("zaak-a"), Stage: "purge", Status: "purged", At: base.Add(time.Hour)}
	st, err := p.PurgeZaak(ctx, "zaak-a", []string{"delivery:dA", "lease:dA"}, tomb)
	if err != nil {
		t.Fatalf("PurgeZaak: %v", err)
	}
	if st.Records != 5 {
		t.Errorf("PurgeZaak deleted %d records, want 5", st.Records)
	}
	for _, id := range []string{"tA", "eA", "dA"} {
		if got, err := s.Trail(ctx, id); err != nil || len(got) != 0 {
			t.Errorf("Trail(%q) after purge = %+v, %v; want none", id, got, err)
		}
	}
	if got, err := p.ByZaak(ctx, "zaak-a"); err != nil || len(got) != 0 {
		t.Errorf("ByZaak after purge = %+v, %v; want none", got, err)
	}
	bs := s.(interface {
		BySubject(context.Context, string) ([]store.Record, error)
	})
	if got, err := bs.BySubject(ctx, "ref-1"); err != nil || len(got) != 1 || got[0].TraceID != "tB" {
		t.Errorf("BySubject after purge = %+v, %v; want only zaak B's record", got, err)
	}
	recent, err := s.Recent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recent {
		if r.TraceID == "tA" || r.TraceID == "dA" {
			t.Errorf("Recent still holds %+v", r)
		}
	}
	for _, k := range []string{"delivery:dA", "zgw:taak:A", store.ZaakLinkPrefix + "zaak-a:zgw:taak:A"} {
		if _, ok, _ := s.Get(ctx, k); ok {
			t.Errorf("cache entry %q survived the purge", k)
		}
	}
	if !claim(t, s, "lease:dA", time.Hour) {
		t.Error("the claim lease:dA survived the purge")
	}
	// Zaak B is intact.
	if got, err := s.Trail(ctx, "tB"); err != nil || len(got) != 3 {
		t.Errorf("Trail(tB) = %d records, %v; want 3", len(got), err)
	}
	for _, k := range []string{"delivery:dB", "zgw:taak:B"} {
		if _, ok, _ := s.Get(ctx, k); !ok {
			t.Errorf("cache entry %q of the other zaak was deleted", k)
		}
	}
	if claim(t, s, "lease:dB", time.Hour) {
		t.Error("the other zaak's claim was released")
	}
	// One line says that a zaak was purged.
	if got, err := s.Trail(ctx, store.PurgedTraceID("zaak-a")); err != nil || len(got) != 1 || got[0].Status != "purged" {
		t.Errorf("tombstone trail = %+v, %v", got, err)
	}
	// Purging again is harmless.
	if _, err := p.PurgeZaak(ctx, "zaak-a", nil, store.Record{}); err != nil {
		t.Fatalf("second PurgeZaak: %v", err)
	}
}

// testPurgeLedgerBefore checks retention by age.
func testPurgeLedgerBefore(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	p := s.(store.ZaakPurger)
	ctx := ctxFor(t)
	// SQLite keeps by its own append time, Redis by the record's time; a
	// cutoff in the far future removes everything, one in the past nothing.
	if err := s.Append(ctx, store.Record{TraceID: "old", EventID: "e", Stage: "ingest", SubjectRef: "r", At: base}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.PurgeLedgerBefore(ctx, base.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("PurgeLedgerBefore(past) = %d, %v; want 0", n, err)
	}
	if n, err := p.PurgeLedgerBefore(ctx, clock.System().Add(24*time.Hour)); err != nil || n != 1 { // the backend stamps by clock.System
		t.Fatalf("PurgeLedgerBefore(future) = %d, %v; want 1", n, err)
	}
	if got, _ := s.Trail(ctx, "e"); len(got) != 0 {
		t.Fatalf("Trail after retention = %+v", got)
	}
}
