package omc

import (
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
)

// PersonalisationKeys are the placeholder names the OMC fills in its Notify
// requests ("OMC - Documentation.md" 5.2.x.4 "Template placeholders", and the
// scenarios' GetEmailPersonalization). Every key is always present, because
// Notify refuses a message whose template names a placeholder the request
// lacks, and one template may serve several scenarios.
var PersonalisationKeys = []string{
	"klant.voornaam", "klant.voorvoegselAchternaam", "klant.achternaam",
	"zaak.identificatie", "zaak.omschrijving", "zaak.registratiedatum",
	"zaaktype.omschrijving", "zaaktype.omschrijvingGeneriek",
	"status.omschrijving",
	"taak.verloopdatum", "taak.heeft_verloopdatum", "taak.record.data.title",
	"besluit.identificatie", "besluit.datum", "besluit.toelichting", "besluit.bestuursorgaan",
	"besluit.ingangsdatum", "besluit.vervaldatum", "besluit.vervalreden", "besluit.publicatiedatum",
	"besluit.verzenddatum", "besluit.uiterlijkereactiedatum",
	"besluittype.omschrijving", "besluittype.omschrijvingGeneriek", "besluittype.besluitcategorie",
	"besluittype.publicatieindicatie", "besluittype.publicatietekst", "besluittype.toelichting",
	"message.onderwerp", "message.handelingsperspectief",
}

// Personalisation gives the OMC's placeholders for one event and recipient,
// so that a gemeente's existing Notify templates keep working. Dates are
// written as the OMC writes them (dd-MM-yyyy, Europe/Amsterdam).
//
// Known differences: Koerier knows the recipient's name whole, so
// klant.voornaam holds the full name and klant.voorvoegselAchternaam and
// klant.achternaam are empty ("Beste ((klant.voornaam))
// ((klant.voorvoegselAchternaam)) ((klant.achternaam))" still reads right);
// fields Koerier does not fetch (besluit.vervaldatum, besluittype.*, …)
// are empty. message.* come from an external bericht.ontvangen event's own
// personalisation.
func Personalisation(ev *event.Event, rcp event.Recipient) map[string]string {
	p := make(map[string]string, len(PersonalisationKeys))
	for _, k := range PersonalisationKeys {
		p[k] = ""
	}
	p["klant.voornaam"] = rcp.Name
	if z := ev.Zaak; z != nil {
		p["zaak.identificatie"], p["zaak.omschrijving"] = z.Identificatie, z.Omschrijving
		p["zaak.registratiedatum"] = dutchDate(z.Registratiedatum)
	}
	if zt := ev.Zaaktype; zt != nil {
		p["zaaktype.omschrijving"] = zt.Omschrijving
	}
	if st := ev.Statustype; st != nil {
		p["status.omschrijving"] = st.Omschrijving
	}
	if t := ev.Taak; t != nil {
		p["taak.record.data.title"] = t.Titel
		// As the OMC: "-" and "no" when the taak has no verloopdatum.
		p["taak.verloopdatum"], p["taak.heeft_verloopdatum"] = "-", "no"
		if !t.Verloopdatum.IsZero() {
			p["taak.verloopdatum"], p["taak.heeft_verloopdatum"] = t.Verloopdatum.In(clock.Amsterdam).Format("02-01-2006"), "yes"
		}
	}
	if b := ev.Besluit; b != nil {
		p["besluit.identificatie"], p["besluit.toelichting"] = b.Identificatie, b.Toelichting
		p["besluit.datum"], p["besluit.ingangsdatum"] = dutchDate(b.Datum), dutchDate(b.Ingangsdatum)
		p["besluittype.omschrijving"] = b.BesluittypeOmschrijving
	}
	for _, k := range []string{"message.onderwerp", "message.handelingsperspectief"} {
		p[k] = ev.Personalisation[k]
	}
	return p
}

// dutchDate writes a ZGW date (2025-03-15) as the OMC does (15-03-2025);
// anything else is passed on unchanged.
func dutchDate(s string) string {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Format("02-01-2006")
	}
	return s
}
