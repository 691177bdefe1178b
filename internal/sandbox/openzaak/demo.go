package openzaak

import (
	"fmt"
	"time"
)

// Synthetic demo parties: elfproef-valid test BSNs and a made-up KVK number.
const (
	DemoBSNJansen   = "999993653"
	DemoBSNDeVries  = "999990627"
	DemoKVKBakkerij = "69599084"
)

// Demo holds what SeedDemo created. The uuids of the zaaktype, the first
// zaak, its first status and the besluit match the example notifications
// in docs and testdata, so those can be posted against the demo as they
// are.
type Demo struct {
	Zaaktype ZaakType
	// Statustypen by volgnummer-1: 1 aangemaakt (informeren), 2 in
	// behandeling (informeren), 3 intern (informeren false), 4 afgehandeld
	// (eindstatus, informeren).
	Statustypen   [4]StatusType
	Resultaattype ResultaatType
	Besluittype   BesluitType
	// ZaakInwoner has initiator BSN 999993653 and a gemachtigde BSN
	// 999990627; ZaakBedrijf has a niet_natuurlijk_persoon initiator with
	// KVK 69599084.
	ZaakInwoner Zaak
	ZaakBedrijf Zaak
	Besluit     Besluit
	BesluitIO   BesluitInformatieObject
	// BesluitDocument is the besluit's PDF (its /download serves it).
	BesluitDocument EnkelvoudigInformatieObject
}

// Example uuids (from the example notifications).
const (
	ExampleZaaktypeUUID    = "75d62343-0841-4e8e-87f0-37e2e8efc547"
	ExampleZaakUUID        = "6b41d4c4-ef64-453c-b705-606334e79d8a"
	ExampleStatusUUID      = "0c5f8e2d-3b7a-4c1e-9f2a-8d6b4e1a7c33"
	ExampleEindstatusUUID  = "9a2d4f6b-8c1e-4b3a-b5d7-0e2f4a6c8e19"
	ExampleResultaatUUID   = "5e0b7c1a-6d2f-4f8e-a3b9-1c7d2e4f6a80"
	ExampleBesluitUUID     = "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a"
	ExampleBesluittypeUUID = "7b1e2c3d-4f5a-4b6c-9d7e-8f9a0b1c2d3e"
	ExampleBesluitIOUUID   = "c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f"
	// ExampleBesluitDocumentUUID is the enkelvoudiginformatieobject the
	// besluitinformatieobject of the examples points at.
	ExampleBesluitDocumentUUID = "8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5f60"
)

// DemoPDF is a one-page PDF showing text (ASCII), small enough to attach.
func DemoPDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 14 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	out := "%PDF-1.4\n"
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = len(out)
		out += fmt.Sprintf("%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := len(out)
	out += fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		out += fmt.Sprintf("%010d 00000 n \n", off)
	}
	out += fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(out)
}

