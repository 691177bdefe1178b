package bench

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// Seed adds n distinct synthetic inwoners to the sandbox: each has a zaak
// of the demo zaaktype with an initiator rol (natuurlijk persoon, BSN) and
// its first status (statustype "Aanvraag ontvangen", informeren), and an
// Open Klant partij with one preferred email address. It returns the body
// of the status notification Open Notificaties would post for each.
//
// The first status yields zaak.aangemaakt, which the example rules send as
// zaak-ontvangen by email without a group window (a later status would
// wait out statuswijziging's 2-minute group_window) and without quiet hours
// (those hold SMS only).
func Seed(sb *sandbox.Sandbox, n int, at time.Time) [][]byte {
	oz, ok, d := sb.OpenZaak, sb.OpenKlant, sb.Demo
	stamp := at.UTC().Format(time.RFC3339)
	out := make([][]byte, 0, n)
	for i, bsn := range BSNs(n) {
		z := oz.AddZaak(openzaak.Zaak{UUID: benchUUID(1, i), Identificatie: fmt.Sprintf("ZAAK-BENCH-%07d", i),
			Bronorganisatie: "002220647", VerantwoordelijkeOrganisatie: "002220647", Omschrijving: "Parkeervergunning (bench)",
			Zaaktype: d.Zaaktype.URL, Registratiedatum: "2025-03-20", Startdatum: "2025-03-20"})
		oz.AddRol(openzaak.Rol{Zaak: z.URL, BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator",
			Registratiedatum: "2025-03-20T09:00:00Z", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon(bsn, "Inwoner", fmt.Sprintf("Bench%d", i))})
		st := oz.AddStatus(openzaak.Status{UUID: benchUUID(2, i), Zaak: z.URL, Statustype: d.Statustypen[0].URL, DatumStatusGezet: stamp})
		ok.AddPersoon(openklant.Persoon{BSN: bsn, Voornaam: "Inwoner", Achternaam: fmt.Sprintf("Bench%d", i), Taal: "nld",
			Adressen: []openklant.Adres{{Soort: "email", Adres: fmt.Sprintf("inwoner%d@bench.example", i), Standaard: true, Voorkeur: true}}})
		body, _ := json.Marshal(event.Notification{Kanaal: "zaken", HoofdObject: z.URL, Resource: "status", ResourceURL: st.URL,
			Actie: "create", Aanmaakdatum: at.UTC(), Kenmerken: map[string]string{"bronorganisatie": z.Bronorganisatie,
				"zaaktype": z.Zaaktype, "vertrouwelijkheidaanduiding": z.Vertrouwelijkheidaanduiding}})
		out = append(out, body)
	}
	return out
}

// benchUUID is a deterministic, recognisable uuid for object kind k, number i.
func benchUUID(k, i int) string {
	return fmt.Sprintf("be4c0000-%04x-4000-8000-%012x", k, i)
}
