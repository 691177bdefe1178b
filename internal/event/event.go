// Package event holds the domain types that travel on Koerier's bus between
// the stages: the inbound Notification, the enriched Event with its Subjects,
// the resolved Recipient, the route Decision, a channel Delivery and its
// Outcome. It imports nothing of Koerier's own; every other package may
// import it.
//
// Personal data (BSN, email, phone, postal address) does travel inside these
// values on the bus, which is internal. It must never reach a log line in
// clear (see internal/telemetry), a metric label or the ledger (which stores
// a keyed hash, see SubjectRef).
package event

import (
	"encoding/json"
	"time"
)

// Topics on the bus. Deliveries are per channel: DeliveryTopic("email").
const (
	TopicInbound    = "koerier.inbound"
	TopicEvents     = "koerier.events"
	TopicOutcomes   = "koerier.outcomes"
	TopicDeadLetter = "koerier.deadletter"
)

// DeliveryTopic is the topic that the deliver stage of one channel consumes.
func DeliveryTopic(channel string) string { return "koerier.deliveries." + channel }

// Event types emitted by the enrich stage.
const (
	TypeZaakAangemaakt      = "zaak.aangemaakt"
	TypeZaakStatusGewijzigd = "zaak.status_gewijzigd"
	TypeZaakAfgesloten      = "zaak.afgesloten"
	TypeBesluitGenomen      = "besluit.genomen"
	TypeDocumentToegevoegd  = "document.toegevoegd"
	TypeTaakToegewezen      = "taak.toegewezen"
	TypeTaakGewijzigd       = "taak.gewijzigd"
	TypeTaakAfgerond        = "taak.afgerond"
	TypeTaakHerinnering     = "taak.herinnering"
)

// Inbound sources.
const (
	SourceNotificaties = "notificaties" // Open Notificaties callback
	SourceEvents       = "events"       // POST /api/v1/events (non-ZGW systems)
	SourceCloudEvents  = "cloudevents"  // POST /api/v1/cloudevents
	SourceScheduler    = "scheduler"    // timers Koerier set itself
)

// Notification is the ZGW Notificaties API 1.0 `Message`, as Open
// Notificaties posts it to an abonnement's callbackUrl. JSON names are the
// API's own.
type Notification struct {
	Kanaal       string            `json:"kanaal"`
	HoofdObject  string            `json:"hoofdObject"`
	Resource     string            `json:"resource"`
	ResourceURL  string            `json:"resourceUrl"`
	Actie        string            `json:"actie"`
	Aanmaakdatum time.Time         `json:"aanmaakdatum"`
	Kenmerken    map[string]string `json:"kenmerken,omitempty"`
}

// Inbound is what ingest puts on TopicInbound: exactly one of Notification or
// External is set.
type Inbound struct {
	// ID is the dedup key: sha256(kanaal|resourceUrl|actie|aanmaakdatum) for
	// notifications, sha256(source|idempotencyKey) for external events.
	ID           string        `json:"id"`
	Source       string        `json:"source"`
	ReceivedAt   time.Time     `json:"receivedAt"`
	Notification *Notification `json:"notification,omitempty"`
	External     *External     `json:"external,omitempty"`
	// Attempt is how often this message was re-queued (0 at first). It is
	// not part of the payload: the enrich stage fills it from the one
	// attempt counter that travels in the message's metadata
	// (router.MetaAttempt), so the Enricher can pace the rol race.
	Attempt int `json:"-"`
	// DueAt is when a re-queued or scheduled message should be processed;
	// zero means now. The router publishes it with a bus delay.
	DueAt time.Time `json:"dueAt,omitempty"`
	// Timer is set on messages from SourceScheduler.
	Timer *Timer `json:"timer,omitempty"`
}

// Timer kinds.
const TimerTaakHerinnering = "taak.herinnering"

// Timer is a reminder Koerier scheduled for itself. When it comes due the
// enrich stage re-checks the world (is the taak still open, is the
// verloopdatum unchanged?) before emitting anything, which is how a
// reminder is cancelled.
type Timer struct {
	Kind         string    `json:"kind"`
	ObjectURL    string    `json:"objectUrl"`
	DaysBefore   int       `json:"daysBefore"`
	Verloopdatum time.Time `json:"verloopdatum"`
}

