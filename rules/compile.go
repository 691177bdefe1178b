package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/event"
)

// maxNodes bounds a condition. Real conditions have a few dozen nodes; the
// bound keeps a pasted monster out of the hot path.
const maxNodes = 300

// shorthand maps a `match:` key to the field it compares.
var shorthand = map[string]string{
	"event":             "event.type",
	"zaaktype":          "zaaktype.identificatie",
	"statustype":        "statustype.omschrijving",
	"resultaat":         "resultaat.omschrijving",
	"besluittype":       "besluit.besluittypeOmschrijving",
	"taak_soort":        "taak.soort",
	"vertrouwelijkheid": "zaak.vertrouwelijkheidaanduiding",
	"kind":              "recipient.kind",
	"language":          "recipient.language",
}

// shorthandGetters read the field a `match:` key compares, for the native
// evaluation of shorthands (see Rule.matches).
var shorthandGetters = map[string]func(*Env) string{
	"event":             func(e *Env) string { return e.Event.Type },
	"zaaktype":          func(e *Env) string { return e.Zaaktype.Identificatie },
	"statustype":        func(e *Env) string { return e.Statustype.Omschrijving },
	"resultaat":         func(e *Env) string { return e.Resultaat.Omschrijving },
	"besluittype":       func(e *Env) string { return e.Besluit.BesluittypeOmschrijving },
	"taak_soort":        func(e *Env) string { return e.Taak.Soort },
	"vertrouwelijkheid": func(e *Env) string { return e.Zaak.Vertrouwelijkheidaanduiding },
	"kind":              func(e *Env) string { return e.Recipient.Kind },
	"language":          func(e *Env) string { return e.Recipient.Language },
}

// shorthandOrder fixes the order of the generated expression, so that the
// explanation reads the same every time.
var shorthandOrder = []string{"event", "zaaktype", "statustype", "resultaat", "besluittype", "taak_soort", "vertrouwelijkheid", "kind", "language"}

var vertrouwelijkheden = []string{"openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk", "vertrouwelijk", "confidentieel", "geheim", "zeer_geheim"}

var ruleKeys = []string{"name", "description", "match", "when", "skip", "reason", "message", "channels", "recipients", "continue", "quiet_hours", "group_window", "throttle", "personalisation"}

type compiler struct {
	rs   *RuleSet
	errs *Errors
}

func compileOptions() []expr.Option {
	return []expr.Option{
		expr.Env(Env{}),
		expr.AsBool(),
		expr.MaxNodes(maxNodes),
		// now() would read the wall clock; conditions must use the injected
		// `now` so that tests and explanations are reproducible.
		expr.DisableBuiltin("now"),
		expr.Timezone("Europe/Amsterdam"),
	}
}

func (c *compiler) compile(files []*parsedFile) {
	rs := c.rs
	rs.defaults = defaults{
		channels: map[string][]string{
			event.KindInwoner: {event.ChannelVoorkeur, event.ChannelBerichtenbox, event.ChannelPrint},
			event.KindBedrijf: {event.ChannelVoorkeur, event.ChannelEmail, event.ChannelPrint},
		},
		recipients: []string{event.RoleInitiator, event.RoleTaak},
		quietHours: map[string]window{},
	}
	var hostsAt *Pos
	for _, f := range files {
		if f.linkHosts == nil {
			continue
		}
		if hostsAt != nil {
			f.p.errf(f.linkHosts, "keep link_hosts in one file of the folder, next to defaults", "link_hosts are already set in %s", hostsAt)
			continue
		}
		pos := f.p.pos(f.linkHosts)
		hostsAt = &pos
		rs.linkHosts, _ = f.p.parseLinkHosts(f.linkHosts)
	}
	var defaultsAt *Pos
	for _, f := range files {
		if f.defaults == nil {
			continue
		}
		if defaultsAt != nil {
			f.p.errf(f.defaults, "keep defaults in one file of the folder", "defaults are already set in %s", defaultsAt)
			continue
		}
		pos := f.p.pos(f.defaults)
		defaultsAt = &pos
		c.parseDefaults(f.p, f.defaults)
	}
	for _, f := range files {
		if f.messages == nil {
			continue
		}
		f.p.mapping(f.messages, "messages", nil, func(name string, k, v *yaml.Node) {
			if prev, dup := rs.messages[name]; dup {
				f.p.errf(k, "rename one of them", "message %q is already defined at %s", name, prev.Pos)
				return
			}
			rs.messages[name] = f.p.parseMessage(name, k, v)
		})
	}
	seen := map[string]*Rule{}
	for _, f := range files {
		if f.rules == nil {
			continue
		}
		n := resolve(f.rules)
		if n.Kind != yaml.SequenceNode {
			f.p.errf(n, "each rule starts with `- name: ...`", "rules must be a list, not %s", kindName(n))
			continue
		}
		for _, rn := range n.Content {
			r := c.parseRule(f.p, resolve(rn))
			if r == nil {
				continue
			}
			if prev, dup := seen[r.Name]; dup {
				f.p.errf(rn, "rule names must be unique; the ledger and explanations refer to rules by name", "rule %q is already defined at %s", r.Name, prev.Pos)
				continue
			}
			seen[r.Name] = r
			rs.rules = append(rs.rules, r)
		}
	}
	var templates []*fieldTemplate
	for _, f := range files {
		templates = append(templates, f.p.templates...)
	}
	c.checkPersonalisation(templates)
	c.checkBerichtenbox()
	if len(*c.errs) == 0 && len(rs.rules) == 0 {
		name := ""
		if len(rs.files) > 0 {
			name = rs.files[0]
		}
		*c.errs = append(*c.errs, Error{Pos: Pos{File: name}, Msg: "no rules", Hint: "a router without rules sends nothing; add a rules: list"})
	}
}