// SeedDemo fills s with a small, realistic catalogue and two zaken, each
// with its first status set. Set the base URL first.
func SeedDemo(s *Server) Demo {
	var d Demo
	d.Zaaktype = s.AddZaakType(ZaakType{
		UUID: ExampleZaaktypeUUID, Identificatie: "ZT-PARKEERVERGUNNING", Omschrijving: "Parkeervergunning aanvragen",
		Doel: "Parkeervergunning verlenen", Aanleiding: "Aanvraag", IndicatieInternOfExtern: "extern",
		HandelingInitiator: "aanvragen", Onderwerp: "Parkeervergunning", HandelingBehandelaar: "behandelen", Doorlooptijd: "P8W",
	})
	names := []struct {
		oms        string
		informeren bool
	}{{"Aanvraag ontvangen", true}, {"In behandeling", true}, {"Intern advies", false}, {"Afgehandeld", true}}
	for i, n := range names {
		d.Statustypen[i] = s.AddStatusType(StatusType{
			Omschrijving: n.oms, Statustekst: n.oms, Zaaktype: d.Zaaktype.URL, ZaaktypeIdentificatie: d.Zaaktype.Identificatie,
			Catalogus: d.Zaaktype.Catalogus, Volgnummer: i + 1, Informeren: Bool(n.informeren),
		})
	}
	d.Resultaattype = s.AddResultaatType(ResultaatType{
		Zaaktype: d.Zaaktype.URL, ZaaktypeIdentificatie: d.Zaaktype.Identificatie, Omschrijving: "Verleend",
		Resultaattypeomschrijving: "https://selectielijst.openzaak.nl/api/v1/resultaattypeomschrijvingen/fb65d251-1518-4185-865f-b8bdcfad07b1",
		OmschrijvingGeneriek:      "Verleend", Selectielijstklasse: "https://selectielijst.openzaak.nl/api/v1/resultaten/afd8e2e7-2d40-4a5f-9f43-9a8b2d7b8c3f",
	})
	d.Besluittype = s.AddBesluitType(BesluitType{
		UUID: ExampleBesluittypeUUID, Catalogus: d.Zaaktype.Catalogus, Zaaktypen: []string{d.Zaaktype.URL},
		Omschrijving: "Besluit parkeervergunning", Besluitcategorie: "besluit", Informatieobjecttypen: []string{}, Resultaattypen: []string{}, BeginGeldigheid: "2024-01-01",
	})
	d.ZaakInwoner = s.AddZaak(Zaak{
		UUID: ExampleZaakUUID, Identificatie: "ZAAK-2025-0000123", Bronorganisatie: "002220647", VerantwoordelijkeOrganisatie: "002220647",
		Omschrijving: "Parkeervergunning Kerkstraat", Zaaktype: d.Zaaktype.URL, Registratiedatum: "2025-03-14", Startdatum: "2025-03-14",
	})
	s.AddRol(Rol{Zaak: d.ZaakInwoner.URL, BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator", Registratiedatum: "2025-03-14T09:12:31Z",
		BetrokkeneIdentificatie: NatuurlijkPersoon(DemoBSNJansen, "Jan", "Jansen")})
	s.AddRol(Rol{Zaak: d.ZaakInwoner.URL, BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "belanghebbende", IndicatieMachtiging: "gemachtigde", Registratiedatum: "2025-03-14T09:12:31Z",
		BetrokkeneIdentificatie: NatuurlijkPersoon(DemoBSNDeVries, "Anna", "de Vries")})
	s.AddStatus(Status{UUID: ExampleStatusUUID, Zaak: d.ZaakInwoner.URL, Statustype: d.Statustypen[0].URL, DatumStatusGezet: "2025-03-15T10:01:07Z"})

	d.ZaakBedrijf = s.AddZaak(Zaak{
		Identificatie: "ZAAK-2025-0000124", Bronorganisatie: "002220647", VerantwoordelijkeOrganisatie: "002220647",
		Omschrijving: "Parkeervergunning bedrijf", Zaaktype: d.Zaaktype.URL, Registratiedatum: "2025-03-14", Startdatum: "2025-03-14",
	})
	s.AddRol(Rol{Zaak: d.ZaakBedrijf.URL, BetrokkeneType: "niet_natuurlijk_persoon", OmschrijvingGeneriek: "initiator", Registratiedatum: "2025-03-14T09:20:00Z",
		BetrokkeneIdentificatie: NietNatuurlijkPersoon(DemoKVKBakkerij, "", "Bakkerij De Korenschoof B.V.")})
	s.AddStatus(Status{Zaak: d.ZaakBedrijf.URL, Statustype: d.Statustypen[0].URL, DatumStatusGezet: "2025-03-15T10:05:00Z"})

	d.Besluit = s.AddBesluit(Besluit{
		UUID: ExampleBesluitUUID, Identificatie: "BESLUIT-2025-0042", VerantwoordelijkeOrganisatie: "002220647",
		Besluittype: d.Besluittype.URL, Zaak: d.ZaakInwoner.URL, Datum: "2025-04-01", Ingangsdatum: "2025-04-01",
		Toelichting: "Parkeervergunning verleend",
	})
	d.BesluitDocument = s.AddEnkelvoudigInformatieObject(EnkelvoudigInformatieObject{
		UUID: ExampleBesluitDocumentUUID, Identificatie: "DOC-2025-0042", Bronorganisatie: "002220647", Creatiedatum: "2025-04-01",
		Titel: "Besluit parkeervergunning", Vertrouwelijkheidaanduiding: "openbaar", Auteur: "Team Parkeren", Taal: "nld",
		Bestandsnaam: "besluit-parkeervergunning.pdf", Content: DemoPDF("Besluit parkeervergunning BESLUIT-2025-0042"),
	})
	d.BesluitIO = s.AddBesluitInformatieObject(BesluitInformatieObject{
		UUID: ExampleBesluitIOUUID, Besluit: d.Besluit.URL, Informatieobject: d.BesluitDocument.URL,
	})
	return d
}

// SetStatus adds a status of the given statustype to a zaak, as a
// behandelaar would, and returns it; the caller posts the notification.
func (s *Server) SetStatus(zaakURL string, st StatusType, at time.Time) Status {
	return s.AddStatus(Status{Zaak: zaakURL, Statustype: st.URL, DatumStatusGezet: at.UTC().Format(time.RFC3339)})
}

// CloseZaak sets the eindstatus and a resultaat on a zaak, as
// zaak_afsluiten does, and returns both.
func (s *Server) CloseZaak(zaakURL string, eind StatusType, rt ResultaatType, at time.Time) (Status, Resultaat) {
	r := s.AddResultaat(Resultaat{Zaak: zaakURL, Resultaattype: rt.URL, Toelichting: fmt.Sprintf("Afgesloten op %s", at.Format("2006-01-02"))})
	return s.SetStatus(zaakURL, eind, at), r
}