// External is an event from a non-ZGW system (POST /api/v1/events) or a
// CloudEvent mapped onto the same shape.
type External struct {
	Type            string            `json:"type"`
	Subject         Subject           `json:"subject"`
	Zaak            string            `json:"zaak,omitempty"` // optional zaak URL or identificatie
	Personalisation map[string]string `json:"personalisation,omitempty"`
	IdempotencyKey  string            `json:"idempotencyKey"`
	OccurredAt      time.Time         `json:"occurredAt,omitempty"`
	SourceSystem    string            `json:"sourceSystem,omitempty"`
}

// Subject kinds.
const (
	KindInwoner = "inwoner"
	KindBedrijf = "bedrijf"
)

// Subject roles: which rol on the zaak made this subject a recipient.
const (
	RoleInitiator     = "initiator"
	RoleMedeInitiator = "mede_initiator"
	RoleGemachtigde   = "gemachtigde"
	RoleTaak          = "taak" // the person a taak is assigned to
)

// Subject identifies who an event is about: an inwoner (BSN), a bedrijf (KVK,
// optionally a vestiging, or RSIN) or an Open Klant partij by URL.
type Subject struct {
	Role             string `json:"role,omitempty"`
	Kind             string `json:"kind"`
	BSN              string `json:"bsn,omitempty"`
	KVK              string `json:"kvk,omitempty"`
	Vestigingsnummer string `json:"vestigingsnummer,omitempty"`
	RSIN             string `json:"rsin,omitempty"`
	PartijURL        string `json:"partijUrl,omitempty"`
	// Name as the rol gives it, for a salutation when no registry has one.
	Name string `json:"name,omitempty"`
}

// Event is an enriched, typed fact about a zaak, besluit or taak that a
// citizen or company may need to hear about. Optional parts are nil when the
// event type does not carry them.
type Event struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurredAt"`
	// InboundID links the event to the notification (trail).
	InboundID string `json:"inboundId"`
	Source    string `json:"source"`

	Zaak       *Zaak       `json:"zaak,omitempty"`
	Zaaktype   *Zaaktype   `json:"zaaktype,omitempty"`
	Status     *Status     `json:"status,omitempty"`
	Statustype *Statustype `json:"statustype,omitempty"`
	Resultaat  *Resultaat  `json:"resultaat,omitempty"`
	Besluit    *Besluit    `json:"besluit,omitempty"`
	Taak       *Taak       `json:"taak,omitempty"`
	Document   *Document   `json:"document,omitempty"`

	Subjects []Subject `json:"subjects"`
	// Personalisation is extra data for templates (external events).
	Personalisation map[string]string `json:"personalisation,omitempty"`
}

// Zaak holds the zaak fields rules and templates may use.
type Zaak struct {
	URL                         string `json:"url"`
	Identificatie               string `json:"identificatie"`
	Omschrijving                string `json:"omschrijving"`
	Vertrouwelijkheidaanduiding string `json:"vertrouwelijkheidaanduiding"`
	Registratiedatum            string `json:"registratiedatum"`
	Einddatum                   string `json:"einddatum,omitempty"`
	Bronorganisatie             string `json:"bronorganisatie,omitempty"`
}

// Zaaktype holds the zaaktype fields rules may use.
type Zaaktype struct {
	URL           string `json:"url"`
	Identificatie string `json:"identificatie"`
	Omschrijving  string `json:"omschrijving"`
}

// Status is a zaak status.
type Status struct {
	URL               string `json:"url"`
	DatumStatusGezet  string `json:"datumStatusGezet"`
	Statustoelichting string `json:"statustoelichting,omitempty"`
}

// Statustype is the catalogue definition of a status.
type Statustype struct {
	URL          string `json:"url"`
	Omschrijving string `json:"omschrijving"`
	Volgnummer   int    `json:"volgnummer"`
	IsEindstatus bool   `json:"isEindstatus"`
	Informeren   bool   `json:"informeren"`
}

// Resultaat is the outcome of a closed zaak.
type Resultaat struct {
	URL          string `json:"url"`
	Omschrijving string `json:"omschrijving"` // resultaattype omschrijving
	Toelichting  string `json:"toelichting,omitempty"`
}

// Besluit is a formal decision and its type.
type Besluit struct {
	URL                     string `json:"url"`
	Identificatie           string `json:"identificatie"`
	Datum                   string `json:"datum"`
	Ingangsdatum            string `json:"ingangsdatum,omitempty"`
	Toelichting             string `json:"toelichting,omitempty"`
	BesluittypeURL          string `json:"besluittype"`
	BesluittypeOmschrijving string `json:"besluittypeOmschrijving"`
}

