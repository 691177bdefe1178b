package rules

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
)

var amsterdam = clock.Amsterdam

// Input is one (event, subject) pair to decide on. Recipient may be nil or
// partly resolved; conditions see its zero values then.
type Input struct {
	Event     *event.Event
	Recipient *event.Recipient
	Subject   event.Subject
	// Now is the decision time; zero means clock.System().
	Now time.Time
}

// Need says which recipient facts the plan of a match can use, so that the
// router looks up only those: Digital (Open Klant digitale adressen and
// voorkeur), Berichtenbox (subscription) and Postal (BRP or KVK address,
// which also tells whether a person is deceased).
type Need struct {
	Digital      bool
	Berichtenbox bool
	Postal       bool
}

// Match is the outcome of the first step of a decision: which rule applies
// and its raw channel plan, before the recipient's addresses are known.
type Match struct {
	// Rule is the matching rule; nil when no rule matched (Skip is true).
	Rule *Rule
	Skip bool
	// Reason says why nothing is sent when Skip is true.
	Reason string
	// Plan is the rule's channel plan for the recipient's kind, with
	// voorkeur not yet expanded.
	Plan []string
	Need Need
	// Contactpersonen is true when the rule addresses a bedrijf's
	// contactpersonen; the router then calls Expand once per contactpersoon.
	// Organisation is true when the bedrijf itself is addressed.
	Organisation    bool
	Contactpersonen bool

	rs          *RuleSet
	eventID     string
	kind        string
	now         time.Time
	explanation []string
	// env is the environment the rule matched in, kept only when the rule
	// has personalisation templates to render at Expand.
	env *Env
	// owns is set while explanation's spare capacity belongs to this match
	// alone, so that the first Expand can append in place instead of
	// copying; later Expands (contactpersonen) copy.
	owns atomic.Bool
}

var vmPool = sync.Pool{New: func() any { return &vm.VM{} }}
var envPool = sync.Pool{New: func() any { return &Env{} }}

// MatchAll evaluates the rules for one input in order. It returns one Match
// per rule that decided: the first matching rule, plus every later match
// after a rule with `continue: true`. When nothing matches it returns a
// single skipping Match.
func (rs *RuleSet) MatchAll(in Input) []*Match {
	if in.Now.IsZero() {
		in.Now = clock.System()
	}
	env := envPool.Get().(*Env)
	defer envPool.Put(env)
	newEnv(env, &in)
	machine := vmPool.Get().(*vm.VM)
	defer vmPool.Put(machine)

	etype, ztype := env.Event.Type, env.Zaaktype.Identificatie
	eventID := ""
	if in.Event != nil {
		eventID = in.Event.ID
	}
	cands := rs.index.candidates(etype, ztype)
	role := env.Recipient.Role
	kind := env.Recipient.Kind
	var roleBit uint8
	for i, r := range knownRoles {
		if r == role {
			roleBit = 1 << i
		}
	}

	lines := make([]string, 0, 16)
	// The explanation sentences about a rule are built at load (see
	// Rule.explain); here they are only appended, which keeps a decision
	// over 200 rules within a few microseconds.
	lines = append(lines, headerLine(etype, role, kind), cands.line)
	var out []*Match
	for _, i := range cands.rules {
		r := rs.rules[i]
		if r.roleMask&roleBit == 0 {
			lines = append(lines, r.explain.otherRole)
			continue
		}
		ok, err := r.matches(machine, env)
		if err != nil {
			// Compiled and type-checked at load, so a runtime error is rare
			// (e.g. a division by zero); the rule does not match and the
			// explanation says why.
			lines = append(lines, fmt.Sprintf("Regel %q (%s) past niet: fout bij het evalueren: %v.", r.Name, r.Pos, err))
			continue
		}
		if !ok {
			lines = append(lines, r.explain.noMatch)
			continue
		}
		m := &Match{Rule: r, rs: rs, eventID: eventID, kind: kind, now: in.Now, Organisation: r.Organisation, Contactpersonen: r.Contactpersonen}
		lines = append(lines, r.explain.match)
		if r.Skip {
			m.Skip, m.Reason = true, r.Reason
			m.explanation = lines
			return append(out, m)
		}
		m.Plan = r.Plans[kind]
		m.Need = needOf(m.Plan)
		if r.personalisation[kind] != nil || contains(m.Plan, event.ChannelBerichtenbox) {
			e := *env
			m.env = &e
		}
		if r.Continue {
			// Later matches append to lines; this one must not share them.
			m.explanation = lines[:len(lines):len(lines)]
		} else {
			m.explanation = lines
			m.owns.Store(true)
		}
		out = append(out, m)
		if !r.Continue {
			return out
		}
	}
	if len(out) > 0 {
		return out
	}
	lines = append(lines, "Geen enkele regel past; er wordt niets verstuurd.")
	return []*Match{{Skip: true, Reason: "geen regel van toepassing", rs: rs, eventID: eventID, kind: kind, now: in.Now, explanation: lines}}
}

