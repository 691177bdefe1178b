package omc

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/event"
)

// EventBerichtOntvangen is the event type the converted rules expect for the
// OMC's "message received" scenario. Koerier's enrich stage does not turn
// objects of the OMC's message objecttype into events; the system that
// creates the message object posts this type to POST /api/v1/events.
const EventBerichtOntvangen = "bericht.ontvangen"

// Scenario is one of the OMC's notification scenarios and where its settings
// live in the OMC environment.
type Scenario struct {
	// Name is the OMC's name (ZAAKCREATE, ...), as in its variables.
	Name string
	// Event is the Koerier event type that corresponds to it.
	Event string
	// Message and Rule name the generated message and rule.
	Message string
	// Whitelist is the variable with the zaaktype identificaties ("" for
	// the message scenario, which has a boolean instead).
	Whitelist string
	// Email and SMS are the template variables (equal for DECISIONMADE,
	// which has one template for every channel).
	Email, SMS string
	// Recipient is whom the OMC told: the zaak's initiator, or the person
	// the taak is for.
	Recipient string
}

// Scenarios lists the OMC scenarios in the order the OMC documents them
// ("OMC - Documentation.md", 5.2.2 to 5.2.7).
var Scenarios = []Scenario{
	{"ZAAKCREATE", event.TypeZaakAangemaakt, "omc-zaak-aangemaakt", "ZGW_WHITELIST_ZAAKCREATE_IDS", "NOTIFY_TEMPLATEID_EMAIL_ZAAKCREATE", "NOTIFY_TEMPLATEID_SMS_ZAAKCREATE", event.RoleInitiator},
	{"ZAAKUPDATE", event.TypeZaakStatusGewijzigd, "omc-zaak-status", "ZGW_WHITELIST_ZAAKUPDATE_IDS", "NOTIFY_TEMPLATEID_EMAIL_ZAAKUPDATE", "NOTIFY_TEMPLATEID_SMS_ZAAKUPDATE", event.RoleInitiator},
	{"ZAAKCLOSE", event.TypeZaakAfgesloten, "omc-zaak-afgesloten", "ZGW_WHITELIST_ZAAKCLOSE_IDS", "NOTIFY_TEMPLATEID_EMAIL_ZAAKCLOSE", "NOTIFY_TEMPLATEID_SMS_ZAAKCLOSE", event.RoleInitiator},
	{"TASKASSIGNED", event.TypeTaakToegewezen, "omc-taak-toegewezen", "ZGW_WHITELIST_TASKASSIGNED_IDS", "NOTIFY_TEMPLATEID_EMAIL_TASKASSIGNED", "NOTIFY_TEMPLATEID_SMS_TASKASSIGNED", event.RoleTaak},
	{"DECISIONMADE", event.TypeBesluitGenomen, "omc-besluit", "ZGW_WHITELIST_DECISIONMADE_IDS", "NOTIFY_TEMPLATEID_DECISIONMADE", "NOTIFY_TEMPLATEID_DECISIONMADE", event.RoleInitiator},
	{"MESSAGERECEIVED", EventBerichtOntvangen, "omc-bericht-ontvangen", "", "NOTIFY_TEMPLATEID_EMAIL_MESSAGERECEIVED", "NOTIFY_TEMPLATEID_SMS_MESSAGERECEIVED", event.RoleInitiator},
}

// aliases are other spellings of a variable the OMC's own documentation
// uses; the OMC's code reads the canonical name.
var aliases = map[string]string{
	"NOTIFY_TEMPLATEID_EMAIL_MESSAGE": "NOTIFY_TEMPLATEID_EMAIL_MESSAGERECEIVED",
	"NOTIFY_TEMPLATEID_SMS_MESSAGE":   "NOTIFY_TEMPLATEID_SMS_MESSAGERECEIVED",
	"ZGW_WHITELIST_MESSAGEALLOWED":    "ZGW_WHITELIST_MESSAGE_ALLOWED",
}

// Note says what became of one OMC variable.
type Note struct {
	Key string
	// Mapped is false when Koerier has no equivalent: Reason says why and
	// what to do instead.
	Mapped bool
	Reason string
}

// Options for Convert.
type Options struct {
	// Source names the env file in the generated comments.
	Source string
	// RulesPath is what the config fragment's rules.path points at.
	RulesPath string
}