// Taak is a task for a citizen or company, from the Objecten API, normalised
// over the Den Haag and community (Nijmegen) shapes.
type Taak struct {
	URL          string    `json:"url"`
	Titel        string    `json:"titel"`
	Status       string    `json:"status"` // open, afgerond, ...
	Soort        string    `json:"soort,omitempty"`
	Verloopdatum time.Time `json:"verloopdatum,omitempty"`
	ZaakURL      string    `json:"zaak,omitempty"`
	FormulierURL string    `json:"formulier,omitempty"`
	Herinnering  int       `json:"herinnering,omitempty"` // days before verloopdatum, for taak.herinnering
}

// Document is an informatieobject linked to a zaak.
type Document struct {
	URL   string `json:"url"`
	Titel string `json:"titel"`
}

// Tri is a three-valued answer (Berichtenbox subscription).
type Tri string

const (
	Unknown Tri = ""
	Yes     Tri = "yes"
	No      Tri = "no"
)

// PostalAddress is a composed postal address (BRP adressering or KVK).
type PostalAddress struct {
	NameLine string   `json:"nameLine"`
	Lines    []string `json:"lines"`
	Land     string   `json:"land,omitempty"`
}

// Source says where one fact about a recipient came from.
type Source struct {
	Registry string `json:"registry"` // openklant, brp, kvk, berichtenbox, rol
	Record   string `json:"record"`   // URL or record id (never a BSN)
	Note     string `json:"note,omitempty"`
}

// Recipient is everything Koerier knows about how to reach one subject.
type Recipient struct {
	Subject          Subject           `json:"subject"`
	Kind             string            `json:"kind"`
	Name             string            `json:"name,omitempty"`
	Language         string            `json:"language"` // ISO 639-2/B, default nld
	Email            string            `json:"email,omitempty"`
	Phone            string            `json:"phone,omitempty"`            // E.164
	PreferredChannel string            `json:"preferredChannel,omitempty"` // email or sms
	Berichtenbox     Tri               `json:"berichtenbox,omitempty"`
	PostalAddress    *PostalAddress    `json:"postalAddress,omitempty"`
	Deceased         bool              `json:"deceased,omitempty"`
	NoPost           bool              `json:"noPost,omitempty"`
	Secrecy          bool              `json:"secrecy,omitempty"`
	Curatele         bool              `json:"curatele,omitempty"`
	Unknown          bool              `json:"unknown,omitempty"` // no registry knows this subject
	Contactpersonen  []Recipient       `json:"contactpersonen,omitempty"`
	Sources          map[string]Source `json:"sources,omitempty"` // fact name -> source
}

// Channel names.
const (
	ChannelEmail        = "email"
	ChannelSMS          = "sms"
	ChannelBerichtenbox = "berichtenbox"
	ChannelPrint        = "print"
	// ChannelVoorkeur is a placeholder in rule channel plans that expands to
	// the recipient's preferred digital channel.
	ChannelVoorkeur = "voorkeur"
)

// ChannelSkip records why a channel in a plan was not used.
type ChannelSkip struct {
	Channel string `json:"channel"`
	Reason  string `json:"reason"`
}

