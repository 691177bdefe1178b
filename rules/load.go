package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/event"
)

// Source is one rule file's name and content.
type Source struct {
	Name string
	Data []byte
}

// Load reads a rule file, or every *.yaml and *.yml file in a folder (in
// name order; rules are evaluated in that order; *.cases.yaml files and
// hidden files are left out), and returns the compiled
// set. Any problem makes it fail with Errors listing every problem found,
// each with file:line:column.
func Load(path string) (*RuleSet, error) {
	srcs, err := ReadSources(path)
	if err != nil {
		return nil, err
	}
	return LoadSources(srcs...)
}

// ReadSources reads what Load would load, so that a caller can hash exactly
// the content it compiles.
func ReadSources(path string) ([]Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var names []string
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		for _, e := range entries {
			n := e.Name()
			// Cases files (*.cases.yaml) may live next to the rules they
			// test; they are not rules.
			isCases := strings.HasSuffix(n, ".cases.yaml") || strings.HasSuffix(n, ".cases.yml")
			regular := e.Type().IsRegular()
			if e.Type()&os.ModeSymlink != 0 {
				// A Kubernetes ConfigMap mounted as a folder holds symlinks
				// into a hidden ..data folder: follow them.
				if ti, err := os.Stat(filepath.Join(path, n)); err == nil {
					regular = ti.Mode().IsRegular()
				}
			}
			if regular && !strings.HasPrefix(n, ".") && !isCases && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				names = append(names, filepath.Join(path, n))
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("rules: folder %s holds no *.yaml files", path)
		}
	} else {
		names = []string{path}
	}
	srcs := make([]Source, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		srcs = append(srcs, Source{Name: n, Data: b})
	}
	return srcs, nil
}

// Hash is the hex sha256 over the sources' names and contents; it changes
// whenever a reload would load something else.
func Hash(srcs []Source) string {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(s.Name), len(s.Data))
		h.Write(s.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LoadSources compiles rule files already in memory.
func LoadSources(srcs ...Source) (*RuleSet, error) {
	var errs Errors
	var files []*parsedFile
	for _, s := range srcs {
		p := &parser{file: s.Name, errs: &errs}
		if f := p.parseFile(s.Data); f != nil {
			files = append(files, f)
		}
	}
	rs := &RuleSet{messages: map[string]*Message{}}
	for _, s := range srcs {
		rs.files = append(rs.files, s.Name)
	}
	c := &compiler{rs: rs, errs: &errs}
	c.compile(files)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	rs.index = buildIndex(rs.rules)
	rs.warnings = lint(rs)
	return rs, nil
}

type parsedFile struct {
	p        *parser
	version  *yaml.Node
	defaults *yaml.Node
	messages *yaml.Node
	rules    *yaml.Node
	// linkHosts is the top-level link_hosts list.
	linkHosts *yaml.Node
}

type parser struct {
	file  string
	errs  *Errors
	lines []string
	// templates collects every personalisation template parsed, for the
	// compiler to render with sample data.
	templates []*fieldTemplate
}

// blockIndent is the indentation of a line (1-based), to place errors
// inside block scalars, whose content expr sees without that indentation.
func (p *parser) blockIndent(line int) int {
	if line < 1 || line > len(p.lines) {
		return 0
	}
	l := p.lines[line-1]
	return len(l) - len(strings.TrimLeft(l, " "))
}

func (p *parser) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: p.file}
	}
	return Pos{File: p.file, Line: n.Line, Column: n.Column}
}

func (p *parser) errf(n *yaml.Node, hint, format string, args ...any) {
	*p.errs = append(*p.errs, Error{Pos: p.pos(n), Msg: fmt.Sprintf(format, args...), Hint: hint})
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

func (p *parser) parseFile(data []byte) *parsedFile {
	p.lines = strings.Split(string(data), "\n")
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		p.yamlError(err)
		return nil
	}
	// A second document (after ---) would be ignored by a plain decode;
	// an admin who pasted two files into one would lose half silently.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errf(&extra, "keep one document per file, or put the second in its own file in the folder", "the file holds more than one YAML document (---)")
		return nil
	} else if err != io.EOF {
		p.yamlError(err)
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &parsedFile{p: p}
	}
	root := resolve(doc.Content[0])
	f := &parsedFile{p: p}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f
	}
	p.mapping(root, "the file", []string{"version", "link_hosts", "defaults", "messages", "rules"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "link_hosts":
			f.linkHosts = v
		case "version":
			f.version = v
		case "defaults":
			f.defaults = v
		case "messages":
			f.messages = v
		case "rules":
			f.rules = v
		}
	})
	if f.version == nil {
		p.errf(root, "start the file with `version: 1`", "missing version")
	} else if s, ok := p.str(f.version, "version"); ok && s != "1" {
		p.errf(f.version, "this Koerier understands version 1", "unsupported version %q", s)
	}
	return f
}

