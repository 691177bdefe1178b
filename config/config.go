// Package config holds Koerier's configuration: typed structs, strict YAML
// loading (an unknown key is an error naming file:line), ${ENV} expansion for
// secrets, defaults that give the embedded backends, and validation of
// cross-references at load time rather than at 3 a.m.
//
// It knows nothing about how the parts are built; cmd/koerier maps it onto
// the constructors of the bus, store, clients and channels.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole of koerier.yaml. config/koerier.example.yaml documents
// every key.
type Config struct {
	// DataDir holds the embedded bus and store files (default ./data).
	DataDir      string       `yaml:"data_dir"`
	Server       Server       `yaml:"server"`
	Bus          Bus          `yaml:"bus"`
	Store        Store        `yaml:"store"`
	ZGW          ZGW          `yaml:"zgw"`
	OpenKlant    OpenKlant    `yaml:"openklant"`
	BRP          BRP          `yaml:"brp"`
	KVK          KVK          `yaml:"kvk"`
	Berichtenbox Berichtenbox `yaml:"berichtenbox"`
	Notify       Notify       `yaml:"notify"`
	Rules        Rules        `yaml:"rules"`
	Pipeline     Pipeline     `yaml:"pipeline"`
	Telemetry    Telemetry    `yaml:"telemetry"`

	// File is the path the config was loaded from (not a YAML key).
	File string `yaml:"-"`
}

// Server configures the HTTP listener and who may call it.
type Server struct {
	Listen string `yaml:"listen"`
	// PublicURL is how Open Notificaties and Notify reach us (abonnement
	// callbackUrl, delivery-status callback).
	PublicURL    string `yaml:"public_url"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// NotificatiesTokens are accepted Authorization header values for
	// POST /api/v1/notificaties, exactly as Open Notificaties sends the
	// abonnement's `auth` (e.g. "Token s3cr3t").
	NotificatiesTokens []string `yaml:"notificaties_tokens"`
	// EventSources maps a source system's name to its bearer token for
	// POST /api/v1/events and /api/v1/cloudevents.
	EventSources map[string]string `yaml:"event_sources"`
	// AdminTokens grant access to /admin/* and /metrics.
	AdminTokens []string `yaml:"admin_tokens"`
}

// Bus selects the message bus backend.
type Bus struct {
	// Backend is "sqlite" (embedded, default) or "amqp" (RabbitMQ).
	Backend string    `yaml:"backend"`
	SQLite  BusSQLite `yaml:"sqlite"`
	AMQP    AMQP      `yaml:"amqp"`
}

// BusSQLite tunes the embedded bus.
type BusSQLite struct {
	// Path defaults to <data_dir>/bus.db.
	Path              string        `yaml:"path"`
	VisibilityTimeout time.Duration `yaml:"visibility_timeout"`
	NackDelay         time.Duration `yaml:"nack_delay"`
	PollInterval      time.Duration `yaml:"poll_interval"`
}

// AMQP configures RabbitMQ.
type AMQP struct {
	URL             string `yaml:"url"`
	Prefetch        int    `yaml:"prefetch"`
	ChannelPoolSize int    `yaml:"channel_pool_size"`
}

// Store selects the state backend.
type Store struct {
	// Backend is "sqlite" (embedded, default) or "redis".
	Backend string `yaml:"backend"`
	// SQLitePath defaults to <data_dir>/store.db.
	SQLitePath string `yaml:"sqlite_path"`
	Redis      Redis  `yaml:"redis"`
	// SubjectKey is the secret for the keyed hash that the ledger stores
	// instead of a BSN. Required outside the demo; keep it stable.
	SubjectKey string `yaml:"subject_key"`
	// LedgerRetention is how long ledger records are kept (default 90 days).
	LedgerRetention time.Duration `yaml:"ledger_retention"`
}

// Redis connection.
type Redis struct {
	Addr     string `yaml:"addr"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	Prefix   string `yaml:"prefix"`
	TLS      bool   `yaml:"tls"`
}