// Decision is the route stage's outcome for one event and one recipient.
type Decision struct {
	EventID  string `json:"eventId"`
	Rule     string `json:"rule,omitempty"`
	Message  string `json:"message,omitempty"`
	Language string `json:"language,omitempty"`
	// Plan is the ordered list of channels to try; the first is tried first,
	// the rest are fallbacks on permanent failure.
	Plan    []string      `json:"plan,omitempty"`
	Skipped []ChannelSkip `json:"skipped,omitempty"`
	// Skip is true when nothing is sent for this event (a skip rule, no
	// matching rule, no channel left); Reason says why.
	Skip   bool   `json:"skip,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Undeliverable is set with Skip when the rule did ask for a message
	// but none of its channels is configured in this installation: not a
	// deliberate skip, but something an admin must fix.
	Undeliverable bool     `json:"undeliverable,omitempty"`
	Explanation   []string `json:"explanation,omitempty"`
	// HoldUntil delays sending (quiet hours, group window); zero means now.
	HoldUntil time.Time `json:"holdUntil,omitempty"`
	// Grouped is true when a group window applies: when the hold ends, only
	// the latest event about the zaak for this recipient is sent.
	Grouped bool `json:"grouped,omitempty"`
	// Personalisation holds the values the rules' personalisation templates
	// rendered for this recipient (links to the right portal); the router
	// adds them to the Delivery's Personalisation over its fixed keys.
	Personalisation map[string]string `json:"personalisation,omitempty"`
	// NotifyService is the Notify NL service (notify.services[].name) the
	// message's email and SMS go through; empty means the first.
	NotifyService string `json:"notifyService,omitempty"`
	// EmailReplyToID and SMSSenderID override the service's
	// email_reply_to_id and sms_sender_id for this message.
	EmailReplyToID string `json:"emailReplyToId,omitempty"`
	SMSSenderID    string `json:"smsSenderId,omitempty"`
	// NoKlantcontact is set when the message asks not to register its
	// outcome in Open Klant (register_klantcontact: false).
	NoKlantcontact bool `json:"noKlantcontact,omitempty"`
	// Berichtenbox is the Berichtenbox bericht the rules rendered, when the
	// plan has that channel.
	Berichtenbox *BerichtenboxMessage `json:"berichtenbox,omitempty"`
}

// BerichtenboxMessage is one Berichtenbox bericht: what the rules rendered
// (berichttype, subject, body, what to attach) and what the router adds
// from the event (reference, deadline, the besluit to attach).
type BerichtenboxMessage struct {
	BerichtType string `json:"berichtType"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	// Attach is "besluit-document" or "".
	Attach string `json:"attach,omitempty"`
	// Referentie is the zaak identificatie (at most 25 characters).
	Referentie string `json:"referentie,omitempty"`
	// Deadline is a taak's verloopdatum (EindDatumHandelingsTermijn).
	Deadline time.Time `json:"deadline,omitzero"`
	// BesluitURL is the besluit whose documents Attach fetches.
	BesluitURL string `json:"besluitUrl,omitempty"`
}

// Delivery is one attempt to reach one recipient on one channel. It is the
// payload of DeliveryTopic(channel).
type Delivery struct {
	// ID is the idempotency key: sha256(event id|channel|recipient ref|message).
	ID        string `json:"id"`
	EventID   string `json:"eventId"`
	InboundID string `json:"inboundId"`
	Channel   string `json:"channel"`
	// ZaakURL is the zaak the event is about (group window key).
	ZaakURL string `json:"zaakUrl,omitempty"`
	// Step is the index of Channel in Decision.Plan.
	Step      int       `json:"step"`
	Decision  Decision  `json:"decision"`
	Recipient Recipient `json:"recipient"`
	// TemplateID is the channel's template (Notify template id, letter
	// template path, Berichtenbox subject template) for message+language.
	TemplateID      string            `json:"templateId,omitempty"`
	Personalisation map[string]string `json:"personalisation,omitempty"`
	// Envelope and Postage are a letter's (print: {envelope, postage}).
	Envelope  string    `json:"envelope,omitempty"`
	Postage   string    `json:"postage,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Outcome statuses.
const (
	OutcomeSent      = "sent"      // accepted by the provider
	OutcomeDelivered = "delivered" // provider confirmed delivery
	// OutcomeHandedOver: a batching channel handed it to the next party
	// (a letter to the print street); not yet delivered.
	OutcomeHandedOver = "handed-over"
	OutcomePermanent  = "failed-permanent"
	OutcomeTemporary  = "failed-temporary"
)

// Outcome is the result of a Delivery, from the deliver stage or a provider
// callback. Its payload goes to TopicOutcomes.
type Outcome struct {
	DeliveryID string `json:"deliveryId"`
	// InboundID and EventID name the notification and event the delivery
	// came from (the deliver stage sets them; a provider callback knows
	// only DeliveryID), so settle's logs can name them.
	InboundID  string    `json:"inboundId,omitempty"`
	EventID    string    `json:"eventId,omitempty"`
	Delivery   *Delivery `json:"delivery,omitempty"`
	Channel    string    `json:"channel"`
	Status     string    `json:"status"`
	ProviderID string    `json:"providerId,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	At         time.Time `json:"at"`
}

// Marshal encodes v as JSON for a bus payload. It panics only on types that
// cannot be encoded, which is a programming error for these types.
func Marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("event: marshal: " + err.Error())
	}
	return b
}
