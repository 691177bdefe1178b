package openzaak

// The fake's own resource types, written from the Open Zaak OpenAPI specs
// (Zaken 1.5.1, Catalogi 1.3.1, Besluiten 1.1.0, Documenten 1.4.2)
// independently of internal/zgw, so that a wrong JSON tag in the client
// shows up as a failing test instead of agreeing with itself. URL and UUID
// are filled in by the Add methods; computed fields (zaak.status,
// zaak.resultaat, statustype.isEindstatus, zaaktype.statustypen, ...) are
// computed when served, as Open Zaak does.

// Zaak is a zaak.
type Zaak struct {
	URL                          string   `json:"url"`
	UUID                         string   `json:"uuid"`
	Identificatie                string   `json:"identificatie"`
	Bronorganisatie              string   `json:"bronorganisatie"`
	Omschrijving                 string   `json:"omschrijving"`
	Toelichting                  string   `json:"toelichting"`
	Zaaktype                     string   `json:"zaaktype"`
	Registratiedatum             string   `json:"registratiedatum"`
	VerantwoordelijkeOrganisatie string   `json:"verantwoordelijkeOrganisatie"`
	Startdatum                   string   `json:"startdatum"`
	Einddatum                    *string  `json:"einddatum"`
	Vertrouwelijkheidaanduiding  string   `json:"vertrouwelijkheidaanduiding"`
	Status                       *string  `json:"status"`
	Resultaat                    *string  `json:"resultaat"`
	Rollen                       []string `json:"rollen"`
	Deelzaken                    []string `json:"deelzaken"`
	Eigenschappen                []string `json:"eigenschappen"`
	Zaakinformatieobjecten       []string `json:"zaakinformatieobjecten"`
	Zaakobjecten                 []string `json:"zaakobjecten"`
	BetalingsindicatieWeergave   string   `json:"betalingsindicatieWeergave"`
	LaatstGemuteerd              string   `json:"laatstGemuteerd"`
}

// Status is a zaak status.
type Status struct {
	URL                          string   `json:"url"`
	UUID                         string   `json:"uuid"`
	Zaak                         string   `json:"zaak"`
	Statustype                   string   `json:"statustype"`
	DatumStatusGezet             string   `json:"datumStatusGezet"`
	Statustoelichting            string   `json:"statustoelichting"`
	IndicatieLaatstGezetteStatus bool     `json:"indicatieLaatstGezetteStatus"`
	Gezetdoor                    *string  `json:"gezetdoor"`
	Zaakinformatieobjecten       []string `json:"zaakinformatieobjecten"`
}

// Rol is a rol; BetrokkeneIdentificatie holds the fields of the
// betrokkeneType's identificatie schema, spelled as the spec spells them
// (inpBsn, geslachtsnaam, kvkNummer, innNnpId, vestigingsNummer, ...).
type Rol struct {
	URL                      string         `json:"url"`
	UUID                     string         `json:"uuid"`
	Zaak                     string         `json:"zaak"`
	Betrokkene               string         `json:"betrokkene"`
	BetrokkeneType           string         `json:"betrokkeneType"`
	AfwijkendeNaamBetrokkene string         `json:"afwijkendeNaamBetrokkene"`
	Roltype                  string         `json:"roltype"`
	Omschrijving             string         `json:"omschrijving"`
	OmschrijvingGeneriek     string         `json:"omschrijvingGeneriek"`
	Roltoelichting           string         `json:"roltoelichting"`
	Registratiedatum         string         `json:"registratiedatum"`
	IndicatieMachtiging      string         `json:"indicatieMachtiging"`
	Statussen                []string       `json:"statussen"`
	BetrokkeneIdentificatie  map[string]any `json:"betrokkeneIdentificatie"`
}

// Resultaat is a zaak resultaat.
type Resultaat struct {
	URL           string `json:"url"`
	UUID          string `json:"uuid"`
	Zaak          string `json:"zaak"`
	Resultaattype string `json:"resultaattype"`
	Toelichting   string `json:"toelichting"`
}

// ZaakInformatieObject links a document to a zaak.
type ZaakInformatieObject struct {
	URL                 string  `json:"url"`
	UUID                string  `json:"uuid"`
	Informatieobject    string  `json:"informatieobject"`
	Zaak                string  `json:"zaak"`
	AardRelatieWeergave string  `json:"aardRelatieWeergave"`
	Titel               string  `json:"titel"`
	Beschrijving        string  `json:"beschrijving"`
	Registratiedatum    string  `json:"registratiedatum"`
	Status              *string `json:"status"`
}

