package zgw

import "encoding/json"

// Response types of the ZGW APIs, named and tagged after the APIs' own
// fields (Zaken 1.5.1, Catalogi 1.3.1, Besluiten 1.1.0, Documenten 1.4.2,
// Objecten v2). Only the fields Koerier reads are declared; unknown fields
// are ignored on decoding.

// Zaak is a Zaken API zaak.
type Zaak struct {
	URL                          string `json:"url"`
	UUID                         string `json:"uuid"`
	Identificatie                string `json:"identificatie"`
	Bronorganisatie              string `json:"bronorganisatie"`
	Omschrijving                 string `json:"omschrijving"`
	Toelichting                  string `json:"toelichting"`
	Zaaktype                     string `json:"zaaktype"`
	Registratiedatum             string `json:"registratiedatum"`
	VerantwoordelijkeOrganisatie string `json:"verantwoordelijkeOrganisatie"`
	Startdatum                   string `json:"startdatum"`
	Einddatum                    string `json:"einddatum"` // null while open
	Vertrouwelijkheidaanduiding  string `json:"vertrouwelijkheidaanduiding"`
	Status                       string `json:"status"`    // URL of the current status, null when none
	Resultaat                    string `json:"resultaat"` // URL, null when none
}

// Status is a Zaken API status.
type Status struct {
	URL               string `json:"url"`
	UUID              string `json:"uuid"`
	Zaak              string `json:"zaak"`
	Statustype        string `json:"statustype"`
	DatumStatusGezet  string `json:"datumStatusGezet"`
	Statustoelichting string `json:"statustoelichting"`
	// IndicatieLaatstGezetteStatus is computed by the Zaken API.
	IndicatieLaatstGezetteStatus bool `json:"indicatieLaatstGezetteStatus"`
}

// Resultaat is a Zaken API resultaat.
type Resultaat struct {
	URL           string `json:"url"`
	UUID          string `json:"uuid"`
	Zaak          string `json:"zaak"`
	Resultaattype string `json:"resultaattype"`
	Toelichting   string `json:"toelichting"`
}

// ZaakInformatieObject links a document to a zaak (Zaken API).
type ZaakInformatieObject struct {
	URL              string `json:"url"`
	UUID             string `json:"uuid"`
	Informatieobject string `json:"informatieobject"`
	Zaak             string `json:"zaak"`
	Titel            string `json:"titel"`
	Beschrijving     string `json:"beschrijving"`
	Registratiedatum string `json:"registratiedatum"`
}

// Betrokkene types of a Rol.
const (
	BetrokkeneNatuurlijkPersoon       = "natuurlijk_persoon"
	BetrokkeneNietNatuurlijkPersoon   = "niet_natuurlijk_persoon"
	BetrokkeneVestiging               = "vestiging"
	BetrokkeneOrganisatorischeEenheid = "organisatorische_eenheid"
	BetrokkeneMedewerker              = "medewerker"
)

// Rol is a Zaken API rol. BetrokkeneIdentificatie's shape depends on
// BetrokkeneType; the union of the fields Koerier reads is declared.
type Rol struct {
	URL                      string                   `json:"url"`
	UUID                     string                   `json:"uuid"`
	Zaak                     string                   `json:"zaak"`
	Betrokkene               string                   `json:"betrokkene"` // e.g. an Open Klant partij URL
	BetrokkeneType           string                   `json:"betrokkeneType"`
	AfwijkendeNaamBetrokkene string                   `json:"afwijkendeNaamBetrokkene"`
	Roltype                  string                   `json:"roltype"`
	Omschrijving             string                   `json:"omschrijving"`
	OmschrijvingGeneriek     string                   `json:"omschrijvingGeneriek"` // derived from the roltype
	Roltoelichting           string                   `json:"roltoelichting"`
	Registratiedatum         string                   `json:"registratiedatum"`
	IndicatieMachtiging      string                   `json:"indicatieMachtiging"` // "", gemachtigde, machtiginggever
	BetrokkeneIdentificatie  *BetrokkeneIdentificatie `json:"betrokkeneIdentificatie"`
}

// BetrokkeneIdentificatie is the union of NatuurlijkPersoonIdentificatie,
// NietNatuurlijkPersoonIdentificatie and VestigingIdentificatie.
type BetrokkeneIdentificatie struct {
	// natuurlijk_persoon
	InpBsn                   string `json:"inpBsn"`
	AnpIdentificatie         string `json:"anpIdentificatie"`
	Geslachtsnaam            string `json:"geslachtsnaam"`
	VoorvoegselGeslachtsnaam string `json:"voorvoegselGeslachtsnaam"`
	Voorletters              string `json:"voorletters"`
	Voornamen                string `json:"voornamen"`
	// niet_natuurlijk_persoon
	InnNnpId         string `json:"innNnpId"`
	AnnIdentificatie string `json:"annIdentificatie"`
	StatutaireNaam   string `json:"statutaireNaam"`
	// niet_natuurlijk_persoon (Open Zaak extension) and vestiging
	KvkNummer        string   `json:"kvkNummer"`
	VestigingsNummer string   `json:"vestigingsNummer"`
	Handelsnaam      []string `json:"handelsnaam"`
}

