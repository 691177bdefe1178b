package zgw

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/mijnservices/koerier/internal/event"
)

// external enriches an event from a non-ZGW system (POST /api/v1/events or
// a CloudEvent): the type and subject are the sender's; a zaak reference,
// when given, fills Zaak and Zaaktype. A zaak URL must be on the
// allow-list and exist; a zaak identificatie is looked up in the first
// Zaken API and left out when unknown (the sender is authoritative for its
// own events).
func (e *Enricher) external(ctx context.Context, in event.Inbound) (Result, error) {
	x := in.External
	if x.Type == "" {
		return Result{Skipped: ReasonNietOndersteund, Detail: "external event without a type"}, nil
	}
	s := x.Subject
	if s.BSN == "" && s.KVK == "" && s.RSIN == "" && s.Vestigingsnummer == "" && s.PartijURL == "" {
		return Result{Skipped: ReasonSubjectZonderIdentificatie, Detail: "external event subject has no bsn, kvk, rsin, vestigingsnummer or partij"}, nil
	}
	if s.Kind == "" {
		s.Kind = event.KindBedrijf
		if s.BSN != "" {
			s.Kind = event.KindInwoner
		}
	}
	if s.Role == "" {
		s.Role = event.RoleInitiator
	}
	ev := event.Event{
		ID:              eventID("external", x.Type, in.ID),
		Type:            x.Type,
		OccurredAt:      occurredAt(in, e.cfg.Now()),
		InboundID:       in.ID,
		Source:          in.Source,
		Subjects:        []event.Subject{s},
		Personalisation: x.Personalisation,
	}
	detail := ""
	switch ref := strings.TrimSpace(x.Zaak); {
	case ref == "":
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		zaak, zt, err := e.zaakEnZaaktype(ctx, ref)
		if err != nil {
			return Result{}, err
		}
		ev.Zaak = zaakEvent(zaak)
		ev.Zaaktype = &event.Zaaktype{URL: zt.URL, Identificatie: zt.Identificatie, Omschrijving: zt.Omschrijving}
	default:
		root := e.zakenRoot()
		if root == "" {
			detail = "zaak identificatie given but no Zaken API configured"
			break
		}
		zaken, err := List[Zaak](ctx, e.client, root+"/zaken", url.Values{"identificatie": {ref}})
		if err != nil {
			return Result{}, fmt.Errorf("zgw: find zaak by identificatie: %w", err)
		}
		if len(zaken) == 0 {
			detail = fmt.Sprintf("no zaak with identificatie %q", ref)
			break
		}
		zaak, zt, err := e.zaakEnZaaktype(ctx, zaken[0].URL)
		if err != nil {
			return Result{}, err
		}
		ev.Zaak = zaakEvent(zaak)
		ev.Zaaktype = &event.Zaaktype{URL: zt.URL, Identificatie: zt.Identificatie, Omschrijving: zt.Omschrijving}
	}
	return Result{Events: []event.Event{ev}, Detail: detail}, nil
}