// ZGW configures the ZGW APIs Koerier reads from (Open Zaak, Objecten).
type ZGW struct {
	// ClientID and Secret sign the ZGW JWT (HS256).
	ClientID string `yaml:"client_id"`
	Secret   string `yaml:"secret"`
	// UserID and UserRepresentation go into the JWT for the audit trail.
	UserID             string `yaml:"user_id"`
	UserRepresentation string `yaml:"user_representation"`
	// API roots. Koerier fetches only URLs under these roots (SSRF
	// allow-list: scheme + host + path prefix).
	Zaken      string `yaml:"zaken"`
	Catalogi   string `yaml:"catalogi"`
	Besluiten  string `yaml:"besluiten"`
	Documenten string `yaml:"documenten"`
	// Objecten API root and its token (Authorization: Token ...).
	Objecten      string `yaml:"objecten"`
	ObjectenToken string `yaml:"objecten_token"`
	// TaakObjecttypes are the objecttype URLs whose objects are taken.
	TaakObjecttypes []string `yaml:"taak_objecttypes"`
	// ReminderDays: send taak.herinnering this many days before verloopdatum.
	ReminderDays []int `yaml:"reminder_days"`
	// RolBackoff is the re-queue schedule when the initiator rol does not
	// exist yet; after the last step the notification is dead-lettered.
	RolBackoff []time.Duration `yaml:"rol_backoff"`
	// BesluitTrigger is "besluit" (besluit create) or
	// "besluitinformatieobject" (the decision document was attached).
	BesluitTrigger string `yaml:"besluit_trigger"`
	// Documenten: emit document.toegevoegd (off by default).
	DocumentEvents bool `yaml:"document_events"`
	// CatalogiCacheTTL caches zaaktypen, statustypen etc. (default 1h).
	CatalogiCacheTTL time.Duration `yaml:"catalogi_cache_ttl"`
	// OpenNotificaties is the Notificaties API root for `koerier subscribe`.
	OpenNotificaties string `yaml:"open_notificaties"`
	// Kanalen to subscribe to, with optional filters.
	Kanalen []Kanaal `yaml:"kanalen"`
}

// Kanaal is one kanaal of our abonnement at Open Notificaties.
type Kanaal struct {
	Naam    string            `yaml:"naam"`
	Filters map[string]string `yaml:"filters"`
}

// OpenKlant configures Open Klant 2 (Klantinteracties API).
type OpenKlant struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
	// CacheTTL for partij answers (default 5m; 0s disables).
	CacheTTL *time.Duration `yaml:"cache_ttl"`
}

// BRP configures Haal Centraal BRP Personen bevragen v2 (optional).
type BRP struct {
	URL          string         `yaml:"url"`
	APIKey       string         `yaml:"api_key"`
	APIKeyHeader string         `yaml:"api_key_header"`
	CacheTTL     *time.Duration `yaml:"cache_ttl"`
	TLS          TLS            `yaml:"tls"`
}

// KVK configures the KVK Handelsregister API (optional).
type KVK struct {
	URL    string `yaml:"url"`
	APIKey string `yaml:"api_key"`
}

// Berichtenbox configures the MijnOverheid subscription check (optional).
type Berichtenbox struct {
	ValidatieURL string `yaml:"validatie_url"`
	// BerichtleverancierCode identifies the gemeente as sender at Logius.
	BerichtleverancierCode string         `yaml:"berichtleverancier_code"`
	BerichtType            string         `yaml:"bericht_type"`
	CacheTTL               *time.Duration `yaml:"cache_ttl"`
	TLS                    TLS            `yaml:"tls"`
}

// TLS is a client certificate for mutual TLS.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	CAFile   string `yaml:"ca_file"`
}

// Notify configures Notify NL (email and SMS).
type Notify struct {
	URL string `yaml:"url"`
	// APIKey is "{name}-{service_id}-{secret}".
	APIKey string `yaml:"api_key"`
	// CallbackToken is the bearer token Notify sends with delivery-status
	// callbacks to POST /api/v1/callbacks/notify.
	CallbackToken string `yaml:"callback_token"`
	// ReferenceLookup asks Notify whether a delivery's reference was already
	// sent before sending (repairs a crash between send and ledger write).
	ReferenceLookup *bool `yaml:"reference_lookup"`
}

// Rules configures the rules file.
type Rules struct {
	// Path is a rules file or a folder of them.
	Path string `yaml:"path"`
	// WatchInterval polls the files for changes (default 5s; 0s disables).
	WatchInterval *time.Duration `yaml:"watch_interval"`
}

// Pipeline tunes the stages.
type Pipeline struct {
	// Concurrency per stage: how many messages each stage handles at once.
	Concurrency int `yaml:"concurrency"`
	// RetryMax is the number of quick in-process retries of a failing
	// handler before the message is re-queued with a delay.
	RetryMax int `yaml:"retry_max"`
	// TemporaryBackoff is the re-queue schedule for temporary failures
	// (peer down, 429); after the last step the message is dead-lettered.
	TemporaryBackoff []time.Duration `yaml:"temporary_backoff"`
	// DeliveryLease is how long one worker may hold a delivery before
	// another may try it (after a crash). Default 2m.
	DeliveryLease time.Duration `yaml:"delivery_lease"`
}

