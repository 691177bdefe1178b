package rules

import (
	"fmt"
	"sort"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/mijnservices/koerier/internal/event"
)

const defaultLanguage = "nld"

// Channels a plan may name; voorkeur is expanded per recipient.
var knownChannels = []string{event.ChannelVoorkeur, event.ChannelEmail, event.ChannelSMS, event.ChannelBerichtenbox, event.ChannelPrint}

// sendChannels are the channels a message can carry templates for.
var sendChannels = []string{event.ChannelEmail, event.ChannelSMS, event.ChannelBerichtenbox, event.ChannelPrint}

var knownKinds = []string{event.KindInwoner, event.KindBedrijf}

// Recipient choices in a rule. The rol choices select which subjects of an
// event a rule addresses; organisation and contactpersonen say how a bedrijf
// is addressed (the organisation's own addresses, its contactpersonen, or
// both).
const (
	RecipientOrganisation    = "organisation"
	RecipientContactpersonen = "contactpersonen"
)

var knownRoles = []string{event.RoleInitiator, event.RoleMedeInitiator, event.RoleGemachtigde, event.RoleTaak}
var knownRecipients = append(append([]string{}, knownRoles...), RecipientOrganisation, RecipientContactpersonen)

var knownEventTypes = []string{
	event.TypeZaakAangemaakt, event.TypeZaakStatusGewijzigd, event.TypeZaakAfgesloten,
	event.TypeBesluitGenomen, event.TypeDocumentToegevoegd,
	event.TypeTaakToegewezen, event.TypeTaakGewijzigd, event.TypeTaakAfgerond, event.TypeTaakHerinnering,
}

// knownLanguages are ISO 639-2 codes of the languages Dutch municipalities
// write to residents in. Both the bibliographic (B) and terminology (T) code
// are accepted where they differ, because admins meet both.
var knownLanguages = []string{
	"nld", "dut", "eng", "fry", "deu", "ger", "fra", "fre", "spa", "por", "ita", "pol", "tur", "ara",
	"ukr", "rus", "ron", "rum", "bul", "pap", "som", "tir", "fas", "per", "zho", "chi", "ber", "hin", "urd",
}

// RuleSet is a loaded, compiled and validated set of rules. It is immutable
// and safe for concurrent use.
type RuleSet struct {
	files    []string
	defaults defaults
	messages map[string]*Message
	rules    []*Rule
	warnings Errors
	index    ruleIndex
	// linkHosts are the hosts a personalisation link may point to.
	linkHosts linkHosts
}

type defaults struct {
	channels    map[string][]string // kind -> plan
	recipients  []string
	quietHours  map[string]window
	groupWindow time.Duration
	throttle    *Throttle
	// personalisation is the defaults level of personalisation templates.
	personalisation personalisationLevel
}

// Message is a named message with its templates per language and channel.
type Message struct {
	Name string
	Pos  Pos
	// Variants maps language -> channel -> template. The nld variant holds
	// the message's top-level channel templates.
	Variants map[string]map[string]Template
	// bad is set when a template failed to parse; rules using the message
	// are then not checked against it, to avoid a cascade of errors.
	bad bool
	// personalisation is the message's level of personalisation templates.
	personalisation personalisationLevel
	// NotifyService names the Notify service (notify.services[].name) of
	// the message's email and SMS; empty is the first.
	NotifyService string
	// EmailReplyToID and SMSSenderID override the service's.
	EmailReplyToID, SMSSenderID string
	// NoKlantcontact: register_klantcontact: false.
	NoKlantcontact bool
}

// NotifyServices lists the Notify services the messages name, with the
// message (file:line) that names each first, so that an installation can
// refuse rules naming a service it does not have.
func (rs *RuleSet) NotifyServices() map[string]string {
	out := map[string]string{}
	for _, m := range rs.messages {
		if m.NotifyService != "" {
			if _, ok := out[m.NotifyService]; !ok {
				out[m.NotifyService] = fmt.Sprintf("%s: message %q", m.Pos, m.Name)
			}
		}
	}
	return out
}

// Template is what a channel needs to render one message: a Notify template
// id (email, sms), a Berichtenbox bericht (berichttype, subject and body in
// the rules' template language, and what to attach), or a letter template
// (print).
type Template struct {
	NotifyTemplate string `json:"notifyTemplate,omitempty"`
	Subject        string `json:"subject,omitempty"`
	Body           string `json:"body,omitempty"`
	Letter         string `json:"letter,omitempty"`
	// Envelope names one of the print config's envelopes (its window);
	// Postage is one of Postages. Both print only, both optional.
	Envelope string `json:"envelope,omitempty"`
	Postage  string `json:"postage,omitempty"`
	// BerichtType is the Berichtenbox berichttype as registered at Logius
	// (1–8 characters); a language variant without one uses nld's.
	BerichtType string `json:"berichtType,omitempty"`
	// Attach names the document to attach (AttachBesluitDocument) or "".
	Attach string `json:"attach,omitempty"`

	subject, body *fieldTemplate
}

