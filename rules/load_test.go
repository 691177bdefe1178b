package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// base is a valid file that the broken snippets below are variations of.
const base = `version: 1
messages:
  m:
    email: {notify_template: f6619e17-d547-4c7a-80f7-97f69efd742d}
    sms: {notify_template: a0cccec0-06bf-45d5-ba59-995f6db936b0}
rules:
  - name: a
    match: {event: zaak.aangemaakt}
    message: m
    channels: [voorkeur, email, sms]
`

func TestLoadValidBase(t *testing.T) {
	if _, err := LoadSources(Source{Name: "r.yaml", Data: []byte(base)}); err != nil {
		t.Fatalf("base file must load: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want holds "line:column: message fragment" for every expected
		// error, in order.
		want []string
	}{
		{"yaml syntax", "version: 1\nrules:\n  - name: a\n   message: m\n", []string{"2:1: invalid YAML"}},
		{"tab indentation", "version: 1\nrules:\n  - name: a\n  \t message: m\n", []string{"4:3: invalid YAML: a tab is used for indentation"}},
		{"missing version", strings.Replace(base, "version: 1\n", "", 1), []string{"1:1: missing version"}},
		{"wrong version", strings.Replace(base, "version: 1", "version: 2", 1), []string{`1:10: unsupported version "2"`}},
		{"unknown top-level key", base + "route: x\n", []string{`11:1: unknown key "route" in the file`}},
		{"unknown rule key", strings.Replace(base, "    channels:", "    chanels:", 1), []string{`10:5: unknown key "chanels" in a rule (hint: did you mean "channels"?)`}},
		{"unknown channel", strings.Replace(base, "[voorkeur, email, sms]", "[voorkeur, fax]", 1), []string{`10:26: unknown channel "fax"`}},
		{"misspelt channel", strings.Replace(base, "[voorkeur, email, sms]", "[voorkeur, emial]", 1), []string{`10:26: unknown channel "emial" (hint: did you mean "email"?)`}},
		{"unknown message", strings.Replace(base, "message: m", "message: mm", 1), []string{`9:14: rule "a" uses unknown message "mm" (hint: did you mean "m"?)`}},
		{"missing template for a channel", strings.Replace(base, "[voorkeur, email, sms]", "[email, print]", 1), []string{`9:14: message "m" has no template for print, but rule "a" can send it there`}},
		{"voorkeur needs sms", strings.Replace(base, "    sms: {notify_template: a0cccec0-06bf-45d5-ba59-995f6db936b0}\n", "", 1), []string{`8:14: message "m" has no template for sms (via voorkeur)`}},
		{"duplicate rule", base + "  - name: a\n    message: m\n    channels: [email]\n", []string{`11:5: rule "a" is already defined at r.yaml:7:5`}},
		{"duplicate key", strings.Replace(base, "    message: m\n", "    message: m\n    message: m\n", 1), []string{`10:5: duplicate key "message" in a rule`}},
		{"unknown language", strings.Replace(base, "    sms: {notify", "    en: {email: {notify_template: 84780e7d-9573-4e6a-a879-a0e08f5615ef}}\n    sms: {notify", 1), []string{`5:5: unknown channel or language "en" in message "m" (hint: languages use three-letter ISO 639-2 codes: write "eng" instead of "en")`}},
		{"not a uuid", strings.Replace(base, "a0cccec0-06bf-45d5-ba59-995f6db936b0", "sms-template", 1), []string{`5:28: messages.m.sms.notify_template "sms-template" is not a Notify template ID`}},
		{"expression does not compile", strings.Replace(base, "    message: m\n", "    when: zaak.identificatie = \"x\"\n    message: m\n", 1), []string{`9:30: rule "a": condition does not compile: unexpected token`}},
		{"unknown field", strings.Replace(base, "    message: m\n", "    when: zaak.nummer == \"x\"\n    message: m\n", 1), []string{`9:16: rule "a": condition does not compile: zaak has no field nummer (hint: zaak has: bekend,`}},
		{"unknown part", strings.Replace(base, "    message: m\n", "    when: zak.identificatie == \"x\"\n    message: m\n", 1), []string{`9:11: rule "a": condition does not compile: unknown name zak (hint: did you mean "zaak"?)`}},
		{"expression not bool", strings.Replace(base, "    message: m\n", "    when: zaak.identificatie\n    message: m\n", 1), []string{`9:11: rule "a": condition does not compile: expected bool, but got string`}},
		{"type mismatch", strings.Replace(base, "    message: m\n", "    when: statustype.volgnummer == \"3\"\n    message: m\n", 1), []string{`9:33: rule "a": condition does not compile: invalid operation: == (mismatched types int and string)`}},
		{"error in block scalar", strings.Replace(base, "    message: m\n", "    when: |\n      event.type == \"zaak.aangemaakt\" &&\n        zaak.omschrijving = \"y\"\n    message: m\n", 1), []string{`11:27: rule "a": condition does not compile: unexpected token`}},
		{"wall clock is not allowed", strings.Replace(base, "    message: m\n", "    when: now().Hour() > 8\n    message: m\n", 1), []string{`rule "a": condition does not compile`}},
		{"too many nodes", strings.Replace(base, "    message: m\n", "    when: "+strings.Repeat("zaak.omschrijving == \"x\" || ", 120)+"true\n    message: m\n", 1), []string{`rule "a": condition does not compile`}},
		{"unknown event type", strings.Replace(base, "{event: zaak.aangemaakt}", "{event: zaak.gesloten}", 1), []string{`8:20: unknown event "zaak.gesloten" in match.event (hint: did you mean "zaak.afgesloten"?)`}},
		{"unknown match key", strings.Replace(base, "{event: zaak.aangemaakt}", "{zaaktyp: B1026}", 1), []string{`8:13: unknown key "zaaktyp" in match (hint: did you mean "zaaktype"?)`}},
		{"neither message nor skip", strings.Replace(base, "    message: m\n", "", 1), []string{`7:5: rule "a" has neither a message nor skip: true`}},
		{"skip and message", strings.Replace(base, "    message: m\n", "    message: m\n    skip: true\n", 1), []string{`9:14: rule "a" has both skip: true and a message`}},
		{"skip not a bool", strings.Replace(base, "    message: m\n", "    skip: misschien\n", 1), []string{`9:11: skip must be true or false`}},
		{"bad quiet hours", strings.Replace(base, "    message: m\n", "    message: m\n    quiet_hours: {sms: \"21:00-8\"}\n", 1), []string{`10:24: quiet_hours.sms "21:00-8" is not a time window`}},
		{"bad group window", strings.Replace(base, "    message: m\n", "    message: m\n    group_window: twee minuten\n", 1), []string{`10:19: group_window "twee minuten" is not a duration`}},
		{"throttle without per", strings.Replace(base, "    message: m\n", "    message: m\n    throttle: {max: 1}\n", 1), []string{`10:15: throttle needs both max and per`}},
		{"unknown recipient", strings.Replace(base, "    message: m\n", "    message: m\n    recipients: [initiator, aanvrager]\n", 1), []string{`10:29: unknown recipient "aanvrager" in recipients`}},
		{"two documents", base + "---\nversion: 1\n", []string{`11:1: the file holds more than one YAML document`}},
		{"empty when", strings.Replace(base, "    message: m\n", "    when: \"\"\n    message: m\n", 1), []string{`9:11: rule "a" has an empty when`}},
		{"rules not a list", "version: 1\nrules: {a: b}\n", []string{`2:8: rules must be a list, not a mapping`}},
		{"no rules", "version: 1\n", []string{`r.yaml: no rules`}},
		{"bad berichtenbox template", strings.Replace(base, "    sms: {notify", "    berichtenbox: {subject: \"{{ .Zaak\", body: x}\n    sms: {notify", 1), []string{`5:29: messages.m.berichtenbox.subject is not a valid template`}},
		{"berichtenbox without bericht_type", strings.Replace(base, "    sms: {notify", "    berichtenbox: {subject: s, body: b}\n    sms: {notify", 1), []string{`3:3: message "m" has a berichtenbox template without bericht_type`}},
		{"bericht_type too long", strings.Replace(base, "    sms: {notify", "    berichtenbox: {bericht_type: Beschikking, subject: s, body: b}\n    sms: {notify", 1), []string{`5:34: messages.m.berichtenbox.bericht_type "Beschikking" has 11 characters, at most 8`}},
		{"berichtenbox subject too long", strings.Replace(base, "    sms: {notify", "    berichtenbox: {bericht_type: Besluit, subject: \"Uw zaak {{ .zaak.omschrijving }} en nog veel meer tekst\", body: b}\n    sms: {notify", 1), []string{`5:52: messages.m berichtenbox subject renders to 59 characters (zaak.aangemaakt, inwoner); the Berichtenbox takes 1 to 50`}},
		{"berichtenbox body names the BSN", strings.Replace(base, "    sms: {notify", "    berichtenbox: {bericht_type: Besluit, subject: s, body: \"{{ .recipient.bsn }}\"}\n    sms: {notify", 1), []string{`5:61: messages.m.berichtenbox.body names ".recipient.bsn": templates have no access to the BSN`}},
		{"berichtenbox unknown attachment", strings.Replace(base, "    sms: {notify", "    berichtenbox: {bericht_type: Besluit, subject: s, body: b, attach: besluit}\n    sms: {notify", 1), []string{`5:72: messages.m.berichtenbox.attach "besluit" is not something Koerier can attach`}},
		{"several errors at once", strings.Replace(strings.Replace(base, "[voorkeur, email, sms]", "[fax]", 1), "message: m", "message: mm", 1), []string{`9:14: rule "a" uses unknown message "mm"`, `10:16: unknown channel "fax"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSources(Source{Name: "r.yaml", Data: []byte(tt.src)})
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("want Errors, got %v", err)
			}
			if len(es) != len(tt.want) {
				t.Fatalf("want %d errors, got %d:\n%v", len(tt.want), len(es), es)
			}
			for i, w := range tt.want {
				if got := es[i].Error(); !strings.Contains(got, w) {
					t.Errorf("error %d:\n got  %s\n want it to contain %s", i, got, w)
				}
				if es[i].Pos.File != "r.yaml" {
					t.Errorf("error %d names file %q", i, es[i].Pos.File)
				}
			}
		})
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10-basis.yaml", base)
	write("20-team-wmo.yaml", "version: 1\nrules:\n  - name: wmo\n    match: {zaaktype: WMO}\n    message: m\n    channels: [email]\n")
	write("notes.txt", "not a rule file")
	write("10-basis.cases.yaml", "cases: []\n")
	rs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rs.Rules()); got != 2 {
		t.Fatalf("want 2 rules from two files, got %d", got)
	}
	if rs.Rules()[1].Pos.File != filepath.Join(dir, "20-team-wmo.yaml") {
		t.Errorf("second rule is from %s", rs.Rules()[1].Pos.File)
	}

	// A mistake in one team's file names that file.
	write("20-team-wmo.yaml", "version: 1\nrules:\n  - name: wmo\n    match: {zaaktype: WMO}\n    mesage: m\n")
	_, err = Load(dir)
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("want errors, got %v", err)
	}
	for _, e := range es {
		if e.Pos.File != filepath.Join(dir, "20-team-wmo.yaml") {
			t.Errorf("error blames %s: %v", e.Pos.File, e)
		}
	}

	// Defaults belong in one file.
	write("20-team-wmo.yaml", "version: 1\ndefaults: {group_window: 1m}\n")
	write("30-more.yaml", "version: 1\ndefaults: {group_window: 2m}\n")
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), "30-more.yaml:2:11: defaults are already set in") {
		t.Fatalf("want a duplicate defaults error, got %v", err)
	}
}

func TestWarnings(t *testing.T) {
	src := `version: 1
messages:
  m: {email: {notify_template: f6619e17-d547-4c7a-80f7-97f69efd742d}}
  unused: {email: {notify_template: a0cccec0-06bf-45d5-ba59-995f6db936b0}}
rules:
  - name: alle-zaken
    match: {event: [zaak.aangemaakt, zaak.afgesloten]}
    message: m
    channels: [email]
  - name: alleen-aangemaakt
    match: {event: zaak.aangemaakt, zaaktype: B1026}
    message: m
    channels: [email]
  - name: met-voorwaarde
    match: {event: zaak.status_gewijzigd}
    when: statustype.informeren
    message: m
    channels: [email]
  - name: niet-overschaduwd
    match: {event: zaak.status_gewijzigd, zaaktype: B1026}
    message: m
    channels: [email]
  - name: vangnet
    message: m
    channels: [email]
  - name: na-vangnet
    match: {event: taak.afgerond}
    message: m
    channels: [email]
`
	rs, err := LoadSources(Source{Name: "r.yaml", Data: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`r.yaml:4:3: message "unused" is not used by any rule`,
		`r.yaml:10:5: rule "alleen-aangemaakt" can never match: rule "alle-zaken" (r.yaml:6:5) catches every event it would`,
		`r.yaml:26:5: rule "na-vangnet" can never match: rule "vangnet" (r.yaml:23:5)`,
	}
	ws := rs.Warnings()
	if len(ws) != len(want) {
		t.Fatalf("want %d warnings, got %d:\n%v", len(want), len(ws), ws)
	}
	for i, w := range want {
		if !strings.Contains(ws[i].Error(), w) {
			t.Errorf("warning %d:\n got  %s\n want %s", i, ws[i], w)
		}
	}
}

// TestTestdataFiles keeps the broken and valid files that seed the fuzzer
// honest: every broken file fails with positions, every valid file loads.
func TestTestdataFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			broken := strings.HasPrefix(filepath.Base(f), "broken-")
			if broken {
				var es Errors
				if !errors.As(err, &es) {
					t.Fatalf("want Errors, got %v", err)
				}
				for _, e := range es {
					if e.Pos.Line == 0 {
						t.Errorf("error without a line: %v", e)
					}
				}
			} else if err != nil {
				t.Fatalf("want it to load: %v", err)
			}
		})
	}
}

func TestNotifyServiceKey(t *testing.T) {
	const src = `version: 1
messages:
  m:
    notify_service: vergunningen
    email_reply_to_id: 8e222534-7f05-4972-86e3-17c5d9f894e2
    register_klantcontact: false
    email: {notify_template: f6619e17-d547-4c7a-80f7-97f69efd742d}
rules:
  - name: r
    when: "true"
    message: m
    channels: {inwoner: [email], bedrijf: [email]}
`
	rs, err := LoadSources(Source{Name: "rules.yaml", Data: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.NotifyServices(); got["vergunningen"] == "" || len(got) != 1 {
		t.Fatalf("NotifyServices() = %v", got)
	}
	for _, bad := range []struct{ from, to, want string }{
		{"notify_service: vergunningen", "notify_service: Vergunningen!", `messages.m.notify_service "Vergunningen!" is not a Notify service name`},
		{"email_reply_to_id: 8e222534-7f05-4972-86e3-17c5d9f894e2", "email_reply_to_id: noreply", `messages.m.email_reply_to_id "noreply" is not a Notify id`},
		{"register_klantcontact: false", "register_klantcontact: misschien", "register_klantcontact"},
	} {
		_, err := LoadSources(Source{Name: "rules.yaml", Data: []byte(strings.Replace(src, bad.from, bad.to, 1))})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("%s: error %v, want %q", bad.to, err, bad.want)
		}
	}
}
