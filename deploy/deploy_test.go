// Package deploy holds no code: its tests check the deployment files with
// the real tools' code where it is a Go library (helm's engine, the
// Kubernetes API types) and, where it is not (Docker, RabbitMQ, Grafana),
// for what can be checked without them: they parse, the scaled config
// loads, the Helm copy of it has not drifted, RabbitMQ definitions do not
// fight the bus's queue declarations, and the dashboard asks for metrics
// Koerier exports.
//
// It is a module of its own (deploy/go.mod) so that helm's and Kubernetes'
// large dependency tree stays out of the router's go.mod and builds; run it
// with `cd deploy && go test ./...`.
package deploy

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/config"
)

// scaledEnv is the smallest environment deploy/koerier.scaled.yaml starts
// with: every variable it requires, nothing more.
var scaledEnv = map[string]string{
	"KOERIER_PUBLIC_URL":                "https://koerier.example.nl",
	"KOERIER_NOTIFICATIES_TOKEN":        "t-notificaties",
	"KOERIER_SOURCE_VERGUNNINGEN_TOKEN": "t-vergunningen",
	"KOERIER_ADMIN_TOKEN":               "t-admin",
	"KOERIER_AMQP_URL":                  "amqp://koerier:secret@rabbitmq:5672/koerier",
	"KOERIER_SUBJECT_KEY":               "k-subject",
	"KOERIER_DATA_KEY":                  "vT3o9eTb7gQ8zvB7h0m4WcY9Qm6u0q1Qm0d8m0d6m0c=",
	"KOERIER_ZGW_SECRET":                "s-zgw",
	"KOERIER_ZAKEN_URL":                 "https://openzaak.example.nl/zaken/api/v1",
	"KOERIER_CATALOGI_URL":              "https://openzaak.example.nl/catalogi/api/v1",
	"KOERIER_BESLUITEN_URL":             "https://openzaak.example.nl/besluiten/api/v1",
	"KOERIER_DOCUMENTEN_URL":            "https://openzaak.example.nl/documenten/api/v1",
	"KOERIER_OPENKLANT_URL":             "https://openklant.example.nl/klantinteracties/api/v1",
	"KOERIER_OPENKLANT_TOKEN":           "t-openklant",
	"KOERIER_NOTIFY_URL":                "https://api.notifynl.nl",
	"KOERIER_NOTIFY_API_KEY":            "koerier-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0",
	"KOERIER_NOTIFY_CALLBACK_TOKEN":     "t-callback",
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestScaledConfigLoads(t *testing.T) {
	for k, v := range scaledEnv {
		t.Setenv(k, v)
	}
	cfg, err := config.Load("koerier.scaled.yaml")
	if err != nil {
		t.Fatalf("deploy/koerier.scaled.yaml does not load: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"bus.backend", cfg.Bus.Backend, "amqp"},
		{"store.backend", cfg.Store.Backend, "redis"},
		{"bus.amqp.url", cfg.Bus.AMQP.URL, scaledEnv["KOERIER_AMQP_URL"]},
		{"store.redis.addr", cfg.Store.Redis.Addr, "redis:6379"},
		{"store.subject_key", cfg.Store.SubjectKey, "k-subject"},
		{"server.listen", cfg.Server.Listen, "0.0.0.0:8080"},
		{"rules.path", cfg.Rules.Path, "/etc/koerier/rules/rules.yaml"},
		{"admin token", strings.Join(cfg.Server.AdminTokens, ","), "Bearer t-admin"},
		{"notificaties token", strings.Join(cfg.Server.NotificatiesTokens, ","), "Token t-notificaties"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(cfg.ZGW.TaakObjecttypes) != 0 {
		t.Errorf("zgw.taak_objecttypes = %q, want empty when KOERIER_TAAK_OBJECTTYPE is unset", cfg.ZGW.TaakObjecttypes)
	}
}

// Every secret must be required: a replica that starts on a default secret
// is worse than one that does not start.
func TestScaledConfigRequiresEverySecret(t *testing.T) {
	src, err := os.ReadFile("koerier.scaled.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name := range scaledEnv {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range scaledEnv {
				if k != name {
					env[k] = v
				}
			}
			_, err := config.Parse("koerier.scaled.yaml", src, lookupIn(env))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("without %s: err = %v, want one naming the variable", name, err)
			}
		})
	}
}

