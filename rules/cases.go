package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/event"
)

// Case is one expected decision in a cases file: an event and recipient
// facts, and what the rules must decide for them.
type Case struct {
	Name      string
	Pos       Pos
	Event     *event.Event
	Recipient *event.Recipient
	Subject   event.Subject
	Now       time.Time
	// Expect holds one expectation per decision (more than one only when a
	// rule says continue: true).
	Expect []Expect
}

// Expect is what a case expects of one decision. Empty fields are not
// checked, so a case states only what it is about.
type Expect struct {
	Rule     string   `yaml:"rule"`
	Message  string   `yaml:"message"`
	Language string   `yaml:"language"`
	Plan     []string `yaml:"plan"`
	Skip     *bool    `yaml:"skip"`
	// Reason must occur in the decision's reason.
	Reason string `yaml:"reason"`
	// Skipped lists channels that must be skipped (with any reason).
	Skipped   []string   `yaml:"skipped"`
	HoldUntil *time.Time `yaml:"hold_until"`
	// Personalisation holds rendered personalisation values the decision
	// must carry; "" asserts that the value is empty (e.g. a refused link).
	Personalisation map[string]string `yaml:"personalisation"`
}

// CaseResult is the outcome of one case; Diffs is empty when it passed.
type CaseResult struct {
	Case      Case
	Decisions []event.Decision
	Diffs     []string
}

// Passed reports whether the decisions met every expectation.
func (r CaseResult) Passed() bool { return len(r.Diffs) == 0 }

// defaultCaseNow is a Monday morning in Amsterdam, so that cases without a
// `now` do not depend on when CI runs (quiet hours).
var defaultCaseNow = time.Date(2026, 1, 5, 10, 0, 0, 0, amsterdam)

// LoadCases reads a cases file. Events and recipients are written inline in
// the JSON field names of the event types, or as event_file and
// recipient_file paths (JSON or YAML) relative to the cases file.
func LoadCases(path string) ([]Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var errs Errors
	p := &parser{file: path, errs: &errs}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.parseFile(data) // reports the syntax error with its line
		return nil, errs
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{Pos: Pos{File: path}, Msg: "no cases", Hint: "start the file with cases: and a list"}}
	}
	var cases []Case
	p.mapping(doc.Content[0], "the cases file", []string{"cases"}, func(_ string, _, v *yaml.Node) {
		v = resolve(v)
		if v.Kind != yaml.SequenceNode {
			p.errf(v, "each case starts with `- name: ...`", "cases must be a list, not %s", kindName(v))
			return
		}
		for _, cn := range v.Content {
			if c, ok := p.parseCase(filepath.Dir(path), resolve(cn)); ok {
				cases = append(cases, c)
			}
		}
	})
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	if len(cases) == 0 {
		return nil, Errors{{Pos: Pos{File: path}, Msg: "no cases", Hint: "add cases: with at least one case"}}
	}
	return cases, nil
}

func (p *parser) parseCase(dir string, n *yaml.Node) (Case, bool) {
	c := Case{Pos: p.pos(n), Now: defaultCaseNow}
	ok := true
	var subject *event.Subject
	p.mapping(n, "a case", []string{"name", "event", "event_file", "recipient", "recipient_file", "subject", "now", "expect"}, func(key string, _, v *yaml.Node) {
		var good bool
		switch key {
		case "name":
			c.Name, good = p.str(v, "name")
		case "event":
			c.Event = &event.Event{}
			good = p.decodeJSON(v, c.Event, "event")
		case "event_file":
			c.Event = &event.Event{}
			good = p.decodeFile(dir, v, c.Event, "event_file")
		case "recipient":
			c.Recipient = &event.Recipient{}
			good = p.decodeJSON(v, c.Recipient, "recipient")
		case "recipient_file":
			c.Recipient = &event.Recipient{}
			good = p.decodeFile(dir, v, c.Recipient, "recipient_file")
		case "subject":
			subject = &event.Subject{}
			good = p.decodeJSON(v, subject, "subject")
		case "now":
			var s string
			if s, good = p.str(v, "now"); good {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					p.errf(v, "write e.g. 2026-01-05T22:30:00+01:00", "now %q is not an RFC 3339 time", s)
					good = false
				}
				c.Now = t
			}
		case "expect":
			c.Expect, good = p.expectations(v)
		}
		ok = ok && good
	})
	if c.Name == "" {
		p.errf(n, "give every case a name", "case without a name")
		ok = false
	}
	if c.Event == nil {
		p.errf(n, "add event: {...} or event_file: path", "case %q has no event", c.Name)
		ok = false
	}
	if len(c.Expect) == 0 {
		p.errf(n, "add expect: {rule: ..., plan: [...]} or expect: {skip: true}", "case %q expects nothing", c.Name)
		ok = false
	}
	if !ok {
		return c, false
	}
	switch {
	case subject != nil:
		c.Subject = *subject
	case c.Recipient != nil && c.Recipient.Subject.Kind != "":
		c.Subject = c.Recipient.Subject
	case len(c.Event.Subjects) > 0:
		c.Subject = c.Event.Subjects[0]
	case c.Recipient != nil:
		c.Subject = event.Subject{Role: event.RoleInitiator, Kind: c.Recipient.Kind}
	}
	if c.Recipient != nil && c.Recipient.Subject.Kind == "" {
		c.Recipient.Subject = c.Subject
	}
	return c, true
}