// Result is the outcome of Convert.
type Result struct {
	Rules  []byte
	Config []byte
	Notes  []Note
}

// Unmapped returns the notes of variables Koerier has no equivalent for.
func (r Result) Unmapped() []Note {
	var out []Note
	for _, n := range r.Notes {
		if !n.Mapped {
			out = append(out, n)
		}
	}
	return out
}

// ignored are OMC variables that configure only the OMC itself, with the
// reason they need no counterpart.
var ignored = map[string]string{
	"OMC_AUTH_JWT_EXPIRESINMIN":                         "alleen voor het maken van tokens door de OMC; Koerier controleert exp in het token zelf",
	"OMC_AUTH_JWT_USERID":                               "alleen voor het maken van tokens door de OMC",
	"OMC_AUTH_JWT_USERNAME":                             "alleen voor het maken van tokens door de OMC",
	"ZGW_AUTH_JWT_AUDIENCE":                             "Open Zaak controleert aud niet; Koerier zet geen aud in zijn ZGW-token",
	"ZGW_AUTH_JWT_EXPIRESINMIN":                         "Koerier maakt per verzoek een vers ZGW-token",
	"ZGW_AUTH_KEY_OBJECTTYPEN":                          "Koerier leest de Objecttypen API niet; taak-objecttypen staan als URL in zgw.taak_objecttypes",
	"ZGW_ENDPOINT_OBJECTTYPEN":                          "alleen gebruikt om zgw.taak_objecttypes als URL op te bouwen",
	"ZGW_ENDPOINT_CONTACTMOMENTEN":                      "Koerier registreert klantcontacten in Open Klant 2 (klantinteracties), niet in de Contactmomenten API",
	"ZGW_VARIABLE_OBJECTTYPE_MESSAGEOBJECTTYPE_VERSION": "Koerier maakt zelf geen bericht-objecten aan",
	"OMC_FEATURE_WORKFLOW_VERSION":                      "Koerier kent één werkwijze (Open Klant 2, Objecten API v2)",
	"OMC_CONTEXT_PATH":                                  "Koerier draait op zijn eigen pad; /Events/Listen en /Notify/Confirm staan op de root",
	"OMC_ACTOR_ID":                                      "Koerier registreert klantcontacten zonder OMC-actor",
}

// Convert turns an OMC environment into a rules file and a config fragment
// that behave as that OMC did, and a note for every OMC variable it saw.
// Secrets are written as ${NAME} references to the same variable names,
// never copied.
func Convert(env Env, o Options) (Result, error) {
	if o.RulesPath == "" {
		o.RulesPath = "rules.yaml"
	}
	if o.Source == "" {
		o.Source = "omc.env"
	}
	env = canonical(env)
	c := &converter{env: env, notes: map[string]Note{}}
	rulesYAML := c.rules(o)
	configYAML := c.config(o)
	for k := range env {
		if _, seen := c.notes[k]; seen {
			continue
		}
		switch {
		case ignored[k] != "":
			c.note(k, true, "niet nodig: "+ignored[k])
		case strings.HasPrefix(k, "KTO_"):
			c.note(k, false, "klanttevredenheidsonderzoek (Expoint KTO) kent Koerier niet; regel dat buiten Koerier")
		case strings.HasPrefix(k, "NOTIFY_TEMPLATEID_LETTER") || strings.HasPrefix(k, "NOTIFY_TEMPLATEID_"):
			c.note(k, false, "onbekend OMC-template: Koerier weet niet bij welke gebeurtenis het hoort")
		case strings.HasPrefix(k, "OMC_") || strings.HasPrefix(k, "ZGW_") || strings.HasPrefix(k, "NOTIFY_"):
			c.note(k, false, "onbekende OMC-variabele; niet overgenomen")
		}
	}
	res := Result{Rules: append([]byte(c.rulesHeader(o)), rulesYAML...), Config: configYAML}
	for _, k := range slices.Sorted(mapsKeys(c.notes)) {
		res.Notes = append(res.Notes, c.notes[k])
	}
	return res, nil
}

func mapsKeys(m map[string]Note) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func canonical(env Env) Env {
	out := Env{}
	for k, v := range env {
		out[k] = v
	}
	for alias, name := range aliases {
		if v, ok := out[alias]; ok {
			if _, has := out[name]; !has {
				out[name] = v
			}
			delete(out, alias)
		}
	}
	return out
}

