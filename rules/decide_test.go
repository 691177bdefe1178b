package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

func mustLoad(t testing.TB, src string) *RuleSet {
	t.Helper()
	rs, err := LoadSources(Source{Name: "r.yaml", Data: []byte(src)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return rs
}

func TestExampleRulesPassTheirCases(t *testing.T) {
	rs, err := Load("../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Warnings()) > 0 {
		t.Errorf("the example should have no warnings: %v", rs.Warnings())
	}
	cases, err := LoadCases("../config/rules.example.cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rs.RunCases(cases) {
		if !res.Passed() {
			t.Errorf("%s (%s):\n  %s", res.Case.Name, res.Case.Pos, strings.Join(res.Diffs, "\n  "))
		}
	}
	// The example must show every event type, so that the demo routes
	// each one through a rule a gemeente can copy.
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.Event.Type] = true
	}
	for _, typ := range knownEventTypes {
		if !covered[typ] {
			t.Errorf("no example case for %s", typ)
		}
	}
}

func TestCaseMismatchIsReported(t *testing.T) {
	rs, err := Load("../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := LoadCases("../config/rules.example.cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := cases[0]
	c.Expect = []Expect{{Rule: "statuswijziging", Plan: []string{"print"}}}
	res := rs.RunCases([]Case{c})[0]
	if res.Passed() {
		t.Fatal("a wrong expectation passed")
	}
	got := strings.Join(res.Diffs, "\n")
	for _, want := range []string{`rule:      want "statuswijziging", got "zaak-ontvangen"`, `plan:      want [print], got [email, berichtenbox, print]`} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
}

const planRules = `version: 1
defaults:
  channels:
    inwoner: [voorkeur, email, sms, berichtenbox, print]
    bedrijf: [voorkeur, email, print]
messages:
  m:
    email: {notify_template: f6619e17-d547-4c7a-80f7-97f69efd742d}
    sms: {notify_template: a0cccec0-06bf-45d5-ba59-995f6db936b0}
    berichtenbox: {bericht_type: B, subject: s, body: b}
    print: {letter: m}
    eng:
      email: {notify_template: 84780e7d-9573-4e6a-a879-a0e08f5615ef}
rules:
  - name: alles
    message: m
    recipients: [initiator, gemachtigde, contactpersonen]
`

func TestExpandPlan(t *testing.T) {
	rs := mustLoad(t, planRules)
	addr := &event.PostalAddress{NameLine: "J. Jansen", Lines: []string{"Hoofdstraat 1"}}
	tests := []struct {
		name     string
		subject  event.Subject
		r        *event.Recipient
		wantPlan []string
		wantSkip []string
		wantLang string
		skip     string // reason fragment when the decision is a skip
	}{
		{"voorkeur email, all channels", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", Email: "a@example.org", Phone: "+31612345678", PreferredChannel: "email", Berichtenbox: event.Yes, PostalAddress: addr},
			[]string{"email", "sms", "berichtenbox", "print"}, nil, "nld", ""},
		{"voorkeur sms, duplicates removed", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", Email: "a@example.org", Phone: "+31612345678", PreferredChannel: "sms", Berichtenbox: event.No},
			[]string{"sms", "email"}, []string{"berichtenbox", "print"}, "nld", ""},
		{"voorkeur without address", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", Email: "a@example.org", PreferredChannel: "sms", Berichtenbox: event.No},
			[]string{"email"}, []string{"voorkeur", "sms", "berichtenbox", "print"}, "nld", ""},
		{"english with eng variant", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", Language: "eng", Email: "a@example.org", PreferredChannel: "email", Berichtenbox: event.No},
			[]string{"email"}, nil, "eng", ""},
		{"language without variant falls back to nld", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", Language: "tur", Email: "a@example.org", PreferredChannel: "email", Berichtenbox: event.No},
			[]string{"email"}, nil, "nld", ""},
		{"no post wanted", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", NoPost: true, PostalAddress: addr, Berichtenbox: event.Yes},
			[]string{"berichtenbox"}, []string{"print", "email", "sms"}, "nld", ""},
		{"deceased skips everything", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", Deceased: true, Email: "a@example.org", PreferredChannel: "email"},
			nil, nil, "", "overleden"},
		{"bedrijf has no berichtenbox", event.Subject{Kind: "bedrijf", KVK: "68750110"},
			&event.Recipient{Kind: "bedrijf", Email: "info@example.org", PostalAddress: addr},
			[]string{"email", "print"}, []string{"voorkeur"}, "nld", ""},
		{"nobody knows the subject", event.Subject{Kind: "inwoner", BSN: "999993653"},
			&event.Recipient{Kind: "inwoner", Unknown: true, Berichtenbox: event.No},
			nil, nil, "", "geen kanaal over"},
		{"nil recipient is unknown", event.Subject{Kind: "inwoner", BSN: "999993653"},
			nil, []string{"berichtenbox"}, []string{"print"}, "nld", ""},
	}
	now := time.Date(2026, 1, 5, 12, 0, 0, 0, amsterdam)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.r != nil {
				tt.r.Subject = tt.subject
			}
			ev := &event.Event{ID: "e1", Type: event.TypeZaakAangemaakt}
			d := rs.Decide(Input{Event: ev, Recipient: tt.r, Subject: tt.subject, Now: now})
			if tt.skip != "" {
				if !d.Skip || !strings.Contains(d.Reason, tt.skip) {
					t.Fatalf("want skip %q, got %+v", tt.skip, d)
				}
				return
			}
			if d.Skip {
				t.Fatalf("unexpected skip: %s\n%s", d.Reason, strings.Join(d.Explanation, "\n"))
			}
			if !slices.Equal(d.Plan, tt.wantPlan) {
				t.Errorf("plan = %v, want %v\n%s", d.Plan, tt.wantPlan, strings.Join(d.Explanation, "\n"))
			}
			for _, ch := range tt.wantSkip {
				if !containsSkip(d.Skipped, ch) {
					t.Errorf("want %s skipped, got %+v", ch, d.Skipped)
				}
			}
			if d.Language != tt.wantLang {
				t.Errorf("language = %q, want %q", d.Language, tt.wantLang)
			}
			if d.EventID != "e1" || d.Rule != "alles" || d.Message != "m" {
				t.Errorf("decision = %+v", d)
			}
		})
	}
}

