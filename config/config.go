// Package config holds Koerier's configuration: typed structs, strict YAML
// loading (an unknown key is an error naming file:line), ${ENV} expansion for
// secrets, defaults that give the embedded backends, and validation of
// cross-references at load time rather than at 3 a.m.
//
// It knows nothing about how the parts are built; cmd/koerier maps it onto
// the constructors of the bus, store, clients and channels.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/store"
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
	Print        Print        `yaml:"print"`
	Rules        Rules        `yaml:"rules"`
	Pipeline     Pipeline     `yaml:"pipeline"`
	Telemetry    Telemetry    `yaml:"telemetry"`
	Console      Console      `yaml:"console"`

	// File is the path the config was loaded from (not a YAML key).
	File string `yaml:"-"`

	// lines maps key paths to their line in File (see Line).
	lines map[string]int
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
	// OMCCompat serves the OMC's (NotifyNL-OMC) endpoints, so that a
	// gemeente can switch without re-registering its abonnement.
	OMCCompat OMCCompat `yaml:"omc_compat"`

	// Timeouts close connections that anyone, without credentials, can
	// open and leave hanging. ReadTimeout covers headers and body, so a
	// client that trickles its body is cut off; Open Notificaties' own
	// client gives up after 10 s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`
	// MaxInflightRequests and MaxInflightBytes bound the ingest requests
	// (and their declared body bytes) handled at once; beyond them ingest
	// answers 503 with Retry-After, so a burst cannot exhaust memory.
	MaxInflightRequests int   `yaml:"max_inflight_requests"`
	MaxInflightBytes    int64 `yaml:"max_inflight_bytes"`
	// TrustedTraceSources are the networks (CIDR) whose traceparent is
	// continued. From anywhere else an incoming trace context only
	// becomes a link on a new trace. Default: none.
	TrustedTraceSources []string `yaml:"trusted_trace_sources"`
}

// OMCCompat configures POST /Events/Listen and POST /Notify/Confirm as the
// OMC serves them: a JWT (HS256) signed with the OMC's OMC_AUTH_JWT_SECRET,
// checked against OMC_AUTH_JWT_ISSUER and OMC_AUTH_JWT_AUDIENCE, with its
// exp and nbf. Off while jwt_secret is empty.
type OMCCompat struct {
	JWTSecret   string `yaml:"jwt_secret"`
	JWTIssuer   string `yaml:"jwt_issuer"`
	JWTAudience string `yaml:"jwt_audience"`
	// ClockSkew is the leeway on exp, nbf and iat (default 5m, as the
	// OMC's ASP.NET JwtBearer validation allows).
	ClockSkew time.Duration `yaml:"clock_skew"`
}

// Enabled says whether the OMC endpoints are served.
func (o OMCCompat) Enabled() bool { return strings.TrimSpace(o.JWTSecret) != "" }

// Console configures the web console for functional admins and the KCC
// (/console/ on the same listener as /admin). Off unless enabled. Whoever
// logs in with one of server.admin_tokens is beheerder (may replay dead
// letters and reload the rules); with one of kcc_tokens, kcc (may only read
// the trail and use the rule tester).
type Console struct {
	Enabled bool `yaml:"enabled"`
	// KCCTokens log in with the kcc role.
	KCCTokens []string `yaml:"kcc_tokens"`
	// SessionKey signs the session cookie. Set it (the same on every
	// replica) when more than one replica serves the console; empty means
	// a random key per process, so a restart logs everyone out.
	SessionKey string `yaml:"session_key"`
	// SessionTTL is how long a login lasts (default 8h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// RecipientLookup lets the rule tester look a recipient up live by BSN
	// or KVK number in Open Klant, BRP and KVK, as the router would. Off by
	// default: it reads personal data from the registries; every look-up
	// is in the audit log (without the number).
	RecipientLookup bool `yaml:"recipient_lookup"`
	// InsecureCookie drops the Secure flag from the session cookie, for a
	// console reached over plain HTTP on another host than localhost.
	// Never in production.
	InsecureCookie bool `yaml:"insecure_cookie"`
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
	// DataKey encrypts personal data at rest (AES-256-GCM): 32 bytes as 64
	// hex digits or base64. Required with Redis; without it the SQLite
	// store generates one in DataKeyFile and warns.
	DataKey string `yaml:"data_key"`
	// DataKeyPrevious is the key before the last rotation, still accepted
	// for reading until `koerier store rekey` has run.
	DataKeyPrevious string `yaml:"data_key_previous"`
	// DataKeyFile is where the SQLite store keeps a generated key when
	// DataKey is empty (default <dir of sqlite_path>/data.key).
	DataKeyFile string `yaml:"data_key_file"`
	// Retention per data class, applied by `koerier purge --older-than`.
	Retention Retention `yaml:"retention"`
	// ZaakPurgeGrace is how long after a zaak destroy notification its
	// records are purged (default 0: at once).
	ZaakPurgeGrace time.Duration `yaml:"zaak_purge_grace"`
}