func (p *parser) yamlError(err error) {
	// A tab in the indentation is the most common cause, and yaml.v3 often
	// blames the line where the block started; point at the tab instead.
	for i, l := range p.lines {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if c := strings.IndexByte(indent, '\t'); c >= 0 {
			*p.errs = append(*p.errs, Error{Pos: Pos{File: p.file, Line: i + 1, Column: c + 1}, Msg: "invalid YAML: a tab is used for indentation",
				Hint: "YAML indents with spaces only; set your editor to insert spaces"})
			return
		}
	}
	// yaml.v3 reports syntax errors as "yaml: line N: message".
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	*p.errs = append(*p.errs, Error{Pos: Pos{File: p.file, Line: line, Column: 1}, Msg: "invalid YAML: " + msg,
		Hint: "check the indentation (spaces, not tabs) and that every ':' after a key is followed by a space"})
}

// resolve follows aliases so that admins may reuse a channel plan with
// YAML anchors. The schema has a fixed depth, so even a self-referencing
// alias cannot make the walk recurse without end.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a value"
	}
	return "an alias"
}

// mapping walks a mapping node, reporting duplicate and unknown keys.
func (p *parser) mapping(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errf(n, "", "%s must be a mapping of `key: value` lines, not %s", what, kindName(n))
		return false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errf(k, "", "a key in %s must be a plain word", what)
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			p.errf(k, fmt.Sprintf("the first is at line %d; remove one", first.Line), "duplicate key %q in %s", key, what)
			continue
		}
		seen[key] = k
		if known != nil && !contains(known, key) {
			p.errf(k, suggest(key, known, "allowed: "+strings.Join(known, ", ")), "unknown key %q in %s", key, what)
			continue
		}
		fn(key, k, v)
	}
	return true
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, "", "%s must be a single value, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// strList accepts one value or a list of values.
func (p *parser) strList(n *yaml.Node, what string) ([]string, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "write a list like [a, b]", "%s must be a list, not %s", what, kindName(n))
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for _, c := range n.Content {
		c = resolve(c)
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			p.errf(c, "", "an item of %s must be a single value, not %s", what, kindName(c))
			ok = false
			continue
		}
		out = append(out, c.Value)
	}
	return out, ok
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errf(n, "write true or false", "%s must be true or false", what)
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		// YAML 1.1 spellings (yes/on) that yaml.v3 still tags !!bool.
		b = strings.EqualFold(n.Value, "yes") || strings.EqualFold(n.Value, "on")
	}
	return b, true
}

// duration parses Go durations plus a day suffix ("1d"), which admins
// expect for throttles.
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	if strings.HasSuffix(s, "d") {
		if d, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && d > 0 {
			return time.Duration(d) * 24 * time.Hour, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.errf(n, "write e.g. 90s, 2m, 1h or 1d", "%s %q is not a duration", what, s)
		return 0, false
	}
	return d, true
}

func (p *parser) channel(n *yaml.Node, name string, allowVoorkeur bool) bool {
	allowed := sendChannels
	if allowVoorkeur {
		allowed = knownChannels
	}
	if contains(allowed, name) {
		return true
	}
	p.errf(n, suggest(name, allowed, "allowed: "+strings.Join(allowed, ", ")), "unknown channel %q", name)
	return false
}

// plan parses a channel list.
func (p *parser) plan(n *yaml.Node, what string) ([]string, bool) {
	items, ok := p.strList(n, what)
	if !ok {
		return nil, false
	}
	n = resolve(n)
	for i, c := range items {
		at := n
		if n.Kind == yaml.SequenceNode {
			at = n.Content[i]
		}
		if !p.channel(at, c, true) {
			ok = false
		}
	}
	if ok && len(items) == 0 {
		p.errf(n, "name at least one channel, or use `skip: true` to send nothing", "%s is empty", what)
		ok = false
	}
	return items, ok
}

// plans parses `channels:` as one list for every kind or a mapping per kind.
func (p *parser) plans(n *yaml.Node, what string) (map[string][]string, bool) {
	n = resolve(n)
	out := map[string][]string{}
	if n.Kind != yaml.MappingNode {
		pl, ok := p.plan(n, what)
		if !ok {
			return nil, false
		}
		for _, k := range knownKinds {
			out[k] = pl
		}
		return out, true
	}
	ok := true
	p.mapping(n, what, knownKinds, func(key string, _, v *yaml.Node) {
		pl, good := p.plan(v, what+"."+key)
		if !good {
			ok = false
			return
		}
		out[key] = pl
	})
	return out, ok
}

type window struct {
	from, to int // minutes after midnight
	text     string
}

