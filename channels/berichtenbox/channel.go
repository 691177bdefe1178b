package berichtenbox

// This file is the "berichtenbox" channel: it turns a delivery into a
// Bericht (the rules' rendered text, the BSN, the besluit's PDF) and hands
// it to the transport the gemeente has: NotifyNL's messagebox (one by one)
// or the ebMS adapter (in GLOBE batches).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
)

// Sender hands one Bericht to a transport; deliveryID is the reference
// the transport sends along, so its result finds the delivery again.
type Sender interface {
	SendBericht(ctx context.Context, deliveryID string, b Bericht) (channels.Receipt, error)
}

// Document is a document of a besluit, as the Documenten API has it.
type Document struct {
	Titel   string
	Formaat string
	Content []byte
}

// Documents fetches the documents of a besluit, at most limit bytes
// together; ErrBijlageTeGroot (wrapped) when they are larger.
type Documents func(ctx context.Context, besluitURL string, limit int64) ([]Document, error)

// Channel is the Berichtenbox channel.
type Channel struct {
	send Sender
	docs Documents
}

// NewChannel returns the channel sending through s; docs may be nil when
// no rule attaches documents.
func NewChannel(s Sender, docs Documents) *Channel { return &Channel{send: s, docs: docs} }

// Name is event.ChannelBerichtenbox.
func (c *Channel) Name() string { return event.ChannelBerichtenbox }

// Send builds the delivery's bericht and hands it to the transport.
func (c *Channel) Send(ctx context.Context, d event.Delivery) (channels.Receipt, error) {
	b, err := c.Bericht(ctx, d)
	if err != nil {
		return channels.Receipt{}, err
	}
	return c.send.SendBericht(ctx, d.ID, b)
}

// Bericht builds the Bericht of a delivery. A delivery the Berichtenbox
// cannot take (no BSN, no text, attachments too large, text too long) is a
// permanent failure with the reason, so the plan moves to its next
// channel.
func (c *Channel) Bericht(ctx context.Context, d event.Delivery) (Bericht, error) {
	m := d.Decision.Berichtenbox
	if m == nil {
		return Bericht{}, failure.Permanent("geen-berichtenbox-tekst", fmt.Errorf("berichtenbox: message %q has no rendered berichtenbox text", d.Decision.Message))
	}
	bsn := d.Recipient.Subject.BSN
	if bsn == "" {
		return Bericht{}, failure.Permanent("geen-bsn", errors.New("berichtenbox: the recipient has no BSN"))
	}
	b := Bericht{
		BerichtID: BerichtIDFor(d.ID), BerichtType: m.BerichtType, Onderwerp: m.Subject, BerichtTekst: CRLF(m.Body),
		Referentie: truncate(m.Referentie, MaxReferentieLen), GebruikerID: bsn, EindDatumHandelingsTermijn: m.Deadline,
	}
	if m.Attach != "" {
		atts, err := c.attachments(ctx, m)
		if err != nil {
			return Bericht{}, err
		}
		b.Bijlagen = atts
	}
	if err := b.Validate(); err != nil {
		if errors.Is(err, ErrBijlageTeGroot) {
			return Bericht{}, failure.Permanent("bijlage-te-groot", fmt.Errorf("berichtenbox: %w", err))
		}
		// `rules check` refuses such text; it can still happen with a
		// value of the event (a very long zaak omschrijving).
		return Bericht{}, failure.Permanent("ongeldig-bericht", fmt.Errorf("berichtenbox: %w", err))
	}
	return b, nil
}

// attachments fetches the besluit's PDFs (the first two: the Berichtenbox
// takes no more).
func (c *Channel) attachments(ctx context.Context, m *event.BerichtenboxMessage) ([]Bijlage, error) {
	if c.docs == nil {
		return nil, failure.Config(errors.New("berichtenbox: a rule attaches documents, but no Documenten API is configured"))
	}
	if m.BesluitURL == "" {
		return nil, nil // not a besluit event: nothing to attach
	}
	docs, err := c.docs(ctx, m.BesluitURL, MaxBijlagenBytes)
	if errors.Is(err, ErrBijlageTeGroot) {
		return nil, failure.Permanent("bijlage-te-groot", fmt.Errorf("berichtenbox: besluit documents: %w", err))
	}
	if err != nil {
		return nil, fmt.Errorf("berichtenbox: besluit documents: %w", err)
	}
	var out []Bijlage
	for _, doc := range docs {
		if len(out) == MaxBijlagen {
			break
		}
		if !bytes.HasPrefix(doc.Content, []byte("%PDF-")) {
			continue // the Berichtenbox takes PDF only
		}
		title := doc.Titel
		if strings.TrimSpace(title) == "" {
			title = "Besluit"
		}
		out = append(out, Bijlage{Inhoud: doc.Content, Omschrijving: truncate(title, MaxBijlageOmschrijving)})
	}
	return out, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
