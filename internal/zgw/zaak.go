package zgw

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
)

// statusCreated handles kanaal zaken, resource status, actie create: the
// trigger for zaak.aangemaakt (first status), zaak.status_gewijzigd and
// zaak.afgesloten (eindstatus).
func (e *Enricher) statusCreated(ctx context.Context, in event.Inbound) (Result, error) {
	n := in.Notification
	var st Status
	if err := e.client.Get(ctx, n.ResourceURL, nil, &st); err != nil {
		return Result{}, fmt.Errorf("zgw: get status: %w", err)
	}
	var stt StatusType
	if err := e.getCatalogus(ctx, st.Statustype, &stt); err != nil {
		return Result{}, fmt.Errorf("zgw: get statustype: %w", err)
	}
	if !stt.Informeren {
		return Result{Skipped: ReasonInformerenUit, Detail: fmt.Sprintf("statustype %q (volgnummer %d) has informeren false or absent", stt.Omschrijving, stt.Volgnummer)}, nil
	}
	zaak, zt, err := e.zaakEnZaaktype(ctx, st.Zaak)
	if err != nil {
		return Result{}, err
	}
	typ := event.TypeZaakStatusGewijzigd
	id := ""
	switch {
	case stt.IsEindstatus:
		typ = event.TypeZaakAfgesloten
		// zaak_afsluiten sends zaak, status and resultaat notifications with
		// one aanmaakdatum in any order; only the eindstatus makes an event,
		// so its id derives from the eindstatus: a redelivered notification
		// collapses, while a zaak that is reopened and closed again (a new
		// eindstatus) is announced again.
		id = eventID(typ, st.URL)
	default:
		first, err := e.isFirstStatustype(ctx, zt, stt)
		if err != nil {
			return Result{}, err
		}
		if first {
			typ = event.TypeZaakAangemaakt
			id = eventID(typ, zaak.URL)
		}
	}
	if id == "" {
		id = eventID(typ, st.URL)
	}
	subjects, skip, err := e.subjects(ctx, in, zaak.URL)
	if err != nil || skip != nil {
		if skip != nil {
			return *skip, nil
		}
		return Result{}, err
	}
	ev := event.Event{
		ID:         id,
		Type:       typ,
		OccurredAt: occurredAt(in, e.cfg.Now()),
		InboundID:  in.ID,
		Source:     in.Source,
		Zaak:       zaakEvent(zaak),
		Zaaktype:   &event.Zaaktype{URL: zt.URL, Identificatie: zt.Identificatie, Omschrijving: zt.Omschrijving},
		Status:     &event.Status{URL: st.URL, DatumStatusGezet: st.DatumStatusGezet, Statustoelichting: st.Statustoelichting},
		Statustype: &event.Statustype{URL: stt.URL, Omschrijving: stt.Omschrijving, Volgnummer: stt.Volgnummer, IsEindstatus: stt.IsEindstatus, Informeren: stt.Informeren},
		Subjects:   subjects,
	}
	if stt.IsEindstatus {
		r, err := e.resultaat(ctx, zaak)
		if err != nil {
			return Result{}, err
		}
		ev.Resultaat = r
	}
	return Result{Events: []event.Event{ev}}, nil
}

func zaakEvent(z Zaak) *event.Zaak {
	return &event.Zaak{
		URL:                         z.URL,
		Identificatie:               z.Identificatie,
		Omschrijving:                z.Omschrijving,
		Vertrouwelijkheidaanduiding: z.Vertrouwelijkheidaanduiding,
		Registratiedatum:            z.Registratiedatum,
		Einddatum:                   z.Einddatum,
		Bronorganisatie:             z.Bronorganisatie,
	}
}

func (e *Enricher) zaakEnZaaktype(ctx context.Context, zaakURL string) (Zaak, ZaakType, error) {
	var z Zaak
	if err := e.client.Get(ctx, zaakURL, nil, &z); err != nil {
		return Zaak{}, ZaakType{}, fmt.Errorf("zgw: get zaak: %w", err)
	}
	var zt ZaakType
	if err := e.getCatalogus(ctx, z.Zaaktype, &zt); err != nil {
		return Zaak{}, ZaakType{}, fmt.Errorf("zgw: get zaaktype: %w", err)
	}
	return z, zt, nil
}

// isFirstStatustype reports whether stt is the zaaktype's first status:
// volgnummer 1, or the lowest volgnummer among the zaaktype's statustypen
// (catalogues that start counting elsewhere exist).
func (e *Enricher) isFirstStatustype(ctx context.Context, zt ZaakType, stt StatusType) (bool, error) {
	if stt.Volgnummer == 1 {
		return true, nil
	}
	lowest := stt.Volgnummer
	for _, u := range zt.Statustypen {
		if u == stt.URL {
			continue
		}
		var o StatusType
		if err := e.getCatalogus(ctx, u, &o); err != nil {
			return false, fmt.Errorf("zgw: get statustype of zaaktype: %w", err)
		}
		if o.Volgnummer < lowest {
			lowest = o.Volgnummer
		}
	}
	return lowest == stt.Volgnummer, nil
}

// resultaat returns the zaak's resultaat with its resultaattype
// omschrijving, or nil when the zaak has none (yet).
func (e *Enricher) resultaat(ctx context.Context, z Zaak) (*event.Resultaat, error) {
	ru := z.Resultaat
	if ru == "" {
		// zaak.resultaat may lag behind in some versions: ask the list.
		rs, err := List[Resultaat](ctx, e.client, zakenRoot(z.URL)+"/resultaten", url.Values{"zaak": {z.URL}})
		if err != nil {
			return nil, fmt.Errorf("zgw: list resultaten: %w", err)
		}
		if len(rs) == 0 {
			return nil, nil
		}
		ru = rs[0].URL
	}
	var r Resultaat
	if err := e.client.Get(ctx, ru, nil, &r); err != nil {
		return nil, fmt.Errorf("zgw: get resultaat: %w", err)
	}
	var rt ResultaatType
	if err := e.getCatalogus(ctx, r.Resultaattype, &rt); err != nil {
		return nil, fmt.Errorf("zgw: get resultaattype: %w", err)
	}
	return &event.Resultaat{URL: r.URL, Omschrijving: rt.Omschrijving, Toelichting: r.Toelichting}, nil
}

