package rules

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/event"
)

// ExplainInput is what `koerier rules explain` and the console's
// Regeltester decide on.
type ExplainInput struct {
	Event *event.Event
	// Recipient is what is known of the recipient; nil means nothing.
	Recipient *event.Recipient
	// Role, when set, explains only the subject with this rol.
	Role string
	// Now is the decision time.
	Now time.Time
	// Has, when set, trims every plan to the channels the installation
	// has, as the router does; nil counts every channel as configured.
	Has func(channel string) bool
}

// Explained is the decisions for one subject of an event.
type Explained struct {
	Subject   event.Subject
	Decisions []event.Decision
}

// Header is the line above a subject's explanation: "== initiator (inwoner)".
func (e Explained) Header() string {
	role := e.Subject.Role
	if role == "" {
		role = "-"
	}
	return fmt.Sprintf("== %s (%s)", role, e.Subject.Kind)
}

// Lines are the explanation lines under the header, indented, exactly as
// `koerier rules explain` prints them.
func (e Explained) Lines() []string { return DecisionLines(e.Decisions) }

// Explain decides in for every subject of its event (or for the recipient's
// subject, or for an unknown inwoner when the event names none), in the
// order the router would.
func (rs *RuleSet) Explain(in ExplainInput) []Explained {
	subjects := in.Event.Subjects
	if in.Recipient != nil && in.Recipient.Subject.Kind != "" {
		subjects = []event.Subject{in.Recipient.Subject}
	}
	if len(subjects) == 0 {
		kind := event.KindInwoner
		if in.Recipient != nil && in.Recipient.Kind != "" {
			kind = in.Recipient.Kind
		}
		subjects = []event.Subject{{Role: event.RoleInitiator, Kind: kind}}
	}
	var out []Explained
	for _, s := range subjects {
		if in.Role != "" && s.Role != in.Role {
			continue
		}
		ds := rs.DecideAll(Input{Event: in.Event, Recipient: in.Recipient, Subject: s, Now: in.Now})
		if in.Has != nil {
			for i := range ds {
				Restrict(&ds[i], in.Has)
			}
		}
		out = append(out, Explained{Subject: s, Decisions: ds})
	}
	return out
}

// DecisionLines renders decisions as `koerier rules explain` prints them:
// the explanation, then the outcome ("=> ...") and the personalisation.
// Times are Amsterdam time.
func DecisionLines(ds []event.Decision) []string {
	var out []string
	for _, d := range ds {
		for _, line := range d.Explanation {
			out = append(out, "  "+line)
		}
		switch {
		case d.Undeliverable:
			out = append(out, "  => ONBEZORGBAAR: "+d.Reason)
		case d.Skip:
			out = append(out, "  => niets versturen: "+d.Reason)
		default:
			line := fmt.Sprintf("  => regel %s, bericht %s (%s), plan %v", d.Rule, d.Message, d.Language, d.Plan)
			if !d.HoldUntil.IsZero() {
				line += ", vastgehouden tot " + d.HoldUntil.In(amsterdam).Format(time.RFC3339)
			}
			out = append(out, line)
			// The values the rules' personalisation templates rendered, as
			// Notify will get them (on top of the router's fixed keys).
			names := make([]string, 0, len(d.Personalisation))
			for k := range d.Personalisation {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				out = append(out, fmt.Sprintf("     personalisatie %s = %q", k, d.Personalisation[k]))
			}
		}
	}
	return out
}

// Decode reads an event, recipient or subject from data, JSON or YAML (by
// name's extension, or by a leading '{' when name has none), in the JSON
// field names of the bus, rejecting unknown fields, as DecodeFile does for a
// file. name names the source in errors.
func Decode(name string, data []byte, into any) error {
	var errs Errors
	p := &parser{file: name, errs: &errs}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}
	ext := filepath.Ext(name)
	isYAML := ext == ".yaml" || ext == ".yml" || (ext == "" && !strings.HasPrefix(strings.TrimSpace(string(data)), "{"))
	ok := false
	if isYAML {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
			p.errf(n, "", "%s is not valid YAML or JSON", name)
		} else {
			ok = p.decodeJSON(doc.Content[0], into, name)
		}
	} else {
		ok = p.strictJSON(n, data, into, name)
	}
	if !ok {
		for i := range errs {
			errs[i].Pos = Pos{File: name}
		}
		return errs
	}
	return nil
}
