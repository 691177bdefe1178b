package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runKoerier(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestRulesCommands(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "kapot.yaml")
	if err := os.WriteFile(broken, []byte("version: 1\nrules:\n  - name: a\n    match: {event: zaak.gesloten}\n    message: m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	failing := filepath.Join(t.TempDir(), "cases.yaml")
	if err := os.WriteFile(failing, []byte(`cases:
  - name: verkeerde verwachting
    event: {type: zaak.aangemaakt, zaak: {identificatie: Z1, vertrouwelijkheidaanduiding: openbaar}}
    recipient: {kind: inwoner, email: a@example.org, preferredChannel: email}
    expect: {rule: statuswijziging, plan: [sms]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Personalisation that must not pass check: the BSN, a field that does
	// not exist, a host off the list.
	personal := filepath.Join(t.TempDir(), "portaal.yaml")
	if err := os.WriteFile(personal, []byte(`version: 1
link_hosts: [mijn.gemeente.nl]
messages:
  m: {email: {notify_template: 5a1b5a1b-0000-4000-8000-000000000001}}
rules:
  - name: a
    message: m
    channels: [email]
    personalisation:
      bsn_link: "https://mijn.gemeente.nl/{{ .recipient.bsn }}"
      zaak_link: "https://mijn.gemeente.nl/zaken/{{ .zaak.nummer }}"
      phish_link: "https://mijn-gemeente.nl/zaken/{{ .zaak.uuid }}"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	wrongLink := filepath.Join(t.TempDir(), "cases.yaml")
	if err := os.WriteFile(wrongLink, []byte(`cases:
  - name: verkeerde link
    event: {type: zaak.status_gewijzigd, zaak: {url: "https://oz.example/zaken/api/v1/zaken/Z1", vertrouwelijkheidaanduiding: openbaar}, statustype: {informeren: true}}
    recipient: {kind: bedrijf, email: a@example.org}
    expect: {personalisation: {portaal_link: "https://mijn.gemeente.nl/zaken/Z1"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const example = "../../config/rules.example.yaml"
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    []string
	}{
		{"check ok", []string{"rules", "check", example}, false, []string{"13 rules, 9 messages, 0 warning(s)"}},
		{"check broken", []string{"rules", "check", broken}, true, []string{"kapot.yaml:4:20: unknown event \"zaak.gesloten\"", "kapot.yaml:5:14: rule \"a\" uses unknown message \"m\""}},
		{"test passes", []string{"rules", "test", example, "--cases", "../../config/rules.example.cases.yaml"}, false, []string{"25 of 25 cases passed"}},
		{"check personalisation", []string{"rules", "check", personal}, true, []string{
			`portaal.yaml:10:17: personalisation.bsn_link names ".recipient.bsn": templates have no access to the BSN`,
			`portaal.yaml:11:18: personalisation zaak_link does not render (zaak.aangemaakt, inwoner): <.zaak.nummer>: map has no entry for key "nummer"`,
			`portaal.yaml:12:19: personalisation phish_link renders "https://mijn-gemeente.nl/zaken/5f2b0c9e-7d4a-4f7e-9c1b-2a6e8d3f4b10" (zaak.aangemaakt, inwoner): host "mijn-gemeente.nl" staat niet in link_hosts`}},
		{"test asserts personalisation", []string{"rules", "test", example, "--cases", wrongLink}, true, []string{"FAIL  verkeerde link",
			`personalisation: want portaal_link = "https://mijn.gemeente.nl/zaken/Z1", got "https://ondernemers.gemeente.nl/zaken/Z1"`}},
		{"test fails with a diff", []string{"rules", "test", example, "--cases", failing}, true, []string{"FAIL  verkeerde verwachting", `rule:      want "statuswijziging", got "zaak-ontvangen"`, "plan:      want [sms], got [email]"}},
		{"explain", []string{"rules", "explain", example, "--event", "../../rules/testdata/events/status-gewijzigd.json", "--recipient", "../../rules/testdata/events/recipient-sms-zonder-telefoon.json", "--now", "2026-01-05T12:00:00+01:00"},
			false, []string{"== initiator (inwoner)", `Regel "statuswijziging"`, "voorkeur overgeslagen", "=> regel statuswijziging, bericht zaak-status (nld), plan [email print]",
				`personalisatie portaal_link = "https://mijn.gemeente.nl/zaken/6b41d4c4-ef64-453c-b705-606334e79d8a"`}},
		{"explain needs an event", []string{"rules", "explain", example}, true, nil},
		{"check with the installation's channels", []string{"rules", "check", example, "--config", "../../config/koerier.example.yaml"}, false,
			[]string{`regel "besluit-formeel" (inwoner): geen enkel kanaal van het plan [berichtenbox, print]`, "nooit bezorgd",
				`regel "zaak-ontvangen" (inwoner): berichtenbox, print zijn in deze installatie niet geconfigureerd en vervallen; over blijft [voorkeur, email, sms]`}},
		{"check --strict fails on a plan the installation cannot deliver", []string{"rules", "check", example, "--strict", "--config", "../../config/koerier.example.yaml"}, true, nil},
		{"explain trims the plan to the installation", []string{"rules", "explain", example, "--config", "../../config/koerier.example.yaml", "--event", "../../rules/testdata/events/status-gewijzigd.json", "--recipient", "../../rules/testdata/events/recipient-sms-zonder-telefoon.json", "--now", "2026-01-05T12:00:00+01:00"},
			false, []string{"print vervalt: dit kanaal is in deze installatie niet geconfigureerd.", "plan [email]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runKoerier(t, tt.args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