// ZaakType is a zaaktype.
type ZaakType struct {
	URL                         string   `json:"url"`
	UUID                        string   `json:"-"`
	Identificatie               string   `json:"identificatie"`
	Omschrijving                string   `json:"omschrijving"`
	OmschrijvingGeneriek        string   `json:"omschrijvingGeneriek"`
	Vertrouwelijkheidaanduiding string   `json:"vertrouwelijkheidaanduiding"`
	Doel                        string   `json:"doel"`
	Aanleiding                  string   `json:"aanleiding"`
	IndicatieInternOfExtern     string   `json:"indicatieInternOfExtern"`
	HandelingInitiator          string   `json:"handelingInitiator"`
	Onderwerp                   string   `json:"onderwerp"`
	HandelingBehandelaar        string   `json:"handelingBehandelaar"`
	Doorlooptijd                string   `json:"doorlooptijd"`
	Catalogus                   string   `json:"catalogus"`
	Statustypen                 []string `json:"statustypen"`
	Resultaattypen              []string `json:"resultaattypen"`
	Besluittypen                []string `json:"besluittypen"`
	Roltypen                    []string `json:"roltypen"`
	Informatieobjecttypen       []string `json:"informatieobjecttypen"`
	Eigenschappen               []string `json:"eigenschappen"`
	Zaakobjecttypen             []string `json:"zaakobjecttypen"`
	GerelateerdeZaaktypen       []any    `json:"gerelateerdeZaaktypen"`
	ProductenOfDiensten         []string `json:"productenOfDiensten"`
	BeginGeldigheid             string   `json:"beginGeldigheid"`
	Versiedatum                 string   `json:"versiedatum"`
	Concept                     bool     `json:"concept"`
}

// StatusType is a statustype. Informeren is a pointer so a seed can leave
// it absent, as older catalogues do.
type StatusType struct {
	URL                   string `json:"url"`
	UUID                  string `json:"-"`
	Omschrijving          string `json:"omschrijving"`
	OmschrijvingGeneriek  string `json:"omschrijvingGeneriek"`
	Statustekst           string `json:"statustekst"`
	Zaaktype              string `json:"zaaktype"`
	ZaaktypeIdentificatie string `json:"zaaktypeIdentificatie"`
	Catalogus             string `json:"catalogus"`
	Volgnummer            int    `json:"volgnummer"`
	IsEindstatus          bool   `json:"isEindstatus"`
	Informeren            *bool  `json:"informeren,omitempty"`
	Zaakobjecttype        string `json:"zaakobjecttype"`
}

// ResultaatType is a resultaattype.
type ResultaatType struct {
	URL                       string `json:"url"`
	UUID                      string `json:"-"`
	Zaaktype                  string `json:"zaaktype"`
	ZaaktypeIdentificatie     string `json:"zaaktypeIdentificatie"`
	Omschrijving              string `json:"omschrijving"`
	Resultaattypeomschrijving string `json:"resultaattypeomschrijving"`
	OmschrijvingGeneriek      string `json:"omschrijvingGeneriek"`
	Selectielijstklasse       string `json:"selectielijstklasse"`
	Toelichting               string `json:"toelichting"`
}

// BesluitType is a besluittype.
type BesluitType struct {
	URL                   string   `json:"url"`
	UUID                  string   `json:"-"`
	Catalogus             string   `json:"catalogus"`
	Zaaktypen             []string `json:"zaaktypen"`
	Omschrijving          string   `json:"omschrijving"`
	OmschrijvingGeneriek  string   `json:"omschrijvingGeneriek"`
	Besluitcategorie      string   `json:"besluitcategorie"`
	PublicatieIndicatie   bool     `json:"publicatieIndicatie"`
	Toelichting           string   `json:"toelichting"`
	Informatieobjecttypen []string `json:"informatieobjecttypen"`
	BeginGeldigheid       string   `json:"beginGeldigheid"`
	Concept               bool     `json:"concept"`
	Resultaattypen        []string `json:"resultaattypen"`
}

// Besluit is a besluit.
type Besluit struct {
	URL                          string  `json:"url"`
	UUID                         string  `json:"-"`
	Identificatie                string  `json:"identificatie"`
	VerantwoordelijkeOrganisatie string  `json:"verantwoordelijkeOrganisatie"`
	Besluittype                  string  `json:"besluittype"`
	Zaak                         string  `json:"zaak"`
	Datum                        string  `json:"datum"`
	Toelichting                  string  `json:"toelichting"`
	Bestuursorgaan               string  `json:"bestuursorgaan"`
	Ingangsdatum                 string  `json:"ingangsdatum"`
	Vervaldatum                  *string `json:"vervaldatum"`
	VervalredenWeergave          string  `json:"vervalredenWeergave"`
	Verzenddatum                 *string `json:"verzenddatum"`
}

// BesluitInformatieObject links a document to a besluit.
type BesluitInformatieObject struct {
	URL              string `json:"url"`
	UUID             string `json:"-"`
	Informatieobject string `json:"informatieobject"`
	Besluit          string `json:"besluit"`
}

// EnkelvoudigInformatieObject is a document's metadata.
type EnkelvoudigInformatieObject struct {
	URL                         string `json:"url"`
	UUID                        string `json:"-"`
	Identificatie               string `json:"identificatie"`
	Bronorganisatie             string `json:"bronorganisatie"`
	Creatiedatum                string `json:"creatiedatum"`
	Titel                       string `json:"titel"`
	Vertrouwelijkheidaanduiding string `json:"vertrouwelijkheidaanduiding"`
	Auteur                      string `json:"auteur"`
	Taal                        string `json:"taal"`
	Informatieobjecttype        string `json:"informatieobjecttype"`
	Formaat                     string `json:"formaat"`
	Bestandsnaam                string `json:"bestandsnaam"`
	Bestandsomvang              *int64 `json:"bestandsomvang"`
	// Inhoud is the download URL; the fake fills it when Content is set.
	Inhoud string `json:"inhoud"`
	// Content is what GET .../{uuid}/download serves.
	Content []byte `json:"-"`
}
