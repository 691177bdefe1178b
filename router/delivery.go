package router

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

// Helpers the route, deliver and settle stages share: which delivery is the
// next step of a plan, its id, and the keyed hash that stands for a subject.

// nextDelivery moves d to step of its plan: channel, id and template.
func (r *Router) nextDelivery(d event.Delivery, step int) event.Delivery {
	d.Step = step
	d.Channel = d.Decision.Plan[step]
	d.ID = deliveryID(d.EventID, d.Channel, r.subjectRef(d.Recipient.Subject), d.Decision.Message)
	t, _ := r.d.Rules.Current().MessageTemplate(d.Decision.Message, d.Channel, d.Decision.Language)
	d.TemplateID, d.Envelope, d.Postage = t.ID(), t.Envelope, t.Postage
	d.CreatedAt = r.d.Now().UTC()
	return d
}

// deliveryID is the delivery's idempotency key (ARCHITECTURE.md §6): the
// same event, channel, recipient and message always give the same id, and
// it carries no personal data, so it can be Notify's `reference`.
func deliveryID(eventID, channel, recipientRef, message string) string {
	h := sha256.Sum256([]byte(eventID + "|" + channel + "|" + recipientRef + "|" + message))
	return hex.EncodeToString(h[:16])
}

// subjectRef is the keyed hash that stands for a subject in the ledger
// (store.SubjectRefOf, which `koerier trail --bsn` computes too).
func (r *Router) subjectRef(s event.Subject) string {
	return store.SubjectRefOf(r.o.SubjectKey, s)
}