// zakenRoot derives the Zaken API root from a zaak URL
// (…/zaken/api/v1/zaken/{uuid} → …/zaken/api/v1).
func zakenRoot(resourceURL string) string {
	s := strings.TrimSuffix(resourceURL, "/")
	for range 2 {
		if i := strings.LastIndexByte(s, '/'); i > 0 {
			s = s[:i]
		}
	}
	return s
}

// subjects turns the zaak's rollen into subjects: every initiator, and as
// separate subjects with their Role, every mede_initiator and gemachtigde.
// No initiator yet is the ZGW race (the zaak and its first status are
// created before the rol): a failure.Later while the backoff list lasts,
// then a failure.DeadLetter. Rollen without any identifier are dropped; when nothing is
// left the result is a skip.
func (e *Enricher) subjects(ctx context.Context, in event.Inbound, zaakURL string) ([]event.Subject, *Result, error) {
	rollen, err := List[Rol](ctx, e.client, zakenRoot(zaakURL)+"/rollen", url.Values{"zaak": {zaakURL}})
	if err != nil {
		return nil, nil, fmt.Errorf("zgw: list rollen: %w", err)
	}
	var subjects []event.Subject
	initiators, zonderID := 0, 0
	for _, r := range rollen {
		role := ""
		switch {
		case r.IndicatieMachtiging == "gemachtigde":
			role = event.RoleGemachtigde
		case r.OmschrijvingGeneriek == "initiator":
			role = event.RoleInitiator
		case r.OmschrijvingGeneriek == "mede_initiator":
			role = event.RoleMedeInitiator
		default:
			continue
		}
		if role == event.RoleInitiator {
			initiators++
		}
		s, ok := SubjectFromRol(r)
		if !ok {
			zonderID++
			continue
		}
		s.Role = role
		// Open Zaak does not stop a rol being registered twice; one
		// message per person and role is enough.
		if !slices.Contains(subjects, s) {
			subjects = append(subjects, s)
		}
	}
	if initiators == 0 {
		if in.Attempt < len(e.cfg.RolBackoff) {
			return nil, nil, failure.Later(ReasonRolOntbreekt, e.cfg.RolBackoff[in.Attempt], fmt.Errorf("zgw: zaak %s has no initiator rol yet (attempt %d)", zaakURL, in.Attempt+1))
		}
		return nil, nil, failure.DeadLetter(ReasonRolOntbreekt, fmt.Errorf("zgw: zaak %s has no initiator rol after %d attempts", zaakURL, in.Attempt+1))
	}
	if len(subjects) == 0 {
		return nil, &Result{Skipped: ReasonRolZonderIdentificatie, Detail: fmt.Sprintf("zaak %s: %d rollen without bsn, kvk, rsin, vestigingsnummer or partij", zaakURL, zonderID)}, nil
	}
	return subjects, nil, nil
}

// SubjectFromRol maps a rol's betrokkene onto a Subject: natuurlijk_persoon
// → inwoner (BSN), niet_natuurlijk_persoon → bedrijf (KVK or RSIN),
// vestiging → bedrijf (KVK and vestigingsnummer). A betrokkene URL (an Open
// Klant partij) is kept for the recipient stage. ok is false when the rol
// identifies nobody Koerier can reach (or is a medewerker or
// organisatorische eenheid).
func SubjectFromRol(r Rol) (event.Subject, bool) {
	id := r.BetrokkeneIdentificatie
	if id == nil {
		id = &BetrokkeneIdentificatie{}
	}
	s := event.Subject{PartijURL: r.Betrokkene}
	switch r.BetrokkeneType {
	case BetrokkeneNatuurlijkPersoon:
		s.Kind = event.KindInwoner
		s.BSN = strings.TrimSpace(id.InpBsn)
		s.Name = joinName(id.Voornamen, id.VoorvoegselGeslachtsnaam, id.Geslachtsnaam)
		if s.Name == "" {
			s.Name = joinName(id.Voorletters, id.VoorvoegselGeslachtsnaam, id.Geslachtsnaam)
		}
	case BetrokkeneNietNatuurlijkPersoon:
		s.Kind = event.KindBedrijf
		s.KVK = strings.TrimSpace(id.KvkNummer)
		s.Vestigingsnummer = strings.TrimSpace(id.VestigingsNummer)
		s.RSIN = strings.TrimSpace(id.InnNnpId)
		s.Name = id.StatutaireNaam
	case BetrokkeneVestiging:
		s.Kind = event.KindBedrijf
		s.KVK = strings.TrimSpace(id.KvkNummer)
		s.Vestigingsnummer = strings.TrimSpace(id.VestigingsNummer)
		if len(id.Handelsnaam) > 0 {
			s.Name = id.Handelsnaam[0]
		}
	default:
		return event.Subject{}, false
	}
	if r.AfwijkendeNaamBetrokkene != "" {
		s.Name = r.AfwijkendeNaamBetrokkene
	}
	if s.BSN == "" && s.KVK == "" && s.RSIN == "" && s.Vestigingsnummer == "" && s.PartijURL == "" {
		return event.Subject{}, false
	}
	return s, true
}

func joinName(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}