// Retention is how long each class of state is kept; the ledger's is
// store.ledger_retention.
type Retention struct {
	// TaakState is how long the last seen state of a taak is kept
	// (default 400 days).
	TaakState time.Duration `yaml:"taak_state"`
	// Dedup is how long "already seen/done" markers are kept (default 7
	// days).
	Dedup time.Duration `yaml:"dedup"`
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
	// RegisterKlantcontact registers the final outcome of every delivery
	// as a klantcontact (POST /maak-klantcontact); a message can opt out
	// with register_klantcontact: false in the rules. Default off.
	RegisterKlantcontact bool `yaml:"register_klantcontact"`
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

// Berichtenbox configures MijnOverheid's Berichtenbox (optional): the
// subscription check, and the transport that delivers berichten.
type Berichtenbox struct {
	ValidatieURL string `yaml:"validatie_url"`
	// BerichtleverancierCode identifies the gemeente as sender at Logius.
	BerichtleverancierCode string         `yaml:"berichtleverancier_code"`
	BerichtType            string         `yaml:"bericht_type"`
	CacheTTL               *time.Duration `yaml:"cache_ttl"`
	TLS                    TLS            `yaml:"tls"`
	// Transport delivers the berichten: "messagebox" (NotifyNL, with the
	// notify: key) or "ebms" (the ebMS adapter); empty: the channel is not
	// configured and plans skip it.
	Transport string `yaml:"transport"`
	// OIN is the gemeente's OIN: BerichtLeverancierID in GLOBE batches and
	// the ebMS from party.
	OIN  string `yaml:"oin"`
	EBMS EBMS   `yaml:"ebms"`
}

// Berichtenbox transports.
const (
	BerichtenboxMessagebox = "messagebox"
	BerichtenboxEBMS       = "ebms"
)

// EBMS configures the ebMS adapter (ebms-core's REST API) in front of
// Logius' BerichtVerwerkService.
type EBMS struct {
	URL string `yaml:"url"`
	// CPAID is the CPA the adapter sends under.
	CPAID string `yaml:"cpa_id"`
	// BatchWindow is the longest a bericht waits for others to share its
	// batch (default 60s; a batch also goes at 1,000 berichten).
	BatchWindow *time.Duration `yaml:"batch_window"`
	// ResultTimeout is how long a sent batch may go without a result
	// before it is sent again with the same BatchID (default 4h).
	ResultTimeout *time.Duration `yaml:"result_timeout"`
	// PollInterval is how often the adapter is asked for results (default 30s).
	PollInterval *time.Duration `yaml:"poll_interval"`
	TLS          TLS            `yaml:"tls"`
}

// TLS is a client certificate for mutual TLS.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	CAFile   string `yaml:"ca_file"`
}

// Print configures the printstraat (optional): letters are batched per
// profile and handed over at its cut-off. Letter templates are read next
// to the rules (rules.path's folder).
type Print struct {
	// Sender is the gemeente's sender block, one line each.
	Sender []string `yaml:"sender"`
	// Logo is a PNG file printed top left.
	Logo string `yaml:"logo"`
	// Window is the envelope window in mm from the top-left corner
	// (default: left 22, top 52, width 85, height 35).
	Window *PrintWindow `yaml:"window"`
	// Envelopes are other window envelopes by name, for print:
	// {envelope: name} in the rules.
	Envelopes map[string]PrintWindow `yaml:"envelopes"`
	Profiles  []PrintProfile         `yaml:"profiles"`
	// Poll is how often every replica looks whether a cut-off has passed
	// (default 15s).
	Poll time.Duration `yaml:"poll"`
}

// PrintWindow is an envelope window in mm.
type PrintWindow struct {
	Left   float64 `yaml:"left"`
	Top    float64 `yaml:"top"`
	Width  float64 `yaml:"width"`
	Height float64 `yaml:"height"`
}

