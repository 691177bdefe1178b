package bus

import (
	"context"
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// DefaultDelayBuckets are the TTLs of the per-topic delay queues.
var DefaultDelayBuckets = []time.Duration{
	time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
	10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour,
}

func newAMQPBus(ctx context.Context, o Options, logger watermill.LoggerAdapter) (*Bus, error) {
	return nil, errors.New("todo")
}
