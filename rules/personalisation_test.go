package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

const portals = `version: 1
link_hosts: [mijn.gemeente.nl, ondernemers.gemeente.nl, formulieren.gemeente.nl]
defaults:
  personalisation:
    inwoner:
      portaal_link: "https://mijn.gemeente.nl/zaken/{{ .zaak.uuid }}"
    bedrijf:
      portaal_link: "https://ondernemers.gemeente.nl/zaken/{{ .zaak.uuid }}"
messages:
  status:
    email: {notify_template: 5a1b5a1b-0000-4000-8000-000000000001}
  taak:
    email: {notify_template: 5a1b5a1b-0000-4000-8000-000000000002}
    personalisation:
      portaal_link: "{{ .taak.formulier }}?taak={{ .taak.uuid }}"
      uiterlijk: '{{ .taak.verloopdatum | datum | default "zo snel mogelijk" }}'
  document:
    email: {notify_template: 5a1b5a1b-0000-4000-8000-000000000003}
    personalisation:
      portaal_link: "https://mijn.gemeente.nl/zaken/{{ .zaak.uuid }}"
rules:
  - name: status
    match: {event: zaak.status_gewijzigd}
    message: status
    channels: [email]
  - name: taak
    match: {event: taak.toegewezen}
    recipients: [taak]
    message: taak
    channels: [email]
  - name: document
    match: {event: document.toegevoegd}
    message: document
    channels: [email]
    personalisation:
      portaal_link: "https://mijn.gemeente.nl/zaken/{{ .zaak.uuid }}/documenten"
`

