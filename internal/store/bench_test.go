package store_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/store"
)

// benchBackends opens each backend fresh for a benchmark; Redis is skipped
// (or fails under CI=true) when unreachable.
var benchBackends = []struct {
	name string
	open func(b *testing.B) store.Store
}{
	{"sqlite", func(b *testing.B) store.Store {
		return openSQLite(b, filepath.Join(b.TempDir(), "koerier.db"))
	}},
	{"redis", func(b *testing.B) store.Store {
		return openRedis(b, redisOptions(b))
	}},
}

// BenchmarkClaim measures first claims of distinct keys, the inbound
// dedup's path for every notification, from parallel goroutines.
func BenchmarkClaim(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := "bench:" + strconv.FormatInt(n.Add(1), 10)
					if _, err := s.Claim(ctx, key, time.Hour); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAppend measures ledger appends of a typical deliver record from
// parallel goroutines.
func BenchmarkAppend(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := strconv.FormatInt(n.Add(1), 10)
					r := store.Record{
						TraceID: "trace-" + i, EventID: "event-" + i, DeliveryID: "delivery-" + i,
						Stage: "deliver", Status: "sent", Channel: "email", Rule: "statuswijziging",
						Detail: "email from voorkeur", SubjectRef: "7075d7614e48c31101c41087adfb9a25",
						ProviderID: "notify-" + i, At: time.Now(),
					}
					if err := s.Append(ctx, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
