package bus

import (
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/internal/clock"
)

// MetaNotBefore is the metadata key that holds a message's due time
// (RFC 3339, UTC). Both backends honour it on Publish.
const MetaNotBefore = "koerier_not_before"

// SetDelay makes msg due d from now. Publish it as usual: the bus keeps it
// back without holding a consumer.
func SetDelay(msg *message.Message, d time.Duration) {
	SetNotBefore(msg, clock.System().Add(d))
}

// SetNotBefore makes msg due at t. A t in the past makes it due at once.
func SetNotBefore(msg *message.Message, t time.Time) {
	msg.Metadata.Set(MetaNotBefore, t.UTC().Format(time.RFC3339Nano))
}

// NotBefore returns the due time set by SetDelay or SetNotBefore.
func NotBefore(msg *message.Message) (time.Time, bool) {
	v := msg.Metadata.Get(MetaNotBefore)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// DeliveryAttempt returns which delivery of msg this is, 1 on the first, as
// both backends count it (MetaDeliveryAttempt). A message that did not come
// from the bus counts as a first delivery.
func DeliveryAttempt(msg *message.Message) int {
	n, err := strconv.Atoi(msg.Metadata.Get(MetaDeliveryAttempt))
	if err != nil || n < 1 {
		return 1
	}
	return n
}
