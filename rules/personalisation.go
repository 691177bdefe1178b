package rules

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/event"
)

// Personalisation is the part of the rules that fills a message's
// placeholders beyond the router's fixed keys: per name a Go text/template
// over the condition fields (`{{ .zaak.uuid }}`), at three levels
// (defaults, message, rule; later wins) with inwoner/bedrijf variants (the
// variant wins over the plain value of its own level).
//
// The language is deliberately small: the fields of `koerier rules fields`
// (which hold no BSN, KVK number, name or address), and the functions in
// templateFuncs. A template that names a field that does not exist, or
// the BSN, is an error at load; so is a link whose rendering with sample
// data is not https:// on a host from link_hosts. At send time a link that
// renders off the list is refused (left empty), never sent.

// personalisationLevel is one level's templates: for every kind, and per
// kind.
type personalisationLevel struct {
	all  map[string]*fieldTemplate
	kind map[string]map[string]*fieldTemplate
}

// fieldTemplate is one compiled personalisation value.
type fieldTemplate struct {
	name string
	src  string
	pos  Pos
	tmpl *template.Template
	// link: the value is a URL and must be https:// on a link host.
	link bool
}

var personalisationName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// isLinkName says whether a personalisation value is a link by its name.
func isLinkName(name string) bool {
	return strings.HasSuffix(name, "_link") || strings.HasSuffix(name, "_url")
}

// parsePersonalisation parses `personalisation:` at any level.
func (p *parser) parsePersonalisation(n *yaml.Node, what string) (personalisationLevel, bool) {
	lvl := personalisationLevel{all: map[string]*fieldTemplate{}, kind: map[string]map[string]*fieldTemplate{}}
	ok := true
	p.mapping(n, what, nil, func(key string, k, v *yaml.Node) {
		if contains(knownKinds, key) {
			lvl.kind[key] = map[string]*fieldTemplate{}
			p.mapping(v, what+"."+key, nil, func(name string, k2, v2 *yaml.Node) {
				if t, good := p.fieldTemplate(name, k2, v2, what+"."+key); good {
					lvl.kind[key][name] = t
				} else {
					ok = false
				}
			})
			return
		}
		if t, good := p.fieldTemplate(key, k, v, what); good {
			lvl.all[key] = t
		} else {
			ok = false
		}
	})
	return lvl, ok
}

func (p *parser) fieldTemplate(name string, k, v *yaml.Node, what string) (*fieldTemplate, bool) {
	if !personalisationName.MatchString(name) {
		p.errf(k, "write names in lower case with underscores, e.g. portaal_link; use them in the Notify template as ((portaal_link))",
			"personalisation name %q in %s is not a placeholder name", name, what)
		return nil, false
	}
	src, ok := p.str(v, what+"."+name)
	if !ok {
		return nil, false
	}
	t := &fieldTemplate{name: name, src: src, pos: p.pos(v),
		link: isLinkName(name) || strings.HasPrefix(strings.ToLower(strings.TrimSpace(src)), "http")}
	tmpl, err := template.New(name).Option("missingkey=error").Funcs(templateFuncs).Parse(src)
	if err != nil {
		p.errf(v, "placeholders look like {{ .zaak.identificatie }}; see `koerier rules fields` and the functions in docs/regels.md",
			"%s.%s is not a valid template: %s", what, name, cleanTemplateError(err))
		return nil, false
	}
	// {{ define }}, {{ template }} and {{ block }} would write text that the
	// link escaping below does not see; one value needs none of them.
	if len(tmpl.Templates()) > 1 || hasTemplateCall(tmpl.Tree.Root) {
		p.errf(v, "write the value in one piece; use {{ if }} to choose between texts",
			"%s.%s uses define, template or block, which personalisation does not support", what, name)
		return nil, false
	}
	if bad := namesBSN(tmpl.Tree.Root); bad != "" {
		p.errf(v, "templates cannot see the BSN, and a message never needs it: link with the zaak or taak uuid instead",
			"%s.%s names %q: templates have no access to the BSN", what, name, bad)
		return nil, false
	}
	if t.link {
		escapeLink(tmpl.Tree, tmpl.Tree.Root, &linkState{atStart: true})
	}
	t.tmpl = tmpl
	p.templates = append(p.templates, t)
	return t, true
}

