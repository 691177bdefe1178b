package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseDefaultsToEmbedded(t *testing.T) {
	cfg, err := Parse("k.yaml", []byte(""), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bus.Backend != "sqlite" || cfg.Store.Backend != "sqlite" {
		t.Fatalf("backends = %s/%s, want sqlite/sqlite", cfg.Bus.Backend, cfg.Store.Backend)
	}
	if cfg.Bus.SQLite.Path != "data/bus.db" || cfg.Store.SQLitePath != "data/store.db" {
		t.Fatalf("paths = %s %s", cfg.Bus.SQLite.Path, cfg.Store.SQLitePath)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		env       map[string]string
		want      []string
	}{
		{"unknown key", "server:\n  listen: :8080\n  lisen: x\n", nil, []string{"k.yaml:3: unknown key lisen"}},
		{"missing env", "notify:\n  url: http://n\n  api_key: ${NOTIFY_KEY}\n", nil, []string{"k.yaml:3: environment variable NOTIFY_KEY is not set"}},
		{"bad backend", "bus:\n  backend: kafka\n", nil, []string{`bus.backend: "kafka" is not a backend`}},
		{"amqp without url", "bus:\n  backend: amqp\n", nil, []string{"bus.amqp.url: required"}},
		{"bad url", "openklant:\n  url: openklant.local\n", nil, []string{`openklant.url: "openklant.local" is not an absolute http(s) URL`}},
		{"type error", "pipeline:\n  concurrency: many\n", nil, []string{"k.yaml:2:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("k.yaml", []byte(c.src), env(c.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestExpand(t *testing.T) {
	src := "a: ${A}\nb: ${B:-fallback}\n# c: ${UNSET_IN_COMMENT}\n"
	out, err := Expand("f", []byte(src), env(map[string]string{"A": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "a: x\nb: fallback\n# c: ${UNSET_IN_COMMENT}\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load("koerier.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bus.Backend != "sqlite" || cfg.Notify.URL == "" || len(cfg.ZGW.Kanalen) != 3 {
		t.Fatalf("unexpected example config: %+v", cfg)
	}
}
