// Package rules owns the routing rules that a gemeente's functional admins
// write in YAML: strict loading with file:line:column errors, compilation of
// expr-lang conditions against a typed environment, evaluation into an
// event.Decision with a Dutch explanation, the timing rules (quiet hours,
// group window, throttle), hot reload, and the case runner behind
// `koerier rules test`.
//
// The package knows the shape of an event and a recipient (internal/event)
// but nothing about how they are fetched: the router resolves only what a
// Match says it Needs, then asks the Match to Expand the channel plan.
//
// Evaluation model. Rules are evaluated per (event, subject) in file order.
// A rule applies only to subjects whose rol is in its recipients (default
// initiator and taak). The first rule whose condition holds decides, unless
// it says `continue: true`: then its decision is kept and evaluation goes on,
// so one event can yield several decisions (DecideAll). A matching skip rule
// always stops evaluation; decisions that earlier continue rules made stand.
//
// Use by the route stage, per subject of an event:
//
//	rs := holder.Current()                  // never nil; hot-reloaded
//	for _, m := range rs.MatchAll(in) {     // in.Recipient holds the Open Klant facts
//		// resolve what m.Need asks for (BRP/KVK address, Berichtenbox)
//		d := m.ExpandResolved(&recipient, resolved)
//		_ = timing.Apply(ctx, m, &d, ev, subjectRef) // throttle, group window
//		// m.Contactpersonen: Expand again for each contactpersoon
//	}
//
// Conditions see the recipient as resolved when MatchAll runs, so facts
// looked up only after a match (postal address, deceased, Berichtenbox) are
// for the channel plan, not for choosing a rule; docs/regels.md says so.
package rules
