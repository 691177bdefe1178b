package omc_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/omc"
	"github.com/mijnservices/koerier/rules"
)

// secretVars are the OMC variables whose values must never appear in what
// the migration writes.
var secretVars = []string{"OMC_AUTH_JWT_SECRET", "ZGW_AUTH_JWT_SECRET", "ZGW_AUTH_KEY_OPENKLANT", "ZGW_AUTH_KEY_OBJECTEN", "ZGW_AUTH_KEY_OBJECTTYPEN", "NOTIFY_API_KEY"}

func convert(t *testing.T, file string) (omc.Env, omc.Result, *rules.RuleSet, config.Config) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	env, err := omc.ParseEnv(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	res, err := omc.Convert(env, omc.Options{Source: file, RulesPath: rulesPath})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range secretVars {
		if v := env[k]; len(v) > 3 && (strings.Contains(string(res.Rules), v) || strings.Contains(string(res.Config), v)) {
			t.Errorf("the value of %s was copied into the output", k)
		}
	}
	if err := os.WriteFile(rulesPath, res.Rules, 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Load(rulesPath)
	if err != nil {
		t.Fatalf("generated rules do not pass rules check: %v\n%s", err, res.Rules)
	}
	// The fragment is a whole config once the same environment variables
	// are set (as a Kubernetes Secret would set them).
	lookup := func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		return "synthetisch-" + name, true
	}
	cfg, err := config.Parse("koerier.yaml", res.Config, lookup)
	if err != nil {
		t.Fatalf("generated config does not load: %v\n%s", err, res.Config)
	}
	return env, res, rs, cfg
}

// omcChoice is the template the OMC sends for a scenario, a zaaktype and a
// channel, or "" when it sends nothing — read straight from its documented
// rules: whitelist ("*" all, empty none), ZGW_WHITELIST_MESSAGE_ALLOWED,
// one template per channel (DECISIONMADE: one for all channels).
func omcChoice(env omc.Env, sc omc.Scenario, zaaktype, channel string) string {
	if sc.Whitelist == "" {
		if env["ZGW_WHITELIST_MESSAGE_ALLOWED"] != "true" {
			return ""
		}
	} else {
		ids := strings.Split(env[sc.Whitelist], ",")
		for i := range ids {
			ids[i] = strings.TrimSpace(ids[i])
		}
		if !slices.Contains(ids, "*") && !slices.Contains(ids, zaaktype) {
			return ""
		}
	}
	key := sc.Email
	if channel == event.ChannelSMS {
		key = sc.SMS
	}
	tpl := func(key string) string {
		if v := env[key]; v != "" {
			return v
		}
		return env[strings.TrimSuffix(key, "RECEIVED")] // the documented alias NOTIFY_TEMPLATEID_*_MESSAGE
	}
	if v := tpl(key); v != "" {
		return v
	}
	// The OMC failed here (no template for the preferred channel); the
	// converted rules deliberately send on the channel that has one.
	if key == sc.SMS {
		return tpl(sc.Email)
	}
	return tpl(sc.SMS)
}

func TestConvertRunsTheOMCScenarios(t *testing.T) {
	zaaktypen := []string{"ZT-AANVRAAG-PARKEERVERGUNNING", "ZT-MELDING-OPENBARE-RUIMTE", "ZT-ONBEKEND"}
	for _, file := range []string{"denhaag.env", "nijmegen.configmap.yaml"} {
		t.Run(file, func(t *testing.T) {
			env, _, rs, _ := convert(t, file)
			sent := 0
			for _, sc := range omc.Scenarios {
				for _, zt := range zaaktypen {
					for _, channel := range []string{event.ChannelEmail, event.ChannelSMS} {
						ev := &event.Event{ID: "e1", Type: sc.Event, OccurredAt: time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC),
							Zaak:       &event.Zaak{URL: "https://openzaak.example/zaken/api/v1/zaken/1", Identificatie: "ZAAK-2025-1", Vertrouwelijkheidaanduiding: "openbaar"},
							Zaaktype:   &event.Zaaktype{Identificatie: zt},
							Statustype: &event.Statustype{Omschrijving: "In behandeling", Informeren: true},
						}
						subj := event.Subject{Role: sc.Recipient, Kind: event.KindInwoner, BSN: "999993653"}
						rcp := &event.Recipient{Subject: subj, Kind: event.KindInwoner, Language: "nld",
							Email: "inwoner@example.org", Phone: "+31612345678", PreferredChannel: channel}
						d := rs.Decide(rules.Input{Event: ev, Recipient: rcp, Subject: subj, Now: ev.OccurredAt})
						want := omcChoice(env, sc, zt, channel)
						got := ""
						if !d.Skip && len(d.Plan) > 0 {
							got, _ = rs.Template(d.Message, d.Plan[0], "nld")
						}
						if got != want {
							t.Errorf("%s, zaaktype %s, voorkeur %s: Koerier sends template %q (rule %q, plan %v, %s), the OMC sent %q",
								sc.Name, zt, channel, got, d.Rule, d.Plan, d.Reason, want)
						}
						if want != "" {
							sent++
						}
					}
				}
			}
			if sent == 0 {
				t.Fatal("no scenario sends anything: the test proves nothing")
			}
		})
	}
}