type converter struct {
	env   Env
	notes map[string]Note
}

func (c *converter) note(key string, mapped bool, reason string) {
	c.notes[key] = Note{Key: key, Mapped: mapped, Reason: reason}
}

// template reads a template variable: a UUID, or "" when unset or invalid.
func (c *converter) template(key string) string {
	v, ok := c.env[key]
	if !ok || v == "" {
		return ""
	}
	if _, err := uuid.Parse(v); err != nil {
		c.note(key, false, fmt.Sprintf("%q is geen Notify-template-id (UUID)", v))
		return ""
	}
	c.note(key, true, "Notify-template overgenomen")
	return strings.ToLower(v)
}

// q quotes s as a YAML (JSON) string.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func qlist(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = q(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (c *converter) rules(o Options) []byte {
	var msgs, rules strings.Builder
	for _, sc := range Scenarios {
		var zaaktypen []string
		all := false
		if sc.Whitelist == "" {
			allowed := strings.EqualFold(strings.TrimSpace(c.env["ZGW_WHITELIST_MESSAGE_ALLOWED"]), "true")
			if _, set := c.env["ZGW_WHITELIST_MESSAGE_ALLOWED"]; set {
				c.note("ZGW_WHITELIST_MESSAGE_ALLOWED", true, fmt.Sprintf("regel %s %s", sc.Message, map[bool]string{true: "aan", false: "niet aangemaakt (false)"}[allowed]))
			}
			if !allowed {
				c.off(sc)
				continue
			}
			all = true
		} else {
			ids := list(c.env[sc.Whitelist])
			switch {
			case slices.Contains(ids, "*"):
				all = true
				c.note(sc.Whitelist, true, fmt.Sprintf("* : regel %s voor alle zaaktypen", sc.Message))
			case len(ids) == 0:
				if _, set := c.env[sc.Whitelist]; set {
					c.note(sc.Whitelist, true, fmt.Sprintf("leeg: de OMC stuurde hierbij nooit iets, dus geen regel %s", sc.Message))
				}
				c.off(sc)
				continue
			default:
				zaaktypen = ids
				c.note(sc.Whitelist, true, fmt.Sprintf("regel %s voor zaaktypen %s", sc.Message, strings.Join(ids, ", ")))
			}
		}
		email, sms := c.template(sc.Email), c.template(sc.SMS)
		if email == "" && sms == "" {
			c.note(sc.Email, false, fmt.Sprintf("de OMC-scenario %s staat aan maar heeft geen geldig e-mail- of sms-template; geen regel aangemaakt", sc.Name))
			continue
		}
		var chans []string
		fmt.Fprintf(&msgs, "  %s:\n    description: OMC-scenario %s\n", sc.Message, sc.Name)
		if email != "" {
			fmt.Fprintf(&msgs, "    email: {notify_template: %s}   # %s\n", email, sc.Email)
			chans = append(chans, event.ChannelEmail)
		}
		if sms != "" {
			fmt.Fprintf(&msgs, "    sms: {notify_template: %s}   # %s\n", sms, sc.SMS)
			chans = append(chans, event.ChannelSMS)
		}
		// The OMC chose one digital address: the one whose referentie is
		// the zaak identificatie, else the voorkeur, else the first email,
		// else the first phone number. voorkeur then email then sms is
		// that order.
		plan := append([]string{event.ChannelVoorkeur}, chans...)
		if len(chans) == 1 {
			// voorkeur may be the channel without a template, where the
			// OMC failed to send; Koerier sends on the one it has.
			plan = chans
			missing := sc.SMS
			if chans[0] == event.ChannelSMS {
				missing = sc.Email
			}
			c.note(missing, false, fmt.Sprintf("leeg: bij die voorkeur faalde de OMC; Koerier stuurt %s dan via %s", sc.Message, chans[0]))
		}
		fmt.Fprintf(&rules, "  - name: %s\n    description: OMC-scenario %s\n", sc.Message, sc.Name)
		if sc.Event == EventBerichtOntvangen {
			fmt.Fprintf(&rules, "    when: event.type == %s\n", q(sc.Event))
		} else {
			fmt.Fprintf(&rules, "    match:\n      event: %s\n", sc.Event)
			if !all {
				fmt.Fprintf(&rules, "      zaaktype: %s   # %s\n", qlist(zaaktypen), sc.Whitelist)
			}
		}
		fmt.Fprintf(&rules, "    message: %s\n    recipients: [%s]\n    channels: [%s]\n    group_window: 0\n", sc.Message, sc.Recipient, strings.Join(plan, ", "))
	}
	if v := c.env["ZGW_VARIABLE_OBJECTTYPE_MESSAGEOBJECTTYPE_UUID"]; v != "" {
		c.note("ZGW_VARIABLE_OBJECTTYPE_MESSAGEOBJECTTYPE_UUID", false,
			"Koerier maakt van een bericht-object in de Objecten API (nog) zelf geen gebeurtenis; laat het systeem dat het bericht aanmaakt "+
				EventBerichtOntvangen+" sturen naar POST /api/v1/events")
	}
	if v := c.env["ZGW_VARIABLE_OBJECTTYPE_DECISIONINFOOBJECTTYPE_UUIDS"]; v != "" {
		c.note("ZGW_VARIABLE_OBJECTTYPE_DECISIONINFOOBJECTTYPE_UUIDS", false,
			"Koerier filtert besluiten niet op informatieobjecttype (en niet op status definitief of vertrouwelijkheid openbaar van het document); "+
				"zgw.besluit_trigger is besluitinformatieobject gezet, zoals de OMC, maar elk besluitdocument telt")
	}

	var b strings.Builder
	b.WriteString("version: 1\n\ndefaults:\n")
	b.WriteString("  # De OMC koos één digitaal adres: referentie = zaakidentificatie, anders de voorkeur,\n")
	b.WriteString("  # anders het eerste e-mailadres, anders het eerste telefoonnummer. Koerier valt daarbij\n")
	b.WriteString("  # bij een blijvende fout terug op het volgende kanaal; de OMC deed dat niet.\n")
	b.WriteString("  channels:\n    inwoner: [voorkeur, email, sms]\n    bedrijf: [voorkeur, email, sms]\n")
	b.WriteString("  recipients: [initiator]\n\n")
	if msgs.Len() == 0 {
		// A rules file needs at least one message; an OMC that sent
		// nothing converts to rules that send nothing.
		b.WriteString("messages: {}\n\nrules: []\n")
		return []byte(b.String())
	}
	b.WriteString("messages:\n")
	b.WriteString(msgs.String())
	b.WriteString("\nrules:\n")
	b.WriteString(rules.String())
	return []byte(b.String())
}