// Postages are the kinds of postage a letter may ask the print street for.
var Postages = []string{"standaard", "prioriteit", "aangetekend"}

// ID is the one identifier Delivery.TemplateID carries for this template.
func (t Template) ID() string {
	switch {
	case t.NotifyTemplate != "":
		return t.NotifyTemplate
	case t.Letter != "":
		return t.Letter
	default:
		return t.Subject
	}
}

// Throttle limits how many times one recipient gets one message per period.
type Throttle struct {
	Max    int
	Period time.Duration
}

// Rule is one compiled rule.
type Rule struct {
	Name        string
	Description string
	Pos         Pos
	Skip        bool
	Reason      string
	Message     string
	Continue    bool
	// Plans maps kind (inwoner, bedrijf) to the channel plan, defaults
	// applied.
	Plans           map[string][]string
	Roles           []string
	Organisation    bool
	Contactpersonen bool
	QuietHours      map[string]window
	GroupWindow     time.Duration
	Throttle        *Throttle

	// Condition is the expression the rule evaluates (match shorthand and
	// when, joined with &&); empty means always.
	Condition string
	program   *vm.Program
	// terms and whenProgram evaluate the same condition as program, faster:
	// the shorthand as set look-ups, then only the `when` part in expr.
	// TestNativeMatchEqualsProgram holds them to the same answers.
	terms       []term
	whenProgram *vm.Program
	// filter is what the index knows of the condition: sets of event types
	// and zaaktype identificaties that the condition requires (nil: any).
	filter   filter
	match    map[string][]string // shorthand, for shadow analysis
	when     string
	roleMask uint8
	explain  explanations
	// personalisation maps kind to the templates in force for this rule:
	// defaults, message and rule merged (nil when there are none).
	personalisation map[string]map[string]*fieldTemplate
}

type term struct {
	get func(*Env) string
	set map[string]bool
}

// matches evaluates the rule's condition.
func (r *Rule) matches(machine *vm.VM, env *Env) (bool, error) {
	for _, t := range r.terms {
		if !t.set[t.get(env)] {
			return false, nil
		}
	}
	if r.whenProgram == nil {
		return true, nil
	}
	res, err := machine.Run(r.whenProgram, env)
	if err != nil {
		return false, err
	}
	ok, _ := res.(bool)
	return ok, nil
}

// Rules returns the rules in evaluation order.
func (rs *RuleSet) Rules() []*Rule { return rs.rules }

// Files returns the files the set was loaded from.
func (rs *RuleSet) Files() []string { return rs.files }

// Warnings returns the problems that do not stop loading: rules that can
// never match and messages that no rule uses.
func (rs *RuleSet) Warnings() Errors { return rs.warnings }

// Messages returns the message names, sorted.
func (rs *RuleSet) Messages() []string {
	out := make([]string, 0, len(rs.messages))
	for n := range rs.messages {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Roles returns every subject rol any rule addresses, so the router knows
// which subjects of an event to resolve at all.
func (rs *RuleSet) Roles() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs.rules {
		for _, role := range r.Roles {
			if !seen[role] {
				seen[role] = true
				out = append(out, role)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Template returns the template id for a message on a channel in a
// language, falling back to nld when the language has no template for that
// channel.
func (rs *RuleSet) Template(message, channel, language string) (templateID string, ok bool) {
	t, ok := rs.MessageTemplate(message, channel, language)
	if !ok {
		return "", false
	}
	return t.ID(), true
}

// MessageTemplate is Template with the whole template (Berichtenbox subject
// and body).
func (rs *RuleSet) MessageTemplate(message, channel, language string) (Template, bool) {
	m, ok := rs.messages[message]
	if !ok {
		return Template{}, false
	}
	if t, ok := m.Variants[language][channel]; ok {
		return t, true
	}
	t, ok := m.Variants[defaultLanguage][channel]
	return t, ok
}

// TemplateIDs returns every Notify template id the rules use, sorted, so a
// demo can seed a fake Notify.
func (rs *RuleSet) TemplateIDs() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range rs.messages {
		for _, chans := range m.Variants {
			for _, t := range chans {
				if t.NotifyTemplate != "" && !seen[t.NotifyTemplate] {
					seen[t.NotifyTemplate] = true
					out = append(out, t.NotifyTemplate)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Rule returns a rule by name.
func (rs *RuleSet) Rule(name string) (*Rule, bool) {
	for _, r := range rs.rules {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}
