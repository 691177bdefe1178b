// Package storetest is the conformance suite that every store backend must
// pass, so that the stages behave the same on SQLite and on Redis. A backend
// test calls Run with a constructor that returns an empty store, and
// RunShared with one that opens another handle on the same data (another
// replica or process).
//
// The suite never waits for a fixed time: expiry is checked with short ttls
// and a polling deadline, always against an entry without expiry, so that a
// slow machine makes a test slower but not wrong.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/store"
)

// expiryDeadline bounds how long the suite polls for an entry to expire. It
// is generous because CI machines can be slow; a passing run takes about as
// long as the short ttl.
const expiryDeadline = 10 * time.Second

// shortTTL is long enough that a backend with millisecond resolution can
// represent it and short enough to keep the suite fast.
const shortTTL = 50 * time.Millisecond

// Run runs the conformance suite. newStore must return an empty store (for
// example a new file, or a unique Redis prefix) and arrange its cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	t.Run("Claims", func(t *testing.T) { testClaims(t, newStore) })
	t.Run("Ledger", func(t *testing.T) { testLedger(t, newStore) })
	t.Run("Cache", func(t *testing.T) { testCache(t, newStore) })
	t.Run("Batches", func(t *testing.T) { testBatches(t, newStore) })
	t.Run("Encrypted", func(t *testing.T) { testEncrypted(t, newStore) })
	t.Run("PurgeZaak", func(t *testing.T) { testPurgeZaak(t, newStore) })
	t.Run("PurgeLedgerBefore", func(t *testing.T) { testPurgeLedgerBefore(t, newStore) })
	t.Run("Ping", func(t *testing.T) {
		s := newStore(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// RunShared checks what must hold between two handles on the same data, as
// two replicas or two processes have: data written by one survives its Close
// and is seen by the other, and claims are exclusive across handles. open
// must return a new handle on the same underlying data at every call; the
// suite closes the handles it opens.
func RunShared(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	t.Run("SurvivesCloseAndReopen", func(t *testing.T) { testReopen(t, open) })
	t.Run("ClaimsAcrossHandles", func(t *testing.T) { testClaimsAcrossHandles(t, open) })
	t.Run("BatchLockAcrossHandles", func(t *testing.T) { testBatchLockAcrossHandles(t, open) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func claim(t *testing.T, s store.Claims, key string, ttl time.Duration) bool {
	t.Helper()
	first, err := s.Claim(ctxFor(t), key, ttl)
	if err != nil {
		t.Fatalf("Claim(%q, %v): %v", key, ttl, err)
	}
	return first
}

// eventually polls cond until it is true or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(expiryDeadline)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v", what, expiryDeadline)
		}
		<-tick.C
	}
}

func testClaims(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("FirstThenSecond", func(t *testing.T) {
		s := newStore(t)
		tests := []struct {
			key  string
			want bool
		}{
			{"inbound:a", true},
			{"inbound:a", false},
			{"inbound:b", true},
			{"inbound:a", false},
			{"inbound:b", false},
		}
		for i, tt := range tests {
			if got := claim(t, s, tt.key, time.Hour); got != tt.want {
				t.Fatalf("step %d: Claim(%q) first = %v, want %v", i, tt.key, got, tt.want)
			}
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		s := newStore(t)
		if !claim(t, s, "short", shortTTL) {
			t.Fatal("first Claim of short: first = false")
		}
		if !claim(t, s, "forever", 0) {
			t.Fatal("first Claim of forever: first = false")
		}
		if !claim(t, s, "long", time.Hour) {
			t.Fatal("first Claim of long: first = false")
		}
		// Polling Claim is itself the check: it must turn true once, when
		// the short claim has expired.
		eventually(t, "claim with a short ttl expires", func() bool { return claim(t, s, "short", time.Hour) })
		if claim(t, s, "short", time.Hour) {
			t.Fatal("Claim of short after it was reclaimed: first = true, want false")
		}
		if claim(t, s, "forever", time.Hour) {
			t.Fatal("Claim with ttl 0 expired; want no expiry")
		}
		if claim(t, s, "long", time.Hour) {
			t.Fatal("Claim with ttl 1h expired together with the short one")
		}
	})

	t.Run("Release", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		if !claim(t, s, "k", time.Hour) {
			t.Fatal("first Claim: first = false")
		}
		if err := s.Release(ctx, "k"); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if !claim(t, s, "k", time.Hour) {
			t.Fatal("Claim after Release: first = false, want true")
		}
		if claim(t, s, "k", time.Hour) {
			t.Fatal("second Claim after Release: first = true, want false")
		}
		if err := s.Release(ctx, "never-claimed"); err != nil {
			t.Fatalf("Release of a key never claimed: %v", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		if n := concurrentFirsts(t, []store.Store{s}, "hot", 50); n != 1 {
			t.Fatalf("50 concurrent claims: %d got first, want exactly 1", n)
		}
	})
}

// concurrentFirsts claims key from n goroutines spread over the handles and
// counts how many were first.
func concurrentFirsts(t *testing.T, handles []store.Store, key string, n int) int {
	t.Helper()
	ctx := ctxFor(t)
	var (
		firsts atomic.Int32
		wg     sync.WaitGroup
		start  = make(chan struct{})
		errs   = make(chan error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			first, err := handles[i%len(handles)].Claim(ctx, key, time.Hour)
			if err != nil {
				errs <- err
				return
			}
			if first {
				firsts.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Claim: %v", err)
	}
	return int(firsts.Load())
}

// base is a fixed instant with a nanosecond part, so that a backend that
// rounds times shows up.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

func testLedger(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("TrailByEachID", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		amsterdam := clock.Amsterdam
		recs := []store.Record{
			{TraceID: "t1", Stage: "ingest", Status: "accepted", At: base},
			{TraceID: "t1", EventID: "e1", Stage: "enrich", Status: "event", At: base.Add(time.Second)},
			{TraceID: "t2", Stage: "ingest", Status: "accepted", At: base.Add(2 * time.Second)},
			{TraceID: "t1", EventID: "e1", Stage: "route", Status: "decided", Rule: "statuswijziging",
				Detail: "email from voorkeur", SubjectRef: "ref-a", At: base.Add(3 * time.Second)},
			{TraceID: "t1", EventID: "e1", DeliveryID: "d1", Stage: "deliver", Status: "sent", Channel: "email",
				SubjectRef: "ref-a", ProviderID: "notify-123", At: base.Add(4 * time.Second).In(amsterdam)},
			{TraceID: "t1", EventID: "e1", DeliveryID: "d1", Stage: "settle", Status: "delivered", Channel: "email",
				At: base.Add(5 * time.Second)},
			{TraceID: "t1", EventID: "e2", DeliveryID: "d2", Stage: "deliver", Status: "failed", Channel: "sms",
				At: base.Add(6 * time.Second)},
		}
		for _, r := range recs {
			if err := s.Append(ctx, r); err != nil {
				t.Fatalf("Append(%s/%s): %v", r.Stage, r.Status, err)
			}
		}
		tests := []struct {
			id   string
			want []int // indexes into recs, oldest first
		}{
			{"t1", []int{0, 1, 3, 4, 5, 6}},
			{"t2", []int{2}},
			{"e1", []int{1, 3, 4, 5}},
			{"e2", []int{6}},
			{"d1", []int{4, 5}},
			{"d2", []int{6}},
			{"unknown", nil},
			{"", nil},
		}
		for _, tt := range tests {
			got, err := s.Trail(ctx, tt.id)
			if err != nil {
				t.Fatalf("Trail(%q): %v", tt.id, err)
			}
			assertRecords(t, fmt.Sprintf("Trail(%q)", tt.id), got, pick(recs, tt.want))
		}
	})

	t.Run("TrailIsOrderedByTime", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		// A delivery receipt can be appended after a later step was
		// recorded; the trail still reads in time order, and equal times
		// keep their append order.
		recs := []store.Record{
			{TraceID: "t", Stage: "deliver", Status: "sent", At: base.Add(2 * time.Second)},
			{TraceID: "t", Stage: "ingest", Status: "accepted", At: base},
			{TraceID: "t", Stage: "route", Status: "decided", At: base.Add(time.Second)},
			{TraceID: "t", Stage: "route", Status: "skipped", At: base.Add(time.Second)},
		}
		for _, r := range recs {
			if err := s.Append(ctx, r); err != nil {
				t.Fatalf("Append: %v", err)
			}
		}
		got, err := s.Trail(ctx, "t")
		if err != nil {
			t.Fatalf("Trail: %v", err)
		}
		assertRecords(t, "Trail", got, pick(recs, []int{1, 2, 3, 0}))
	})

	t.Run("SameIDInTwoFields", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		r := store.Record{TraceID: "x", EventID: "x", DeliveryID: "x", Stage: "ingest", Status: "accepted", At: base}
		if err := s.Append(ctx, r); err != nil {
			t.Fatalf("Append: %v", err)
		}
		got, err := s.Trail(ctx, "x")
		if err != nil {
			t.Fatalf("Trail: %v", err)
		}
		assertRecords(t, "Trail", got, []store.Record{r})
	})

	t.Run("AppendStampsMissingTime", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		if err := s.Append(ctx, store.Record{TraceID: "now", Stage: "ingest", Status: "accepted"}); err != nil {
			t.Fatalf("Append: %v", err)
		}
		got, err := s.Trail(ctx, "now")
		if err != nil {
			t.Fatalf("Trail: %v", err)
		}
		if len(got) != 1 || got[0].At.IsZero() {
			t.Fatalf("Trail = %+v, want one record with At set", got)
		}
	})

	t.Run("AppendWithoutTraceID", func(t *testing.T) {
		s := newStore(t)
		if err := s.Append(ctxFor(t), store.Record{EventID: "e", Stage: "route", At: base}); err == nil {
			t.Fatal("Append of a record without TraceID: err = nil, want an error")
		}
	})

	t.Run("Recent", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		var recs []store.Record
		for i := range 7 {
			r := store.Record{TraceID: fmt.Sprintf("t%d", i), Stage: "ingest", Status: "accepted", At: base.Add(time.Duration(i) * time.Minute)}
			recs = append(recs, r)
			if err := s.Append(ctx, r); err != nil {
				t.Fatalf("Append: %v", err)
			}
		}
		// Two records in the same instant: the one appended last is newer.
		tie := store.Record{TraceID: "tie", Stage: "ingest", Status: "accepted", At: recs[6].At}
		recs = append(recs, tie)
		if err := s.Append(ctx, tie); err != nil {
			t.Fatalf("Append: %v", err)
		}
		tests := []struct {
			limit int
			want  []int
		}{
			{1, []int{7}},
			{3, []int{7, 6, 5}},
			{8, []int{7, 6, 5, 4, 3, 2, 1, 0}},
			{100, []int{7, 6, 5, 4, 3, 2, 1, 0}},
			{0, nil},
			{-1, nil},
		}
		for _, tt := range tests {
			got, err := s.Recent(ctx, tt.limit)
			if err != nil {
				t.Fatalf("Recent(%d): %v", tt.limit, err)
			}
			assertRecords(t, fmt.Sprintf("Recent(%d)", tt.limit), got, pick(recs, tt.want))
		}
	})

	t.Run("RecentOfEmptyLedger", func(t *testing.T) {
		s := newStore(t)
		got, err := s.Recent(ctxFor(t), 10)
		if err != nil {
			t.Fatalf("Recent: %v", err)
		}
		if len(got) != 0 {
			t.Fatalf("Recent of an empty ledger = %+v, want none", got)
		}
	})
}

func pick(recs []store.Record, idx []int) []store.Record {
	var out []store.Record
	for _, i := range idx {
		out = append(out, recs[i])
	}
	return out
}

func assertRecords(t *testing.T, what string, got, want []store.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s returned %d records, want %d:\n got  %+v\n want %+v", what, len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) {
			t.Errorf("%s[%d].At = %v, want %v", what, i, g.At, w.At)
		}
		if g.At.Location() != time.UTC {
			t.Errorf("%s[%d].At is in %v, want UTC", what, i, g.At.Location())
		}
		g.At, w.At = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
		}
	}
}