func TestHelmConfigIsTheScaledConfig(t *testing.T) {
	want, err := os.ReadFile("koerier.scaled.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("helm/koerier/files/koerier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("helm/koerier/files/koerier.yaml differs from koerier.scaled.yaml: copy it over (cp deploy/koerier.scaled.yaml deploy/helm/koerier/files/koerier.yaml)")
	}
}

// TestFilesParse parses every YAML and JSON file under deploy/, except Helm
// templates (Go templates, not YAML until rendered).
func TestFilesParse(t *testing.T) {
	var n int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "templates" && strings.Contains(path, "helm") {
				return fs.SkipDir
			}
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			n++
			// Koerier configs too are YAML before ${VAR} expansion: it
			// happens inside values, after parsing.
			dec := yaml.NewDecoder(bytes.NewReader(src))
			for {
				var v any
				if err := dec.Decode(&v); err != nil {
					if err.Error() != "EOF" {
						t.Errorf("%s: %v", path, err)
					}
					break
				}
			}
		case ".json":
			n++
			var v any
			if err := json.Unmarshal(src, &v); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("parsed %d YAML/JSON files under deploy/, expected at least 8: did a file move?", n)
	}
}

// composeRef is Compose's interpolation: ${NAME}, ${NAME:-default},
// ${NAME:?error}.
var composeRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}`)

type composeFile struct {
	Services map[string]struct {
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

// composeEnv returns the environment Compose would give service, with
// operator values for the ${X:?} variables and defaults for the rest.
func composeEnv(t *testing.T, file, service string, operator map[string]string) (env map[string]string, volumes []string) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(src, &cf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	svc, ok := cf.Services[service]
	if !ok {
		t.Fatalf("%s: no service %s", file, service)
	}
	env = map[string]string{}
	for k, v := range svc.Environment {
		env[k] = composeRef.ReplaceAllStringFunc(v, func(m string) string {
			sub := composeRef.FindStringSubmatch(m)
			if val, ok := operator[sub[1]]; ok {
				return val
			}
			if sub[2] == ":?" {
				t.Errorf("%s: %s needs %s from the operator", file, k, sub[1])
			}
			return sub[3]
		})
	}
	return env, svc.Volumes
}

// The compose files must hand Koerier every variable its config requires:
// the check Koerier itself would make at start-up, made without Docker.
func TestComposeEnvironmentsLoad(t *testing.T) {
	operator := map[string]string{}
	for k, v := range scaledEnv {
		operator[k] = v
	}
	delete(operator, "KOERIER_AMQP_URL") // compose builds it from the RabbitMQ password
	tests := []struct {
		file, service, config string
		operator              map[string]string
		wantBus, wantStore    string
	}{
		{"docker-compose.yaml", "koerier-1", "koerier.scaled.yaml", operator, "amqp", "redis"},
		{"docker-compose.yaml", "koerier-2", "koerier.scaled.yaml", operator, "amqp", "redis"},
		{"docker-compose.embedded.yaml", "koerier", "../config/koerier.example.yaml", nil, "sqlite", "sqlite"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.service, func(t *testing.T) {
			env, volumes := composeEnv(t, tt.file, tt.service, tt.operator)
			src, err := os.ReadFile(tt.config)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(tt.config, src, lookupIn(env))
			if err != nil {
				t.Fatalf("Koerier would not start with this environment: %v", err)
			}
			if cfg.Bus.Backend != tt.wantBus || cfg.Store.Backend != tt.wantStore {
				t.Errorf("bus/store = %s/%s, want %s/%s", cfg.Bus.Backend, cfg.Store.Backend, tt.wantBus, tt.wantStore)
			}
			// The rules file must come from a bind mount of a file that
			// exists in the repository.
			var found bool
			for _, v := range volumes {
				parts := strings.Split(v, ":")
				if len(parts) < 2 || !strings.HasPrefix(cfg.Rules.Path, parts[1]+"/") {
					continue
				}
				host := filepath.Join(parts[0], strings.TrimPrefix(cfg.Rules.Path, parts[1]+"/"))
				if _, err := os.Stat(host); err != nil {
					t.Errorf("rules.path %s is mounted from %s, which does not exist", cfg.Rules.Path, host)
				}
				found = true
			}
			if !found {
				t.Errorf("rules.path %s is not under a mounted volume", cfg.Rules.Path)
			}
		})
	}
}

// definitions.json must leave queues to Koerier (internal/bus declares them
// with x-queue-type and dead-letter arguments; a queue declared here with
// other arguments makes the bus's declare fail with PRECONDITION_FAILED) and
// its policies must match the queues the bus declares.
func TestRabbitMQDefinitions(t *testing.T) {
	src, err := os.ReadFile("rabbitmq/definitions.json")
	if err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Queues      []any `json:"queues"`
		Exchanges   []any `json:"exchanges"`
		Bindings    []any `json:"bindings"`
		Permissions []struct {
			User, Vhost, Configure, Write, Read string
		} `json:"permissions"`
		Policies []struct {
			Vhost      string         `json:"vhost"`
			Name       string         `json:"name"`
			Pattern    string         `json:"pattern"`
			ApplyTo    string         `json:"apply-to"`
			Definition map[string]any `json:"definition"`
		} `json:"policies"`
	}
	if err := json.Unmarshal(src, &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs.Queues)+len(defs.Exchanges)+len(defs.Bindings) != 0 {
		t.Fatal("definitions.json declares queues, exchanges or bindings: leave them to Koerier's bus")
	}
	// The queues internal/bus/amqp.go declares for the default channels.
	queues := []string{"koerier.inbound", "koerier.events", "koerier.outcomes", "koerier.deliveries.email",
		"koerier.deliveries.sms", "koerier.deadletter", "koerier.events.delay.30s", "koerier.deliveries.email.delay.24h"}
	policyOf := func(q string) string {
		for _, p := range defs.Policies {
			if regexp.MustCompile(p.Pattern).MatchString(q) {
				return p.Name
			}
		}
		return ""
	}
	want := map[string]string{
		"koerier.inbound": "koerier-work", "koerier.events": "koerier-work", "koerier.outcomes": "koerier-work",
		"koerier.deliveries.email": "koerier-work", "koerier.deliveries.sms": "koerier-work",
		"koerier.deadletter": "koerier-deadletter", "koerier.events.delay.30s": "", "koerier.deliveries.email.delay.24h": "",
	}
	for _, q := range queues {
		if got := policyOf(q); got != want[q] {
			t.Errorf("queue %s gets policy %q, want %q", q, got, want[q])
		}
	}
	for _, p := range defs.Policies {
		if p.Vhost != "koerier" {
			t.Errorf("policy %s is for vhost %q, want koerier", p.Name, p.Vhost)
		}
		// The bus declares x-delivery-limit 20 (minBrokerDeliveryLimit) so
		// rolling deploys never dead-letter work; a policy must not undercut it.
		if dl, ok := p.Definition["delivery-limit"].(float64); ok && dl < 20 {
			t.Errorf("policy %s: delivery-limit %v is below the bus's 20", p.Name, dl)
		}
		for _, k := range []string{"queue-type", "x-queue-type", "dead-letter-exchange", "dead-letter-routing-key", "message-ttl"} {
			if _, ok := p.Definition[k]; ok {
				t.Errorf("policy %s sets %s, which the bus sets per queue", p.Name, k)
			}
		}
	}
	for _, perm := range defs.Permissions {
		for _, q := range append(queues, "amq.default") {
			if !regexp.MustCompile(perm.Write).MatchString(q) {
				t.Errorf("user %s may not write to %s", perm.User, q)
			}
		}
		for _, q := range queues {
			if !regexp.MustCompile(perm.Configure).MatchString(q) || !regexp.MustCompile(perm.Read).MatchString(q) {
				t.Errorf("user %s may not declare or consume %s", perm.User, q)
			}
		}
	}
}
