package store

import (
	"context"
	"errors"
	"time"
)

// Batch states.
const (
	// BatchSealed: the items are fixed; the artefact may or may not have
	// been built and handed over yet (a sealer that crashed resumes it).
	BatchSealed = "sealed"
	// BatchSent: handed over and one outcome published per item.
	BatchSent = "sent"
)

// ErrFenced is returned by Seal and MarkSent when the caller's fencing
// token is no longer the newest for the bucket: another sealer took the
// lock after this one's ran out, and this one must stop.
var ErrFenced = errors.New("store: fenced: another sealer holds a newer lock on this bucket")

// BatchItem is one enqueued item (a delivery) of a batching channel.
type BatchItem struct {
	ID      string
	Payload []byte
}

// Batch describes one sealed batch.
type Batch struct {
	ID       string
	Bucket   string
	State    string // BatchSealed or BatchSent
	Items    int
	SealedAt time.Time
	SentAt   time.Time // zero until sent
}

// Batches holds the open buckets and sealed batches of the channels that
// batch (printstraat, Berichtenbox). A bucket is named by the caller
// (channel and profile, "print/default"). An item id is unique across
// buckets and batches: once enqueued it is in exactly one place, the open
// bucket or one sealed batch, and enqueueing it again is a no-op.
//
// Sealing is guarded by a per-bucket lock with a fencing token: Lock hands
// out a token that grows with every successful Lock of the bucket, and Seal
// and MarkSent refuse (ErrFenced) a token that is not the newest, so a
// sealer that paused past its lock's ttl cannot seal or record over its
// successor.
type Batches interface {
	// Enqueue adds an item to the open bucket; added is false when the id
	// was enqueued before (open or sealed).
	Enqueue(ctx context.Context, bucket, id string, payload []byte) (added bool, err error)
	// OpenItems counts the items waiting in the open bucket.
	OpenItems(ctx context.Context, bucket string) (int, error)
	// Lock takes the bucket's seal lock for ttl. ok is false while another
	// holder's lock is live.
	Lock(ctx context.Context, bucket string, ttl time.Duration) (token int64, ok bool, err error)
	// Unlock releases the lock if token still holds it.
	Unlock(ctx context.Context, bucket string, token int64) error
	// Seal moves up to max (0: all) of the bucket's open items, oldest
	// first, into a new sealed batch named namePrefix + "-" + n, n being
	// 1 + the number of batches whose name has that prefix. It returns
	// the zero Batch when the bucket is empty.
	Seal(ctx context.Context, bucket, namePrefix string, max int, token int64) (Batch, error)
	// MarkSent records that batch id was handed over.
	MarkSent(ctx context.Context, id string, token int64) error
	// Batch returns a batch and its items in enqueue order; ok is false for
	// an unknown id.
	Batch(ctx context.Context, id string) (b Batch, items []BatchItem, ok bool, err error)
	// ListBatches returns the batches of bucket ("" for all) in state (""
	// for any), oldest first.
	ListBatches(ctx context.Context, bucket, state string) ([]Batch, error)
}