func testCache(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("GetSetDelete", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		steps := []struct {
			op      string // get, set, delete
			key     string
			val     string
			wantOK  bool
			wantVal string
		}{
			{op: "get", key: "zaaktype/1"},
			{op: "set", key: "zaaktype/1", val: `{"omschrijving":"Melding openbare ruimte"}`},
			{op: "get", key: "zaaktype/1", wantOK: true, wantVal: `{"omschrijving":"Melding openbare ruimte"}`},
			{op: "set", key: "zaaktype/1", val: `{"omschrijving":"Parkeervergunning"}`},
			{op: "get", key: "zaaktype/1", wantOK: true, wantVal: `{"omschrijving":"Parkeervergunning"}`},
			{op: "get", key: "zaaktype/2"},
			{op: "set", key: "empty", val: ""},
			{op: "get", key: "empty", wantOK: true, wantVal: ""},
			{op: "delete", key: "zaaktype/1"},
			{op: "get", key: "zaaktype/1"},
			{op: "delete", key: "never-set"},
			{op: "set", key: "binary", val: "\x00\xff\x01"},
			{op: "get", key: "binary", wantOK: true, wantVal: "\x00\xff\x01"},
		}
		for i, st := range steps {
			switch st.op {
			case "set":
				if err := s.Set(ctx, st.key, []byte(st.val), time.Hour); err != nil {
					t.Fatalf("step %d: Set(%q): %v", i, st.key, err)
				}
			case "delete":
				if err := s.Delete(ctx, st.key); err != nil {
					t.Fatalf("step %d: Delete(%q): %v", i, st.key, err)
				}
			case "get":
				val, ok, err := s.Get(ctx, st.key)
				if err != nil {
					t.Fatalf("step %d: Get(%q): %v", i, st.key, err)
				}
				if ok != st.wantOK || string(val) != st.wantVal {
					t.Fatalf("step %d: Get(%q) = %q, %v; want %q, %v", i, st.key, val, ok, st.wantVal, st.wantOK)
				}
				if ok && val == nil {
					t.Fatalf("step %d: Get(%q) hit returned a nil slice, want a non-nil one", i, st.key)
				}
			}
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		for _, e := range []struct {
			key string
			ttl time.Duration
		}{{"short", shortTTL}, {"forever", 0}, {"long", time.Hour}} {
			if err := s.Set(ctx, e.key, []byte(e.key), e.ttl); err != nil {
				t.Fatalf("Set(%q, ttl %v): %v", e.key, e.ttl, err)
			}
		}
		eventually(t, "cache entry with a short ttl expires", func() bool {
			_, ok, err := s.Get(ctx, "short")
			if err != nil {
				t.Fatalf("Get(short): %v", err)
			}
			return !ok
		})
		for _, key := range []string{"forever", "long"} {
			val, ok, err := s.Get(ctx, key)
			if err != nil || !ok || string(val) != key {
				t.Fatalf("Get(%q) after the short entry expired = %q, %v, %v; want %q, true, nil", key, val, ok, err, key)
			}
		}
		// Setting again replaces the ttl: an entry without expiry gets one.
		if err := s.Set(ctx, "forever", []byte("now short"), shortTTL); err != nil {
			t.Fatalf("Set: %v", err)
		}
		eventually(t, "re-set cache entry with a short ttl expires", func() bool {
			_, ok, err := s.Get(ctx, "forever")
			if err != nil {
				t.Fatalf("Get(forever): %v", err)
			}
			return !ok
		})
	})
}

