package rules

import (
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// Env is what a condition sees. Names are the ones admins write
// (`zaak.vertrouwelijkheidaanduiding`, `statustype.informeren`), taken from
// the ZGW APIs where a ZGW name exists. Every part is a value, never a
// pointer, so that `besluit.identificatie` on a zaak event is "" instead of a
// nil dereference. Personal data (BSN, addresses) is deliberately absent: a
// condition may ask whether a recipient has an email address, not what it is.
type Env struct {
	Event      EventEnv      `expr:"event"`
	Zaak       ZaakEnv       `expr:"zaak"`
	Zaaktype   ZaaktypeEnv   `expr:"zaaktype"`
	Status     StatusEnv     `expr:"status"`
	Statustype StatustypeEnv `expr:"statustype"`
	Resultaat  ResultaatEnv  `expr:"resultaat"`
	Besluit    BesluitEnv    `expr:"besluit"`
	Taak       TaakEnv       `expr:"taak"`
	Document   DocumentEnv   `expr:"document"`
	Recipient  RecipientEnv  `expr:"recipient"`
	// Now is the decision time in Europe/Amsterdam.
	Now time.Time `expr:"now"`
}

// EventEnv is `event`.
type EventEnv struct {
	Type            string            `expr:"type"`
	ID              string            `expr:"id"`
	Source          string            `expr:"source"`
	OccurredAt      time.Time         `expr:"occurredAt"`
	Personalisation map[string]string `expr:"personalisation"`
}

// ZaakEnv is `zaak`; Bekend is false when the event has no zaak.
type ZaakEnv struct {
	Bekend bool   `expr:"bekend"`
	URL    string `expr:"url"`
	// UUID is the last segment of url: what a portal puts in its link.
	UUID                        string `expr:"uuid"`
	Identificatie               string `expr:"identificatie"`
	Omschrijving                string `expr:"omschrijving"`
	Vertrouwelijkheidaanduiding string `expr:"vertrouwelijkheidaanduiding"`
	Registratiedatum            string `expr:"registratiedatum"`
	Einddatum                   string `expr:"einddatum"`
	Bronorganisatie             string `expr:"bronorganisatie"`
}

// ZaaktypeEnv is `zaaktype`.
type ZaaktypeEnv struct {
	Bekend        bool   `expr:"bekend"`
	URL           string `expr:"url"`
	Identificatie string `expr:"identificatie"`
	Omschrijving  string `expr:"omschrijving"`
}

// StatusEnv is `status`.
type StatusEnv struct {
	Bekend            bool   `expr:"bekend"`
	URL               string `expr:"url"`
	DatumStatusGezet  string `expr:"datumStatusGezet"`
	Statustoelichting string `expr:"statustoelichting"`
}

// StatustypeEnv is `statustype`.
type StatustypeEnv struct {
	Bekend       bool   `expr:"bekend"`
	URL          string `expr:"url"`
	Omschrijving string `expr:"omschrijving"`
	Volgnummer   int    `expr:"volgnummer"`
	IsEindstatus bool   `expr:"isEindstatus"`
	Informeren   bool   `expr:"informeren"`
}

// ResultaatEnv is `resultaat`.
type ResultaatEnv struct {
	Bekend       bool   `expr:"bekend"`
	URL          string `expr:"url"`
	Omschrijving string `expr:"omschrijving"`
	Toelichting  string `expr:"toelichting"`
}

// BesluitEnv is `besluit`.
type BesluitEnv struct {
	Bekend                  bool   `expr:"bekend"`
	URL                     string `expr:"url"`
	Identificatie           string `expr:"identificatie"`
	Datum                   string `expr:"datum"`
	Ingangsdatum            string `expr:"ingangsdatum"`
	Toelichting             string `expr:"toelichting"`
	Besluittype             string `expr:"besluittype"`
	BesluittypeOmschrijving string `expr:"besluittypeOmschrijving"`
}

// TaakEnv is `taak`.
type TaakEnv struct {
	Bekend       bool      `expr:"bekend"`
	URL          string    `expr:"url"`
	UUID         string    `expr:"uuid"` // the object's uuid, the last segment of url
	Titel        string    `expr:"titel"`
	Status       string    `expr:"status"`
	Soort        string    `expr:"soort"`
	Verloopdatum time.Time `expr:"verloopdatum"`
	Zaak         string    `expr:"zaak"`
	Formulier    string    `expr:"formulier"`
	Herinnering  int       `expr:"herinnering"`
}

// DocumentEnv is `document`.
type DocumentEnv struct {
	Bekend bool   `expr:"bekend"`
	URL    string `expr:"url"`
	Titel  string `expr:"titel"`
}

// RecipientEnv is `recipient`: facts about the subject being addressed,
// without the personal data itself.
type RecipientEnv struct {
	Kind             string `expr:"kind"` // inwoner, bedrijf
	Role             string `expr:"role"` // initiator, mede_initiator, gemachtigde, taak
	Language         string `expr:"language"`
	PreferredChannel string `expr:"preferredChannel"`
	HasEmail         bool   `expr:"hasEmail"`
	HasPhone         bool   `expr:"hasPhone"`
	HasPostalAddress bool   `expr:"hasPostalAddress"`
	Berichtenbox     string `expr:"berichtenbox"` // yes, no, "" (unknown)
	Deceased         bool   `expr:"deceased"`
	NoPost           bool   `expr:"noPost"`
	Secrecy          bool   `expr:"secrecy"`
	Curatele         bool   `expr:"curatele"`
	Unknown          bool   `expr:"unknown"`
	Contactpersonen  int    `expr:"contactpersonen"` // how many
}

// newEnv fills env from an input; nil parts stay zero.
func newEnv(env *Env, in *Input) {
	*env = Env{Now: in.Now.In(amsterdam)}
	if ev := in.Event; ev != nil {
		env.Event = EventEnv{Type: ev.Type, ID: ev.ID, Source: ev.Source, OccurredAt: ev.OccurredAt, Personalisation: ev.Personalisation}
		if z := ev.Zaak; z != nil {
			env.Zaak = ZaakEnv{true, z.URL, lastSegment(z.URL), z.Identificatie, z.Omschrijving, z.Vertrouwelijkheidaanduiding, z.Registratiedatum, z.Einddatum, z.Bronorganisatie}
		}
		if z := ev.Zaaktype; z != nil {
			env.Zaaktype = ZaaktypeEnv{true, z.URL, z.Identificatie, z.Omschrijving}
		}
		if s := ev.Status; s != nil {
			env.Status = StatusEnv{true, s.URL, s.DatumStatusGezet, s.Statustoelichting}
		}
		if s := ev.Statustype; s != nil {
			env.Statustype = StatustypeEnv{true, s.URL, s.Omschrijving, s.Volgnummer, s.IsEindstatus, s.Informeren}
		}
		if r := ev.Resultaat; r != nil {
			env.Resultaat = ResultaatEnv{true, r.URL, r.Omschrijving, r.Toelichting}
		}
		if b := ev.Besluit; b != nil {
			env.Besluit = BesluitEnv{true, b.URL, b.Identificatie, b.Datum, b.Ingangsdatum, b.Toelichting, b.BesluittypeURL, b.BesluittypeOmschrijving}
		}
		if t := ev.Taak; t != nil {
			env.Taak = TaakEnv{true, t.URL, lastSegment(t.URL), t.Titel, t.Status, t.Soort, t.Verloopdatum, t.ZaakURL, t.FormulierURL, t.Herinnering}
		}
		if d := ev.Document; d != nil {
			env.Document = DocumentEnv{true, d.URL, d.Titel}
		}
	}
	env.Recipient.Role = subjectRole(in.Subject)
	env.Recipient.Kind = recipientKind(in)
	env.Recipient.Language = defaultLanguage
	if r := in.Recipient; r != nil {
		if r.Language != "" {
			env.Recipient.Language = normaliseLanguage(r.Language)
		}
		env.Recipient.PreferredChannel = r.PreferredChannel
		env.Recipient.HasEmail = r.Email != ""
		env.Recipient.HasPhone = r.Phone != ""
		env.Recipient.HasPostalAddress = r.PostalAddress != nil
		env.Recipient.Berichtenbox = string(r.Berichtenbox)
		env.Recipient.Deceased = r.Deceased
		env.Recipient.NoPost = r.NoPost
		env.Recipient.Secrecy = r.Secrecy
		env.Recipient.Curatele = r.Curatele
		env.Recipient.Unknown = r.Unknown
		env.Recipient.Contactpersonen = len(r.Contactpersonen)
	}
}

// subjectRole treats a subject without a rol (an external event) as the
// initiator: it is the one the event is about.
func subjectRole(s event.Subject) string {
	if s.Role == "" {
		return event.RoleInitiator
	}
	return s.Role
}

func recipientKind(in *Input) string {
	if in.Recipient != nil && (in.Recipient.Kind == event.KindInwoner || in.Recipient.Kind == event.KindBedrijf) {
		return in.Recipient.Kind
	}
	if in.Subject.Kind == event.KindBedrijf {
		return event.KindBedrijf
	}
	if in.Subject.Kind == "" && in.Recipient != nil && in.Recipient.Subject.Kind == event.KindBedrijf {
		return event.KindBedrijf
	}
	return event.KindInwoner
}

// lastSegment is the last path segment of a resource URL, which in the ZGW
// and Objecten APIs is the object's uuid.
func lastSegment(u string) string {
	u = strings.TrimRight(u, "/")
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		return u[i+1:]
	}
	return u
}