func TestTemplateFallsBackToDutch(t *testing.T) {
	rs := mustLoad(t, planRules)
	tests := []struct{ channel, lang, want string }{
		{"email", "eng", "84780e7d-9573-4e6a-a879-a0e08f5615ef"},
		{"sms", "eng", "a0cccec0-06bf-45d5-ba59-995f6db936b0"},
		{"email", "nld", "f6619e17-d547-4c7a-80f7-97f69efd742d"},
		{"print", "tur", "m"},
		{"berichtenbox", "nld", "s"},
	}
	for _, tt := range tests {
		if got, ok := rs.Template("m", tt.channel, tt.lang); !ok || got != tt.want {
			t.Errorf("Template(m, %s, %s) = %q, %v; want %q", tt.channel, tt.lang, got, ok, tt.want)
		}
	}
	if _, ok := rs.Template("nope", "email", "nld"); ok {
		t.Error("unknown message has a template")
	}
	if got := len(rs.TemplateIDs()); got != 3 {
		t.Errorf("TemplateIDs = %d ids, want 3", got)
	}
}

func TestMatchNeedsOnlyWhatThePlanUses(t *testing.T) {
	src := planRules + `  - name: besluit
    match: {event: besluit.genomen}
    message: m
    channels: {inwoner: [berichtenbox, print], bedrijf: [print]}
`
	src = strings.Replace(src, "  - name: alles\n    message: m\n", "  - name: alles\n    match: {event: zaak.aangemaakt}\n    message: m\n    channels: [voorkeur, email]\n", 1)
	rs := mustLoad(t, src)
	tests := []struct {
		typ, kind string
		want      Need
	}{
		{event.TypeZaakAangemaakt, "inwoner", Need{Digital: true}},
		{event.TypeBesluitGenomen, "inwoner", Need{Berichtenbox: true, Postal: true}},
		{event.TypeBesluitGenomen, "bedrijf", Need{Postal: true}},
	}
	for _, tt := range tests {
		m := rs.Match(Input{Event: &event.Event{Type: tt.typ}, Subject: event.Subject{Role: "initiator", Kind: tt.kind}})
		if m.Need != tt.want {
			t.Errorf("%s %s: need %+v, want %+v", tt.typ, tt.kind, m.Need, tt.want)
		}
	}
	// Only digital facts were looked up: print stays unchecked, not skipped.
	rs2 := mustLoad(t, planRules)
	m := rs2.Match(Input{Event: &event.Event{Type: event.TypeZaakAangemaakt}, Subject: event.Subject{Role: "initiator", Kind: "inwoner", BSN: "999990627"}})
	d := m.ExpandResolved(&event.Recipient{Kind: "inwoner", Subject: event.Subject{Kind: "inwoner", BSN: "999990627"}, Email: "a@example.org", PreferredChannel: "email"}, Need{Digital: true})
	if want := []string{"email", "berichtenbox", "print"}; !slices.Equal(d.Plan, want) {
		t.Errorf("partial expand plan = %v, want %v", d.Plan, want)
	}
}