// namesBSN returns the identifier or text in the template that refers to
// the BSN, or "". The data has no BSN, so such a template would fail on an
// unknown field anyway; this says why, and catches `index . "bsn"` too.
func namesBSN(n parse.Node) string {
	bad := func(s string) bool {
		s = strings.ToLower(s)
		return strings.Contains(s, "bsn") || strings.Contains(s, "burgerservicenummer")
	}
	var found string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		if found != "" || n == nil || reflect.ValueOf(n).IsNil() {
			return
		}
		switch x := n.(type) {
		case *parse.ListNode:
			for _, c := range x.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.PipeNode:
			for _, c := range x.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range x.Args {
				walk(a)
			}
		case *parse.FieldNode:
			for _, id := range x.Ident {
				if bad(id) {
					found = "." + strings.Join(x.Ident, ".")
				}
			}
		case *parse.ChainNode:
			walk(x.Node)
			for _, id := range x.Field {
				if bad(id) {
					found = id
				}
			}
		case *parse.VariableNode:
			for _, id := range x.Ident {
				if bad(id) {
					found = id
				}
			}
		case *parse.StringNode:
			if bad(x.Text) {
				found = x.Text
			}
		case *parse.IfNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.RangeNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.WithNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		}
	}
	walk(n)
	return found
}

func hasTemplateCall(list *parse.ListNode) bool {
	if list == nil {
		return false
	}
	for _, n := range list.Nodes {
		switch x := n.(type) {
		case *parse.TemplateNode:
			return true
		case *parse.IfNode:
			if hasTemplateCall(x.List) || hasTemplateCall(x.ElseList) {
				return true
			}
		case *parse.RangeNode:
			if hasTemplateCall(x.List) || hasTemplateCall(x.ElseList) {
				return true
			}
		case *parse.WithNode:
			if hasTemplateCall(x.List) || hasTemplateCall(x.ElseList) {
				return true
			}
		}
	}
	return false
}

// linkState tracks, while walking a link template in order, whether
// nothing has been written yet and whether the query part has begun.
type linkState struct{ atStart, inQuery bool }

// escapeLinkFuncs are the functions after which a value is already safe
// (or, for raw, deliberately not escaped) in a link.
var escapeLinkFuncs = map[string]bool{"pad": true, "urlquery": true, "raw": true}

// escapeLink makes every value a link template writes safe where it
// lands: a value that starts the link is left as it is (it is the base,
// e.g. {{ .taak.formulier }}, and the host check guards it); a value after
// that is escaped as a path segment (pad), or after a '?' as a query value
// (urlquery), unless the template already pipes it through pad, urlquery
// or raw. So a zaak uuid can never add a '/', '?' or '#' to a link.
func escapeLink(tree *parse.Tree, list *parse.ListNode, st *linkState) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch x := n.(type) {
		case *parse.TextNode:
			if len(x.Text) > 0 {
				st.atStart = false
			}
			if bytes.ContainsRune(x.Text, '?') {
				st.inQuery = true
			}
		case *parse.ActionNode:
			if len(x.Pipe.Decl) > 0 {
				continue // {{ $x := ... }} writes nothing
			}
			if st.atStart {
				st.atStart = false
				continue
			}
			last := x.Pipe.Cmds[len(x.Pipe.Cmds)-1]
			if id, ok := last.Args[0].(*parse.IdentifierNode); ok && escapeLinkFuncs[id.Ident] {
				continue
			}
			fn := "pad"
			if st.inQuery {
				fn = "urlquery"
			}
			id := parse.NewIdentifier(fn).SetTree(tree).SetPos(x.Pos)
			x.Pipe.Cmds = append(x.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: x.Pos, Args: []parse.Node{id}})
		case *parse.IfNode:
			escapeBranches(tree, st, x.List, x.ElseList)
		case *parse.RangeNode:
			escapeBranches(tree, st, x.List, x.ElseList)
		case *parse.WithNode:
			escapeBranches(tree, st, x.List, x.ElseList)
		}
	}
}

func escapeBranches(tree *parse.Tree, st *linkState, lists ...*parse.ListNode) {
	after := linkState{atStart: st.atStart, inQuery: st.inQuery}
	for _, l := range lists {
		b := *st
		escapeLink(tree, l, &b)
		after.atStart = after.atStart && b.atStart
		after.inQuery = after.inQuery || b.inQuery
	}
	*st = after
}

// Dutch month names; time.Format only knows English ones.
var maanden = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}

// asTime accepts a time field or a date text as the ZGW APIs write it.
func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		if x == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, x, amsterdam); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a date", x)
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("%v is not a date", v)
}