func (c *compiler) parseDefaults(p *parser, n *yaml.Node) {
	d := &c.rs.defaults
	p.mapping(n, "defaults", []string{"channels", "recipients", "quiet_hours", "group_window", "throttle", "personalisation"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "personalisation":
			d.personalisation, _ = p.parsePersonalisation(v, "defaults.personalisation")
		case "channels":
			if pl, ok := p.plans(v, "defaults.channels"); ok {
				for k, plan := range pl {
					d.channels[k] = plan
				}
			}
		case "recipients":
			if roles, ok := c.recipients(p, v, "defaults.recipients"); ok {
				d.recipients = roles
			}
		case "quiet_hours":
			if q, ok := p.quietHours(v, "defaults.quiet_hours"); ok {
				d.quietHours = q
			}
		case "group_window":
			if w, ok := p.duration(v, "defaults.group_window"); ok {
				d.groupWindow = w
			}
		case "throttle":
			if t, ok := p.throttle(v, "defaults.throttle"); ok {
				d.throttle = t
			}
		}
	})
}

func (c *compiler) recipients(p *parser, n *yaml.Node, what string) ([]string, bool) {
	items, ok := p.strList(n, what)
	if !ok {
		return nil, false
	}
	n = resolve(n)
	for i, it := range items {
		if !contains(knownRecipients, it) {
			at := n
			if n.Kind == yaml.SequenceNode {
				at = n.Content[i]
			}
			p.errf(at, suggest(it, knownRecipients, "allowed: "+strings.Join(knownRecipients, ", ")), "unknown recipient %q in %s", it, what)
			ok = false
		}
	}
	return items, ok
}