func TestRolesContinueAndSkip(t *testing.T) {
	src := `version: 1
defaults:
  channels: [email]
messages:
  a: {email: {notify_template: f6619e17-d547-4c7a-80f7-97f69efd742d}}
  b: {email: {notify_template: a0cccec0-06bf-45d5-ba59-995f6db936b0}}
rules:
  - name: kopie-gemachtigde
    match: {event: zaak.aangemaakt}
    recipients: [initiator, gemachtigde]
    message: b
    continue: true
  - name: geheim
    when: zaak.vertrouwelijkheidaanduiding == "geheim"
    skip: true
  - name: ontvangen
    match: {event: zaak.aangemaakt}
    message: a
  - name: besluit
    when: besluit.bekend && besluit.besluittypeOmschrijving startsWith "Vergunning"
    message: a
`
	rs := mustLoad(t, src)
	r := &event.Recipient{Kind: "inwoner", Email: "a@example.org"}
	tests := []struct {
		name  string
		ev    event.Event
		role  string
		rules []string // one per decision; "" means a skip without rule
		skip  []bool
	}{
		{"continue gives two decisions", event.Event{Type: event.TypeZaakAangemaakt, Zaak: &event.Zaak{}}, "initiator", []string{"kopie-gemachtigde", "ontvangen"}, []bool{false, false}},
		{"role filter", event.Event{Type: event.TypeZaakAangemaakt}, "gemachtigde", []string{"kopie-gemachtigde"}, []bool{false}},
		{"skip after continue stops, earlier decision stands", event.Event{Type: event.TypeZaakAangemaakt, Zaak: &event.Zaak{Vertrouwelijkheidaanduiding: "geheim"}}, "initiator", []string{"kopie-gemachtigde", "geheim"}, []bool{false, true}},
		{"nil parts evaluate safely", event.Event{Type: event.TypeTaakAfgerond}, "taak", []string{""}, []bool{true}},
		{"besluit present", event.Event{Type: event.TypeBesluitGenomen, Besluit: &event.Besluit{BesluittypeOmschrijving: "Vergunning verleend"}}, "", []string{"besluit"}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := rs.DecideAll(Input{Event: &tt.ev, Recipient: r, Subject: event.Subject{Role: tt.role, Kind: "inwoner"}})
			if len(ds) != len(tt.rules) {
				t.Fatalf("got %d decisions, want %d: %+v", len(ds), len(tt.rules), ds)
			}
			for i, d := range ds {
				if d.Rule != tt.rules[i] || d.Skip != tt.skip[i] {
					t.Errorf("decision %d: rule %q skip %v, want %q %v", i, d.Rule, d.Skip, tt.rules[i], tt.skip[i])
				}
			}
		})
	}
}

