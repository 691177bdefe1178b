package router

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
)

// TopicKlantcontacten carries the final outcomes to register in Open Klant.
// Registering is a stage of its own after settle: a slow or unavailable
// Open Klant re-queues only the registration, never the send or the
// outcome record, and the send is never repeated for it.
const TopicKlantcontacten = "koerier.klantcontacten"

// Klantcontacten registers outcomes in Open Klant (klant.Client).
type Klantcontacten interface {
	MaakKlantcontact(ctx context.Context, m klant.MaakKlantcontact) (string, error)
	FindKlantcontact(ctx context.Context, kenmerk, partijURL string) (string, bool, error)
}

// registration is one final outcome of one delivery to register.
type registration struct {
	Outcome  event.Outcome  `json:"outcome"`
	Delivery event.Delivery `json:"delivery"`
	// Next is the channel the plan falls back to, if any.
	Next string `json:"next,omitempty"`
}

// finalOutcome reports whether status ends a delivery on its channel: the
// provider confirmed it, refused it for good, or it was handed over to the
// print street. "sent" is not final: a receipt follows.
func finalOutcome(status string) bool {
	switch status {
	case event.OutcomeDelivered, event.OutcomePermanent, event.OutcomeHandedOver:
		return true
	}
	return false
}

// withRegistration adds the klantcontact registration of o to res when
// registration is on and the message did not opt out.
func (r *Router) withRegistration(res Result, o event.Outcome, d *event.Delivery, next string) Result {
	if r.d.Klantcontacten == nil || d == nil || d.Decision.NoKlantcontact || !finalOutcome(o.Status) {
		return res
	}
	o.Delivery = nil // d travels beside it
	res.Outputs = append(res.Outputs, Output{Topic: TopicKlantcontacten, ID: "klantcontact:" + d.ID,
		Value: registration{Outcome: o, Delivery: *d, Next: next}})
	return res
}

func (r *Router) klantcontactStage() Stage[registration] {
	return Stage[registration]{
		Name:  "klantcontact",
		Topic: TopicKlantcontacten,
		Refs: func(g registration) Refs {
			return Refs{Notification: g.Delivery.InboundID, Event: g.Delivery.EventID, Delivery: g.Delivery.ID, Channel: g.Delivery.Channel}
		},
		Key:    func(g registration) string { return "klantcontact:" + g.Delivery.ID },
		Handle: r.registerKlantcontact,
	}
}

// kenmerk is what Koerier writes in a klantcontact's inhoud to find it
// again: the delivery id (a hash, no personal data).
func kenmerk(deliveryID string) string { return "koerier-" + deliveryID }

// registerKlantcontact registers one outcome, at most once per delivery:
// a marker in the store says it was done; a lease keeps two workers from
// posting at once; on a redelivery (a crash after the POST) Open Klant is
// asked first whether the klantcontact exists.
func (r *Router) registerKlantcontact(ctx context.Context, g registration) (Result, error) {
	d := g.Delivery
	marker := "klantcontact:" + d.ID
	if _, ok, err := r.d.Store.Get(ctx, marker); err == nil && ok {
		return Result{Status: "duplicate"}, nil
	}
	first, err := r.d.Store.Claim(ctx, "lease:"+marker, r.o.LeaseTTL)
	if err != nil {
		return Result{}, temporary(fmt.Errorf("claim klantcontact lease: %w", err))
	}
	if !first {
		return Result{}, failure.RetryAfter(errors.New("klantcontact is being registered by another worker"), r.o.LeaseTTL)
	}
	m := klantcontactFor(g, r.d.Now())
	partij := ""
	if m.Betrokkene != nil {
		partij = m.Betrokkene.WasPartij.URL
	}
	rec := store.Record{Status: "klantcontact"}
	if refsFrom(ctx).Redelivered {
		u, found, err := r.d.Klantcontacten.FindKlantcontact(ctx, kenmerk(d.ID), partij)
		if err != nil {
			_ = r.d.Store.Release(ctx, "lease:"+marker)
			return Result{}, r.klantcontactError(err)
		}
		if found {
			r.markRegistered(ctx, marker, u)
			rec.Detail = "klantcontact stond al in Open Klant (gevonden op kenmerk " + kenmerk(d.ID) + "): " + u
			return Result{Status: "klantcontact", Ledger: []store.Record{rec}}, nil
		}
	}
	u, err := r.d.Klantcontacten.MaakKlantcontact(ctx, m)
	if err != nil {
		_ = r.d.Store.Release(ctx, "lease:"+marker)
		return Result{}, r.klantcontactError(err)
	}
	r.markRegistered(ctx, marker, u)
	rec.Detail = fmt.Sprintf("klantcontact geregistreerd in Open Klant (%s, %s): %s", m.Klantcontact.Kanaal, resultaat(g.Outcome.Status), u)
	return Result{Status: "klantcontact", Ledger: []store.Record{rec}}, nil
}