func (c *compiler) parseRule(p *parser, n *yaml.Node) *Rule {
	d := c.rs.defaults
	r := &Rule{Pos: p.pos(n), Plans: map[string][]string{}, QuietHours: map[string]window{}}
	for k, v := range d.channels {
		r.Plans[k] = v
	}
	for k, v := range d.quietHours {
		r.QuietHours[k] = v
	}
	r.GroupWindow = d.groupWindow
	r.Throttle = d.throttle
	recips := d.recipients
	var nameNode, messageNode, whenNode, matchNode *yaml.Node
	var personal personalisationLevel
	var hasChannels, hasSkip bool
	errsBefore := len(*c.errs)
	ok := p.mapping(n, "a rule", ruleKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			nameNode = v
			r.Name, _ = p.str(v, "name")
		case "description":
			r.Description, _ = p.str(v, "description")
		case "match":
			matchNode = v
		case "when":
			whenNode = v
			r.when, _ = p.str(v, "when")
		case "skip":
			hasSkip = true
			r.Skip, _ = p.boolean(v, "skip")
		case "reason":
			r.Reason, _ = p.str(v, "reason")
		case "message":
			messageNode = v
			r.Message, _ = p.str(v, "message")
		case "channels":
			hasChannels = true
			if pl, good := p.plans(v, "channels"); good {
				for kind, plan := range pl {
					r.Plans[kind] = plan
				}
			}
		case "recipients":
			if rc, good := c.recipients(p, v, "recipients"); good {
				recips = rc
			}
		case "continue":
			r.Continue, _ = p.boolean(v, "continue")
		case "quiet_hours":
			if q, good := p.quietHours(v, "quiet_hours"); good {
				for ch, w := range q {
					r.QuietHours[ch] = w
				}
			}
		case "group_window":
			r.GroupWindow, _ = p.duration(v, "group_window")
		case "throttle":
			r.Throttle, _ = p.throttle(v, "throttle")
		case "personalisation":
			personal, _ = p.parsePersonalisation(v, "personalisation")
		}
	})
	if !ok {
		return nil
	}
	label := "this rule"
	if nameNode == nil || r.Name == "" {
		p.errf(n, "give every rule a unique name, e.g. name: statuswijziging", "rule without a name")
	} else {
		label = strconv.Quote(r.Name)
		if strings.ContainsAny(r.Name, " \t\n") {
			p.errf(nameNode, "use-dashes-between-words", "rule name %q contains spaces", r.Name)
		}
	}
	for ch := range r.QuietHours {
		if r.QuietHours[ch].text == "" {
			delete(r.QuietHours, ch)
		}
	}
	// recipients: rollen select subjects; organisation/contactpersonen say
	// how a bedrijf is addressed.
	for _, x := range recips {
		switch x {
		case RecipientOrganisation:
			r.Organisation = true
		case RecipientContactpersonen:
			r.Contactpersonen = true
		default:
			if !contains(r.Roles, x) {
				r.Roles = append(r.Roles, x)
			}
		}
	}
	if len(r.Roles) == 0 {
		r.Roles = []string{event.RoleInitiator, event.RoleTaak}
	}
	if !r.Organisation && !r.Contactpersonen {
		r.Organisation = true
	}
	for i, role := range knownRoles {
		if contains(r.Roles, role) {
			r.roleMask |= 1 << i
		}
	}

	switch {
	case r.Skip && messageNode != nil:
		p.errf(messageNode, "a skip rule sends nothing; remove message or skip", "rule %s has both skip: true and a message", label)
	case !r.Skip && messageNode == nil && !hasSkip:
		p.errf(n, "add message: <name> to send something, or skip: true to send nothing", "rule %s has neither a message nor skip: true", label)
	case r.Skip && hasChannels:
		p.errf(n, "a skip rule sends nothing; remove channels", "rule %s has both skip: true and channels", label)
	}

	// Condition: the shorthand and when, joined with &&.
	var parts []string
	if matchNode != nil {
		if m, good := c.parseMatch(p, matchNode); good {
			r.match = m
			for _, key := range shorthandOrder {
				if vals, ok := m[key]; ok {
					parts = append(parts, shorthandExpr(key, vals))
					r.terms = append(r.terms, term{get: shorthandGetters[key], set: setOf(vals)})
				}
			}
			r.filter = filter{events: setOf(m["event"]), zaaktypen: setOf(m["zaaktype"])}
		}
	}
	if whenNode != nil && strings.TrimSpace(r.when) == "" && whenNode.Tag != "!!null" {
		p.errf(whenNode, "remove when: to make the rule apply always", "rule %s has an empty when", label)
	}
	if whenNode != nil && strings.TrimSpace(r.when) != "" {
		if prog, err := expr.Compile(r.when, compileOptions()...); err != nil {
			c.exprError(p, whenNode, label, r.when, err)
		} else {
			r.whenProgram = prog
			parts = append(parts, "("+r.when+")")
			r.filter = r.filter.and(filterFromWhen(r.when))
		}
	}
	if len(parts) > 0 {
		r.Condition = strings.Join(parts, " && ")
		prog, err := expr.Compile(r.Condition, compileOptions()...)
		if err != nil {
			// The parts compiled on their own; a failure here is a
			// combination we did not foresee, reported on the rule.
			p.errf(n, "", "rule %s: condition does not compile: %v", label, err)
		}
		r.program = prog
	}

	if !r.Skip && r.Message != "" {
		levels := []personalisationLevel{d.personalisation}
		if m, ok := c.rs.messages[r.Message]; ok {
			levels = append(levels, m.personalisation)
		}
		levels = append(levels, personal)
		for _, kind := range knownKinds {
			if tpls := effectivePersonalisation(kind, levels...); tpls != nil {
				if r.personalisation == nil {
					r.personalisation = map[string]map[string]*fieldTemplate{}
				}
				r.personalisation[kind] = tpls
			}
		}
	} else if personal.all != nil && (len(personal.all) > 0 || len(personal.kind) > 0) && r.Skip {
		p.errf(n, "a skip rule sends nothing; remove personalisation", "rule %s has both skip: true and personalisation", label)
	}
	if !r.Skip && r.Message != "" {
		// After an error in this rule (a misspelt channels key, an unknown
		// channel) its plan is not what the admin meant, so checking
		// templates against it would only add confusing errors.
		c.checkMessage(p, messageNode, r, label, len(*c.errs) == errsBefore)
	}
	r.renderExplanations()
	return r
}

func shorthandExpr(key string, vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	if len(vals) == 1 {
		return shorthand[key] + " == " + q[0]
	}
	return shorthand[key] + " in [" + strings.Join(q, ", ") + "]"
}

