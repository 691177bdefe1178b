package notifynl

import (
	"cmp"
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

// channel is the email or SMS channel on one or more Notify services.
type channel struct {
	services []*Client // the first is the default
	kind     string    // event.ChannelEmail or event.ChannelSMS; also Notify's template_type
}

// EmailChannel returns the "email" channel, sending through the services
// (one Client per Notify service, each with its own API key; the first is
// used unless a message names another with notify_service).
func EmailChannel(services ...*Client) channels.Channel {
	return &channel{services: services, kind: event.ChannelEmail}
}

// SMSChannel returns the "sms" channel, sending through the services (see
// EmailChannel).
func SMSChannel(services ...*Client) channels.Channel {
	return &channel{services: services, kind: event.ChannelSMS}
}

// client is the service a delivery goes through.
func (ch *channel) client(d event.Delivery) (*Client, error) {
	name := d.Decision.NotifyService
	if name == "" && len(ch.services) > 0 {
		return ch.services[0], nil
	}
	for _, c := range ch.services {
		if c.service == name {
			return c, nil
		}
	}
	return nil, configError(fmt.Errorf("notifynl: send %s: message %q names notify_service %q, which is not configured under notify.services", ch.kind, d.Decision.Message, name))
}

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

	c, err := ch.client(d)
	if err != nil {
		return channels.Receipt{}, err
	}
	// Only a delivery that was tried before can be at Notify already; the
	// look-up costs a call against the rate limit, so a first send skips it.
	if c.lookup && channels.Redelivery(ctx) {
		rec, found, err := ch.previous(ctx, c, d.ID)
		if err != nil || found {
			return rec, err
		}
	}

	pers := make(map[string]any, len(d.Personalisation))
	for k, v := range d.Personalisation {
		pers[k] = v
	}
	var resp NotificationResponse
	if ch.kind == event.ChannelSMS {
		resp, err = c.SendSMS(ctx, SMSRequest{PhoneNumber: to, TemplateID: d.TemplateID, Personalisation: pers, Reference: d.ID,
			SMSSenderID: cmp.Or(d.Decision.SMSSenderID, c.sender)})
	} else {
		resp, err = c.SendEmail(ctx, EmailRequest{EmailAddress: to, TemplateID: d.TemplateID, Personalisation: pers, Reference: d.ID,
			EmailReplyToID: cmp.Or(d.Decision.EmailReplyToID, c.replyTo)})
	}
	if err != nil {
		return channels.Receipt{}, err
	}
	return channels.Receipt{ProviderID: resp.ID, Status: event.OutcomeSent}, nil
}

// previous looks the reference up at Notify. A notification that already
// failed is reported as the permanent failure it is, so the plan moves on
// rather than sending into the same bounce again.
func (ch *channel) previous(ctx context.Context, c *Client, ref string) (channels.Receipt, bool, error) {
	ns, err := c.NotificationsByReference(ctx, ref, ch.kind)
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
