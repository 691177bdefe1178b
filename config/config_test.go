package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// minimal is the least a file must say to load: the subject key has no
// default.
const minimal = "store:\n  subject_key: k\n"

func TestParseDefaultsToEmbedded(t *testing.T) {
	cfg, err := Parse("k.yaml", []byte(minimal), env(nil))
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
		{"unknown key with did-you-mean", "server:\n  listen: :8080\n  lisen: x\n", nil,
			[]string{`k.yaml:3: server: unknown key "lisen" in server; did you mean "listen"?`}},
		{"unknown key names yaml keys, not Go types", "store:\n  subjectkey: x\n", nil,
			[]string{`k.yaml:2: store: unknown key "subjectkey" in store; did you mean "subject_key"?`}},
		{"unknown key in the wrong section", "server:\n  subject_key: x\n", nil,
			[]string{`k.yaml:2: server: unknown key "subject_key" in server; "subject_key" is a key of store`}},
		{"unknown top-level key", minimal + "notfy:\n  url: http://n\n", nil,
			[]string{`k.yaml:3: unknown key "notfy" in the top level; did you mean "notify"?`}},
		{"nothing close", minimal + "pipeline:\n  zzzzzzzz: 1\n", nil,
			[]string{`k.yaml:4: pipeline: unknown key "zzzzzzzz" in pipeline (known keys: concurrency, delivery_lease, retry_max, temporary_backoff)`}},
		{"duplicate key", "store:\n  subject_key: a\n  subject_key: b\n", nil,
			[]string{"k.yaml:3: store.subject_key: set twice (also on line 2)"}},
		{"missing env names key and line", minimal + "notify:\n  url: http://n\n  api_key: ${NOTIFY_KEY}\n", nil,
			[]string{"k.yaml:5: notify.api_key: environment variable NOTIFY_KEY is not set"}},
		{"missing env in a list", minimal + "server:\n  admin_tokens:\n    - ok\n    - \"Bearer ${ADMIN}\"\n", nil,
			[]string{"k.yaml:6: server.admin_tokens[1]: environment variable ADMIN is not set"}},
		{"bad backend", minimal + "bus:\n  backend: kafka\n", nil, []string{`k.yaml:4: bus.backend: "kafka" is not a backend`}},
		{"amqp without url", minimal + "bus:\n  backend: amqp\n", nil, []string{"k.yaml:3: bus.amqp.url: required"}},
		{"bad url", minimal + "openklant:\n  url: openklant.local\n  token: t\n", nil,
			[]string{`k.yaml:4: openklant.url: "openklant.local" is not an absolute http(s) URL`}},
		{"type error", minimal + "pipeline:\n  concurrency: many\n", nil,
			[]string{`k.yaml:4: pipeline.concurrency: "many" is not a whole number`}},
		{"bad duration", minimal + "bus:\n  sqlite:\n    poll_interval: 200\n", nil,
			[]string{`k.yaml:5: bus.sqlite.poll_interval: "200" is not a duration`}},
		{"section where a value belongs", minimal + "telemetry: debug\n", nil,
			[]string{`k.yaml:3: telemetry: want a section of keys, got the value "debug"`}},
		{"subject key required at load", "data_dir: d\n", nil,
			[]string{"k.yaml: store.subject_key: required"}},
		{"subject key empty from env", "store:\n  subject_key: ${KEY:-}\n", nil,
			[]string{"k.yaml:2: store.subject_key: required"}},
		{"0s is not off for the lease", minimal + "pipeline:\n  delivery_lease: 0s\n", nil,
			[]string{"k.yaml:4: pipeline.delivery_lease: must be more than 0s"}},
		{"retry_max 0 is rejected, not silently 2", minimal + "pipeline:\n  retry_max: 0\n", nil,
			[]string{"k.yaml:4: pipeline.retry_max: must be at least 1"}},
		{"concurrency 0 is rejected, not silently 1", minimal + "pipeline:\n  concurrency: 0\n", nil,
			[]string{"k.yaml:4: pipeline.concurrency: must be at least 1"}},
		{"idle timeout 0 is not off", minimal + "server:\n  idle_timeout: 0s\n", nil,
			[]string{"k.yaml:4: server.idle_timeout: must be more than 0s"}},
		{"in-flight bytes below one body", minimal + "server:\n  max_inflight_bytes: 1000\n", nil,
			[]string{"k.yaml:4: server.max_inflight_bytes: must be at least server.max_body_bytes"}},
		{"trusted trace source not a network", minimal + "server:\n  trusted_trace_sources:\n    - 10.0.0.0/8\n    - intranet\n", nil,
			[]string{`k.yaml:6: server.trusted_trace_sources[1]: "intranet" is not a network`}},
		{"objecten without token", minimal + "zgw:\n  objecten: http://o/api/v2\n", nil,
			[]string{"k.yaml:3: zgw.objecten_token: required"}},
		{"console nobody can log in to", minimal + "console:\n  enabled: true\n", nil,
			[]string{"k.yaml:4: console.enabled: nobody can log in"}},
		{"console session of no length", minimal + "server:\n  admin_tokens: [a]\nconsole:\n  enabled: true\n  session_ttl: 0s\n", nil,
			[]string{"k.yaml:7: console.session_ttl: must be more than 0s"}},
		{"console empty kcc token", minimal + "console:\n  kcc_tokens:\n    - ok\n    - \"\"\n", nil,
			[]string{"k.yaml:6: console.kcc_tokens[1]: empty"}},
		{"console key misspelt", minimal + "console:\n  enabeld: true\n", nil,
			[]string{`k.yaml:4: console: unknown key "enabeld" in console; did you mean "enabled"?`}},
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

// Every problem is reported, in the order of the file, the same each run.
func TestParseErrorsAreOrdered(t *testing.T) {
	src := "server:\n  event_sources:\n    b: \"\"\n    a: \"\"\n    c: \"\"\nzgw:\n  zaken: nope\n  catalogi: nope\n  besluiten: nope\n  client_id: c\n  secret: s\nstore:\n  subject_key: k\n"
	var first string
	for i := 0; i < 20; i++ {
		_, err := Parse("k.yaml", []byte(src), env(nil))
		if err == nil {
			t.Fatal("no error")
		}
		if i == 0 {
			first = err.Error()
			continue
		}
		if err.Error() != first {
			t.Fatalf("run %d:\n%s\nrun 0:\n%s", i, err, first)
		}
	}
	want := []string{"zgw.zaken", "zgw.catalogi", "zgw.besluiten", "server.event_sources.a", "server.event_sources.b", "server.event_sources.c"}
	at := -1
	for _, w := range want {
		i := strings.Index(first, w+":")
		if i < at {
			t.Fatalf("%s out of order in\n%s", w, first)
		}
		at = i
	}
}

// A secret is data: whatever it holds cannot change the document.
func TestSecretsCannotChangeTheDocument(t *testing.T) {
	secrets := []string{
		"abc # not a comment",
		"key: value",
		`it's "quoted"`,
		"line one\nline two\nbus:\n  backend: kafka",
		"}{[]&*!|>%@`",
		"null",
		"~",
		"true",
		"12345",
		"  padded  ",
		"${OTHER}",
	}
	for _, s := range secrets {
		t.Run(s, func(t *testing.T) {
			src := "store:\n  subject_key: ${SECRET}\nzgw:\n  secret: \"pre-${SECRET}\"\n"
			cfg, err := Parse("k.yaml", []byte(src), env(map[string]string{"SECRET": s}))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Store.SubjectKey != s {
				t.Errorf("subject_key = %q, want %q", cfg.Store.SubjectKey, s)
			}
			if cfg.ZGW.Secret != "pre-"+s {
				t.Errorf("zgw.secret = %q, want %q", cfg.ZGW.Secret, "pre-"+s)
			}
			if cfg.Bus.Backend != "sqlite" {
				t.Errorf("the secret changed bus.backend to %q", cfg.Bus.Backend)
			}
		})
	}
}

func TestExpansion(t *testing.T) {
	src := minimal + "# ${UNSET_IN_COMMENT}\n" +
		"server:\n  listen: ${LISTEN}\n  public_url: ${URL:-http://fallback}\n  max_body_bytes: ${MAX}\n" +
		"notify:\n  reference_lookup: ${LOOKUP}\n" +
		"pipeline:\n  delivery_lease: ${LEASE}\n  concurrency: \"${CONC}\"\n"
	cfg, err := Parse("k.yaml", []byte(src), env(map[string]string{
		"LISTEN": ":9090", "MAX": "2048", "LOOKUP": "false", "LEASE": "90s", "CONC": "7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != ":9090" || cfg.Server.PublicURL != "http://fallback" || cfg.Server.MaxBodyBytes != 2048 {
		t.Errorf("server = %+v", cfg.Server)
	}
	if *cfg.Notify.ReferenceLookup {
		t.Error("reference_lookup = true, want false from the environment")
	}
	if cfg.Pipeline.DeliveryLease != 90*time.Second || cfg.Pipeline.Concurrency != 7 {
		t.Errorf("pipeline = %+v", cfg.Pipeline)
	}
}

// Where the docs say 0s means off, 0s is kept as 0 (not replaced by the
// default), and an unset key gets the default.
func TestZeroMeansOff(t *testing.T) {
	keys := []struct {
		section, key string
		get          func(Config) time.Duration
		def          time.Duration
	}{
		{"zgw", "catalogi_cache_ttl", func(c Config) time.Duration { return c.ZGW.CatalogiCacheTTL }, time.Hour},
		{"openklant", "cache_ttl", func(c Config) time.Duration { return *c.OpenKlant.CacheTTL }, 5 * time.Minute},
		{"brp", "cache_ttl", func(c Config) time.Duration { return *c.BRP.CacheTTL }, 5 * time.Minute},
		{"berichtenbox", "cache_ttl", func(c Config) time.Duration { return *c.Berichtenbox.CacheTTL }, 24 * time.Hour},
		{"rules", "watch_interval", func(c Config) time.Duration { return *c.Rules.WatchInterval }, 5 * time.Second},
	}
	for _, k := range keys {
		t.Run(k.section+"."+k.key, func(t *testing.T) {
			for _, tc := range []struct {
				src  string
				want time.Duration
			}{
				{minimal, k.def},
				{minimal + k.section + ":\n  " + k.key + ": 0s\n", 0},
				{minimal + k.section + ":\n  " + k.key + ":\n", k.def},
				{minimal + k.section + ":\n  " + k.key + ": 90s\n", 90 * time.Second},
			} {
				cfg, err := Parse("k.yaml", []byte(tc.src), env(nil))
				if err != nil {
					t.Fatal(err)
				}
				if got := k.get(cfg); got != tc.want {
					t.Errorf("%q: got %s, want %s", tc.src, got, tc.want)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	src := "store:\n  subject_key: change-me-subject-key\nserver:\n  admin_tokens:\n    - Bearer real\n    - Bearer change-me-admin\n"
	cfg, err := Parse("k.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		"k.yaml:2: store.subject_key: still the change-me placeholder",
		"k.yaml:6: server.admin_tokens[1]: still the change-me placeholder",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings = %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

// The data key's errors name their key path; with Redis it is required.
// (Without it the embedded store runs on a generated key and serve warns.)
func TestDataKey(t *testing.T) {
	for src, want := range map[string]string{
		"store:\n  subject_key: s\n  backend: redis\n":                                                  "store.data_key: required with the redis backend",
		"store:\n  subject_key: s\n  data_key: nope\n":                                                  "k.yaml:3: store.data_key: the data key decodes to 3 bytes",
		"store:\n  subject_key: s\n  data_key_previous: q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n": "store.data_key_previous: set only together with store.data_key",
		"store:\n  subject_key: s\n  zaak_purge_grace: -1s\n":                                           "k.yaml:3: store.zaak_purge_grace: \"-1s\" is negative",
	} {
		_, err := Parse("k.yaml", []byte(src), env(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", src, err, want)
		}
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
	if len(cfg.Warnings()) == 0 {
		t.Error("the example's change-me secrets give no warning")
	}
}

// The example documents every default: loading it must give Default()
// (apart from what it takes from the environment with a default).
func TestExampleConfigStatesTheDefaults(t *testing.T) {
	src, err := os.ReadFile("koerier.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("koerier.example.yaml", src, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	checks := []struct {
		key       string
		got, want any
	}{
		{"bus.sqlite.visibility_timeout", cfg.Bus.SQLite.VisibilityTimeout, d.Bus.SQLite.VisibilityTimeout},
		{"bus.sqlite.nack_delay", cfg.Bus.SQLite.NackDelay, d.Bus.SQLite.NackDelay},
		{"bus.sqlite.poll_interval", cfg.Bus.SQLite.PollInterval, d.Bus.SQLite.PollInterval},
		{"bus.amqp.prefetch", cfg.Bus.AMQP.Prefetch, d.Bus.AMQP.Prefetch},
		{"bus.amqp.channel_pool_size", cfg.Bus.AMQP.ChannelPoolSize, d.Bus.AMQP.ChannelPoolSize},
		{"store.ledger_retention", cfg.Store.LedgerRetention, d.Store.LedgerRetention},
		{"zgw.catalogi_cache_ttl", cfg.ZGW.CatalogiCacheTTL, d.ZGW.CatalogiCacheTTL},
		{"zgw.rol_backoff", fmtDurations(cfg.ZGW.RolBackoff), fmtDurations(d.ZGW.RolBackoff)},
		{"openklant.cache_ttl", *cfg.OpenKlant.CacheTTL, *d.OpenKlant.CacheTTL},
		{"brp.cache_ttl", *cfg.BRP.CacheTTL, *d.BRP.CacheTTL},
		{"berichtenbox.cache_ttl", *cfg.Berichtenbox.CacheTTL, *d.Berichtenbox.CacheTTL},
		{"rules.watch_interval", *cfg.Rules.WatchInterval, *d.Rules.WatchInterval},
		{"pipeline.concurrency", cfg.Pipeline.Concurrency, d.Pipeline.Concurrency},
		{"pipeline.retry_max", cfg.Pipeline.RetryMax, d.Pipeline.RetryMax},
		{"pipeline.temporary_backoff", fmtDurations(cfg.Pipeline.TemporaryBackoff), fmtDurations(d.Pipeline.TemporaryBackoff)},
		{"pipeline.delivery_lease", cfg.Pipeline.DeliveryLease, d.Pipeline.DeliveryLease},
		{"server.max_body_bytes", cfg.Server.MaxBodyBytes, d.Server.MaxBodyBytes},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("koerier.example.yaml says %s: %v, Default() says %v", c.key, c.got, c.want)
		}
	}
}

func fmtDurations(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, ",")
}

// A list may be written as one ${VAR}: empty when the variable is empty,
// else a list of that one value (never parsed as YAML).
func TestListFromEnv(t *testing.T) {
	cases := []struct {
		val  string
		want []string
	}{
		{"", nil},
		{"Bearer x", []string{"Bearer x"}},
		{"a, b\n- c", []string{"a, b\n- c"}},
	}
	for _, c := range cases {
		src := minimal + "server:\n  admin_tokens: ${TYPES:-}\n"
		cfg, err := Parse("k.yaml", []byte(src), env(map[string]string{"TYPES": c.val}))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(cfg.Server.AdminTokens, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q: got %q, want %q", c.val, cfg.Server.AdminTokens, c.want)
		}
	}
}
