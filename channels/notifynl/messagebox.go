package notifynl

// The messagebox notification type: NotifyNL delivers a bericht to the
// inwoner's MijnOverheid Berichtenbox, one per call. Its delivery receipts
// arrive on the same callback as email and SMS.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/internal/event"
)

// NotificationTypeMessagebox is Notify's notification_type (and
// template_type) of a Berichtenbox bericht.
const NotificationTypeMessagebox = "messagebox"

// MessageboxRequest is the body of POST /v2/notifications/messagebox.
type MessageboxRequest struct {
	// Recipient is the BSN.
	Recipient string `json:"recipient"`
	Subject   string `json:"subject"`
	Message   string `json:"message"`
	// MessageType is the Berichtenbox berichttype.
	MessageType string `json:"message_type"`
	// Reference is the delivery id, as for email and SMS.
	Reference   string                 `json:"reference"`
	Attachments []MessageboxAttachment `json:"attachments,omitempty"`
}

// MessageboxAttachment is a PDF attached to a messagebox notification.
type MessageboxAttachment struct {
	Filename string `json:"filename"`
	// Content is the file, base64-encoded.
	Content string `json:"content"`
}

// SendMessagebox sends one bericht to a Berichtenbox.
func (c *Client) SendMessagebox(ctx context.Context, r MessageboxRequest) (NotificationResponse, error) {
	var out NotificationResponse
	err := c.do(ctx, "send messagebox", http.MethodPost, "/v2/notifications/messagebox", r, http.StatusCreated, &out)
	return out, err
}

// Messagebox is the Berichtenbox transport over Notify: the berichtenbox
// channel's Sender.
func Messagebox(c *Client) berichtenbox.Sender { return messagebox{c} }

type messagebox struct{ c *Client }

// SendBericht sends b. As for email and SMS, it first looks the reference
// up (unless that is off), so a redelivered message is not sent twice.
func (m messagebox) SendBericht(ctx context.Context, deliveryID string, b berichtenbox.Bericht) (channels.Receipt, error) {
	if m.c.lookup {
		ch := &channel{services: []*Client{m.c}, kind: NotificationTypeMessagebox}
		rec, found, err := ch.previous(ctx, m.c, deliveryID)
		if err != nil || found {
			return rec, err
		}
	}
	req := MessageboxRequest{Recipient: b.GebruikerID, Subject: b.Onderwerp, Message: b.BerichtTekst, MessageType: b.BerichtType, Reference: deliveryID}
	for i, a := range b.Bijlagen {
		req.Attachments = append(req.Attachments, MessageboxAttachment{Filename: fmt.Sprintf("%d-%s.pdf", i+1, fileName(a.Omschrijving)),
			Content: base64.StdEncoding.EncodeToString(a.Inhoud)})
	}
	resp, err := m.c.SendMessagebox(ctx, req)
	if err != nil {
		return channels.Receipt{}, err
	}
	return channels.Receipt{ProviderID: resp.ID, Status: event.OutcomeSent}, nil
}

// fileName keeps a document title usable as a file name.
func fileName(title string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || r < ' ' {
			return '-'
		}
		return r
	}, title)
}

// channelOf maps Notify's notification_type to Koerier's channel name.
func channelOf(notificationType string) string {
	if notificationType == NotificationTypeMessagebox {
		return event.ChannelBerichtenbox
	}
	return notificationType
}