// ZaakType is a Catalogi API zaaktype.
type ZaakType struct {
	URL                         string   `json:"url"`
	Identificatie               string   `json:"identificatie"`
	Omschrijving                string   `json:"omschrijving"`
	OmschrijvingGeneriek        string   `json:"omschrijvingGeneriek"`
	Vertrouwelijkheidaanduiding string   `json:"vertrouwelijkheidaanduiding"`
	Catalogus                   string   `json:"catalogus"`
	Statustypen                 []string `json:"statustypen"`
	Resultaattypen              []string `json:"resultaattypen"`
	Besluittypen                []string `json:"besluittypen"`
}

// StatusType is a Catalogi API statustype. IsEindstatus is computed by the
// catalogue (highest volgnummer); Informeren may be absent, which decodes as
// false and means "do not inform".
type StatusType struct {
	URL                   string `json:"url"`
	Omschrijving          string `json:"omschrijving"`
	OmschrijvingGeneriek  string `json:"omschrijvingGeneriek"`
	Statustekst           string `json:"statustekst"`
	Zaaktype              string `json:"zaaktype"`
	ZaaktypeIdentificatie string `json:"zaaktypeIdentificatie"`
	Volgnummer            int    `json:"volgnummer"`
	IsEindstatus          bool   `json:"isEindstatus"`
	Informeren            bool   `json:"informeren"`
}

// ResultaatType is a Catalogi API resultaattype.
type ResultaatType struct {
	URL                       string `json:"url"`
	Zaaktype                  string `json:"zaaktype"`
	Omschrijving              string `json:"omschrijving"`
	Resultaattypeomschrijving string `json:"resultaattypeomschrijving"`
	OmschrijvingGeneriek      string `json:"omschrijvingGeneriek"`
	Toelichting               string `json:"toelichting"`
}

// BesluitType is a Catalogi API besluittype.
type BesluitType struct {
	URL                  string   `json:"url"`
	Catalogus            string   `json:"catalogus"`
	Zaaktypen            []string `json:"zaaktypen"`
	Omschrijving         string   `json:"omschrijving"`
	OmschrijvingGeneriek string   `json:"omschrijvingGeneriek"`
	Besluitcategorie     string   `json:"besluitcategorie"`
	Toelichting          string   `json:"toelichting"`
}

// Besluit is a Besluiten API besluit.
type Besluit struct {
	URL                          string `json:"url"`
	Identificatie                string `json:"identificatie"`
	VerantwoordelijkeOrganisatie string `json:"verantwoordelijkeOrganisatie"`
	Besluittype                  string `json:"besluittype"`
	Zaak                         string `json:"zaak"`
	Datum                        string `json:"datum"`
	Toelichting                  string `json:"toelichting"`
	Bestuursorgaan               string `json:"bestuursorgaan"`
	Ingangsdatum                 string `json:"ingangsdatum"`
	Vervaldatum                  string `json:"vervaldatum"`
	Verzenddatum                 string `json:"verzenddatum"`
	UiterlijkeReactiedatum       string `json:"uiterlijkeReactiedatum"`
}

// BesluitInformatieObject links a document to a besluit.
type BesluitInformatieObject struct {
	URL              string `json:"url"`
	Informatieobject string `json:"informatieobject"`
	Besluit          string `json:"besluit"`
}

// EnkelvoudigInformatieObject is a Documenten API document (metadata only).
type EnkelvoudigInformatieObject struct {
	URL                         string `json:"url"`
	Identificatie               string `json:"identificatie"`
	Bronorganisatie             string `json:"bronorganisatie"`
	Titel                       string `json:"titel"`
	Vertrouwelijkheidaanduiding string `json:"vertrouwelijkheidaanduiding"`
	Informatieobjecttype        string `json:"informatieobjecttype"`
}

// Page is a paginated list response of the ZGW APIs.
type Page[T any] struct {
	Count    int    `json:"count"`
	Next     string `json:"next"`
	Previous string `json:"previous"`
	Results  []T    `json:"results"`
}

// Object is an Objecten API v2 object. Record.Data is the objecttype's own
// JSON (a taak in one of its shapes), parsed by ParseTaak.
type Object struct {
	URL    string       `json:"url"`
	UUID   string       `json:"uuid"`
	Type   string       `json:"type"`
	Record ObjectRecord `json:"record"`
}

// ObjectRecord is one version of an object's data.
type ObjectRecord struct {
	Index          int             `json:"index"`
	TypeVersion    int             `json:"typeVersion"`
	Data           json.RawMessage `json:"data"`
	StartAt        string          `json:"startAt"`
	EndAt          string          `json:"endAt"`
	RegistrationAt string          `json:"registrationAt"`
	CorrectionFor  *int            `json:"correctionFor"`
	CorrectedBy    *int            `json:"correctedBy"`
}