// explanations are a rule's fixed sentences, rendered once at load.
type explanations struct {
	otherRole, noMatch, match string
	plan                      map[string]string // kind -> "Kanaalplan voor ..."
}

func (r *Rule) renderExplanations() {
	cond := r.Condition
	if cond == "" {
		cond = "geen voorwaarde"
	}
	at := fmt.Sprintf("Regel %q (%s)", r.Name, r.Pos)
	r.explain.otherRole = at + " geldt alleen voor " + strings.Join(r.Roles, ", ") + "."
	r.explain.noMatch = at + " past niet: " + cond + " is onwaar."
	switch {
	case r.Skip:
		if r.Reason == "" {
			r.Reason = "regel " + r.Name
		}
		r.explain.match = at + " past (" + cond + ") en zegt: niets versturen (" + r.Reason + ")."
	case r.Continue:
		r.explain.match = at + " past (" + cond + "): bericht " + strconv.Quote(r.Message) + "; continue: true, dus de volgende regels worden ook bekeken."
	default:
		r.explain.match = at + " past (" + cond + "): bericht " + strconv.Quote(r.Message) + "."
	}
	r.explain.plan = map[string]string{}
	for kind, plan := range r.Plans {
		r.explain.plan[kind] = "Kanaalplan voor " + kind + ": " + strings.Join(plan, ", ") + "."
	}
}

// Match is the first of MatchAll.
func (rs *RuleSet) Match(in Input) *Match { return rs.MatchAll(in)[0] }

// Decide matches and expands in one step, for callers that resolved the
// recipient fully (tests, explain). It returns the first decision.
func (rs *RuleSet) Decide(in Input) event.Decision {
	return rs.Match(in).Expand(in.Recipient)
}

// DecideAll returns one decision per matching rule (see MatchAll).
func (rs *RuleSet) DecideAll(in Input) []event.Decision {
	ms := rs.MatchAll(in)
	out := make([]event.Decision, len(ms))
	for i, m := range ms {
		out[i] = m.Expand(in.Recipient)
	}
	return out
}

func needOf(plan []string) Need {
	var n Need
	for _, ch := range plan {
		switch ch {
		case event.ChannelVoorkeur, event.ChannelEmail, event.ChannelSMS:
			n.Digital = true
		case event.ChannelBerichtenbox:
			n.Berichtenbox = true
		case event.ChannelPrint:
			n.Postal = true
		}
	}
	return n
}

// Expand turns the match into a decision for a fully resolved recipient:
// voorkeur becomes the preferred channel, channels the recipient cannot
// receive are skipped with a reason, duplicates are removed, and the rest is
// the fallback order.
func (m *Match) Expand(r *event.Recipient) event.Decision {
	return m.ExpandResolved(r, Need{Digital: true, Berichtenbox: true, Postal: true})
}

