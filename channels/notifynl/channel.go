package notifynl

import (
	"context"
	"errors"
	"fmt"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
)

// A recipient without an address is a permanent failure for the channel: no
// retry gives them one.
var (
	errNoEmail = errors.New("no email address")
	errNoPhone = errors.New("no phone number")
)

// channel is the email or SMS channel on one Client.
type channel struct {
	c    *Client
	kind string // event.ChannelEmail or event.ChannelSMS; also Notify's template_type
}

// EmailChannel returns the "email" channel, sending through c.
func EmailChannel(c *Client) channels.Channel { return &channel{c: c, kind: event.ChannelEmail} }

// SMSChannel returns the "sms" channel, sending through c.
func SMSChannel(c *Client) channels.Channel { return &channel{c: c, kind: event.ChannelSMS} }

func (ch *channel) Name() string { return ch.kind }

// Send sends d through Notify with d.ID as the reference. Unless the
// reference look-up is off (WithReferenceLookup), it first asks Notify
// whether that reference was already sent: a delivery redelivered after a
// crash between send and ledger write then yields the earlier notification
// instead of a second message.
func (ch *channel) Send(ctx context.Context, d event.Delivery) (channels.Receipt, error) {
	op := "send " + ch.kind
	if d.ID == "" {
		return channels.Receipt{}, fmt.Errorf("notifynl: %s: delivery has no id to use as reference", op)
	}
	to := d.Recipient.Email
	noAddr := errNoEmail
	if ch.kind == event.ChannelSMS {
		to, noAddr = d.Recipient.Phone, errNoPhone
	}
	if to == "" {
		return channels.Receipt{}, failure.Permanent("geen-adres", fmt.Errorf("notifynl: %s: %w", op, noAddr))
	}
	if d.TemplateID == "" {
		return channels.Receipt{}, configError(fmt.Errorf("notifynl: %s: no Notify template id for message %q in language %q", op, d.Decision.Message, d.Decision.Language))
	}

	if ch.c.lookup {
		rec, found, err := ch.previous(ctx, d.ID)
		if err != nil || found {
			return rec, err
		}
	}

	pers := make(map[string]any, len(d.Personalisation))
	for k, v := range d.Personalisation {
		pers[k] = v
	}
	var (
		resp NotificationResponse
		err  error
	)
	if ch.kind == event.ChannelSMS {
		resp, err = ch.c.SendSMS(ctx, SMSRequest{PhoneNumber: to, TemplateID: d.TemplateID, Personalisation: pers, Reference: d.ID, SMSSenderID: ch.c.sender})
	} else {
		resp, err = ch.c.SendEmail(ctx, EmailRequest{EmailAddress: to, TemplateID: d.TemplateID, Personalisation: pers, Reference: d.ID, EmailReplyToID: ch.c.replyTo})
	}
	if err != nil {
		return channels.Receipt{}, err
	}
	return channels.Receipt{ProviderID: resp.ID, Status: event.OutcomeSent}, nil
}

// previous looks the reference up at Notify. A notification that already
// failed is reported as the permanent failure it is, so the plan moves on
// rather than sending into the same bounce again.
func (ch *channel) previous(ctx context.Context, ref string) (channels.Receipt, bool, error) {
	ns, err := ch.c.NotificationsByReference(ctx, ref, ch.kind)
	if err != nil {
		return channels.Receipt{}, false, err
	}
	for _, n := range ns {
		if n.Reference == nil || *n.Reference != ref {
			continue
		}
		switch status := outcomeStatus(n.Status); status {
		case event.OutcomePermanent:
			return channels.Receipt{ProviderID: n.ID}, true,
				failure.Permanent("eerder-mislukt", fmt.Errorf("notifynl: send %s: already sent as %s with status %s", ch.kind, n.ID, n.Status))
		case event.OutcomeDelivered:
			return channels.Receipt{ProviderID: n.ID, Status: status}, true, nil
		default:
			return channels.Receipt{ProviderID: n.ID, Status: event.OutcomeSent}, true, nil
		}
	}
	return channels.Receipt{}, false, nil
}

// outcomeStatus maps a Notify status to an Outcome status; "" for statuses
// that are still in flight (created, sending, pending, sent, accepted).
//
// temporary-failure means Notify already retried for days and gave up (a
// full inbox, a phone that stayed off); technical-failure means Notify could
// not hand the message over. For routing both are as final as a bounce:
// the next channel in the plan is the way to reach the person, so they map
// to OutcomePermanent with Notify's status kept in the Reason.
func outcomeStatus(s string) string {
	switch s {
	case "delivered", "received":
		return event.OutcomeDelivered
	case "permanent-failure", "temporary-failure", "technical-failure", "validation-failed", "virus-scan-failed", "cancelled":
		return event.OutcomePermanent
	}
	return ""
}
