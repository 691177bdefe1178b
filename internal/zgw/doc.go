// Package zgw owns Koerier's side of the ZGW landscape: typed clients for
// the Zaken, Catalogi, Besluiten, Documenten and Objecten APIs (ZGW JWT or
// Objecten token, an allow-list of API roots against SSRF, Accept-Crs), and
// the Enricher, which turns an inbound notification into typed events with
// their subjects, or into a recorded skip.
//
// It must not know about the bus, the rules or the channels: the router
// calls Enricher.Enrich and acts on the Result or the error class (see
// errors.go).
//
// # Event types
//
// Every event carries id, type, occurredAt (the notification's
// aanmaakdatum), inboundId, source and subjects. Subjects have a role
// (initiator, mede_initiator, gemachtigde, taak), a kind (inwoner, bedrijf)
// and one or more of bsn, kvk, vestigingsnummer, rsin, partijUrl (an Open
// Klant partij named in rol.betrokkene), plus the name the rol gives.
// Event ids are deterministic, so a redelivered notification yields the
// same id and the router's dedup on event id collapses it.
//
//	zaak.aangemaakt        status create whose statustype is the zaaktype's first
//	                       (volgnummer 1 or the lowest). The zaak create notification
//	                       itself is skipped: the zaak's rollen do not exist yet then.
//	                       Carries zaak, zaaktype, status, statustype. Id: type + zaak URL.
//	zaak.status_gewijzigd  any other status create that is not the eindstatus.
//	                       Carries zaak, zaaktype, status, statustype. Id: type + status URL.
//	zaak.afgesloten        status create whose statustype isEindstatus. Carries zaak
//	                       (einddatum), zaaktype, status, statustype and resultaat
//	                       (resultaattype omschrijving, toelichting) when the zaak has one.
//	                       Id: type + eindstatus URL. zaak_afsluiten's three notifications
//	                       (zaak partial_update, status, resultaat; any order) give one
//	                       event: the other two are recorded skips. A zaak reopened and
//	                       closed again has a new eindstatus, so it is announced again.
//	besluit.genomen        besluit create, or besluitinformatieobject create
//	                       (Config.BesluitTrigger). Carries besluit (identificatie, datum,
//	                       ingangsdatum, toelichting, besluittype URL and omschrijving),
//	                       zaak, zaaktype. Id: type + besluit URL.
//	document.toegevoegd    zaakinformatieobject create, when Config.Documenten. Carries
//	                       document (URL, titel), zaak, zaaktype. Id: type + zio URL.
//	taak.toegewezen        objecten create/update of a taak objecttype
//	                       (Config.TaakObjecttypen) first seen open, or reopened.
//	taak.gewijzigd         an open taak whose titel, soort, verloopdatum, zaak or
//	                       formulier changed since Koerier last saw it.
//	taak.afgerond          a taak that went from open to afgerond, verwerkt or gesloten.
//	taak.herinnering       a reminder timer came due (Config.HerinneringDagen before the
//	                       verloopdatum) and the taak is still open with the same
//	                       verloopdatum; taak.herinnering holds the days before.
//	                       The taak events carry taak (URL, titel, status, soort,
//	                       verloopdatum, zaak, formulier) and, when the taak's zaak is on
//	                       the allow-list, zaak and zaaktype; the subject is the taak's
//	                       identificatie (bsn → inwoner, kvk → bedrijf) with role taak.
//	<external type>        an event from POST /api/v1/events or a CloudEvent: the
//	                       sender's type, subject and personalisation; zaak and zaaktype
//	                       when the sender referenced a zaak by URL or identificatie.
//
// Statuses whose statustype has informeren false (or absent) are skipped
// with reason statustype-informeren-uit, before any rol is fetched.
//
// # Skip reasons
//
// Result.Skipped is one of the Reason constants: the ledger records it with
// Result.Detail. A notification for a URL off the allow-list is skipped as
// url-niet-toegestaan; a resource that is gone (404/410) as
// resource-niet-gevonden.
//
// # The rol race and other errors
//
// Open Zaak creates a zaak and its first status before the initiator rol
// exists. Enrich then returns failure.Later with reason
// "initiator-rol-ontbreekt" and the delay from Config.RolBackoff[in.Attempt];
// the router's re-queue middleware re-publishes the inbound with that delay
// and its attempt counter (router.MetaAttempt, which the enrich stage hands
// over as in.Attempt) plus one, and acks the original.
// After the last delay it returns failure.DeadLetter with that reason.
// 401/403 is failure.Config (dead letter), 5xx/429/timeouts are
// failure.Temporary (see errors.go).
//
// # Taak state and reminders
//
// An Objecten update does not say what changed, so the last seen state of
// each taak (status, verloopdatum, a hash of the relevant fields, the
// inbound id that produced it; never the BSN) is kept in Config.Cache
// under "zgw:taak:<object URL>"; with Config.Claims set, one replica at
// a time handles a given taak (the others get failure.Later). Result.Timers lists reminder messages
// (Source scheduler, DueAt, Timer) for an open taak with a verloopdatum;
// the router publishes them with a bus delay and feeds them back to Enrich
// when due. Timer ids are deterministic, so re-listing them is harmless.
package zgw