// quietHours parses {channel: "21:00-08:00"}; an empty value switches a
// default off for one rule.
func (p *parser) quietHours(n *yaml.Node, what string) (map[string]window, bool) {
	out := map[string]window{}
	ok := true
	p.mapping(n, what, nil, func(key string, k, v *yaml.Node) {
		if !p.channel(k, key, false) {
			ok = false
			return
		}
		if v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "") {
			out[key] = window{}
			return
		}
		s, good := p.str(v, what+"."+key)
		if !good {
			ok = false
			return
		}
		w, err := parseWindow(s)
		if err != nil {
			p.errf(v, `write "HH:MM-HH:MM" in Europe/Amsterdam time, e.g. "21:00-08:00"`, "%s.%s %q is not a time window: %v", what, key, s, err)
			ok = false
			return
		}
		out[key] = w
	})
	return out, ok
}

func parseWindow(s string) (window, error) {
	from, to, found := strings.Cut(strings.ReplaceAll(s, " ", ""), "-")
	if !found {
		return window{}, fmt.Errorf("no '-' between start and end")
	}
	f, err := parseClock(from)
	if err != nil {
		return window{}, err
	}
	t, err := parseClock(to)
	if err != nil {
		return window{}, err
	}
	if f == t {
		return window{}, fmt.Errorf("start and end are equal")
	}
	return window{from: f, to: t, text: s}, nil
}

func parseClock(s string) (int, error) {
	hh, mm, found := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !found || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(mm) != 2 {
		return 0, fmt.Errorf("%q is not a time like 08:00", s)
	}
	return h*60 + m, nil
}

func (p *parser) throttle(n *yaml.Node, what string) (*Throttle, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, true
	}
	t := &Throttle{}
	ok := true
	var seenMax, seenPer bool
	p.mapping(n, what, []string{"max", "per"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "max":
			seenMax = true
			s, good := p.str(v, what+".max")
			m, err := strconv.Atoi(s)
			if !good || err != nil || m < 1 {
				p.errf(v, "a whole number of messages, at least 1", "%s.max must be a positive number", what)
				ok = false
				return
			}
			t.Max = m
		case "per":
			seenPer = true
			d, good := p.duration(v, what+".per")
			if !good || d <= 0 {
				if good {
					p.errf(v, "e.g. per: 1d", "%s.per must be longer than 0", what)
				}
				ok = false
				return
			}
			t.Period = d
		}
	})
	if ok && (!seenMax || !seenPer) {
		p.errf(n, "write e.g. {max: 1, per: 1d}", "%s needs both max and per", what)
		ok = false
	}
	return t, ok
}

// parseMessage parses one entry of `messages:`.
func (p *parser) parseMessage(name string, k, v *yaml.Node) *Message {
	m := &Message{Name: name, Pos: p.pos(k), Variants: map[string]map[string]Template{defaultLanguage: {}}}
	before := len(*p.errs)
	defer func() { m.bad = len(*p.errs) > before }()
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		p.errf(v, "give the message at least one channel, e.g. email: {notify_template: <uuid>}", "message %q must be a mapping of channels, not %s", name, kindName(v))
		return m
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		ck, cv := resolve(v.Content[i]), resolve(v.Content[i+1])
		key := ck.Value
		switch {
		case key == "description":
			p.str(cv, "description")
		case key == "personalisation":
			m.personalisation, _ = p.parsePersonalisation(cv, "messages."+name+".personalisation")
		case key == "notify_service":
			if sv, ok := p.str(cv, "messages."+name+".notify_service"); ok {
				if !notifyServiceName.MatchString(sv) {
					p.errf(cv, "use the name of a service under notify.services in the configuration (lower case letters, digits and -), or leave notify_service out for the first", "messages.%s.notify_service %q is not a Notify service name", name, sv)
				}
				m.NotifyService = sv
			}
		case key == "email_reply_to_id" || key == "sms_sender_id":
			if sv, ok := p.str(cv, "messages."+name+"."+key); ok {
				if _, err := uuid.Parse(sv); err != nil {
					p.errf(cv, "copy the id from the Notify NL portal (Settings > Reply-to email addresses or Text message senders)", "messages.%s.%s %q is not a Notify id (a UUID)", name, key, sv)
				} else if key == "email_reply_to_id" {
					m.EmailReplyToID = sv
				} else {
					m.SMSSenderID = sv
				}
			}
		case key == "register_klantcontact":
			if b, ok := p.boolean(cv, "messages."+name+".register_klantcontact"); ok {
				m.NoKlantcontact = !b
			}
		case contains(sendChannels, key):
			if t, ok := p.template(key, cv, "messages."+name+"."+key); ok {
				m.Variants[defaultLanguage][key] = t
			}
		case contains(knownLanguages, key):
			lang := normaliseLanguage(key)
			if m.Variants[lang] == nil {
				m.Variants[lang] = map[string]Template{}
			}
			p.mapping(cv, "messages."+name+"."+key, sendChannels, func(ch string, _, tv *yaml.Node) {
				if t, ok := p.template(ch, tv, "messages."+name+"."+key+"."+ch); ok {
					m.Variants[lang][ch] = t
				}
			})
		default:
			p.errf(ck, languageHint(key), "unknown channel or language %q in message %q", key, name)
		}
	}
	p.checkBerichtenboxMessage(m, k)
	if len(m.Variants[defaultLanguage]) == 0 && len(*p.errs) == before {
		p.errf(k, "every message needs its Dutch (nld) templates at the top level; other languages fall back to them", "message %q has no nld template for any channel", name)
	}
	return m
}