func (r *Router) markRegistered(ctx context.Context, marker, u string) {
	if err := r.d.Store.Set(ctx, marker, []byte(u), r.o.MarkerTTL); err != nil {
		r.log.WarnContext(ctx, "could not keep the klantcontact marker; a redelivery looks it up in Open Klant", "err", err)
	}
}

// klantcontactError keeps temporary failures temporary (re-queued with the
// backoff) and dead-letters the registration, not the delivery, otherwise.
func (r *Router) klantcontactError(err error) error {
	if isTemporary(err) {
		return err
	}
	return deadLetter("klantcontact-geweigerd", err)
}

// Kanaal names as Open Klant shows them.
var kanalen = map[string]string{
	event.ChannelEmail: "e-mail", event.ChannelSMS: "sms", event.ChannelBerichtenbox: "berichtenbox", event.ChannelPrint: "brief",
}

func kanaal(ch string) string {
	if k, ok := kanalen[ch]; ok {
		return k
	}
	return klant.Truncate(ch, klant.MaxKanaal)
}

func resultaat(status string) string {
	switch status {
	case event.OutcomeDelivered:
		return "afgeleverd"
	case event.OutcomeHandedOver:
		return "overgedragen aan de printstraat"
	case event.OutcomePermanent:
		return "niet afgeleverd"
	}
	return status
}

// personal matches what must not reach a klantcontact's inhoud from a
// provider's reason: long digit runs (a BSN, a phone number) and addresses.
var personal = regexp.MustCompile(`\+?\d[\d \-]{7,}\d|[^\s<>()"']+@[^\s<>()"']+`)

// klantcontactFor builds the klantcontact of one final outcome: Dutch
// onderwerp and inhoud (channel, message, result; no BSN, no address),
// linked to the Open Klant partij and the zaak where known.
func klantcontactFor(g registration, now time.Time) klant.MaakKlantcontact {
	d, o := g.Delivery, g.Outcome
	k := kanaal(d.Channel)
	bericht := d.Decision.Message
	if bericht == "" {
		bericht = d.TemplateID
	}
	zaak := d.Personalisation["zaak_identificatie"]
	onderwerp := fmt.Sprintf("Bericht %q per %s: %s", bericht, k, resultaat(o.Status))
	if zaak != "" {
		onderwerp = fmt.Sprintf("Bericht %q over zaak %s per %s: %s", bericht, zaak, k, resultaat(o.Status))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Koerier verstuurde het bericht %q", bericht)
	if zaak != "" {
		fmt.Fprintf(&b, " over zaak %s", zaak)
	}
	fmt.Fprintf(&b, " per %s (stap %d van het kanaalplan %s). Resultaat: %s.", k, d.Step+1, strings.Join(d.Decision.Plan, ", "), resultaat(o.Status))
	if o.Status == event.OutcomePermanent && o.Reason != "" {
		fmt.Fprintf(&b, " Reden: %s.", klant.Truncate(personal.ReplaceAllString(o.Reason, "[weggelaten]"), 300))
	}
	if g.Next != "" {
		fmt.Fprintf(&b, " Koerier probeert het nu per %s.", kanaal(g.Next))
	}
	// The kenmerk goes last and is never cut: it is how a retry finds
	// this klantcontact again.
	tail := " Kenmerk: " + kenmerk(d.ID)
	inhoud := klant.Truncate(b.String(), klant.MaxInhoud-len([]rune(tail))) + tail

	at := o.At
	if at.IsZero() {
		at = now
	}
	taal := d.Decision.Language
	if taal == "" {
		taal = d.Recipient.Language
	}
	if taal == "" {
		taal = "nld"
	}
	var gelukt *bool
	switch o.Status {
	case event.OutcomeDelivered:
		t := true
		gelukt = &t
	case event.OutcomePermanent:
		f := false
		gelukt = &f
	}
	m := klant.MaakKlantcontact{Klantcontact: klant.Klantcontact{
		Kanaal: k, Onderwerp: klant.Truncate(onderwerp, klant.MaxOnderwerp), Inhoud: inhoud,
		IndicatieContactGelukt: gelukt, Taal: taal, Vertrouwelijk: d.Recipient.Secrecy, PlaatsgevondenOp: at.UTC(),
		Metadata: map[string]string{"koerier_bezorging": d.ID},
	}}
	if src, ok := d.Recipient.Sources[klant.FactPartij]; ok && src.Registry == klant.RegistryOpenKlant && src.Record != "" {
		m.Betrokkene = &klant.Betrokkene{WasPartij: &klant.ForeignKey{UUID: lastSegment(src.Record), URL: src.Record}, Rol: "klant"}
	}
	if d.ZaakURL != "" {
		m.Onderwerpobject = &klant.Onderwerpobject{Onderwerpobjectidentificator: klant.Onderwerpobjectidentificator{
			ObjectID: lastSegment(d.ZaakURL), CodeObjecttype: "zaak", CodeRegister: "openzaak", CodeSoortObjectID: "uuid"}}
	}
	return m
}

func lastSegment(u string) string {
	u = strings.TrimRight(u, "/")
	return u[strings.LastIndexByte(u, '/')+1:]
}
