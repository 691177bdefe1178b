package bus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// BenchmarkPublishConsume measures one hop of the pipeline as the router
// makes it: four subscriptions consume and ack a topic while four
// goroutines publish to it (publish and consume overlap, as a stage's
// input fills while it drains). It reports msgs/s from the first publish
// to the last ack. RabbitMQ skips when no broker runs.
func BenchmarkPublishConsume(b *testing.B) {
	payload := make([]byte, 1024)
	backends := []struct {
		name string
		new  func(b *testing.B, topic string) *Bus
	}{
		{"sqlite", func(b *testing.B, topic string) *Bus {
			return newTestSQLiteBus(b, Options{Topics: []string{topic}})
		}},
		{"amqp", func(b *testing.B, topic string) *Bus {
			return newTestAMQPBus(b, Options{Topics: []string{topic}, Prefetch: 4})
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			topic := uniqueTopic("bench-pubsub")
			bus := be.new(b, topic)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			received := make(chan struct{}, 1024)
			for i := 0; i < 4; i++ {
				msgs, err := bus.Subscriber.Subscribe(ctx, topic)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for m := range msgs {
						m.Ack()
						received <- struct{}{}
					}
				}()
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			const publishers = 4
			for p := 0; p < publishers; p++ {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					for i := p; i < b.N; i += publishers {
						if err := bus.Publisher.Publish(topic, message.NewMessage(watermill.NewUUID(), payload)); err != nil {
							b.Error(err)
							return
						}
					}
				}(p)
			}
			for i := 0; i < b.N; i++ {
				select {
				case <-received:
				case <-time.After(time.Minute):
					b.Fatalf("received %d of %d", i, b.N)
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