func (c *compiler) parseMatch(p *parser, n *yaml.Node) (map[string][]string, bool) {
	m := map[string][]string{}
	ok := true
	p.mapping(n, "match", shorthandOrder, func(key string, _, v *yaml.Node) {
		vals, good := p.strList(v, "match."+key)
		if !good {
			ok = false
			return
		}
		if len(vals) == 0 {
			p.errf(v, "an empty list matches nothing; remove the key to match everything", "match.%s is empty", key)
			ok = false
			return
		}
		var allowed []string
		switch key {
		case "event":
			allowed = knownEventTypes
		case "vertrouwelijkheid":
			allowed = vertrouwelijkheden
		case "kind":
			allowed = knownKinds
		case "language":
			allowed = knownLanguages
		}
		if allowed != nil {
			vn := resolve(v)
			for i, x := range vals {
				if !contains(allowed, x) {
					at := vn
					if vn.Kind == yaml.SequenceNode {
						at = vn.Content[i]
					}
					hint := suggest(x, allowed, "allowed: "+strings.Join(allowed, ", "))
					if key == "language" {
						hint = languageHint(x)
					}
					p.errf(at, hint, "unknown %s %q in match.%s", key, x, key)
					ok = false
				}
			}
			if key == "language" {
				for i := range vals {
					vals[i] = normaliseLanguage(vals[i])
				}
			}
		}
		m[key] = vals
	})
	return m, ok
}

// exprError places an expr compile error inside the YAML value it came from.
func (c *compiler) exprError(p *parser, n *yaml.Node, label, src string, err error) {
	pos := p.pos(n)
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = envTypeNames.Replace(fe.Message)
		switch n.Style {
		case yaml.LiteralStyle, yaml.FoldedStyle:
			// The text starts on the line after the | or >, indented.
			pos.Line += fe.Line
			pos.Column = p.blockIndent(n.Line+1) + fe.Column + 1
		default:
			pos.Line += fe.Line - 1
			pos.Column += fe.Column
			if n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle {
				pos.Column++
			}
		}
	}
	hint := "see the list of fields in docs/regels.md"
	switch {
	case strings.Contains(msg, "expected bool"):
		hint = "a condition must be true or false, e.g. zaak.omschrijving == \"x\", not zaak.omschrijving"
	case strings.Contains(msg, "too many nodes") || strings.Contains(msg, "exceeds maximum"):
		hint = "split the condition over several rules or use a match shorthand"
	case strings.Contains(src, "now("):
		hint = "use the field now (without brackets), the decision time in Europe/Amsterdam"
	case strings.Contains(msg, "unexpected token"), strings.Contains(msg, "unexpected"):
		hint = "strings need double quotes, comparisons use ==, and/or are written && and ||"
	case strings.Contains(msg, "has no field"), strings.Contains(msg, "unknown name"):
		hint = fieldHint(msg)
	case strings.Contains(msg, "mismatched types"), strings.Contains(msg, "invalid operation"):
		hint = "compare a field with a value of the same type: text in double quotes, numbers and true/false without"
	}
	*c.errs = append(*c.errs, Error{Pos: pos, Msg: fmt.Sprintf("rule %s: condition does not compile: %s", label, msg), Hint: hint})
}

// checkMessage enforces that the message exists and has a template for
// every channel the rule's plans can send it on.
func (c *compiler) checkMessage(p *parser, at *yaml.Node, r *Rule, label string, checkTemplates bool) {
	m, ok := c.rs.messages[r.Message]
	if !ok {
		p.errf(at, suggest(r.Message, c.rs.Messages(), "define it under messages:"), "rule %s uses unknown message %q", label, r.Message)
		return
	}
	if !checkTemplates || m.bad {
		return
	}
	var missing, adds []string
	seen := map[string]bool{}
	for _, kind := range knownKinds {
		for _, ch := range r.Plans[kind] {
			need := []string{ch}
			via := ""
			if ch == event.ChannelVoorkeur {
				need = []string{event.ChannelEmail, event.ChannelSMS}
				via = " (via voorkeur)"
			}
			for _, nc := range need {
				if _, ok := m.Variants[defaultLanguage][nc]; ok || seen[nc] {
					continue
				}
				seen[nc] = true
				missing = append(missing, nc+via)
				adds = append(adds, "messages."+r.Message+"."+nc)
			}
		}
	}
	if len(missing) > 0 {
		p.errf(at, "add "+strings.Join(adds, " and ")+", or give the rule a channels: list without them (a rule without channels: uses defaults.channels)",
			"message %q has no template for %s, but rule %s can send it there", r.Message, strings.Join(missing, ", "), label)
	}
}
