package zgw

import (
	"context"
	"fmt"

	"github.com/mijnservices/koerier/internal/event"
)

// Besluit triggers (Config.BesluitTrigger).
const (
	// BesluitTriggerBesluit emits besluit.genomen on besluit create.
	BesluitTriggerBesluit = "besluit"
	// BesluitTriggerInformatieobject emits it when a document is attached
	// to the besluit (besluitinformatieobject create), for gemeenten that
	// want the besluit letter to exist before the citizen is told.
	BesluitTriggerInformatieobject = "besluitinformatieobject"
)

// besluitNotified handles kanaal besluiten.
func (e *Enricher) besluitNotified(ctx context.Context, in event.Inbound) (Result, error) {
	n := in.Notification
	if n.Actie != "create" || (n.Resource != "besluit" && n.Resource != "besluitinformatieobject") {
		return notSupported(n), nil
	}
	if n.Resource != e.cfg.BesluitTrigger {
		return Result{Skipped: ReasonBesluitAndereTrigger, Detail: fmt.Sprintf("besluit.genomen is configured to follow %s create, not %s create", e.cfg.BesluitTrigger, n.Resource)}, nil
	}
	besluitURL := n.ResourceURL
	if n.Resource == "besluitinformatieobject" {
		var bio BesluitInformatieObject
		if err := e.client.Get(ctx, n.ResourceURL, nil, &bio); err != nil {
			return Result{}, fmt.Errorf("zgw: get besluitinformatieobject: %w", err)
		}
		besluitURL = bio.Besluit
	}
	var b Besluit
	if err := e.client.Get(ctx, besluitURL, nil, &b); err != nil {
		return Result{}, fmt.Errorf("zgw: get besluit: %w", err)
	}
	var bt BesluitType
	if err := e.getCatalogus(ctx, b.Besluittype, &bt); err != nil {
		return Result{}, fmt.Errorf("zgw: get besluittype: %w", err)
	}
	if b.Zaak == "" {
		return Result{Skipped: ReasonBesluitZonderZaak, Detail: fmt.Sprintf("besluit %s is not linked to a zaak, so nobody is known to tell", b.URL)}, nil
	}
	zaak, zt, err := e.zaakEnZaaktype(ctx, b.Zaak)
	if err != nil {
		return Result{}, err
	}
	subjects, skip, err := e.subjects(ctx, in, zaak.URL)
	if skip != nil {
		return *skip, nil
	}
	if err != nil {
		return Result{}, err
	}
	ev := event.Event{
		// One besluit, one event, whichever notification triggered it.
		ID:         eventID(event.TypeBesluitGenomen, b.URL),
		Type:       event.TypeBesluitGenomen,
		OccurredAt: occurredAt(in, e.cfg.Now()),
		InboundID:  in.ID,
		Source:     in.Source,
		Zaak:       zaakEvent(zaak),
		Zaaktype:   &event.Zaaktype{URL: zt.URL, Identificatie: zt.Identificatie, Omschrijving: zt.Omschrijving},
		Besluit: &event.Besluit{
			URL: b.URL, Identificatie: b.Identificatie, Datum: b.Datum, Ingangsdatum: b.Ingangsdatum,
			Toelichting: b.Toelichting, BesluittypeURL: bt.URL, BesluittypeOmschrijving: bt.Omschrijving,
		},
		Subjects: subjects,
	}
	return Result{Events: []event.Event{ev}}, nil
}

// zaakinformatieobjectCreated emits document.toegevoegd, when enabled.
func (e *Enricher) zaakinformatieobjectCreated(ctx context.Context, in event.Inbound) (Result, error) {
	n := in.Notification
	if !e.cfg.Documenten {
		return Result{Skipped: ReasonDocumentenUit, Detail: "document.toegevoegd is not enabled"}, nil
	}
	var zio ZaakInformatieObject
	if err := e.client.Get(ctx, n.ResourceURL, nil, &zio); err != nil {
		return Result{}, fmt.Errorf("zgw: get zaakinformatieobject: %w", err)
	}
	titel := zio.Titel
	if titel == "" && e.client.allow.Check(zio.Informatieobject) == nil {
		var eio EnkelvoudigInformatieObject
		if err := e.client.Get(ctx, zio.Informatieobject, nil, &eio); err != nil {
			return Result{}, fmt.Errorf("zgw: get enkelvoudiginformatieobject: %w", err)
		}
		titel = eio.Titel
	}
	zaak, zt, err := e.zaakEnZaaktype(ctx, zio.Zaak)
	if err != nil {
		return Result{}, err
	}
	subjects, skip, err := e.subjects(ctx, in, zaak.URL)
	if skip != nil {
		return *skip, nil
	}
	if err != nil {
		return Result{}, err
	}
	ev := event.Event{
		ID:         eventID(event.TypeDocumentToegevoegd, zio.URL),
		Type:       event.TypeDocumentToegevoegd,
		OccurredAt: occurredAt(in, e.cfg.Now()),
		InboundID:  in.ID,
		Source:     in.Source,
		Zaak:       zaakEvent(zaak),
		Zaaktype:   &event.Zaaktype{URL: zt.URL, Identificatie: zt.Identificatie, Omschrijving: zt.Omschrijving},
		Document:   &event.Document{URL: zio.Informatieobject, Titel: titel},
		Subjects:   subjects,
	}
	return Result{Events: []event.Event{ev}}, nil
}

func notSupported(n *event.Notification) Result {
	return Result{Skipped: ReasonNietOndersteund, Detail: fmt.Sprintf("no event for kanaal %s, resource %s, actie %s", n.Kanaal, n.Resource, n.Actie)}
}