// ExpandResolved is Expand for a recipient of which only the facts in
// resolved were looked up: channels depending on other facts stay in the
// plan unchecked, for the deliver stage to verify when it gets to them.
func (m *Match) ExpandResolved(r *event.Recipient, resolved Need) event.Decision {
	var d event.Decision
	if m.owns.CompareAndSwap(true, false) {
		d.Explanation = m.explanation
	} else {
		d.Explanation = make([]string, len(m.explanation), len(m.explanation)+8)
		copy(d.Explanation, m.explanation)
	}
	d.EventID = m.eventID
	if m.Rule != nil {
		d.Rule = m.Rule.Name
	}
	if m.Skip {
		d.Skip, d.Reason = true, m.Reason
		return d
	}
	rule := m.Rule
	d.Message = rule.Message
	if msg := m.rs.messages[rule.Message]; msg != nil {
		d.NotifyService, d.EmailReplyToID, d.SMSSenderID, d.NoKlantcontact = msg.NotifyService, msg.EmailReplyToID, msg.SMSSenderID, msg.NoKlantcontact
	}
	if r == nil {
		r = &event.Recipient{Unknown: true}
	}
	d.Language = defaultLanguage
	lang := normaliseLanguage(r.Language)
	if lang != "" && lang != defaultLanguage {
		if _, ok := m.rs.messages[rule.Message].Variants[lang]; ok {
			d.Language = lang
			d.Explanation = append(d.Explanation, fmt.Sprintf("De ontvanger spreekt %s en bericht %q heeft een %s-variant.", lang, rule.Message, lang))
		} else {
			d.Explanation = append(d.Explanation, fmt.Sprintf("De ontvanger spreekt %s, maar bericht %q heeft geen %s-variant; het gaat in het Nederlands (nld).", lang, rule.Message, lang))
		}
	}
	if resolved.Postal && r.Deceased {
		d.Skip, d.Reason = true, "ontvanger is overleden volgens de BRP"
		d.Explanation = append(d.Explanation, "De ontvanger is overleden volgens de BRP; er wordt niets verstuurd.")
		return d
	}
	kind := m.kind
	d.Explanation = append(d.Explanation, rule.explain.plan[kind])
	plan := make([]string, 0, len(m.Plan))
	for _, ch := range m.Plan {
		actual := ch
		if ch == event.ChannelVoorkeur {
			if !resolved.Digital {
				d.Skipped = append(d.Skipped, event.ChannelSkip{Channel: ch, Reason: "digitale adressen niet opgevraagd"})
				d.Explanation = append(d.Explanation, "voorkeur overgeslagen: digitale adressen niet opgevraagd.")
				continue
			}
			switch {
			case r.PreferredChannel == event.ChannelEmail && r.Email != "":
				actual = event.ChannelEmail
			case r.PreferredChannel == event.ChannelSMS && r.Phone != "":
				actual = event.ChannelSMS
			case r.PreferredChannel == "":
				d.Skipped = append(d.Skipped, event.ChannelSkip{Channel: ch, Reason: "geen voorkeurskanaal bekend"})
				d.Explanation = append(d.Explanation, "voorkeur overgeslagen: geen voorkeurskanaal bekend.")
				continue
			default:
				reason := "voorkeur " + r.PreferredChannel + " maar daarvoor is geen adres bekend"
				d.Skipped = append(d.Skipped, event.ChannelSkip{Channel: ch, Reason: reason})
				d.Explanation = append(d.Explanation, "voorkeur overgeslagen: "+reason+".")
				continue
			}
			d.Explanation = append(d.Explanation, voorkeurLines[actual])
		}
		if contains(plan, actual) {
			d.Explanation = append(d.Explanation, actual+" staat al eerder in het plan; dubbele vermelding vervalt.")
			continue
		}
		if reason := cannotReceive(actual, r, resolved, kind); reason != "" {
			if !containsSkip(d.Skipped, actual) {
				d.Skipped = append(d.Skipped, event.ChannelSkip{Channel: actual, Reason: reason})
			}
			d.Explanation = append(d.Explanation, skipLine(actual, reason))
			continue
		}
		if actual == event.ChannelBerichtenbox && resolved.Berichtenbox && r.Berichtenbox == event.Unknown {
			d.Explanation = append(d.Explanation, "berichtenbox blijft in het plan: abonnement onbekend; de koppeling controleert het bij verzenden.")
		}
		plan = append(plan, actual)
	}
	if len(plan) == 0 {
		d.Skip = true
		reasons := make([]string, len(d.Skipped))
		for i, s := range d.Skipped {
			reasons[i] = s.Channel + ": " + s.Reason
		}
		d.Reason = "geen kanaal over (" + strings.Join(reasons, "; ") + ")"
		d.Explanation = append(d.Explanation, "Geen kanaal over; er wordt niets verstuurd.")
		return d
	}
	d.Plan = plan
	d.Explanation = append(d.Explanation, planLine(plan))
	if m.env != nil {
		var lines []string
		d.Personalisation, lines = m.rs.renderPersonalisation(rule.personalisation[kind], m.env)
		d.Explanation = append(d.Explanation, lines...)
		if contains(plan, event.ChannelBerichtenbox) {
			var why string
			if d.Berichtenbox, why = m.rs.renderBerichtenbox(rule.Message, d.Language, m.env); why != "" {
				d.Explanation = append(d.Explanation, why)
			}
		}
	}
	if w, ok := rule.QuietHours[plan[0]]; ok {
		if until := holdUntil(w, m.now); !until.IsZero() {
			d.HoldUntil = until
			d.Explanation = append(d.Explanation, fmt.Sprintf("%s valt in de stille uren %s (Europe/Amsterdam); vastgehouden tot %s.",
				plan[0], w.text, until.In(amsterdam).Format("2006-01-02 15:04")))
		}
	}
	return d
}

var voorkeurLines = map[string]string{
	event.ChannelEmail: "voorkeur wordt email: het voorkeurskanaal van de ontvanger.",
	event.ChannelSMS:   "voorkeur wordt sms: het voorkeurskanaal van de ontvanger.",
}

// Reasons a channel is skipped; fixed sentences so that the ledger can be
// searched for them and the guide can list them.
const (
	reasonNoEmail         = "geen e-mailadres bekend"
	reasonNoPhone         = "geen telefoonnummer bekend"
	reasonBerichtenboxBSN = "de Berichtenbox is alleen voor inwoners met een BSN"
	reasonNotSubscribed   = "niet geabonneerd op berichten van de gemeente in de Berichtenbox"
	reasonNoPost          = "de ontvanger wil geen post"
	reasonNoAddress       = "geen postadres bekend"
)