// off notes the templates of a scenario the OMC had switched off.
func (c *converter) off(sc Scenario) {
	for _, k := range []string{sc.Email, sc.SMS} {
		if _, set := c.env[k]; set {
			c.note(k, true, "niet nodig: de OMC gebruikte dit template niet ("+sc.Name+" staat uit)")
		}
	}
}

func (c *converter) rulesHeader(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Gegenereerd door `koerier migrate omc` uit %s.\n", o.Source)
	b.WriteString("# Gedraagt zich als die OMC: dezelfde Notify-templates bij dezelfde gebeurtenis,\n")
	b.WriteString("# alleen voor de zaaktypen op de OMC-whitelists. Uitleg: docs/migratie-omc.md.\n")
	b.WriteString("# Controleren: koerier rules check " + o.RulesPath + "\n")
	if un := c.unmappedSoFar(); len(un) > 0 {
		b.WriteString("#\n# Niet overgenomen:\n")
		for _, n := range un {
			fmt.Fprintf(&b, "#   %s: %s\n", n.Key, n.Reason)
		}
	}
	return b.String()
}

func (c *converter) unmappedSoFar() []Note {
	var out []Note
	keys := make([]string, 0, len(c.notes))
	for k := range c.notes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !c.notes[k].Mapped {
			out = append(out, c.notes[k])
		}
	}
	return out
}

// root makes an OMC endpoint (sometimes only a host, per its docs "the
// domain part") into an API root with path def when it has none.
func root(v, def string) string {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if v == "" {
		return ""
	}
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return v
	}
	if u.Path == "" {
		u.Path = def
	}
	return strings.TrimRight(u.String(), "/")
}

// sibling replaces Open Zaak's component path (/zaken/api/v1) with another
// component's, which Open Zaak serves from the same host.
func sibling(zaken, from, to string) string {
	if zaken == "" || !strings.Contains(zaken, from) {
		return ""
	}
	return strings.Replace(zaken, from, to, 1)
}