func TestConvertConfigAndNotes(t *testing.T) {
	_, res, _, cfg := convert(t, "denhaag.env")
	if !cfg.Server.OMCCompat.Enabled() || cfg.Server.OMCCompat.JWTIssuer != "OMC" || cfg.Server.OMCCompat.JWTAudience != "OMC" {
		t.Errorf("omc_compat = %+v", cfg.Server.OMCCompat)
	}
	if !strings.Contains(string(res.Config), "jwt_secret: ${OMC_AUTH_JWT_SECRET}") || !strings.Contains(string(res.Config), "api_key: ${NOTIFY_API_KEY}") {
		t.Errorf("secrets are not ${ENV} references:\n%s", res.Config)
	}
	if cfg.ZGW.Catalogi != "https://openzaak.denhaag.example/catalogi/api/v1" || cfg.ZGW.BesluitTrigger != "besluitinformatieobject" {
		t.Errorf("zgw = %+v", cfg.ZGW)
	}
	if want := []string{"https://objecttypen.denhaag.example/api/v2/objecttypes/3e852115-277a-4570-873a-9a64be3aeb34"}; !slices.Equal(cfg.ZGW.TaakObjecttypes, want) {
		t.Errorf("taak_objecttypes = %v, want %v", cfg.ZGW.TaakObjecttypes, want)
	}
	unmapped := map[string]bool{}
	for _, n := range res.Unmapped() {
		unmapped[n.Key] = true
	}
	for _, k := range []string{"ZGW_VARIABLE_OBJECTTYPE_DECISIONINFOOBJECTTYPE_UUIDS", "ZGW_VARIABLE_OBJECTTYPE_MESSAGEOBJECTTYPE_UUID", "KTO_URL"} {
		if !unmapped[k] {
			t.Errorf("%s is not listed as unmappable", k)
		}
	}
	// Every variable in the file is accounted for.
	env, _ := omc.ParseEnv(must(os.ReadFile("testdata/denhaag.env")))
	seen := map[string]bool{}
	for _, n := range res.Notes {
		seen[n.Key] = true
	}
	for k := range env {
		if !seen[k] {
			t.Errorf("%s has no note", k)
		}
	}

	_, res, _, cfg = convert(t, "nijmegen.configmap.yaml")
	if cfg.ZGW.Zaken != "https://openzaak.nijmegen.example/zaken/api/v1" || cfg.ZGW.Objecten != "https://objecten.nijmegen.example/api/v2" {
		t.Errorf("host-only endpoints: zaken %q objecten %q", cfg.ZGW.Zaken, cfg.ZGW.Objecten)
	}
	if cfg.OpenKlant.URL != "https://openklant.nijmegen.example/klantinteracties/api/v1" {
		t.Errorf("openklant.url = %q", cfg.OpenKlant.URL)
	}
	if strings.Contains(string(res.Rules), "omc-besluit") {
		t.Errorf("an empty DECISIONMADE whitelist made a rule:\n%s", res.Rules)
	}
}

func TestParseEnvForms(t *testing.T) {
	env, err := omc.ParseEnv([]byte("# c\nexport A=1\nB=\"x y\"\nC='z'\nD=v # note\n"))
	if err != nil {
		t.Fatal(err)
	}
	if env["A"] != "1" || env["B"] != "x y" || env["C"] != "z" || env["D"] != "v" {
		t.Errorf("env = %v", env)
	}
	list := "apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  data:\n    A: \"1\"\n"
	env, err = omc.ParseEnv([]byte(list))
	if err != nil || env["A"] != "1" {
		t.Errorf("kind List: %v %v", env, err)
	}
	if _, err := omc.ParseEnv([]byte("NOT A LINE\n")); err == nil {
		t.Error("a line without = is accepted")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestPersonalisationHasOMCKeys(t *testing.T) {
	ev := &event.Event{Type: event.TypeTaakToegewezen,
		Zaak: &event.Zaak{Identificatie: "ZAAK-1", Omschrijving: "Parkeervergunning", Registratiedatum: "2025-03-01"},
		Taak: &event.Taak{Titel: "Lever uw kenteken aan", Verloopdatum: time.Date(2025, 3, 31, 22, 30, 0, 0, time.UTC)},
	}
	p := omc.Personalisation(ev, event.Recipient{Name: "Jan de Vries"})
	for _, k := range omc.PersonalisationKeys {
		if _, ok := p[k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}
	want := map[string]string{"klant.voornaam": "Jan de Vries", "zaak.identificatie": "ZAAK-1", "zaak.registratiedatum": "01-03-2025",
		"taak.record.data.title": "Lever uw kenteken aan", "taak.verloopdatum": "01-04-2025", "taak.heeft_verloopdatum": "yes"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
}
