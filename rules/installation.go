package rules

import (
	"sort"
	"strings"

	"github.com/mijnservices/koerier/internal/event"
)

// An installation has a channel only when it is configured (a Notify NL
// key gives email and sms; the Berichtenbox and the printstraat each need
// their own connection). The functions here tell an admin, before a rule
// goes live, which plans this installation cannot deliver, and trim a
// decision the way the router does, so that `rules explain` shows what
// will really happen.

// PlanGap is a rule's plan for one kind of recipient that names channels
// this installation lacks.
type PlanGap struct {
	Rule *Rule
	Kind string
	// Missing are the plan's channels that are not configured; Left are
	// those that are (voorkeur counts when email or sms is configured).
	Missing, Left []string
}

// Undeliverable is true when nothing of the plan can be delivered.
func (g PlanGap) Undeliverable() bool { return len(g.Left) == 0 }

// String says it in Dutch, for `koerier rules check --config`.
func (g PlanGap) String() string {
	where := g.Rule.Pos.String() + ": regel " + `"` + g.Rule.Name + `"` + " (" + g.Kind + ")"
	if g.Undeliverable() {
		return where + ": geen enkel kanaal van het plan [" + strings.Join(g.Missing, ", ") +
			"] is in deze installatie geconfigureerd; deze berichten worden nooit bezorgd (in het spoor: undeliverable)"
	}
	verb := " is in deze installatie niet geconfigureerd en vervalt"
	if len(g.Missing) > 1 {
		verb = " zijn in deze installatie niet geconfigureerd en vervallen"
	}
	return where + ": " + strings.Join(g.Missing, ", ") + verb + "; over blijft [" + strings.Join(g.Left, ", ") + "]"
}

// PlanGaps lists every rule plan that names a channel for which has is
// false, in file order.
func (rs *RuleSet) PlanGaps(has func(channel string) bool) []PlanGap {
	var out []PlanGap
	for _, r := range rs.rules {
		if r.Skip {
			continue
		}
		kinds := make([]string, 0, len(r.Plans))
		for k := range r.Plans {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			g := PlanGap{Rule: r, Kind: k}
			for _, ch := range r.Plans[k] {
				if Deliverable(ch, has) {
					g.Left = append(g.Left, ch)
				} else {
					g.Missing = append(g.Missing, ch)
				}
			}
			if len(g.Missing) > 0 {
				out = append(out, g)
			}
		}
	}
	return out
}

// Deliverable reports whether channel can be delivered when has says
// which channels are configured; voorkeur expands to email or sms.
func Deliverable(channel string, has func(string) bool) bool {
	if channel == event.ChannelVoorkeur {
		return has(event.ChannelEmail) || has(event.ChannelSMS)
	}
	return has(channel)
}

// Restrict removes from d's plan the channels for which has is false,
// with a reason the admin can read, so that a fallback never lands on a
// channel that cannot work. A plan left empty makes d undeliverable: Skip
// with Undeliverable set, which the router records as `undeliverable`,
// not as a deliberate skip.
func Restrict(d *event.Decision, has func(string) bool) {
	if d.Skip {
		return
	}
	plan := d.Plan[:0:0]
	for _, ch := range d.Plan {
		if has(ch) {
			plan = append(plan, ch)
			continue
		}
		d.Skipped = append(d.Skipped, event.ChannelSkip{Channel: ch, Reason: "kanaal niet geconfigureerd in deze installatie"})
		d.Explanation = append(d.Explanation, ch+" vervalt: dit kanaal is in deze installatie niet geconfigureerd.")
	}
	dropped := len(plan) < len(d.Plan)
	d.Plan = plan
	switch {
	case len(plan) == 0:
		d.Skip, d.Undeliverable = true, true
		d.Reason = "onbezorgbaar: geen van de kanalen in het plan is in deze installatie geconfigureerd"
		d.Explanation = append(d.Explanation, "Onbezorgbaar: er blijft geen kanaal over; er wordt niets verstuurd. Vraag de beheerder het kanaal te configureren of pas de regel aan.")
	case dropped:
		d.Explanation = append(d.Explanation, "Definitief plan: "+strings.Join(plan, ", ")+".")
	}
}