func load(t *testing.T, src string) *RuleSet {
	t.Helper()
	rs, err := LoadSources(Source{Name: "regels.yaml", Data: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func decideFor(rs *RuleSet, ev *event.Event, kind string) event.Decision {
	role := event.RoleInitiator
	if ev.Taak != nil {
		role = event.RoleTaak
	}
	s := event.Subject{Role: role, Kind: kind}
	return rs.Decide(Input{Event: ev, Subject: s, Now: defaultCaseNow,
		Recipient: &event.Recipient{Subject: s, Kind: kind, Email: "x@example.org"}})
}

func TestPersonalisationPortals(t *testing.T) {
	rs := load(t, portals)
	zaak := &event.Zaak{URL: "https://oz.example/zaken/api/v1/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10", Identificatie: "Z-1"}
	status := &event.Event{Type: event.TypeZaakStatusGewijzigd, Zaak: zaak, Zaaktype: &event.Zaaktype{Identificatie: "ZT-1"}}
	doc := &event.Event{Type: event.TypeDocumentToegevoegd, Zaak: zaak}
	taak := &event.Event{Type: event.TypeTaakToegewezen, Taak: &event.Taak{URL: "https://objecten.example/api/v2/objects/7c3e1f2a",
		FormulierURL: "https://formulieren.gemeente.nl/aanvraag", Verloopdatum: time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)}}
	tests := []struct {
		name string
		ev   *event.Event
		kind string
		key  string
		want string
	}{
		{"inwoner gets MijnServices", status, event.KindInwoner, "portaal_link", "https://mijn.gemeente.nl/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10"},
		{"bedrijf with the same zaaktype gets the business portal", status, event.KindBedrijf, "portaal_link", "https://ondernemers.gemeente.nl/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10"},
		{"a taak links to its form with the taak id", taak, event.KindInwoner, "portaal_link", "https://formulieren.gemeente.nl/aanvraag?taak=7c3e1f2a"},
		{"dates in Dutch, in Amsterdam time", taak, event.KindInwoner, "uiterlijk", "2 maart 2026"},
		{"the rule beats the message default", doc, event.KindInwoner, "portaal_link", "https://mijn.gemeente.nl/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10/documenten"},
		{"the rule beats the message and the defaults' kind variant", doc, event.KindBedrijf, "portaal_link", "https://mijn.gemeente.nl/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10/documenten"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideFor(rs, tt.ev, tt.kind)
			if got := d.Personalisation[tt.key]; got != tt.want {
				t.Fatalf("%s = %q, want %q\n%s", tt.key, got, tt.want, strings.Join(d.Explanation, "\n"))
			}
		})
	}
}

func TestPersonalisationEscapesAndRefuses(t *testing.T) {
	rs := load(t, portals)
	// A uuid that tries to leave its path segment is escaped.
	ev := &event.Event{Type: event.TypeZaakStatusGewijzigd, Zaak: &event.Zaak{URL: "https://oz.example/zaken/x?y=1#z"}}
	d := decideFor(rs, ev, event.KindInwoner)
	if got, want := d.Personalisation["portaal_link"], "https://mijn.gemeente.nl/zaken/x%3Fy=1%23z"; got != want {
		t.Fatalf("portaal_link = %q, want %q", got, want)
	}
	// A form URL off the list is refused at send time, with a reason.
	taak := &event.Event{Type: event.TypeTaakToegewezen, Taak: &event.Taak{URL: "https://objecten.example/api/v2/objects/1", FormulierURL: "https://phish.example/login"}}
	d = decideFor(rs, taak, event.KindInwoner)
	if v, ok := d.Personalisation["portaal_link"]; !ok || v != "" {
		t.Fatalf("a link off the list must be sent empty, got %q (present %v)", v, ok)
	}
	if !strings.Contains(strings.Join(d.Explanation, "\n"), `host "phish.example" staat niet in link_hosts`) {
		t.Fatalf("no explanation for the refused link:\n%s", strings.Join(d.Explanation, "\n"))
	}
	if d.Skip || len(d.Plan) == 0 {
		t.Fatalf("a refused link must not stop the message: %+v", d)
	}
}

func TestPersonalisationCheckErrors(t *testing.T) {
	base := "version: 1\nlink_hosts: [mijn.gemeente.nl]\nmessages:\n  m:\n    email: {notify_template: 5a1b5a1b-0000-4000-8000-000000000001}\n" +
		"rules:\n  - name: r\n    message: m\n    channels: [email]\n    personalisation:\n"
	tests := []struct {
		name, line, want string
	}{
		{"names the BSN", `      portaal_link: "https://mijn.gemeente.nl/{{ .recipient.bsn }}"`, `regels.yaml:11:21: personalisation.portaal_link names ".recipient.bsn": templates have no access to the BSN`},
		{"BSN through index", `      x: '{{ index .recipient "bsn" }}'`, "regels.yaml:11:10: personalisation.x names \"bsn\""},
		{"unknown field", `      portaal_link: "https://mijn.gemeente.nl/zaken/{{ .zaak.uid }}"`, `regels.yaml:11:21: personalisation portaal_link does not render (zaak.aangemaakt, inwoner): <.zaak.uid>: map has no entry for key "uid"`},
		{"host off the list", `      portaal_link: "https://mijn.gemeentte.nl/zaken/{{ .zaak.uuid }}"`, `regels.yaml:11:21: personalisation portaal_link renders "https://mijn.gemeentte.nl/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10" (zaak.aangemaakt, inwoner): host "mijn.gemeentte.nl" staat niet in link_hosts`},
		{"plain http", `      info_url: "http://mijn.gemeente.nl/"`, "regels.yaml:11:17: personalisation info_url renders"},
		{"an API URL as link", `      zaak_link: "{{ .zaak.url }}"`, `host "zaken.gemeente.example" staat niet in link_hosts`},
		{"does not parse", `      x: "{{ .zaak.uuid "`, "regels.yaml:11:10: personalisation.x is not a valid template"},
		{"unknown function", `      x: "{{ .zaak.uuid | printf }}"`, "regels.yaml:11:10: personalisation x does not render"},
		{"nested templates", `      x_link: 'https://mijn.gemeente.nl/{{ define "t" }}?a=b{{ end }}{{ template "t" }}'`, "uses define, template or block"},
		{"bad name", `      Portaal-Link: "x"`, `regels.yaml:11:7: personalisation name "Portaal-Link" in personalisation is not a placeholder name`},
		{"unknown kind-like key is a name", `      inwoners: {a: b}`, "regels.yaml:11:17: personalisation.inwoners must be a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSources(Source{Name: "regels.yaml", Data: []byte(base + tt.line + "\n")})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
	// A link without link_hosts.
	_, err := LoadSources(Source{Name: "regels.yaml", Data: []byte(strings.Replace(base, "link_hosts: [mijn.gemeente.nl]\n", "", 1) +
		`      portaal_link: "https://mijn.gemeente.nl/"` + "\n")})
	if err == nil || !strings.Contains(err.Error(), "regels.yaml:10:21: personalisation portaal_link is a link, but the rules have no link_hosts") {
		t.Fatalf("err = %v", err)
	}
}
