// Package store holds Koerier's shared state behind small interfaces:
// idempotency claims, the delivery ledger, a short-lived key/value cache and
// the buckets and batches of batching channels.
// Two backends implement them, SQLite (embedded default) and Redis (scaled),
// and both must pass the same conformance suite (storetest).
//
// The store never receives a BSN in clear as a key or in a ledger record:
// callers pass keyed hashes (see SubjectRef).
package store

import (
	"context"
	"time"
)

// Claims hands out idempotency claims. Claim returns first=true exactly once
// per key until the claim's ttl has passed or it was released; every later
// caller gets first=false. It is safe across processes sharing a backend.
type Claims interface {
	Claim(ctx context.Context, key string, ttl time.Duration) (first bool, err error)
	// Release forgets a claim so that a later Claim for the key succeeds
	// again, used when the work the claim guarded failed.
	Release(ctx context.Context, key string) error
}

// Record is one line of the ledger: one step of one inbound notification's
// journey through the stages.
type Record struct {
	// TraceID is the inbound id (the notification's dedup key); every record
	// caused by one notification carries it.
	TraceID    string `json:"traceId"`
	EventID    string `json:"eventId,omitempty"`
	DeliveryID string `json:"deliveryId,omitempty"`
	Stage      string `json:"stage"`  // ingest, enrich, route, deliver, settle
	Status     string `json:"status"` // accepted, event, skipped, decided, sent, failed, ...
	Channel    string `json:"channel,omitempty"`
	Rule       string `json:"rule,omitempty"`
	// Detail is a human sentence for an admin (why this channel, why skipped).
	Detail string `json:"detail,omitempty"`
	// SubjectRef is a keyed hash of the recipient's identifier, never the BSN.
	SubjectRef string `json:"subjectRef,omitempty"`
	// ZaakRef is a keyed hash of the zaak's URL (ZaakRef), never the URL:
	// it lets a destroyed zaak's records be found and purged.
	ZaakRef    string    `json:"zaakRef,omitempty"`
	ProviderID string    `json:"providerId,omitempty"`
	At         time.Time `json:"at"`
}

// Ledger is the append-only record of every decision and attempt.
type Ledger interface {
	Append(ctx context.Context, r Record) error
	// Trail returns, oldest first, every record whose TraceID, EventID or
	// DeliveryID equals id.
	Trail(ctx context.Context, id string) ([]Record, error)
	// Recent returns up to limit most recent records, newest first.
	Recent(ctx context.Context, limit int) ([]Record, error)
}

// Cache is a short-lived key/value store for peer answers (catalogue
// objects, Open Klant and BRP answers) and small pieces of state such as the
// last seen taak. A ttl of 0 means no expiry.
type Cache interface {
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// Store is the whole of shared state one backend provides.
type Store interface {
	Claims
	Ledger
	Cache
	Batches
	// Ping reports whether the backend is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}
