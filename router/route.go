package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/omc"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/rules"
)

// RuleSource gives the rules in force; a reload swaps them atomically.
type RuleSource interface {
	Current() *rules.RuleSet
}

// RecipientResolver finds out how a subject can be reached (internal/klant).
type RecipientResolver interface {
	Resolve(ctx context.Context, s event.Subject, need klant.Need, zaakIdentificatie string) (event.Recipient, error)
}

// route handles koerier.events: per subject of the event, resolve the
// recipient, let the rules decide, and put the first delivery of the plan
// on its channel's topic (held until quiet hours or a group window end).
func (r *Router) route(msg *message.Message) error {
	ctx := msg.Context()
	start := r.d.Now()
	var ev event.Event
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return deadLetter("malformed-event", err)
	}
	status, err := r.routeEvent(ctx, &ev)
	r.metrics.processed.Add(ctx, 1, metric.WithAttributes(attribute.String("stage", "route"), attribute.String("status", status)))
	r.metrics.latency.Record(ctx, r.d.Now().Sub(start).Seconds(), metric.WithAttributes(attribute.String("stage", "route")))
	return err
}

func (r *Router) routeEvent(ctx context.Context, ev *event.Event) (string, error) {
	if r.done(ctx, "routed:"+ev.ID) {
		return "duplicate", nil
	}
	rs := r.d.Rules.Current()
	if len(ev.Subjects) == 0 {
		rec := store.Record{TraceID: ev.InboundID, EventID: ev.ID, Stage: "route", Status: "skipped",
			Detail: "de gebeurtenis heeft geen ontvanger (geen rol of identificatie gevonden)"}
		if err := r.record(ctx, rec); err != nil {
			return "error", err
		}
		r.markDone(ctx, "routed:"+ev.ID)
		return "skipped", nil
	}
	status := "skipped"
	for _, s := range ev.Subjects {
		st, err := r.routeSubject(ctx, rs, ev, s)
		if err != nil {
			return st, err
		}
		if st == "decided" {
			status = st
		}
	}
	r.markDone(ctx, "routed:"+ev.ID)
	return status, nil
}

func (r *Router) routeSubject(ctx context.Context, rs *rules.RuleSet, ev *event.Event, s event.Subject) (string, error) {
	zaakID := ""
	if ev.Zaak != nil {
		zaakID = ev.Zaak.Identificatie
	}
	// Digital facts (Open Klant) come first because rule conditions may
	// read them (recipient.language, recipient.kind); registries that cost
	// more (BRP, Berichtenbox) are asked only when the matched plan needs
	// them.
	recipient, err := r.d.Recipients.Resolve(ctx, s, klant.Need{Digital: true}, zaakID)
	if err != nil {
		return r.resolveFailed(ctx, ev, s, err)
	}
	resolved := rules.Need{Digital: true}
	in := rules.Input{Event: ev, Recipient: &recipient, Subject: s, Now: r.d.Now()}
	for _, m := range rs.MatchAll(in) {
		if !m.Skip && ((m.Need.Postal && !resolved.Postal) || (m.Need.Berichtenbox && !resolved.Berichtenbox)) {
			need := klant.Need{Digital: true, Postal: m.Need.Postal || resolved.Postal, Berichtenbox: m.Need.Berichtenbox || resolved.Berichtenbox}
			recipient, err = r.d.Recipients.Resolve(ctx, s, need, zaakID)
			if err != nil {
				return r.resolveFailed(ctx, ev, s, err)
			}
			resolved = rules.Need{Digital: true, Postal: need.Postal, Berichtenbox: need.Berichtenbox}
		}
		// A bedrijf is addressed as the organisation, through its
		// contactpersonen, or both, as the rule says.
		targets := []event.Recipient{recipient}
		if m.Contactpersonen && recipient.Kind == event.KindBedrijf {
			if !m.Organisation {
				targets = nil
			}
			targets = append(targets, recipient.Contactpersonen...)
		}
		for i := range targets {
			if err := r.decide(ctx, m, ev, &targets[i], resolved); err != nil {
				return "error", err
			}
		}
	}
	return "decided", nil
}