// skipLines holds "<channel> overgeslagen: <reason>." for every fixed
// reason, so that explaining a skip costs no allocation.
var skipLines = func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for ch, reasons := range map[string][]string{
		event.ChannelEmail:        {reasonNoEmail},
		event.ChannelSMS:          {reasonNoPhone},
		event.ChannelBerichtenbox: {reasonBerichtenboxBSN, reasonNotSubscribed},
		event.ChannelPrint:        {reasonNoPost, reasonNoAddress},
	} {
		out[ch] = map[string]string{}
		for _, r := range reasons {
			out[ch][r] = ch + " overgeslagen: " + r + "."
		}
	}
	return out
}()

func skipLine(ch, reason string) string {
	if l, ok := skipLines[ch][reason]; ok {
		return l
	}
	return ch + " overgeslagen: " + reason + "."
}

func planLine(plan []string) string {
	if len(plan) == 1 {
		return "Plan: " + plan[0] + ", zonder terugval."
	}
	var b strings.Builder
	b.Grow(64 + 16*len(plan))
	b.WriteString("Plan: eerst ")
	b.WriteString(plan[0])
	b.WriteString("; bij een blijvende fout ")
	for i, ch := range plan[1:] {
		if i > 0 {
			b.WriteString(", dan ")
		}
		b.WriteString(ch)
	}
	b.WriteString(".")
	return b.String()
}

func containsSkip(s []event.ChannelSkip, ch string) bool {
	for _, x := range s {
		if x.Channel == ch {
			return true
		}
	}
	return false
}

// cannotReceive says why a recipient cannot get a channel, or "".
func cannotReceive(ch string, r *event.Recipient, resolved Need, kind string) string {
	switch ch {
	case event.ChannelEmail:
		if resolved.Digital && r.Email == "" {
			return reasonNoEmail
		}
	case event.ChannelSMS:
		if resolved.Digital && r.Phone == "" {
			return reasonNoPhone
		}
	case event.ChannelBerichtenbox:
		// The Berichtenbox is addressed by BSN: companies are not in it.
		if kind == event.KindBedrijf || (r.Subject.BSN == "" && r.Subject.Kind != "") {
			return reasonBerichtenboxBSN
		}
		if resolved.Berichtenbox && r.Berichtenbox == event.No {
			return reasonNotSubscribed
		}
	case event.ChannelPrint:
		if r.NoPost {
			return reasonNoPost
		}
		if resolved.Postal && r.PostalAddress == nil {
			return reasonNoAddress
		}
	}
	return ""
}

// HoldUntil is when a message of rule on channel may be sent if it is due
// at now: zero when now is outside the channel's quiet hours. The deliver
// stage calls it when it falls back to a later channel in the plan.
func (rs *RuleSet) HoldUntil(rule, channel string, now time.Time) time.Time {
	r, ok := rs.Rule(rule)
	if !ok {
		return time.Time{}
	}
	w, ok := r.QuietHours[channel]
	if !ok {
		return time.Time{}
	}
	return holdUntil(w, now)
}

// holdUntil returns the end of the quiet window containing now, or zero.
// Windows are wall-clock times in Europe/Amsterdam, so a DST change moves
// them with the clock on the wall, as residents expect.
func holdUntil(w window, now time.Time) time.Time {
	local := now.In(amsterdam)
	mins := local.Hour()*60 + local.Minute()
	var in, nextDay bool
	if w.from < w.to {
		in = mins >= w.from && mins < w.to
	} else {
		in = mins >= w.from || mins < w.to
		nextDay = mins >= w.from
	}
	if !in {
		return time.Time{}
	}
	y, mo, d := local.Date()
	if nextDay {
		d++
	}
	return time.Date(y, mo, d, w.to/60, w.to%60, 0, 0, amsterdam).UTC()
}

// headerLines holds the first explanation sentence for every known event
// type, rol and kind, so that it costs no allocation.
type headerKey struct{ etype, role, kind string }

var headerLines = func() map[headerKey]string {
	out := map[headerKey]string{}
	for _, e := range knownEventTypes {
		for _, r := range knownRoles {
			for _, k := range knownKinds {
				out[headerKey{e, r, k}] = "Gebeurtenis " + e + " voor " + r + " (" + k + ")."
			}
		}
	}
	return out
}()

func headerLine(etype, role, kind string) string {
	if l, ok := headerLines[headerKey{etype, role, kind}]; ok {
		return l
	}
	return "Gebeurtenis " + orUnknown(etype) + " voor " + role + " (" + kind + ")."
}

func orUnknown(s string) string {
	if s == "" {
		return "(onbekend type)"
	}
	return s
}