// Telemetry configures logs, traces and metrics.
type Telemetry struct {
	LogLevel  string `yaml:"log_level"`  // debug, info, warn, error
	LogFormat string `yaml:"log_format"` // json or text
	// ServiceName for traces and metrics.
	ServiceName string `yaml:"service_name"`
}

// Default returns a configuration that runs on the embedded backends.
func Default() Config {
	return Config{
		DataDir: "data",
		Server:  Server{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20},
		Bus: Bus{Backend: "sqlite", SQLite: BusSQLite{VisibilityTimeout: 2 * time.Minute, NackDelay: time.Second, PollInterval: 200 * time.Millisecond},
			AMQP: AMQP{Prefetch: 16, ChannelPoolSize: 8}},
		Store: Store{Backend: "sqlite", Redis: Redis{Addr: "127.0.0.1:6379", Prefix: "koerier:"}, LedgerRetention: 90 * 24 * time.Hour},
		ZGW: ZGW{UserID: "koerier", UserRepresentation: "Koerier", ReminderDays: []int{3, 1},
			RolBackoff: []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}, BesluitTrigger: "besluit",
			CatalogiCacheTTL: time.Hour},
		BRP:          BRP{APIKeyHeader: "X-API-KEY"},
		Berichtenbox: Berichtenbox{BerichtType: "Zaakstatus"},
		Rules:        Rules{Path: "config/rules.example.yaml"},
		Pipeline:     Pipeline{Concurrency: 4, RetryMax: 2, DeliveryLease: 2 * time.Minute, TemporaryBackoff: []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}},
		Telemetry:    Telemetry{LogLevel: "info", LogFormat: "json", ServiceName: "koerier"},
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// Expand replaces ${NAME} and ${NAME:-default} by the environment's value.
// A ${NAME} without a default that is not set is an error naming the line,
// so a missing secret fails at start-up instead of becoming an empty token.
func Expand(file string, src []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var errs []error
	lines := bytes.Split(src, []byte("\n"))
	for i, line := range lines {
		trimmed := bytes.TrimSpace(line)
		if bytes.HasPrefix(trimmed, []byte("#")) {
			continue // comments may document ${VARS} without setting them
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			sub := envRef.FindSubmatch(m)
			name := string(sub[1])
			if v, ok := lookup(name); ok {
				return []byte(v)
			}
			if bytes.Contains(m, []byte(":-")) {
				return sub[2]
			}
			errs = append(errs, fmt.Errorf("%s:%d: environment variable %s is not set (hint: export it, or write ${%s:-default})", file, i+1, name, name))
			return nil
		})
	}
	return bytes.Join(lines, []byte("\n")), errors.Join(errs...)
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// Load reads, expands and strictly decodes a config file over the defaults,
// then validates it.
func Load(path string) (Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src, os.LookupEnv)
}

