package router

import (
	"context"
	"fmt"
	"maps"
	"strings"

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

// routeStage handles koerier.events: per subject of the event, resolve the
// recipient, let the rules decide, and put the first delivery of the plan
// on its channel's topic (held until quiet hours or a group window end).
func (r *Router) routeStage() Stage[event.Event] {
	return Stage[event.Event]{
		Name:  "route",
		Topic: event.TopicEvents,
		Refs:  func(ev event.Event) Refs { return Refs{Notification: ev.InboundID, Event: ev.ID} },
		Key:   func(ev event.Event) string { return "routed:" + ev.ID },
		Handle: func(ctx context.Context, ev event.Event) (Result, error) {
			res := Result{Status: "skipped"}
			if len(ev.Subjects) == 0 {
				res.Ledger = append(res.Ledger, store.Record{Status: "skipped",
					Detail: "de gebeurtenis heeft geen ontvanger (geen rol of identificatie gevonden)"})
				return res, nil
			}
			rs := r.d.Rules.Current()
			for _, s := range ev.Subjects {
				if err := r.routeSubject(ctx, rs, &ev, s, &res); err != nil {
					return Result{}, err
				}
			}
			return res, nil
		},
	}
}

func (r *Router) routeSubject(ctx context.Context, rs *rules.RuleSet, ev *event.Event, s event.Subject, res *Result) error {
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
		return resolveFailed(err)
	}
	resolved := rules.Need{Digital: true}
	in := rules.Input{Event: ev, Recipient: &recipient, Subject: s, Now: r.d.Now()}
	for _, m := range rs.MatchAll(in) {
		if !m.Skip && ((m.Need.Postal && !resolved.Postal) || (m.Need.Berichtenbox && !resolved.Berichtenbox)) {
			need := klant.Need{Digital: true, Postal: m.Need.Postal || resolved.Postal, Berichtenbox: m.Need.Berichtenbox || resolved.Berichtenbox}
			recipient, err = r.d.Recipients.Resolve(ctx, s, need, zaakID)
			if err != nil {
				return resolveFailed(err)
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
			if err := r.decide(ctx, m, ev, &targets[i], resolved, res); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveFailed passes a temporary lookup failure on for a re-queue; any
// other is a dead letter (the middleware records it).
func resolveFailed(err error) error {
	if isTemporary(err) {
		return err
	}
	return deadLetter("ontvanger-opzoeken-mislukt", err)
}

// newDelivery builds the delivery for the first step of the decision's plan.
func (r *Router) newDelivery(ev *event.Event, rcp event.Recipient, dec event.Decision) event.Delivery {
	d := event.Delivery{
		EventID:         ev.ID,
		InboundID:       ev.InboundID,
		Decision:        dec,
		Recipient:       rcp,
		Personalisation: personalisation(ev, rcp, dec.Personalisation),
		CreatedAt:       r.d.Now().UTC(),
	}
	if ev.Zaak != nil {
		d.ZaakURL = ev.Zaak.URL
	}
	if dec.Berichtenbox != nil {
		d.Decision.Berichtenbox = berichtenboxFacts(ev, *dec.Berichtenbox)
	}
	return r.nextDelivery(d, 0)
}

// berichtenboxFacts adds what a Berichtenbox bericht takes from the event
// to what the rules rendered: the zaak as reference, a taak's deadline,
// the besluit whose documents it may attach.
func berichtenboxFacts(ev *event.Event, m event.BerichtenboxMessage) *event.BerichtenboxMessage {
	if ev.Zaak != nil {
		m.Referentie = ev.Zaak.Identificatie
	}
	if ev.Taak != nil {
		m.Deadline = ev.Taak.Verloopdatum
	}
	if ev.Besluit != nil {
		m.BesluitURL = ev.Besluit.URL
	}
	return &m
}

// dropUnconfigured removes channels from the plan that this installation
// has no channel for (e.g. no Berichtenbox connection), the same way
// `koerier rules explain --config` shows it (rules.Restrict), so a fallback
// never lands on a channel that cannot work.
func (r *Router) dropUnconfigured(dec *event.Decision) {
	rules.Restrict(dec, func(ch string) bool { _, ok := r.d.Channels.Get(ch); return ok })
}

// personalisationKeys are always present (empty when the event has no such
// part), because Notify refuses a message whose template names a
// placeholder the request lacks; one template can then serve zaak and taak
// events alike.
var personalisationKeys = []string{"naam", "gebeurtenis", "zaak_identificatie", "zaak_omschrijving", "zaaktype_omschrijving",
	"status_omschrijving", "resultaat_omschrijving", "besluit_identificatie", "besluit_datum", "besluittype_omschrijving",
	"taak_titel", "taak_formulier", "taak_verloopdatum"}

// PersonalisationKeys are the keys every delivery's personalisation has,
// for checking templates (`rules check` renders letters with them).
func PersonalisationKeys() []string { return append([]string(nil), personalisationKeys...) }

// personalisation is what templates may use. It holds only what the
// message needs to say; the BSN is never part of it. The values the rules
// rendered for the decision (links to the right portal, see
// rules/personalisation.go) come last and win over the fixed keys and the
// event's own personalisation.
func personalisation(ev *event.Event, rcp event.Recipient, fromRules map[string]string) map[string]string {
	p := make(map[string]string, len(personalisationKeys)+len(ev.Personalisation)+len(fromRules))
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
	for k, v := range fromRules {
		p[k] = v
	}
	return p
}

var amsterdam = clock.Amsterdam

// decide expands one match for one recipient and adds the decision and the
// first delivery of its plan to res.
func (r *Router) decide(ctx context.Context, m *rules.Match, ev *event.Event, recipient *event.Recipient, resolved rules.Need, res *Result) error {
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
	rec := store.Record{Rule: dec.Rule, SubjectRef: ref, Detail: strings.Join(dec.Explanation, " ")}
	switch {
	case dec.Undeliverable:
		// The rule wants this recipient told, but on no channel this
		// installation has: not a skip an admin chose, a gap to fix.
		rec.Status = "undeliverable"
		rec.Detail = dec.Reason + ". " + rec.Detail
		res.Ledger = append(res.Ledger, rec)
		if res.Status != "decided" {
			res.Status = "undeliverable"
		}
		r.metrics.undeliverable.Add(ctx, 1)
		r.log.WarnContext(ctx, "no channel of the plan is configured in this installation: nobody is told", "rule", dec.Rule,
			"channels", strings.Join(skippedChannels(dec), ","))
		return nil
	case dec.Skip || len(dec.Plan) == 0:
		rec.Status = "skipped"
		if dec.Reason != "" {
			rec.Detail = dec.Reason + ". " + rec.Detail
		}
		res.Ledger = append(res.Ledger, rec)
		return nil
	}
	d := r.newDelivery(ev, *recipient, dec)
	rec.Status, rec.DeliveryID, rec.Channel = "decided", d.ID, d.Channel
	res.Status = "decided"
	res.Ledger = append(res.Ledger, rec)
	res.Outputs = append(res.Outputs, Output{Topic: event.DeliveryTopic(d.Channel), ID: d.ID, Value: d, Due: dec.HoldUntil})
	return nil
}

func skippedChannels(dec event.Decision) []string {
	var out []string
	for _, s := range dec.Skipped {
		out = append(out, s.Channel)
	}
	return out
}