func (r *Router) resolveFailed(ctx context.Context, ev *event.Event, s event.Subject, err error) (string, error) {
	if isTemporary(err) {
		return "temporary", err
	}
	rec := store.Record{TraceID: ev.InboundID, EventID: ev.ID, Stage: "route", Status: "deadletter", SubjectRef: r.subjectRef(s),
		Detail: "ontvanger kon niet worden opgezocht: " + err.Error()}
	_ = r.record(ctx, rec)
	return "deadletter", deadLetter("ontvanger-opzoeken-mislukt", err)
}

// newDelivery builds the delivery for the first step of the decision's plan.
func (r *Router) newDelivery(ev *event.Event, rcp event.Recipient, dec event.Decision) event.Delivery {
	d := event.Delivery{
		EventID:         ev.ID,
		InboundID:       ev.InboundID,
		Decision:        dec,
		Recipient:       rcp,
		Personalisation: personalisation(ev, rcp),
		CreatedAt:       r.d.Now().UTC(),
	}
	if ev.Zaak != nil {
		d.ZaakURL = ev.Zaak.URL
	}
	return r.nextDelivery(d, 0)
}

// dropUnconfigured removes channels from the plan that this installation
// has no channel for (e.g. no Berichtenbox connection), with a reason the
// admin can read, so a fallback never lands on a channel that cannot work.
func (r *Router) dropUnconfigured(dec *event.Decision) {
	if dec.Skip {
		return
	}
	plan := dec.Plan[:0:0]
	for _, ch := range dec.Plan {
		if _, ok := r.d.Channels.Get(ch); ok {
			plan = append(plan, ch)
			continue
		}
		dec.Skipped = append(dec.Skipped, event.ChannelSkip{Channel: ch, Reason: "kanaal niet geconfigureerd in deze installatie"})
		dec.Explanation = append(dec.Explanation, ch+" vervalt: dit kanaal is in deze installatie niet geconfigureerd.")
	}
	dropped := len(plan) < len(dec.Plan)
	dec.Plan = plan
	switch {
	case len(plan) == 0:
		dec.Skip = true
		dec.Reason = "geen van de kanalen in het plan is beschikbaar"
	case dropped:
		dec.Explanation = append(dec.Explanation, "Definitief plan: "+strings.Join(plan, ", ")+".")
	}
}

// nextDelivery moves d to step of its plan: channel, id and template.
func (r *Router) nextDelivery(d event.Delivery, step int) event.Delivery {
	d.Step = step
	d.Channel = d.Decision.Plan[step]
	d.ID = deliveryID(d.EventID, d.Channel, r.subjectRef(d.Recipient.Subject), d.Decision.Message)
	d.TemplateID, _ = r.d.Rules.Current().Template(d.Decision.Message, d.Channel, d.Decision.Language)
	d.CreatedAt = r.d.Now().UTC()
	return d
}

// deliveryID is the delivery's idempotency key (ARCHITECTURE.md §6): the
// same event, channel, recipient and message always give the same id, and
// it carries no personal data, so it can be Notify's `reference`.
func deliveryID(eventID, channel, recipientRef, message string) string {
	h := sha256.Sum256([]byte(eventID + "|" + channel + "|" + recipientRef + "|" + message))
	return hex.EncodeToString(h[:16])
}

// subjectRef is the keyed hash that stands for a subject in the ledger
// (store.SubjectRefOf, which `koerier trail --bsn` computes too).
func (r *Router) subjectRef(s event.Subject) string {
	return store.SubjectRefOf(r.o.SubjectKey, s)
}