// Parse is Load on bytes already read; file names the source in errors.
func Parse(file string, src []byte, lookup func(string) (string, bool)) (Config, error) {
	cfg := Default()
	expanded, err := Expand(file, src, lookup)
	if err != nil {
		return Config{}, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, yamlError(file, err)
	}
	cfg.File = file
	if err := Finish(&cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Finish applies the defaults that derive from other keys and validates;
// callers that build a Config in code (the demo, tests) call it too.
func Finish(cfg *Config) error {
	cfg.applyDerivedDefaults()
	return cfg.Validate()
}

// yamlError rewrites yaml.v3's "yaml: line 12: field foo not found in type
// config.Server" into "koerier.yaml:12: unknown key foo (in server)".
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, e := range te.Errors {
			errs = append(errs, fmt.Errorf("%s", lineMsg(file, e)))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s", lineMsg(file, strings.TrimPrefix(err.Error(), "yaml: ")))
}

func lineMsg(file, msg string) string {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = strings.Replace(msg, m[0], "", 1)
		msg = strings.Replace(msg, "field ", "unknown key ", 1)
		msg = strings.Replace(msg, " not found in type config.", " (not a key of ", 1)
		if strings.Contains(msg, "(not a key of ") {
			msg += "; check the spelling against config/koerier.example.yaml)"
		}
		return file + ":" + m[1] + ": " + msg
	}
	return file + ": " + msg
}

func (c *Config) applyDerivedDefaults() {
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.Bus.Backend == "" {
		c.Bus.Backend = "sqlite"
	}
	if c.Store.Backend == "" {
		c.Store.Backend = "sqlite"
	}
	if c.Bus.SQLite.Path == "" {
		c.Bus.SQLite.Path = filepath.Join(c.DataDir, "bus.db")
	}
	if c.Store.SQLitePath == "" {
		c.Store.SQLitePath = filepath.Join(c.DataDir, "store.db")
	}
	if c.OpenKlant.CacheTTL == nil {
		d := 5 * time.Minute
		c.OpenKlant.CacheTTL = &d
	}
	if c.BRP.CacheTTL == nil {
		d := 5 * time.Minute
		c.BRP.CacheTTL = &d
	}
	if c.Berichtenbox.CacheTTL == nil {
		d := 24 * time.Hour
		c.Berichtenbox.CacheTTL = &d
	}
	if c.Rules.WatchInterval == nil {
		d := 5 * time.Second
		c.Rules.WatchInterval = &d
	}
	if c.Notify.ReferenceLookup == nil {
		t := true
		c.Notify.ReferenceLookup = &t
	}
	if c.Pipeline.Concurrency <= 0 {
		c.Pipeline.Concurrency = 1
	}
}

// Validate checks values and cross-references; every problem is reported.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", c.File, key, fmt.Sprintf(format, args...)))
	}
	switch c.Bus.Backend {
	case "sqlite":
	case "amqp":
		if c.Bus.AMQP.URL == "" {
			bad("bus.amqp.url", "required when bus.backend is amqp (e.g. amqp://guest:guest@127.0.0.1:5672/)")
		}
	default:
		bad("bus.backend", "%q is not a backend (hint: sqlite or amqp)", c.Bus.Backend)
	}
	switch c.Store.Backend {
	case "sqlite":
	case "redis":
		if c.Store.Redis.Addr == "" {
			bad("store.redis.addr", "required when store.backend is redis")
		}
	default:
		bad("store.backend", "%q is not a backend (hint: sqlite or redis)", c.Store.Backend)
	}
	for key, v := range map[string]string{
		"zgw.zaken": c.ZGW.Zaken, "zgw.catalogi": c.ZGW.Catalogi, "zgw.besluiten": c.ZGW.Besluiten,
		"zgw.documenten": c.ZGW.Documenten, "zgw.objecten": c.ZGW.Objecten, "zgw.open_notificaties": c.ZGW.OpenNotificaties,
		"openklant.url": c.OpenKlant.URL, "brp.url": c.BRP.URL, "kvk.url": c.KVK.URL, "notify.url": c.Notify.URL,
		"berichtenbox.validatie_url": c.Berichtenbox.ValidatieURL, "server.public_url": c.Server.PublicURL,
	} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key, "%q is not an absolute http(s) URL", v)
		}
	}
	if c.Berichtenbox.ValidatieURL != "" && c.Berichtenbox.BerichtleverancierCode == "" {
		bad("berichtenbox.berichtleverancier_code", "required when berichtenbox.validatie_url is set (the sender code Logius gave the gemeente)")
	}
	if c.Notify.URL != "" && c.Notify.APIKey == "" {
		bad("notify.api_key", "required when notify.url is set (format {name}-{service_id}-{secret})")
	}
	if c.ZGW.Zaken != "" && (c.ZGW.ClientID == "" || c.ZGW.Secret == "") {
		bad("zgw.client_id", "client_id and secret are required to call the ZGW APIs")
	}
	switch c.ZGW.BesluitTrigger {
	case "besluit", "besluitinformatieobject":
	default:
		bad("zgw.besluit_trigger", "%q (hint: besluit or besluitinformatieobject)", c.ZGW.BesluitTrigger)
	}
	for i, d := range c.ZGW.ReminderDays {
		if d <= 0 {
			bad(fmt.Sprintf("zgw.reminder_days[%d]", i), "must be a positive number of days, got %d", d)
		}
	}
	if len(c.ZGW.RolBackoff) == 0 {
		bad("zgw.rol_backoff", "needs at least one delay (e.g. [30s, 2m, 10m, 30m])")
	}
	for i, tok := range c.Server.NotificatiesTokens {
		if strings.TrimSpace(tok) == "" {
			bad(fmt.Sprintf("server.notificaties_tokens[%d]", i), "empty token")
		}
	}
	for src, tok := range c.Server.EventSources {
		if strings.TrimSpace(tok) == "" {
			bad("server.event_sources."+src, "empty token")
		}
	}
	switch c.Telemetry.LogFormat {
	case "json", "text":
	default:
		bad("telemetry.log_format", "%q (hint: json or text)", c.Telemetry.LogFormat)
	}
	switch c.Telemetry.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("telemetry.log_level", "%q (hint: debug, info, warn or error)", c.Telemetry.LogLevel)
	}
	if c.Rules.Path == "" {
		bad("rules.path", "required: a rules file or folder")
	}
	return errors.Join(errs...)
}