func (c *converter) config(o Options) []byte {
	var b strings.Builder
	e := c.env
	set := func(k string) bool { return strings.TrimSpace(e[k]) != "" }
	secret := func(k string) string {
		c.note(k, true, "als ${"+k+"} (geheim; niet gekopieerd)")
		return "${" + k + "}"
	}
	val := func(k string) string {
		c.note(k, true, "overgenomen")
		return q(strings.TrimSpace(e[k]))
	}
	fmt.Fprintf(&b, "# Gegenereerd door `koerier migrate omc` uit %s. Geheimen staan als ${NAAM}:\n", o.Source)
	b.WriteString("# geef Koerier dezelfde omgevingsvariabelen (bijvoorbeeld hetzelfde Kubernetes Secret).\n")
	b.WriteString("# Vul aan met config/koerier.example.yaml; controleren: koerier config check.\n\n")
	b.WriteString("store:\n  subject_key: ${KOERIER_SUBJECT_KEY}   # nieuw: geheim voor de gehashte BSN in het logboek\n\n")
	b.WriteString("server:\n")
	if set("OMC_AUTH_JWT_SECRET") {
		b.WriteString("  # Open Notificaties en Notify mogen de OMC-adressen blijven gebruiken.\n  omc_compat:\n")
		fmt.Fprintf(&b, "    jwt_secret: %s\n", secret("OMC_AUTH_JWT_SECRET"))
		if set("OMC_AUTH_JWT_ISSUER") {
			fmt.Fprintf(&b, "    jwt_issuer: %s\n", val("OMC_AUTH_JWT_ISSUER"))
		}
		if set("OMC_AUTH_JWT_AUDIENCE") {
			fmt.Fprintf(&b, "    jwt_audience: %s\n", val("OMC_AUTH_JWT_AUDIENCE"))
		}
	}
	b.WriteString("  notificaties_tokens: []   # vul in bij een nieuw abonnement op /api/v1/notificaties\n\n")

	b.WriteString("zgw:\n")
	if set("ZGW_AUTH_JWT_ISSUER") {
		fmt.Fprintf(&b, "  client_id: %s\n", val("ZGW_AUTH_JWT_ISSUER"))
	}
	if set("ZGW_AUTH_JWT_SECRET") {
		fmt.Fprintf(&b, "  secret: %s\n", secret("ZGW_AUTH_JWT_SECRET"))
	}
	if set("ZGW_AUTH_JWT_USERID") {
		fmt.Fprintf(&b, "  user_id: %s\n", val("ZGW_AUTH_JWT_USERID"))
	}
	if set("ZGW_AUTH_JWT_USERNAME") {
		fmt.Fprintf(&b, "  user_representation: %s\n", val("ZGW_AUTH_JWT_USERNAME"))
	}
	zaken := root(e["ZGW_ENDPOINT_OPENZAAK"], "/zaken/api/v1")
	if zaken != "" {
		c.note("ZGW_ENDPOINT_OPENZAAK", true, "zgw.zaken; catalogi en documenten op dezelfde host afgeleid")
		fmt.Fprintf(&b, "  zaken: %s\n", q(zaken))
		if cat := sibling(zaken, "/zaken/api/", "/catalogi/api/"); cat != "" {
			fmt.Fprintf(&b, "  catalogi: %s     # afgeleid van ZGW_ENDPOINT_OPENZAAK\n", q(cat))
			fmt.Fprintf(&b, "  documenten: %s   # afgeleid van ZGW_ENDPOINT_OPENZAAK\n", q(sibling(zaken, "/zaken/api/", "/documenten/api/")))
		}
	}
	if bes := root(e["ZGW_ENDPOINT_BESLUITEN"], "/besluiten/api/v1"); bes != "" {
		c.note("ZGW_ENDPOINT_BESLUITEN", true, "zgw.besluiten")
		fmt.Fprintf(&b, "  besluiten: %s\n", q(bes))
	} else if bes := sibling(zaken, "/zaken/api/", "/besluiten/api/"); bes != "" {
		fmt.Fprintf(&b, "  besluiten: %s   # afgeleid van ZGW_ENDPOINT_OPENZAAK\n", q(bes))
	}
	if obj := root(e["ZGW_ENDPOINT_OBJECTEN"], "/api/v2"); obj != "" {
		c.note("ZGW_ENDPOINT_OBJECTEN", true, "zgw.objecten")
		fmt.Fprintf(&b, "  objecten: %s\n", q(obj))
		if set("ZGW_AUTH_KEY_OBJECTEN") {
			fmt.Fprintf(&b, "  objecten_token: %s\n", secret("ZGW_AUTH_KEY_OBJECTEN"))
		}
	}
	if id := strings.TrimSpace(e["ZGW_VARIABLE_OBJECTTYPE_TASKOBJECTTYPE_UUID"]); id != "" {
		ot := root(e["ZGW_ENDPOINT_OBJECTTYPEN"], "/api/v2")
		if _, err := uuid.Parse(id); err != nil {
			c.note("ZGW_VARIABLE_OBJECTTYPE_TASKOBJECTTYPE_UUID", false, fmt.Sprintf("%q is geen UUID", id))
		} else if ot == "" {
			c.note("ZGW_VARIABLE_OBJECTTYPE_TASKOBJECTTYPE_UUID", false, "zonder ZGW_ENDPOINT_OBJECTTYPEN is de objecttype-URL onbekend; zet zgw.taak_objecttypes zelf")
		} else {
			c.note("ZGW_VARIABLE_OBJECTTYPE_TASKOBJECTTYPE_UUID", true, "zgw.taak_objecttypes (URL met ZGW_ENDPOINT_OBJECTTYPEN)")
			fmt.Fprintf(&b, "  taak_objecttypes: [%s]\n", q(ot+"/objecttypes/"+strings.ToLower(id)))
		}
	}
	if set("ZGW_WHITELIST_DECISIONMADE_IDS") || set("ZGW_VARIABLE_OBJECTTYPE_DECISIONINFOOBJECTTYPE_UUIDS") {
		b.WriteString("  # De OMC reageerde op besluitinformatieobject create (het besluitdocument).\n  besluit_trigger: besluitinformatieobject\n")
	}
	if on := root(e["ZGW_ENDPOINT_OPENNOTIFICATIES"], "/api/v1"); on != "" {
		c.note("ZGW_ENDPOINT_OPENNOTIFICATIES", true, "zgw.open_notificaties")
		fmt.Fprintf(&b, "  open_notificaties: %s\n", q(on))
	}
	b.WriteString("\n")
	if ok := root(e["ZGW_ENDPOINT_OPENKLANT"], "/klantinteracties/api/v1"); ok != "" {
		b.WriteString("openklant:\n")
		if strings.Contains(ok, "/klanten/api/") {
			c.note("ZGW_ENDPOINT_OPENKLANT", false, "dit is de Klanten API van Open Klant 1 (OMC workflow v1); Koerier gebruikt Open Klant 2 (klantinteracties): url afgeleid, controleer hem")
			ok = strings.Replace(ok, "/klanten/api/", "/klantinteracties/api/", 1)
			fmt.Fprintf(&b, "  url: %s   # CONTROLEER: afgeleid van de Open Klant 1-URL\n", q(ok))
		} else {
			c.note("ZGW_ENDPOINT_OPENKLANT", true, "openklant.url")
			fmt.Fprintf(&b, "  url: %s\n", q(ok))
		}
		if set("ZGW_AUTH_KEY_OPENKLANT") {
			fmt.Fprintf(&b, "  token: %s\n", secret("ZGW_AUTH_KEY_OPENKLANT"))
		}
		b.WriteString("\n")
	}
	if set("NOTIFY_API_BASEURL") || set("NOTIFY_API_KEY") {
		b.WriteString("notify:\n")
		if set("NOTIFY_API_BASEURL") {
			c.note("NOTIFY_API_BASEURL", true, "notify.url")
			fmt.Fprintf(&b, "  url: %s\n", q(root(e["NOTIFY_API_BASEURL"], "")))
		}
		if set("NOTIFY_API_KEY") {
			fmt.Fprintf(&b, "  api_key: %s\n", secret("NOTIFY_API_KEY"))
		}
		if set("OMC_AUTH_JWT_SECRET") {
			b.WriteString("  # Notify mag /Notify/Confirm met het OMC-token blijven aanroepen (server.omc_compat).\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "rules:\n  path: %s\n", q(o.RulesPath))
	return []byte(b.String())
}