// personalisationKeys are always present (empty when the event has no such
// part), because Notify refuses a message whose template names a
// placeholder the request lacks; one template can then serve zaak and taak
// events alike.
var personalisationKeys = []string{"naam", "gebeurtenis", "zaak_identificatie", "zaak_omschrijving", "zaaktype_omschrijving",
	"status_omschrijving", "resultaat_omschrijving", "besluit_identificatie", "besluit_datum", "besluittype_omschrijving",
	"taak_titel", "taak_formulier", "taak_verloopdatum"}

// personalisation is what templates may use. It holds only what the
// message needs to say; the BSN is never part of it.
func personalisation(ev *event.Event, rcp event.Recipient) map[string]string {
	p := make(map[string]string, len(personalisationKeys)+len(ev.Personalisation))
	for _, k := range personalisationKeys {
		p[k] = ""
	}
	p["naam"], p["gebeurtenis"] = rcp.Name, ev.Type
	if z := ev.Zaak; z != nil {
		p["zaak_identificatie"], p["zaak_omschrijving"] = z.Identificatie, z.Omschrijving
	}
	if zt := ev.Zaaktype; zt != nil {
		p["zaaktype_omschrijving"] = zt.Omschrijving
	}
	if st := ev.Statustype; st != nil {
		p["status_omschrijving"] = st.Omschrijving
	}
	if res := ev.Resultaat; res != nil {
		p["resultaat_omschrijving"] = res.Omschrijving
	}
	if b := ev.Besluit; b != nil {
		p["besluit_identificatie"], p["besluit_datum"], p["besluittype_omschrijving"] = b.Identificatie, b.Datum, b.BesluittypeOmschrijving
	}
	if t := ev.Taak; t != nil {
		p["taak_titel"], p["taak_formulier"] = t.Titel, t.FormulierURL
		if !t.Verloopdatum.IsZero() {
			p["taak_verloopdatum"] = t.Verloopdatum.In(amsterdam).Format("2-1-2006")
		}
	}
	// The OMC's placeholder names (klant.voornaam, zaak.identificatie, …),
	// so that templates written for the OMC keep working after a migration.
	maps.Copy(p, omc.Personalisation(ev, rcp))
	for k, v := range ev.Personalisation {
		if p[k] == "" {
			p[k] = v
		}
	}
	return p
}

var amsterdam = clock.Amsterdam

// decide expands one match for one recipient, records the decision and
// publishes the first delivery of its plan.
func (r *Router) decide(ctx context.Context, m *rules.Match, ev *event.Event, recipient *event.Recipient, resolved rules.Need) error {
	ref := r.subjectRef(recipient.Subject)
	dec := m.ExpandResolved(recipient, resolved)
	dec.EventID = ev.ID
	if r.d.Timing != nil && !dec.Skip {
		if err := r.d.Timing.Apply(ctx, m, &dec, ev, ref); err != nil {
			return temporary(fmt.Errorf("timing: %w", err))
		}
		dec.Grouped = !dec.Skip && m.Rule != nil && m.Rule.GroupWindow > 0 && ev.Zaak != nil && ev.Zaak.URL != ""
	}
	r.dropUnconfigured(&dec)
	rec := store.Record{TraceID: ev.InboundID, EventID: ev.ID, Stage: "route", Rule: dec.Rule, SubjectRef: ref,
		Detail: strings.Join(dec.Explanation, " ")}
	if dec.Skip || len(dec.Plan) == 0 {
		rec.Status = "skipped"
		if dec.Reason != "" {
			rec.Detail = dec.Reason + ". " + rec.Detail
		}
		return r.record(ctx, rec)
	}
	d := r.newDelivery(ev, *recipient, dec)
	rec.Status, rec.DeliveryID, rec.Channel = "decided", d.ID, d.Channel
	if err := r.record(ctx, rec); err != nil {
		return err
	}
	if err := r.publish(ctx, event.DeliveryTopic(d.Channel), d.ID, event.Marshal(d), dec.HoldUntil); err != nil {
		return temporary(err)
	}
	return nil
}
