package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/store"
)

func enqueue(t *testing.T, s store.Store, bucket, id string) bool {
	t.Helper()
	added, err := s.Enqueue(ctxFor(t), bucket, id, []byte("payload of "+id))
	if err != nil {
		t.Fatalf("Enqueue(%q, %q): %v", bucket, id, err)
	}
	return added
}

func lock(t *testing.T, s store.Store, bucket string) int64 {
	t.Helper()
	tok, ok, err := s.Lock(ctxFor(t), bucket, time.Hour)
	if err != nil || !ok {
		t.Fatalf("Lock(%q) = %d, %v, %v; want a token", bucket, tok, ok, err)
	}
	return tok
}

func testBatches(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("EnqueueSealList", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		for i := range 5 {
			if !enqueue(t, s, "print/default", fmt.Sprintf("d%d", i)) {
				t.Fatalf("first Enqueue of d%d: added = false", i)
			}
		}
		if enqueue(t, s, "print/default", "d1") {
			t.Fatal("second Enqueue of d1: added = true")
		}
		if enqueue(t, s, "print/other", "d1") {
			t.Fatal("Enqueue of d1 into another bucket: added = true")
		}
		enqueue(t, s, "print/other", "x1")
		if n, err := s.OpenItems(ctx, "print/default"); err != nil || n != 5 {
			t.Fatalf("OpenItems = %d, %v; want 5", n, err)
		}
		tok := lock(t, s, "print/default")
		b1, err := s.Seal(ctx, "print/default", "koerier-20260609-1600", 3, tok)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if b1.ID != "koerier-20260609-1600-1" || b1.Items != 3 || b1.State != store.BatchSealed || b1.Bucket != "print/default" {
			t.Fatalf("first Seal = %+v", b1)
		}
		b2, err := s.Seal(ctx, "print/default", "koerier-20260609-1600", 3, tok)
		if err != nil || b2.ID != "koerier-20260609-1600-2" || b2.Items != 2 {
			t.Fatalf("second Seal = %+v, %v", b2, err)
		}
		if b3, err := s.Seal(ctx, "print/default", "koerier-20260609-1600", 3, tok); err != nil || b3.ID != "" {
			t.Fatalf("Seal of an empty bucket = %+v, %v; want the zero Batch", b3, err)
		}
		if enqueue(t, s, "print/default", "d0") {
			t.Fatal("Enqueue of a sealed id: added = true")
		}
		_, items, ok, err := s.Batch(ctx, b1.ID)
		if err != nil || !ok {
			t.Fatalf("Batch(%s) = %v, %v", b1.ID, ok, err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.ID+"="+string(it.Payload))
		}
		want := []string{"d0=payload of d0", "d1=payload of d1", "d2=payload of d2"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("items of %s = %v, want %v", b1.ID, got, want)
		}
		if _, _, ok, err := s.Batch(ctx, "nope"); ok || err != nil {
			t.Fatalf("Batch(nope) = %v, %v", ok, err)
		}
		if err := s.MarkSent(ctx, b1.ID, tok); err != nil {
			t.Fatalf("MarkSent: %v", err)
		}
		sealed, err := s.ListBatches(ctx, "print/default", store.BatchSealed)
		if err != nil || len(sealed) != 1 || sealed[0].ID != b2.ID {
			t.Fatalf("ListBatches(sealed) = %+v, %v; want only %s", sealed, err, b2.ID)
		}
		all, err := s.ListBatches(ctx, "", "")
		if err != nil || len(all) != 2 {
			t.Fatalf("ListBatches(all) = %+v, %v", all, err)
		}
		if all[0].State != store.BatchSent || all[0].SentAt.IsZero() {
			t.Fatalf("sent batch = %+v", all[0])
		}
		if n, _ := s.OpenItems(ctx, "print/other"); n != 1 {
			t.Fatalf("OpenItems(print/other) = %d, want 1", n)
		}
	})

	t.Run("LockAndFence", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		enqueue(t, s, "b", "i1")
		t1, ok, err := s.Lock(ctx, "b", shortTTL)
		if err != nil || !ok {
			t.Fatalf("Lock: %v, %v", ok, err)
		}
		if _, ok, _ := s.Lock(ctx, "b", time.Hour); ok {
			t.Fatal("second Lock while the first is live: ok = true")
		}
		var t2 int64
		eventually(t, "the lock expires", func() bool {
			var err error
			t2, ok, err = s.Lock(ctx, "b", time.Hour)
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			return ok
		})
		if t2 <= t1 {
			t.Fatalf("token after expiry = %d, want > %d", t2, t1)
		}
		if _, err := s.Seal(ctx, "b", "x", 0, t1); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("Seal with a stale token: %v, want ErrFenced", err)
		}
		b, err := s.Seal(ctx, "b", "x", 0, t2)
		if err != nil || b.Items != 1 {
			t.Fatalf("Seal with the current token = %+v, %v", b, err)
		}
		if err := s.MarkSent(ctx, b.ID, t1); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("MarkSent with a stale token: %v, want ErrFenced", err)
		}
		if err := s.Unlock(ctx, "b", t1); err != nil {
			t.Fatalf("Unlock with a stale token: %v", err)
		}
		if _, ok, _ := s.Lock(ctx, "b", time.Hour); ok {
			t.Fatal("a stale Unlock released the current lock")
		}
		if err := s.Unlock(ctx, "b", t2); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		t3 := lock(t, s, "b")
		if t3 <= t2 {
			t.Fatalf("token after Unlock = %d, want > %d", t3, t2)
		}
	})
}

// testBatchLockAcrossHandles races sealers on several handles (replicas):
// every item ends up in exactly one batch.
func testBatchLockAcrossHandles(t *testing.T, open func(t *testing.T) store.Store) {
	const handles, items = 4, 200
	hs := make([]store.Store, handles)
	for i := range hs {
		hs[i] = open(t)
		t.Cleanup(func() { hs[i].Close() })
	}
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	for i := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := hs[i%handles].Enqueue(ctx, "race", fmt.Sprintf("i%03d", i), []byte("x")); err != nil {
				t.Errorf("Enqueue: %v", err)
			}
		}()
	}
	wg.Wait()
	var mu sync.Mutex
	wins := 0
	for i := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, ok, err := hs[i].Lock(ctx, "race", time.Hour)
			if err != nil {
				t.Errorf("Lock: %v", err)
				return
			}
			if !ok {
				return
			}
			mu.Lock()
			wins++
			mu.Unlock()
			for {
				b, err := hs[i].Seal(ctx, "race", "r", 70, tok)
				if err != nil {
					t.Errorf("Seal: %v", err)
					return
				}
				if b.ID == "" {
					return
				}
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d handles won the lock at once, want 1", wins)
	}
	bs, err := hs[0].ListBatches(ctx, "race", "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, b := range bs {
		_, its, _, err := hs[1].Batch(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range its {
			if prev, dup := seen[it.ID]; dup {
				t.Fatalf("item %s in batches %s and %s", it.ID, prev, b.ID)
			}
			seen[it.ID] = b.ID
		}
	}
	if len(seen) != items || len(bs) != 3 {
		t.Fatalf("%d items in %d batches, want %d in 3", len(seen), len(bs), items)
	}
}
