package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A waiting letter holds the recipient's address: batch items are sealed
// at rest and opened when the sealer reads the batch.
func TestEncryptedBatchItems(t *testing.T) {
	ctx := context.Background()
	raw, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	key := bytes.Repeat([]byte{7}, 32)
	st, err := Encrypt(raw, key, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"naam":"J. Jansen","adres":"Dorpsstraat 1, 1234 AB Ons Dorp"}`)
	if added, err := st.Enqueue(ctx, "print/default", "d1", payload); err != nil || !added {
		t.Fatalf("enqueue: %v %v", added, err)
	}
	tok, ok, err := st.Lock(ctx, "print/default", time.Minute)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	b, err := st.Seal(ctx, "print/default", "koerier-test", 100, tok)
	if err != nil {
		t.Fatal(err)
	}
	_, rawItems, _, err := raw.Batch(ctx, b.ID)
	if err != nil || len(rawItems) != 1 {
		t.Fatalf("raw batch: %v %v", rawItems, err)
	}
	if bytes.Contains(rawItems[0].Payload, []byte("Dorpsstraat")) {
		t.Fatal("the batch item is stored in clear")
	}
	_, items, ok, err := st.Batch(ctx, b.ID)
	if err != nil || !ok || len(items) != 1 || !bytes.Equal(items[0].Payload, payload) {
		t.Fatalf("batch through the encrypted store: %q %v %v", items, ok, err)
	}
}
