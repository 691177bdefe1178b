package klant

import "strings"

// ForeignKey is the {uuid, url} reference the Klantinteracties API uses for
// every link between resources.
type ForeignKey struct {
	UUID string `json:"uuid"`
	URL  string `json:"url"`
}

// Page is one page of a paginated list.
type Page[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// Soorten partij.
const (
	SoortPersoon        = "persoon"
	SoortOrganisatie    = "organisatie"
	SoortContactpersoon = "contactpersoon"
)

// Soorten object-id of a partij-identificator.
const (
	IDBSN              = "bsn"
	IDKVK              = "kvk_nummer"
	IDVestigingsnummer = "vestigingsnummer"
	IDRSIN             = "rsin"
)

// Partij is a partij (persoon, organisatie or contactpersoon) as the list
// and retrieve endpoints return it, with `_expand` when asked for.
type Partij struct {
	UUID                   string                `json:"uuid"`
	URL                    string                `json:"url"`
	SoortPartij            string                `json:"soortPartij"`
	DigitaleAdressen       []ForeignKey          `json:"digitaleAdressen"`
	VoorkeursDigitaalAdres *ForeignKey           `json:"voorkeursDigitaalAdres"`
	PartijIdentificatoren  []PartijIdentificator `json:"partijIdentificatoren"`
	IndicatieGeheimhouding *bool                 `json:"indicatieGeheimhouding"`
	Voorkeurstaal          string                `json:"voorkeurstaal"`
	// IndicatieActief is required by the API; a pointer so that an older
	// server that leaves it out is read as active rather than inactive.
	IndicatieActief      *bool               `json:"indicatieActief"`
	Bezoekadres          *Adres              `json:"bezoekadres"`
	Correspondentieadres *Adres              `json:"correspondentieadres"`
	PartijIdentificatie  PartijIdentificatie `json:"partijIdentificatie"`
	Expand               *PartijExpand       `json:"_expand,omitempty"`
}

// Active reports whether the partij's contact data may be used.
func (p Partij) Active() bool { return p.IndicatieActief == nil || *p.IndicatieActief }

// Identificator returns the objectId of the partij's identificator of the
// given soort (bsn, kvk_nummer, vestigingsnummer, rsin), or "".
func (p Partij) Identificator(soort string) string {
	for _, pi := range p.PartijIdentificatoren {
		if pi.PartijIdentificator.CodeSoortObjectID == soort {
			return pi.PartijIdentificator.ObjectID
		}
	}
	return ""
}

// Name is the name to address the partij by: the organisation's naam, or
// the persoon's or contactpersoon's contactnaam, else volledigeNaam.
func (p Partij) Name() string {
	id := p.PartijIdentificatie
	if p.SoortPartij == SoortOrganisatie {
		return strings.TrimSpace(id.Naam)
	}
	if c := id.Contactnaam; c != nil {
		first := c.Voornaam
		if first == "" {
			first = c.Voorletters
		}
		parts := []string{}
		for _, s := range []string{first, c.VoorvoegselAchternaam, c.Achternaam} {
			if s = strings.TrimSpace(s); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	return strings.TrimSpace(id.VolledigeNaam)
}

// PartijIdentificatie is the union of the three soort-specific
// identificatie groups: persoon and contactpersoon have a contactnaam,
// organisatie a naam, contactpersoon a werkteVoorPartij.
type PartijIdentificatie struct {
	Contactnaam      *Contactnaam `json:"contactnaam,omitempty"`
	VolledigeNaam    string       `json:"volledigeNaam,omitempty"`
	Naam             string       `json:"naam,omitempty"`
	WerkteVoorPartij *ForeignKey  `json:"werkteVoorPartij,omitempty"`
}

// Contactnaam is the name a person wants to be addressed by.
type Contactnaam struct {
	Voorletters           string `json:"voorletters"`
	Voornaam              string `json:"voornaam"`
	VoorvoegselAchternaam string `json:"voorvoegselAchternaam"`
	Achternaam            string `json:"achternaam"`
}

// PartijExpand holds the resources requested with `expand`.
type PartijExpand struct {
	DigitaleAdressen []DigitaalAdres `json:"digitaleAdressen"`
}

// PartijIdentificator links a partij to a registry identifier.
type PartijIdentificator struct {
	UUID                 string                   `json:"uuid"`
	URL                  string                   `json:"url"`
	IdentificeerdePartij *ForeignKey              `json:"identificeerdePartij"`
	PartijIdentificator  PartijIdentificatorGroep `json:"partijIdentificator"`
	SubIdentificatorVan  *ForeignKey              `json:"subIdentificatorVan"`
}

// PartijIdentificatorGroep identifies an object in a basisregistratie.
type PartijIdentificatorGroep struct {
	CodeObjecttype    string `json:"codeObjecttype"`
	CodeSoortObjectID string `json:"codeSoortObjectId"`
	ObjectID          string `json:"objectId"`
	CodeRegister      string `json:"codeRegister"`
}

// Soorten digitaal adres (API 2.4 and later).
const (
	SoortEmail          = "email"
	SoortTelefoonnummer = "telefoonnummer"
	SoortOverig         = "overig"
)

// DigitaalAdres is an email address, phone number or other digital address
// a partij gave for future contact.
type DigitaalAdres struct {
	UUID                    string      `json:"uuid"`
	URL                     string      `json:"url"`
	VerstrektDoorBetrokkene *ForeignKey `json:"verstrektDoorBetrokkene"`
	VerstrektDoorPartij     *ForeignKey `json:"verstrektDoorPartij"`
	Adres                   string      `json:"adres"`
	SoortDigitaalAdres      string      `json:"soortDigitaalAdres"`
	IsStandaardAdres        bool        `json:"isStandaardAdres"`
	Omschrijving            string      `json:"omschrijving"`
	Referentie              string      `json:"referentie"`
	VerificatieDatum        *string     `json:"verificatieDatum"`
}

// Soort returns the soort in its 2.4 spelling: servers before 2.4 wrote
// "Email" and "Telefoon", which Open Klant data migrated from them still
// carries.
func (d DigitaalAdres) Soort() string {
	switch strings.ToLower(strings.TrimSpace(d.SoortDigitaalAdres)) {
	case "email", "e-mail":
		return SoortEmail
	case "telefoonnummer", "telefoon", "telefoonnr", "sms":
		return SoortTelefoonnummer
	default:
		return SoortOverig
	}
}

// Adres is a bezoek- or correspondentieadres on a partij.
type Adres struct {
	NummeraanduidingID   string `json:"nummeraanduidingId"`
	Straatnaam           string `json:"straatnaam"`
	Huisnummer           *int   `json:"huisnummer"`
	Huisnummertoevoeging string `json:"huisnummertoevoeging"`
	Postcode             string `json:"postcode"`
	Stad                 string `json:"stad"`
	Adresregel1          string `json:"adresregel1"`
	Adresregel2          string `json:"adresregel2"`
	Adresregel3          string `json:"adresregel3"`
	Land                 string `json:"land"`
}
