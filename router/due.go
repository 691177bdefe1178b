package router

import (
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/internal/bus"
)

// setDue marks msg as not to be delivered before due; both bus backends
// keep it back without holding a consumer.
func setDue(msg *message.Message, due time.Time) { bus.SetNotBefore(msg, due) }