func (p *parser) expectations(n *yaml.Node) ([]Expect, bool) {
	n = resolve(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []Expect
	for _, it := range items {
		var e Expect
		if !p.mapping(it, "expect", []string{"rule", "message", "language", "plan", "skip", "reason", "skipped", "hold_until", "personalisation"}, func(string, *yaml.Node, *yaml.Node) {}) {
			return nil, false
		}
		if err := it.Decode(&e); err != nil {
			p.errf(it, "", "expect: %v", strings.TrimPrefix(err.Error(), "yaml: "))
			return nil, false
		}
		out = append(out, e)
	}
	return out, true
}

// decodeJSON decodes an inline YAML value through JSON into one of the
// event types, so that cases use the same field names as the bus payloads
// and a misspelt field is an error rather than silently empty.
func (p *parser) decodeJSON(n *yaml.Node, into any, what string) bool {
	var v any
	if err := n.Decode(&v); err != nil {
		p.errf(n, "", "%s: %v", what, err)
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		p.errf(n, "", "%s: %v", what, err)
		return false
	}
	return p.strictJSON(n, b, into, what)
}

func (p *parser) strictJSON(n *yaml.Node, b []byte, into any, what string) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		p.errf(n, "field names are those of the JSON on the bus, e.g. zaak.identificatie, statustype.informeren, preferredChannel", "%s: %v", what, strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	return true
}

func (p *parser) decodeFile(dir string, n *yaml.Node, into any, what string) bool {
	name, ok := p.str(n, what)
	if !ok {
		return false
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		p.errf(n, "paths are relative to the cases file", "%s: %v", what, err)
		return false
	}
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
			p.errf(n, "", "%s: %s is not valid YAML", what, name)
			return false
		}
		return p.decodeJSON(doc.Content[0], into, what)
	}
	return p.strictJSON(n, b, into, what)
}

// RunCases decides every case and compares the decisions with the
// expectations.
func (rs *RuleSet) RunCases(cases []Case) []CaseResult {
	out := make([]CaseResult, len(cases))
	for i, c := range cases {
		ds := rs.DecideAll(Input{Event: c.Event, Recipient: c.Recipient, Subject: c.Subject, Now: c.Now})
		res := CaseResult{Case: c, Decisions: ds}
		if len(ds) != len(c.Expect) {
			res.Diffs = append(res.Diffs, fmt.Sprintf("decisions: want %d, got %d", len(c.Expect), len(ds)))
		}
		for j := 0; j < len(ds) && j < len(c.Expect); j++ {
			prefix := ""
			if len(c.Expect) > 1 {
				prefix = fmt.Sprintf("decision %d: ", j+1)
			}
			for _, d := range diff(c.Expect[j], ds[j]) {
				res.Diffs = append(res.Diffs, prefix+d)
			}
		}
		out[i] = res
	}
	return out
}

func diff(e Expect, d event.Decision) []string {
	var out []string
	str := func(field, want, got string) {
		if want != "" && want != got {
			out = append(out, fmt.Sprintf("%-10s want %q, got %q", field+":", want, got))
		}
	}
	str("rule", e.Rule, d.Rule)
	str("message", e.Message, d.Message)
	str("language", e.Language, d.Language)
	if e.Skip != nil && *e.Skip != d.Skip {
		out = append(out, fmt.Sprintf("%-10s want %v, got %v (reason: %q)", "skip:", *e.Skip, d.Skip, d.Reason))
	}
	if e.Reason != "" && !strings.Contains(d.Reason, e.Reason) {
		out = append(out, fmt.Sprintf("%-10s want it to contain %q, got %q", "reason:", e.Reason, d.Reason))
	}
	if e.Plan != nil && !slices.Equal(e.Plan, d.Plan) {
		out = append(out, fmt.Sprintf("%-10s want [%s], got [%s]", "plan:", strings.Join(e.Plan, ", "), strings.Join(d.Plan, ", ")))
	}
	for _, ch := range e.Skipped {
		if !containsSkip(d.Skipped, ch) {
			out = append(out, fmt.Sprintf("%-10s want %s skipped, but it was not", "skipped:", ch))
		}
	}
	for _, name := range sortedKeys(e.Personalisation) {
		got, ok := d.Personalisation[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%-10s want %s = %q, but the decision has no %s", "personalisation:", name, e.Personalisation[name], name))
		case got != e.Personalisation[name]:
			out = append(out, fmt.Sprintf("%-10s want %s = %q, got %q", "personalisation:", name, e.Personalisation[name], got))
		}
	}
	if e.HoldUntil != nil && !e.HoldUntil.Equal(d.HoldUntil) {
		got := "not held"
		if !d.HoldUntil.IsZero() {
			got = d.HoldUntil.In(amsterdam).Format(time.RFC3339)
		}
		out = append(out, fmt.Sprintf("%-10s want %s, got %s", "hold_until:", e.HoldUntil.In(amsterdam).Format(time.RFC3339), got))
	}
	return out
}

// DecodeFile reads an event, recipient or subject from a JSON or YAML file
// (by extension) in the JSON field names of the bus, rejecting unknown
// fields. Errors carry the file name.
func DecodeFile(path string, into any) error {
	var errs Errors
	p := &parser{file: path, errs: &errs}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path}
	if !p.decodeFile("", n, into, filepath.Base(path)) {
		for i := range errs {
			errs[i].Pos = Pos{File: path}
		}
		return errs
	}
	return nil
}