func testReopen(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := ctxFor(t)
	s := open(t)
	if !claim(t, s, "kept", time.Hour) {
		t.Fatal("first Claim: first = false")
	}
	rec := store.Record{TraceID: "t-reopen", EventID: "e-reopen", Stage: "ingest", Status: "accepted", At: base}
	if err := s.Append(ctx, rec); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Set(ctx, "kept", []byte("value"), time.Hour); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	defer s.Close()
	if claim(t, s, "kept", time.Hour) {
		t.Fatal("Claim after reopen: first = true, want false (the claim was lost)")
	}
	got, err := s.Trail(ctx, "e-reopen")
	if err != nil {
		t.Fatalf("Trail after reopen: %v", err)
	}
	assertRecords(t, "Trail after reopen", got, []store.Record{rec})
	val, ok, err := s.Get(ctx, "kept")
	if err != nil || !ok || string(val) != "value" {
		t.Fatalf("Get after reopen = %q, %v, %v; want \"value\", true, nil", val, ok, err)
	}
}

func testClaimsAcrossHandles(t *testing.T, open func(t *testing.T) store.Store) {
	a, b := open(t), open(t)
	defer a.Close()
	defer b.Close()
	if n := concurrentFirsts(t, []store.Store{a, b}, "shared-hot", 50); n != 1 {
		t.Fatalf("50 concurrent claims over two handles: %d got first, want exactly 1", n)
	}
	ctx := ctxFor(t)
	if err := a.Release(ctx, "shared-hot"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if !claim(t, b, "shared-hot", time.Hour) {
		t.Fatal("Claim on one handle after Release on the other: first = false, want true")
	}
	if err := b.Set(ctx, "shared", []byte("from b"), time.Hour); err != nil {
		t.Fatalf("Set: %v", err)
	}
	val, ok, err := a.Get(ctx, "shared")
	if err != nil || !ok || string(val) != "from b" {
		t.Fatalf("Get on the other handle = %q, %v, %v; want \"from b\", true, nil", val, ok, err)
	}
}