// templateFuncs is the whole function set of the template language. It
// replaces text/template's html, js, call, print(f/ln) so that what an
// admin writes stays a value, not a program.
var templateFuncs = template.FuncMap{
	// datum: 5 januari 2026, in Europe/Amsterdam; empty for no date.
	"datum": func(v any) (string, error) {
		t, err := asTime(v)
		if err != nil || t.IsZero() {
			return "", err
		}
		t = t.In(amsterdam)
		return fmt.Sprintf("%d %s %d", t.Day(), maanden[t.Month()-1], t.Year()), nil
	},
	// datumtijd: 5 januari 2026 om 14:30, in Europe/Amsterdam.
	"datumtijd": func(v any) (string, error) {
		t, err := asTime(v)
		if err != nil || t.IsZero() {
			return "", err
		}
		t = t.In(amsterdam)
		return fmt.Sprintf("%d %s %d om %02d:%02d", t.Day(), maanden[t.Month()-1], t.Year(), t.Hour(), t.Minute()), nil
	},
	"upper": func(v any) string { return strings.ToUpper(text(v)) },
	"lower": func(v any) string { return strings.ToLower(text(v)) },
	// default "x" .veld: .veld, or x when it is empty (or false, 0).
	"default": func(def string, v any) string {
		if v == nil || reflect.ValueOf(v).IsZero() {
			return def
		}
		return text(v)
	},
	"urlquery": func(v any) string { return url.QueryEscape(text(v)) },
	"pad":      func(v any) string { return url.PathEscape(text(v)) },
	// raw switches off the automatic escaping in a link.
	"raw":     func(v any) string { return text(v) },
	"html":    disabled("html"),
	"js":      disabled("js"),
	"call":    disabled("call"),
	"print":   disabled("print"),
	"printf":  disabled("printf"),
	"println": disabled("println"),
}