// notifyServiceName is the form of notify.services[].name.
var notifyServiceName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// languageHint explains the ISO 639-2 rule for two-letter codes (en, de),
// the most likely mistake.
func languageHint(key string) string {
	two := map[string]string{"nl": "nld", "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "pl": "pol", "tr": "tur", "ar": "ara", "uk": "ukr", "fy": "fry"}
	if c, ok := two[strings.ToLower(key)]; ok {
		return fmt.Sprintf("languages use three-letter ISO 639-2 codes: write %q instead of %q", c, key)
	}
	return suggest(key, append(append([]string{}, sendChannels...), knownLanguages...),
		"channels are email, sms, berichtenbox, print; languages are ISO 639-2 codes such as nld or eng")
}

// normaliseLanguage maps ISO 639-2/B codes to the /T code Koerier stores
// (Recipient.Language is nld for Dutch).
func normaliseLanguage(s string) string {
	switch s {
	case "dut":
		return "nld"
	case "ger":
		return "deu"
	case "fre":
		return "fra"
	case "rum":
		return "ron"
	case "per":
		return "fas"
	case "chi":
		return "zho"
	}
	return s
}

func (p *parser) template(channel string, n *yaml.Node, what string) (Template, bool) {
	var t Template
	ok := true
	var known []string
	switch channel {
	case event.ChannelEmail, event.ChannelSMS:
		known = []string{"notify_template"}
	case event.ChannelBerichtenbox:
		known = []string{"bericht_type", "subject", "body", "attach"}
	case event.ChannelPrint:
		known = []string{"letter", "envelope", "postage"}
	}
	p.mapping(n, what, known, func(key string, k, v *yaml.Node) {
		if channel == event.ChannelBerichtenbox && (key == "subject" || key == "body") {
			// The same language as personalisation: curated functions,
			// the fields of `koerier rules fields`, never the BSN.
			ft, good := p.fieldTemplate(key, k, v, what)
			if !good {
				ok = false
				return
			}
			if key == "subject" {
				t.Subject, t.subject = ft.src, ft
			} else {
				t.Body, t.body = ft.src, ft
			}
			return
		}
		s, good := p.str(v, what+"."+key)
		if !good {
			ok = false
			return
		}
		switch key {
		case "notify_template":
			if _, err := uuid.Parse(s); err != nil {
				p.errf(v, "copy the template ID from the Notify NL portal (Templates > the template > ID)", "%s.notify_template %q is not a Notify template ID (a UUID)", what, s)
				ok = false
			}
			t.NotifyTemplate = s
		case "bericht_type":
			if n := utf8.RuneCountInString(s); n < 1 || n > maxBerichtTypeLen {
				p.errf(v, "use the berichttype exactly as the gemeente registered it at Logius (1 to 8 characters)",
					"%s.bericht_type %q has %d characters, at most %d", what, s, n, maxBerichtTypeLen)
				ok = false
			}
			t.BerichtType = s
		case "attach":
			if s != AttachBesluitDocument {
				p.errf(v, "write attach: "+AttachBesluitDocument+" (the besluit's document from the Documenten API), or leave it out",
					"%s.attach %q is not something Koerier can attach", what, s)
				ok = false
			}
			t.Attach = s
		case "letter":
			t.Letter = s
		case "envelope":
			t.Envelope = s
		case "postage":
			if !contains(Postages, s) {
				p.errf(v, "postage is one of "+strings.Join(Postages, ", "), "%s.postage %q is not a kind of postage", what, s)
				ok = false
			}
			t.Postage = s
		}
	})
	if !ok {
		return t, false
	}
	switch {
	case (channel == event.ChannelEmail || channel == event.ChannelSMS) && t.NotifyTemplate == "":
		p.errf(n, "add notify_template: <uuid>", "%s has no notify_template", what)
		return t, false
	case channel == event.ChannelBerichtenbox && (t.Subject == "" || t.Body == ""):
		p.errf(n, "a Berichtenbox message needs both subject and body", "%s needs subject and body", what)
		return t, false
	case channel == event.ChannelPrint && t.Letter == "":
		p.errf(n, "add letter: <letter template name>", "%s has no letter", what)
		return t, false
	}
	return t, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