// PrintProfile is one print profile: its cut-off and where the print
// street picks the batch up: a folder (dir), SFTP or REST, exactly one.
type PrintProfile struct {
	Name string `yaml:"name"`
	// Cutoff such as "16:00 ma-vr" (Europe/Amsterdam).
	Cutoff string     `yaml:"cutoff"`
	Dir    string     `yaml:"dir"`
	SFTP   *PrintSFTP `yaml:"sftp"`
	REST   *PrintREST `yaml:"rest"`
}

// PrintSFTP is an SFTP sink; the host key is pinned.
type PrintSFTP struct {
	Addr string `yaml:"addr"`
	User string `yaml:"user"`
	// HostKey is the server's key as ssh-keyscan prints it.
	HostKey string `yaml:"host_key"`
	// KeyFile is a PEM private key; else Password.
	KeyFile  string `yaml:"key_file"`
	Password string `yaml:"password"`
	Dir      string `yaml:"dir"`
}

// PrintREST is a REST sink: one POST per letter with an Idempotency-Key.
type PrintREST struct {
	Endpoint     string `yaml:"endpoint"`
	APIKeyHeader string `yaml:"api_key_header"`
	APIKey       string `yaml:"api_key"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
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
	// Only a redelivered message is looked up.
	ReferenceLookup *bool `yaml:"reference_lookup"`
	// EmailReplyToID and SMSSenderID are the default service's
	// email_reply_to_id and sms_sender_id (empty: Notify's default).
	EmailReplyToID string `yaml:"email_reply_to_id"`
	SMSSenderID    string `yaml:"sms_sender_id"`
	// Services are further Notify services (per afdeling or label), each
	// with its own API key and callback token. The service of api_key above
	// is called "default" and comes first; without api_key the first of
	// these is the default. A message chooses one with notify_service.
	Services []NotifyService `yaml:"services"`
	// RateLimit is Notify's request limit per API key, which all replicas
	// share (Redis on the scaled set-up, in-process on the embedded one).
	RateLimit NotifyRateLimit `yaml:"rate_limit"`
	// RetryAfterCap bounds how long a 429's Retry-After holds a key back.
	RetryAfterCap time.Duration `yaml:"retry_after_cap"`
	// Breaker is the circuit breaker per service.
	Breaker NotifyBreaker `yaml:"breaker"`
}

// NotifyService is one Notify NL service Koerier sends through.
type NotifyService struct {
	// Name is what rules use in notify_service (lower case, digits, -).
	Name           string `yaml:"name"`
	APIKey         string `yaml:"api_key"`
	CallbackToken  string `yaml:"callback_token"`
	EmailReplyToID string `yaml:"email_reply_to_id"`
	SMSSenderID    string `yaml:"sms_sender_id"`
}

// NotifyRateLimit is Notify's limit per API key and the margin we keep.
type NotifyRateLimit struct {
	Requests int           `yaml:"requests"`
	Per      time.Duration `yaml:"per"`
	// Margin is the fraction of the limit left unused (0.02 = 2 %).
	Margin float64 `yaml:"margin"`
}

// NotifyBreaker configures the circuit breaker of each Notify service.
type NotifyBreaker struct {
	// Failures: consecutive 5xx or timeouts that open it (0: no breaker).
	Failures int `yaml:"failures"`
	// Interval: how long it stays open before one probe.
	Interval time.Duration `yaml:"interval"`
}

// AllServices is the list of Notify services, the default first.
func (n Notify) AllServices() []NotifyService {
	var out []NotifyService
	if n.APIKey != "" {
		out = append(out, NotifyService{Name: DefaultNotifyService, APIKey: n.APIKey, CallbackToken: n.CallbackToken,
			EmailReplyToID: n.EmailReplyToID, SMSSenderID: n.SMSSenderID})
	}
	return append(out, n.Services...)
}

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// DefaultNotifyService is the name of the service of notify.api_key.
const DefaultNotifyService = "default"

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

// Default returns a configuration that runs on the embedded backends. It is
// the one place Koerier's defaults live: Load decodes a file over it, and the
// packages' own defaults (used only when a package runs without config, as in
// their unit tests) are kept equal to it by TestDefaultsMatchPackages.
func Default() Config {
	dur := func(d time.Duration) *time.Duration { return &d }
	yes := true
	return Config{
		DataDir: "data",
		Server: Server{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20, OMCCompat: OMCCompat{ClockSkew: 5 * time.Minute},
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 15 * time.Second,
			IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10,
			MaxInflightRequests: 32, MaxInflightBytes: 16 << 20},
		Bus: Bus{Backend: "sqlite",
			SQLite: BusSQLite{VisibilityTimeout: 30 * time.Second, NackDelay: time.Second, PollInterval: 500 * time.Millisecond},
			AMQP:   AMQP{Prefetch: 1, ChannelPoolSize: 8}},
		Store: Store{Backend: "sqlite", Redis: Redis{Addr: "127.0.0.1:6379", Prefix: "koerier:"}, LedgerRetention: 90 * 24 * time.Hour,
			Retention: Retention{TaakState: 400 * 24 * time.Hour, Dedup: 7 * 24 * time.Hour}},
		ZGW: ZGW{UserID: "koerier", UserRepresentation: "Koerier", ReminderDays: []int{3, 1},
			RolBackoff: []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}, BesluitTrigger: "besluit",
			CatalogiCacheTTL: time.Hour},
		OpenKlant: OpenKlant{CacheTTL: dur(5 * time.Minute)},
		BRP:       BRP{APIKeyHeader: "X-API-KEY", CacheTTL: dur(5 * time.Minute)},
		Berichtenbox: Berichtenbox{BerichtType: "Zaakstatus", CacheTTL: dur(24 * time.Hour),
			EBMS: EBMS{BatchWindow: dur(time.Minute), ResultTimeout: dur(4 * time.Hour), PollInterval: dur(30 * time.Second)}},
		Notify: Notify{ReferenceLookup: &yes, RateLimit: NotifyRateLimit{Requests: 3000, Per: time.Minute, Margin: 0.02},
			RetryAfterCap: 5 * time.Minute, Breaker: NotifyBreaker{Failures: 5, Interval: 30 * time.Second}},
		Rules: Rules{Path: "config/rules.example.yaml", WatchInterval: dur(5 * time.Second)},
		Pipeline: Pipeline{Concurrency: 4, RetryMax: 2, DeliveryLease: 2 * time.Minute,
			TemporaryBackoff: []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}},
		Telemetry: Telemetry{LogLevel: "info", LogFormat: "json", ServiceName: "koerier"},
		Console:   Console{SessionTTL: 8 * time.Hour},
	}
}

// Load reads a config file, expands ${ENV} in its values, decodes it over
// the defaults and validates it.
func Load(path string) (Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src, os.LookupEnv)
}

// Parse is Load on bytes already read; file names the source in errors.
//
// The YAML is parsed first and ${NAME} / ${NAME:-default} are then replaced
// inside each scalar value, so a secret may hold any character ("#", ": ",
// quotes, newlines) without changing the document. Every problem is
// reported as file:line: key path: message, in the order of the file.
func Parse(file string, src []byte, lookup func(string) (string, bool)) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", file, err)
	}
	w := &walker{file: file, lookup: lookup, lines: map[string]int{}}
	if len(doc.Content) > 0 {
		w.walk(&doc, reflect.TypeOf(Config{}), "")
	}
	if len(w.errs) > 0 {
		return Config{}, errors.Join(w.errs...)
	}
	cfg := Default()
	if len(doc.Content) > 0 {
		if err := doc.Decode(&cfg); err != nil {
			// The walk checked keys and scalar types; what is left is
			// rare enough to pass on in yaml.v3's own words.
			return Config{}, fmt.Errorf("%s: %w", file, err)
		}
	}
	cfg.File = file
	cfg.lines = w.lines
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
	// A Config built in code may leave the optional keys nil; they mean
	// "not set", so they get the default (never a silent zero).
	d := Default()
	if c.OpenKlant.CacheTTL == nil {
		c.OpenKlant.CacheTTL = d.OpenKlant.CacheTTL
	}
	if c.BRP.CacheTTL == nil {
		c.BRP.CacheTTL = d.BRP.CacheTTL
	}
	if c.Berichtenbox.EBMS.BatchWindow == nil {
		c.Berichtenbox.EBMS.BatchWindow = d.Berichtenbox.EBMS.BatchWindow
	}
	if c.Berichtenbox.EBMS.ResultTimeout == nil {
		c.Berichtenbox.EBMS.ResultTimeout = d.Berichtenbox.EBMS.ResultTimeout
	}
	if c.Berichtenbox.EBMS.PollInterval == nil {
		c.Berichtenbox.EBMS.PollInterval = d.Berichtenbox.EBMS.PollInterval
	}
	if c.Berichtenbox.CacheTTL == nil {
		c.Berichtenbox.CacheTTL = d.Berichtenbox.CacheTTL
	}
	if c.Rules.WatchInterval == nil {
		c.Rules.WatchInterval = d.Rules.WatchInterval
	}
	if c.Notify.ReferenceLookup == nil {
		c.Notify.ReferenceLookup = d.Notify.ReferenceLookup
	}
}

// Line is the line of the file on which key (a path such as
// "store.subject_key" or "server.admin_tokens[0]") or, when the file does
// not set it, its nearest enclosing section starts; 0 when neither is in
// the file.
func (c *Config) Line(key string) int {
	for key != "" {
		if l, ok := c.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func (c *Config) problem(key, format string, args ...any) *Error {
	return &Error{File: c.File, Line: c.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks values and cross-references: everything serve needs from
// the file itself, so that a mistake stops the start before the bus and the
// store are opened. Every problem is reported, in a fixed order.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.problem(key, format, args...))
	}
	switch c.Bus.Backend {
	case "sqlite":
	case "amqp":
		if c.Bus.AMQP.URL == "" {
			bad("bus.amqp.url", "required when bus.backend is amqp (e.g. amqp://guest:guest@127.0.0.1:5672/)")
		} else if u, err := url.Parse(c.Bus.AMQP.URL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
			bad("bus.amqp.url", "not an amqp:// or amqps:// URL with a host")
		}
	default:
		bad("bus.backend", "%q is not a backend (hint: sqlite or amqp)", c.Bus.Backend)
	}
	positive := func(key string, d time.Duration, why string) {
		if d <= 0 {
			bad(key, "must be more than 0s (%s)", why)
		}
	}
	positive("bus.sqlite.visibility_timeout", c.Bus.SQLite.VisibilityTimeout, "it bounds how long a crashed process delays redelivery")
	positive("bus.sqlite.nack_delay", c.Bus.SQLite.NackDelay, "a retry needs a delay")
	positive("bus.sqlite.poll_interval", c.Bus.SQLite.PollInterval, "subscribers must look for new messages")
	if c.Bus.AMQP.Prefetch < 1 {
		bad("bus.amqp.prefetch", "must be at least 1, got %d", c.Bus.AMQP.Prefetch)
	}
	if c.Bus.AMQP.ChannelPoolSize < 1 {
		bad("bus.amqp.channel_pool_size", "must be at least 1, got %d", c.Bus.AMQP.ChannelPoolSize)
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
	if strings.TrimSpace(c.Store.SubjectKey) == "" {
		bad("store.subject_key", "required: the secret for the keyed hash the ledger stores instead of a BSN (hint: subject_key: ${KOERIER_SUBJECT_KEY})")
	}
	positive("store.ledger_retention", c.Store.LedgerRetention, "keeping ledger records for ever is not supported")
	positive("store.retention.taak_state", c.Store.Retention.TaakState, "keeping taak state for ever is not supported")
	positive("store.retention.dedup", c.Store.Retention.Dedup, "keeping dedup markers for ever is not supported")
	if strings.TrimSpace(c.Store.DataKey) != "" {
		if _, err := store.ParseDataKey(c.Store.DataKey); err != nil {
			bad("store.data_key", "%v", err)
		}
	} else if c.Store.Backend == "redis" {
		bad("store.data_key", "required with the redis backend: it encrypts the personal data kept in Redis (hint: data_key: ${KOERIER_DATA_KEY}; generate one with openssl rand -base64 32)")
	}
	if strings.TrimSpace(c.Store.DataKeyPrevious) != "" {
		if _, err := store.ParseDataKey(c.Store.DataKeyPrevious); err != nil {
			bad("store.data_key_previous", "%v", err)
		} else if strings.TrimSpace(c.Store.DataKey) == "" {
			bad("store.data_key_previous", "set only together with store.data_key (the new key)")
		}
	}
	if c.Server.MaxBodyBytes <= 0 {
		bad("server.max_body_bytes", "must be more than 0, got %d", c.Server.MaxBodyBytes)
	}
	positive("server.read_header_timeout", c.Server.ReadHeaderTimeout, "a client could hold a connection open for ever")
	positive("server.read_timeout", c.Server.ReadTimeout, "a slow body could hold a connection open for ever")
	positive("server.write_timeout", c.Server.WriteTimeout, "a client that does not read could hold a connection open for ever")
	positive("server.idle_timeout", c.Server.IdleTimeout, "idle keep-alive connections would never be closed")
	if c.Server.MaxHeaderBytes <= 0 {
		bad("server.max_header_bytes", "must be more than 0, got %d", c.Server.MaxHeaderBytes)
	}
	if c.Server.MaxInflightRequests <= 0 {
		bad("server.max_inflight_requests", "must be more than 0, got %d", c.Server.MaxInflightRequests)
	}
	if c.Server.MaxInflightBytes < c.Server.MaxBodyBytes {
		bad("server.max_inflight_bytes", "must be at least server.max_body_bytes (%d), got %d", c.Server.MaxBodyBytes, c.Server.MaxInflightBytes)
	}
	for i, cidr := range c.Server.TrustedTraceSources {
		if _, err := netip.ParsePrefix(cidr); err != nil && !isAddr(cidr) {
			bad(fmt.Sprintf("server.trusted_trace_sources[%d]", i), "%q is not a network (hint: 10.0.0.0/8 or 192.0.2.7/32)", cidr)
		}
	}
	urls := []struct{ key, val string }{
		{"server.public_url", c.Server.PublicURL},
		{"zgw.zaken", c.ZGW.Zaken}, {"zgw.catalogi", c.ZGW.Catalogi}, {"zgw.besluiten", c.ZGW.Besluiten},
		{"zgw.documenten", c.ZGW.Documenten}, {"zgw.objecten", c.ZGW.Objecten}, {"zgw.open_notificaties", c.ZGW.OpenNotificaties},
		{"openklant.url", c.OpenKlant.URL}, {"brp.url", c.BRP.URL}, {"kvk.url", c.KVK.URL},
		{"berichtenbox.validatie_url", c.Berichtenbox.ValidatieURL}, {"berichtenbox.ebms.url", c.Berichtenbox.EBMS.URL}, {"notify.url", c.Notify.URL},
	}
	for i, v := range c.ZGW.TaakObjecttypes {
		urls = append(urls, struct{ key, val string }{fmt.Sprintf("zgw.taak_objecttypes[%d]", i), v})
	}
	for _, u := range urls {
		if u.val == "" {
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(u.key, "%q is not an absolute http(s) URL", u.val)
		}
	}
	if c.Berichtenbox.ValidatieURL != "" && c.Berichtenbox.BerichtleverancierCode == "" {
		bad("berichtenbox.berichtleverancier_code", "required when berichtenbox.validatie_url is set (the sender code Logius gave the gemeente)")
	}
	switch b := c.Berichtenbox; b.Transport {
	case "":
	case BerichtenboxMessagebox:
		if c.Notify.URL == "" {
			bad("berichtenbox.transport", "messagebox sends through NotifyNL: set notify.url and notify.api_key")
		}
	case BerichtenboxEBMS:
		if b.EBMS.URL == "" {
			bad("berichtenbox.ebms.url", "required when berichtenbox.transport is ebms (the ebMS adapter's REST API)")
		}
		if b.EBMS.CPAID == "" {
			bad("berichtenbox.ebms.cpa_id", "required when berichtenbox.transport is ebms (the CPA Logius agreed with the gemeente)")
		}
		if n := len(b.OIN); n == 0 || n > 25 {
			bad("berichtenbox.oin", "required when berichtenbox.transport is ebms: the gemeente's OIN (20 digits), at most 25 characters")
		}
	default:
		bad("berichtenbox.transport", "%q is not a transport (hint: messagebox or ebms)", b.Transport)
	}
	if c.Notify.URL != "" && c.Notify.APIKey == "" && len(c.Notify.Services) == 0 {
		bad("notify.api_key", "required when notify.url is set (format {name}-{service_id}-{secret}), or list notify.services")
	}
	seenService := map[string]bool{}
	if c.Notify.APIKey != "" {
		seenService[DefaultNotifyService] = true
	}
	for i, s := range c.Notify.Services {
		key := fmt.Sprintf("notify.services[%d]", i)
		switch {
		case !serviceName.MatchString(s.Name):
			bad(key+".name", "%q must be lower case letters, digits and - (e.g. vergunningen)", s.Name)
		case seenService[s.Name]:
			bad(key+".name", "%q is used twice (the service of notify.api_key is called %q)", s.Name, DefaultNotifyService)
		}
		seenService[s.Name] = true
		if s.APIKey == "" {
			bad(key+".api_key", "required (format {name}-{service_id}-{secret})")
		}
	}
	if r := c.Notify.RateLimit; r.Requests < 1 || r.Per <= 0 || r.Margin < 0 || r.Margin >= 1 {
		bad("notify.rate_limit", "needs requests >= 1, per > 0 and 0 <= margin < 1 (Notify: {requests: 3000, per: 1m, margin: 0.02}), got %+v", r)
	}
	if c.Notify.Breaker.Failures < 0 || (c.Notify.Breaker.Failures > 0 && c.Notify.Breaker.Interval <= 0) {
		bad("notify.breaker", "needs failures >= 0 and, when failures > 0, an interval > 0 (e.g. {failures: 5, interval: 30s})")
	}
	if c.OpenKlant.RegisterKlantcontact && c.OpenKlant.URL == "" {
		bad("openklant.register_klantcontact", "needs openklant.url")
	}
	if c.OpenKlant.URL != "" && c.OpenKlant.Token == "" {
		bad("openklant.token", "required when openklant.url is set")
	}
	if c.ZGW.Zaken != "" || c.ZGW.Catalogi != "" || c.ZGW.Besluiten != "" || c.ZGW.Documenten != "" {
		if c.ZGW.ClientID == "" {
			bad("zgw.client_id", "required to call the ZGW APIs (the JWT's iss and client_id)")
		}
		if c.ZGW.Secret == "" {
			bad("zgw.secret", "required to call the ZGW APIs (signs the JWT)")
		}
	}
	if c.ZGW.Objecten != "" && c.ZGW.ObjectenToken == "" {
		bad("zgw.objecten_token", "required when zgw.objecten is set (Authorization: Token ...)")
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
	for i, d := range c.ZGW.RolBackoff {
		positive(fmt.Sprintf("zgw.rol_backoff[%d]", i), d, "a re-queue needs a delay")
	}
	for i, k := range c.ZGW.Kanalen {
		if k.Naam == "" {
			bad(fmt.Sprintf("zgw.kanalen[%d].naam", i), "required (e.g. zaken)")
		}
	}
	for i, tok := range c.Server.NotificatiesTokens {
		if strings.TrimSpace(tok) == "" {
			bad(fmt.Sprintf("server.notificaties_tokens[%d]", i), "empty token")
		}
	}
	for _, src := range slices.Sorted(maps.Keys(c.Server.EventSources)) {
		if strings.TrimSpace(c.Server.EventSources[src]) == "" {
			bad("server.event_sources."+src, "empty token")
		}
	}
	for i, tok := range c.Server.AdminTokens {
		if strings.TrimSpace(tok) == "" {
			bad(fmt.Sprintf("server.admin_tokens[%d]", i), "empty token")
		}
	}
	if o := c.Server.OMCCompat; o.Enabled() {
		if strings.TrimSpace(o.JWTIssuer) == "" {
			bad("server.omc_compat.jwt_issuer", "required when server.omc_compat.jwt_secret is set (the OMC's OMC_AUTH_JWT_ISSUER)")
		}
		if strings.TrimSpace(o.JWTAudience) == "" {
			bad("server.omc_compat.jwt_audience", "required when server.omc_compat.jwt_secret is set (the OMC's OMC_AUTH_JWT_AUDIENCE)")
		}
	} else if o.JWTIssuer != "" || o.JWTAudience != "" {
		bad("server.omc_compat.jwt_secret", "required when jwt_issuer or jwt_audience is set; without it /Events/Listen stays off (hint: jwt_secret: ${OMC_AUTH_JWT_SECRET})")
	}
	if c.Server.OMCCompat.ClockSkew < 0 {
		bad("server.omc_compat.clock_skew", "must not be negative, got %s", c.Server.OMCCompat.ClockSkew)
	}
	tls := []struct {
		key string
		t   TLS
	}{{"brp.tls", c.BRP.TLS}, {"berichtenbox.tls", c.Berichtenbox.TLS}}
	for _, x := range tls {
		if (x.t.CertFile == "") != (x.t.KeyFile == "") {
			bad(x.key, "cert_file and key_file go together")
		}
	}
	if c.Pipeline.Concurrency < 1 {
		bad("pipeline.concurrency", "must be at least 1, got %d", c.Pipeline.Concurrency)
	}
	if c.Pipeline.RetryMax < 1 {
		// The router reads 0 as "use the default", so 0 cannot mean off.
		bad("pipeline.retry_max", "must be at least 1, got %d (quick retries cannot be switched off; a temporary failure is also re-queued per temporary_backoff)", c.Pipeline.RetryMax)
	}
	if len(c.Pipeline.TemporaryBackoff) == 0 {
		bad("pipeline.temporary_backoff", "needs at least one delay (e.g. [10s, 1m, 5m, 30m, 2h])")
	}
	for i, d := range c.Pipeline.TemporaryBackoff {
		positive(fmt.Sprintf("pipeline.temporary_backoff[%d]", i), d, "a re-queue needs a delay")
	}
	positive("pipeline.delivery_lease", c.Pipeline.DeliveryLease, "another worker may take a delivery over only after it")
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
	if c.Console.Enabled {
		positive("console.session_ttl", c.Console.SessionTTL, "a login must last a while")
		if len(c.Server.AdminTokens) == 0 && len(c.Console.KCCTokens) == 0 {
			bad("console.enabled", "nobody can log in: set server.admin_tokens (beheerder) or console.kcc_tokens (kcc)")
		}
	}
	for i, tok := range c.Console.KCCTokens {
		if strings.TrimSpace(tok) == "" {
			bad(fmt.Sprintf("console.kcc_tokens[%d]", i), "empty; remove it or set a token")
		}
	}
	return errors.Join(errs...)
}

// Warnings are problems that do not stop Koerier but must not go unnoticed:
// a secret still holding a change-me placeholder (as in
// config/koerier.example.yaml) lets anyone who read the example in.
func (c *Config) Warnings() []*Error {
	secrets := []struct{ key, val string }{
		{"store.subject_key", c.Store.SubjectKey},
		{"store.data_key", c.Store.DataKey},
		{"store.redis.password", c.Store.Redis.Password},
		{"bus.amqp.url", c.Bus.AMQP.URL},
		{"zgw.secret", c.ZGW.Secret},
		{"zgw.objecten_token", c.ZGW.ObjectenToken},
		{"openklant.token", c.OpenKlant.Token},
		{"brp.api_key", c.BRP.APIKey},
		{"kvk.api_key", c.KVK.APIKey},
		{"notify.api_key", c.Notify.APIKey},
		{"notify.callback_token", c.Notify.CallbackToken},
		{"server.omc_compat.jwt_secret", c.Server.OMCCompat.JWTSecret},
		{"console.session_key", c.Console.SessionKey},
	}
	for i, v := range c.Console.KCCTokens {
		secrets = append(secrets, struct{ key, val string }{fmt.Sprintf("console.kcc_tokens[%d]", i), v})
	}
	for i, s := range c.Notify.Services {
		secrets = append(secrets, struct{ key, val string }{fmt.Sprintf("notify.services[%d].api_key", i), s.APIKey},
			struct{ key, val string }{fmt.Sprintf("notify.services[%d].callback_token", i), s.CallbackToken})
	}
	for i, p := range c.Print.Profiles {
		if p.SFTP != nil {
			secrets = append(secrets, struct{ key, val string }{fmt.Sprintf("print.profiles[%d].sftp.password", i), p.SFTP.Password})
		}
		if p.REST != nil {
			secrets = append(secrets, struct{ key, val string }{fmt.Sprintf("print.profiles[%d].rest.api_key", i), p.REST.APIKey},
				struct{ key, val string }{fmt.Sprintf("print.profiles[%d].rest.password", i), p.REST.Password})
		}
	}
	for i, v := range c.Server.NotificatiesTokens {
		secrets = append(secrets, struct{ key, val string }{fmt.Sprintf("server.notificaties_tokens[%d]", i), v})
	}
	for _, src := range slices.Sorted(maps.Keys(c.Server.EventSources)) {
		secrets = append(secrets, struct{ key, val string }{"server.event_sources." + src, c.Server.EventSources[src]})
	}
	for i, v := range c.Server.AdminTokens {
		secrets = append(secrets, struct{ key, val string }{fmt.Sprintf("server.admin_tokens[%d]", i), v})
	}
	var out []*Error
	for _, s := range secrets {
		if strings.Contains(strings.ToLower(s.val), ChangeMe) {
			out = append(out, c.problem(s.key, "still the %s placeholder of the example config: set a real secret (anyone who read the example knows this one)", ChangeMe))
		}
	}
	// In the order of the file, like the errors.
	slices.SortStableFunc(out, func(a, b *Error) int { return a.Line - b.Line })
	return out
}

// ChangeMe marks a placeholder secret in the example config.
const ChangeMe = "change-me"