func disabled(name string) func(...any) (string, error) {
	return func(...any) (string, error) {
		return "", fmt.Errorf("the function %s is not available in Koerier templates", name)
	}
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.In(amsterdam).Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// templateFuncNames lists the functions for the documentation and hints.
func templateFuncNames() []string {
	var out []string
	for n, f := range templateFuncs {
		if _, off := f.(func(...any) (string, error)); !off {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// templateData turns the condition environment into what templates see:
// nested maps keyed by the names of `koerier rules fields`, so that
// `{{ .zaak.uuid }}` reads like `zaak.uuid` in a condition, and with
// missingkey=error an unknown field is an error rather than "<no value>".
func templateData(env *Env) map[string]any {
	v := reflect.ValueOf(env).Elem()
	out := make(map[string]any, v.NumField())
	for _, f := range envLayout() {
		fv := v.Field(f.index)
		if f.sub == nil {
			out[f.name] = fv.Interface()
			continue
		}
		m := make(map[string]any, len(f.sub))
		for _, s := range f.sub {
			m[s.name] = fv.Field(s.index).Interface()
		}
		out[f.name] = m
	}
	return out
}

type envField struct {
	name  string
	index int
	sub   []envField
}

var envLayout = sync.OnceValue(func() []envField {
	var out []envField
	t := reflect.TypeOf(Env{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		ef := envField{name: f.Tag.Get("expr"), index: i}
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() != "time" {
			for j := 0; j < f.Type.NumField(); j++ {
				ef.sub = append(ef.sub, envField{name: f.Type.Field(j).Tag.Get("expr"), index: j})
			}
		}
		out = append(out, ef)
	}
	return out
})

// render executes one template; the result is trimmed, because YAML block
// scalars end in a newline that must not end up in a link.
func (t *fieldTemplate) render(data map[string]any) (string, error) {
	var b strings.Builder
	if err := t.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%s", cleanTemplateError(err))
	}
	return strings.TrimSpace(b.String()), nil
}

var templatePrefix = regexp.MustCompile(`^template: [a-z0-9_]+:(\d+:\d+: )?`)

// cleanTemplateError drops text/template's "template: name:1:7: executing
// "name" at <.zaak.uid>:" preamble down to what an admin can act on.
func cleanTemplateError(err error) string {
	msg := templatePrefix.ReplaceAllString(err.Error(), "")
	if i := strings.Index(msg, "executing "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			at := ""
			if k := strings.Index(msg[:j], " at <"); k > 0 {
				at = msg[k+len(" at ") : j]
			}
			msg = strings.TrimSpace(msg[j+2:])
			if at != "" {
				msg = at + ": " + msg
			}
		}
	}
	return msg
}

// linkHosts is the parsed link_hosts list: exact host names, or
// "*.gemeente.nl" for any subdomain.
type linkHosts []string

func (h linkHosts) allows(host string) bool {
	host = strings.ToLower(host)
	for _, x := range h {
		if x == host || (strings.HasPrefix(x, "*.") && strings.HasSuffix(host, x[1:])) {
			return true
		}
	}
	return false
}

// checkLink returns why value may not be sent as a link, or "".
func (h linkHosts) checkLink(value string) string {
	if value == "" {
		return ""
	}
	if strings.ContainsAny(value, " \t\r\n\"<>\\") {
		return "de link bevat spaties, aanhalingstekens of andere tekens die niet in een link horen"
	}
	u, err := url.Parse(value)
	if err != nil {
		return "geen geldige link: " + err.Error()
	}
	if u.Scheme != "https" {
		return "de link begint niet met https://"
	}
	if u.User != nil {
		return "de link bevat een gebruikersnaam (iets@) vóór de host"
	}
	if !h.allows(u.Hostname()) {
		return fmt.Sprintf("host %q staat niet in link_hosts", u.Hostname())
	}
	if u.Port() != "" {
		return "de link noemt een poort"
	}
	return ""
}

// parseLinkHosts parses the top-level link_hosts list.
func (p *parser) parseLinkHosts(n *yaml.Node) (linkHosts, bool) {
	items, ok := p.strList(n, "link_hosts")
	if !ok {
		return nil, false
	}
	n = resolve(n)
	var out linkHosts
	for i, h := range items {
		at := n
		if n.Kind == yaml.SequenceNode {
			at = n.Content[i]
		}
		h = strings.ToLower(strings.TrimSpace(h))
		bare := strings.TrimPrefix(h, "*.")
		if bare == "" || strings.ContainsAny(bare, "/:@?#* ") || !strings.Contains(bare, ".") {
			p.errf(at, "write only the host name, e.g. mijn.gemeente.nl or *.gemeente.nl, without https:// or a path", "link_hosts: %q is not a host name", items[i])
			ok = false
			continue
		}
		out = append(out, h)
	}
	return out, ok
}

// effectivePersonalisation merges the levels for one kind: defaults,
// message, rule, each first for every kind, then for the kind.
func effectivePersonalisation(kind string, levels ...personalisationLevel) map[string]*fieldTemplate {
	out := map[string]*fieldTemplate{}
	for _, l := range levels {
		for n, t := range l.all {
			out[n] = t
		}
		for n, t := range l.kind[kind] {
			out[n] = t
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// renderPersonalisation renders the templates of one decision. A value
// that fails, or a link off the list, is left empty (so a Notify template
// naming it still gets the key) and explained; a bad link is never sent.
func (rs *RuleSet) renderPersonalisation(tpls map[string]*fieldTemplate, env *Env) (map[string]string, []string) {
	if len(tpls) == 0 {
		return nil, nil
	}
	data := templateData(env)
	out := make(map[string]string, len(tpls))
	var lines []string
	for _, name := range sortedKeys(tpls) {
		t := tpls[name]
		v, err := t.render(data)
		if err != nil {
			out[name] = ""
			lines = append(lines, fmt.Sprintf("Personalisatie %s (%s) geweigerd: %s; de waarde blijft leeg.", name, t.pos, err))
			continue
		}
		if t.link || strings.HasPrefix(strings.ToLower(v), "http") {
			if why := rs.linkHosts.checkLink(v); why != "" {
				out[name] = ""
				lines = append(lines, fmt.Sprintf("Personalisatie %s (%s) geweigerd: %s; de link wordt niet verstuurd.", name, t.pos, why))
				continue
			}
		}
		out[name] = v
	}
	return out, lines
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sampleEvent is an event of type etype with every part filled, for
// `rules check` to render each template as it would be sent.
func sampleEvent(etype string, hosts linkHosts) *event.Event {
	form := "https://formulieren.gemeente.example/formulier/aanvullende-gegevens"
	for _, h := range hosts {
		if !strings.HasPrefix(h, "*.") {
			form = "https://" + h + "/formulier/aanvullende-gegevens"
			break
		}
	}
	return &event.Event{
		ID: "0b8f6d0e-4c51-4c8e-9d0a-3b1d3a5b2c10", Type: etype, Source: event.SourceNotificaties,
		OccurredAt: defaultCaseNow,
		Zaak: &event.Zaak{URL: "https://zaken.gemeente.example/zaken/api/v1/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10",
			Identificatie: "ZAAK-2026-0001", Omschrijving: "Parkeervergunning Kerkstraat", Vertrouwelijkheidaanduiding: "openbaar",
			Registratiedatum: "2026-01-05", Bronorganisatie: "002220647"},
		Zaaktype:   &event.Zaaktype{URL: "https://zaken.gemeente.example/catalogi/api/v1/zaaktypen/1", Identificatie: "ZT-VOORBEELD", Omschrijving: "Voorbeeldzaaktype"},
		Status:     &event.Status{URL: "https://zaken.gemeente.example/zaken/api/v1/statussen/1", DatumStatusGezet: "2026-01-05T09:30:00Z"},
		Statustype: &event.Statustype{URL: "https://zaken.gemeente.example/catalogi/api/v1/statustypen/1", Omschrijving: "In behandeling", Volgnummer: 2, Informeren: true},
		Resultaat:  &event.Resultaat{URL: "https://zaken.gemeente.example/zaken/api/v1/resultaten/1", Omschrijving: "Verleend"},
		Besluit: &event.Besluit{URL: "https://zaken.gemeente.example/besluiten/api/v1/besluiten/1", Identificatie: "BESLUIT-2026-0001",
			Datum: "2026-01-05", Ingangsdatum: "2026-01-06", BesluittypeOmschrijving: "Vergunning verleend"},
		Taak: &event.Taak{URL: "https://objecten.gemeente.example/api/v2/objects/7c3e1f2a-9b8d-4e6f-a1b2-c3d4e5f60718", Titel: "Aanvullende gegevens aanleveren",
			Status: "open", Soort: "formulier", Verloopdatum: defaultCaseNow.AddDate(0, 0, 14), FormulierURL: form},
		Document: &event.Document{URL: "https://zaken.gemeente.example/documenten/api/v1/enkelvoudiginformatieobjecten/1", Titel: "Advies welstand"},
	}
}

// sample is the template data of a sample event of one type for one kind.
type sample struct {
	label string
	data  map[string]any
}

// sampleData is the data `rules check` renders templates with: every event
// type for every kind.
func sampleData(hosts linkHosts) []sample {
	var samples []sample
	for _, kind := range knownKinds {
		for _, etype := range knownEventTypes {
			var env Env
			newEnv(&env, &Input{Event: sampleEvent(etype, hosts), Subject: event.Subject{Role: event.RoleInitiator, Kind: kind},
				Recipient: &event.Recipient{Kind: kind}, Now: defaultCaseNow})
			samples = append(samples, sample{etype + ", " + kind, templateData(&env)})
		}
	}
	return samples
}

// checkPersonalisation renders every template (at every level, used or
// not) with sample data of each event type and each kind, and reports a
// template that fails, or a link off the list, at the template's line.
func (c *compiler) checkPersonalisation(all []*fieldTemplate) {
	if len(all) == 0 {
		return
	}
	samples := sampleData(c.rs.linkHosts)
	for _, t := range all {
		for _, s := range samples {
			v, err := t.render(s.data)
			if err != nil {
				*c.errs = append(*c.errs, Error{Pos: t.pos, Msg: fmt.Sprintf("personalisation %s does not render (%s): %s", t.name, s.label, err),
					Hint: templateHint(err.Error())})
				break
			}
			if !t.link && !strings.HasPrefix(strings.ToLower(v), "http") {
				continue
			}
			if len(c.rs.linkHosts) == 0 {
				*c.errs = append(*c.errs, Error{Pos: t.pos, Msg: fmt.Sprintf("personalisation %s is a link, but the rules have no link_hosts", t.name),
					Hint: "add link_hosts: [mijn.gemeente.nl] at the top of the file, with every host a link may point to"})
				break
			}
			if why := c.rs.linkHosts.checkLink(v); why != "" {
				*c.errs = append(*c.errs, Error{Pos: t.pos, Msg: fmt.Sprintf("personalisation %s renders %q (%s): %s", t.name, v, s.label, why),
					Hint: "a link must be https:// on a host listed in link_hosts; add the host there only if it really is the gemeente's"})
				break
			}
		}
	}
}

func templateHint(msg string) string {
	if strings.Contains(msg, "map has no entry for key") {
		return "fields are those of `koerier rules fields`, written with a dot in front: {{ .zaak.uuid }}, {{ .taak.formulier }}"
	}
	if strings.Contains(msg, "not available") || strings.Contains(msg, "not defined") {
		return "functions: " + strings.Join(templateFuncNames(), ", ")
	}
	return "see the personalisation section of docs/regels.md"
}

// LetterTemplate parses a letter template (printstraat) in the same
// language as personalisation: the same curated functions, and a field the
// data lacks is an error, never "<no value>". A letter sees the delivery's
// personalisation keys (naam, zaak_identificatie, besluit_datum, ...).
func LetterTemplate(name, src string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(templateFuncs).Parse(src)
}