func TestExplanationSaysWhy(t *testing.T) {
	rs, err := Load("../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	if err := DecodeFile("testdata/events/status-gewijzigd.json", &ev); err != nil {
		t.Fatal(err)
	}
	var r event.Recipient
	if err := DecodeFile("testdata/events/recipient-sms-zonder-telefoon.json", &r); err != nil {
		t.Fatal(err)
	}
	d := rs.Decide(Input{Event: &ev, Recipient: &r, Subject: ev.Subjects[0], Now: time.Date(2026, 1, 5, 12, 0, 0, 0, amsterdam)})
	text := strings.Join(d.Explanation, "\n")
	for _, want := range []string{
		`Regel "vertrouwelijke-zaken-stil"`,
		`past niet`,
		`Regel "statuswijziging"`,
		`voorkeur overgeslagen: voorkeur sms maar daarvoor is geen adres bekend.`,
		`berichtenbox overgeslagen: niet geabonneerd`,
		`Plan: eerst email; bij een blijvende fout print.`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "999993653") {
		t.Error("explanation contains a BSN")
	}
}

func TestQuietHours(t *testing.T) {
	w, err := parseWindow("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	day, err := parseWindow("12:00-13:30")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, amsterdam)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		w    window
		now  time.Time
		want time.Time // zero: not held
	}{
		{"evening", w, at("2026-01-05 22:30"), at("2026-01-06 08:00")},
		{"just at start", w, at("2026-01-05 21:00"), at("2026-01-06 08:00")},
		{"early morning", w, at("2026-01-06 07:59"), at("2026-01-06 08:00")},
		{"just at end", w, at("2026-01-06 08:00"), time.Time{}},
		{"afternoon", w, at("2026-01-06 15:00"), time.Time{}},
		{"night before DST starts", w, at("2026-03-28 23:00"), at("2026-03-29 08:00")},
		{"daytime window", day, at("2026-01-06 12:10"), at("2026-01-06 13:30")},
		{"utc input", w, time.Date(2026, 1, 5, 21, 30, 0, 0, time.UTC), at("2026-01-06 08:00")},
	}
	for _, tt := range tests {
		got := holdUntil(tt.w, tt.now)
		if !got.Equal(tt.want) {
			t.Errorf("%s: holdUntil = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A match is expanded once per contactpersoon; each decision must keep its
// own explanation.
func TestExpandTwiceKeepsExplanationsApart(t *testing.T) {
	rs := mustLoad(t, planRules)
	m := rs.Match(Input{Event: &event.Event{Type: event.TypeZaakAangemaakt}, Subject: event.Subject{Role: "initiator", Kind: "bedrijf", KVK: "68750110"}})
	if !m.Contactpersonen {
		t.Fatal("rule addresses contactpersonen")
	}
	a := m.Expand(&event.Recipient{Kind: "bedrijf", Email: "a@example.org", PreferredChannel: "email"})
	b := m.Expand(&event.Recipient{Kind: "bedrijf", Phone: "+31612345678", PreferredChannel: "sms"})
	ja, jb := strings.Join(a.Explanation, "\n"), strings.Join(b.Explanation, "\n")
	if !strings.Contains(ja, "voorkeur wordt email") || strings.Contains(ja, "voorkeur wordt sms") {
		t.Errorf("first explanation:\n%s", ja)
	}
	if !strings.Contains(jb, "voorkeur wordt sms") || strings.Contains(jb, "voorkeur wordt email") {
		t.Errorf("second explanation:\n%s", jb)
	}
}
