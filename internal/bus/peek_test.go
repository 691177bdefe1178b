package bus

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestPeek: a peek shows the oldest messages with their metadata and leaves
// every one of them on the topic, on both backends.
func TestPeek(t *testing.T) {
	for _, backend := range []string{BackendSQLite, BackendAMQP} {
		t.Run(backend, func(t *testing.T) {
			topic := uniqueTopic("peek")
			o := Options{Topics: []string{topic}}
			var b *Bus
			if backend == BackendAMQP {
				b = newTestAMQPBus(t, o)
				o.Backend, o.AMQPURL = BackendAMQP, testAMQPURL
			} else {
				o.Backend, o.SQLitePath = BackendSQLite, filepath.Join(t.TempDir(), "bus.db")
				b = newTestSQLiteBus(t, o)
			}
			for i := 0; i < 3; i++ {
				m := message.NewMessage(fmt.Sprintf("m-%d", i), []byte("{}"))
				m.Metadata.Set("reason_poisoned", fmt.Sprint("reason ", i))
				if err := b.Publisher.Publish(topic, m); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			for _, max := range []int{2, 10, 10} {
				got, err := Peek(ctx, o, topic, max)
				if err != nil {
					t.Fatal(err)
				}
				if want := min(max, 3); len(got) != want {
					t.Fatalf("Peek(max %d) = %d messages, want %d", max, len(got), want)
				}
				if backend == BackendSQLite && got[0].Msg.UUID != "m-0" {
					t.Fatalf("Peek starts with %s, want the oldest, m-0", got[0].Msg.UUID)
				}
				for _, p := range got {
					var i int
					if _, err := fmt.Sscanf(p.Msg.UUID, "m-%d", &i); err != nil || p.Msg.Metadata.Get("reason_poisoned") != fmt.Sprint("reason ", i) {
						t.Fatalf("peeked %s with metadata %v", p.Msg.UUID, p.Msg.Metadata)
					}
				}
			}
			// Still all there for a consumer.
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			msgs, err := b.Subscriber.Subscribe(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				select {
				case m := <-msgs:
					m.Ack()
				case <-ctx.Done():
					t.Fatalf("only %d of 3 messages left after peeking", i)
				}
			}
		})
	}
}
