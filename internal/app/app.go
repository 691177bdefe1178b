// Package app wires one Koerier installation from its configuration: bus,
// store, rules, channel registry, peer clients, router, HTTP API and admin
// routes, and runs and stops them. It also holds what the operator commands
// do to that installation's state (dead-letter list and replay, ledger
// trails). It knows no flags and prints nothing: cmd/koerier parses the
// command line and formats the output; serve, demo, sandbox and the
// end-to-end tests all build the same App, so there is one code path
// whichever way Koerier runs.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/channels/notifynl"
	"github.com/mijnservices/koerier/channels/printstraat"
	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/brp"
	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/kvk"
	"github.com/mijnservices/koerier/internal/ratelimit"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/internal/zgw"
	"github.com/mijnservices/koerier/router"
	"github.com/mijnservices/koerier/rules"
)

// App is one running Koerier: bus, store, pipeline and HTTP server, built
// from a Config.
type App struct {
	cfg    config.Config
	log    *slog.Logger
	prov   *telemetry.Providers
	store  store.Store
	bus    *bus.Bus
	rules  *rules.Holder
	router *router.Router
	// recipients resolves subjects (also for explain-recipient).
	recipients *klant.Resolver
	channels   *channels.Registry
	api        *httpapi.Server
	srv        *http.Server
	ln         net.Listener
	// sealer seals the batching channels' buckets at their cut-off; nil
	// when no channel batches.
	sealer *batch.Sealer
	// bbPoller reads the Berichtenbox's results from the ebMS adapter; nil
	// unless berichtenbox.transport is ebms.
	bbPoller  *berichtenbox.Poller
	bbChannel *berichtenbox.BatchChannel
	// now is the one clock of this app: router, rules timing, store, bus,
	// peer clients and HTTP intake all read it.
	now func() time.Time
	// notify are the Notify NL services, default first.
	notify  []*notifynl.Client
	closers []func()
}

// New builds the app on now, the clock every part of it reads (nil: the
// wall clock). Tests pass a clock.Fake so that what they assert does not
// depend on the hour at which they run.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time) (a *App, err error) {
	now = clock.Or(now)
	a = &App{cfg: cfg, log: log, now: now}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.prov, err = telemetry.NewProviders(cfg.Telemetry.ServiceName); err != nil {
		return nil, err
	}
	if cfg.Bus.Backend == "sqlite" || cfg.Store.Backend == "sqlite" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	so := StoreOptions(cfg, now)
	so.Logger = log
	a.store, err = store.Open(ctx, so)
	if err != nil {
		return nil, err
	}

	a.rules, err = rules.NewHolder(cfg.Rules.Path, rules.HolderOptions{Meter: a.prov.Meter, Logger: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}

	lim, closeLim := notifyLimiter(cfg)
	a.closers = append(a.closers, closeLim)
	reg, notifyServices, batching, err := buildChannels(cfg, log, now, a.prov.Meter, lim, a.store)
	if err != nil {
		return nil, err
	}
	a.notify = notifyServices
	// A message naming a Notify service this installation lacks is an
	// error now, not a dead letter at 3 a.m. (a reload that adds one is
	// caught by the channel, as a configuration error per delivery).
	have := map[string]bool{}
	for _, svc := range cfg.Notify.AllServices() {
		have[svc.Name] = true
	}
	for name, where := range a.rules.Current().NotifyServices() {
		if !have[name] {
			return nil, fmt.Errorf("rules: %s: notify_service %q is not configured under notify.services", where, name)
		}
	}
	a.channels = reg
	a.bus, err = bus.New(ctx, BusOptions(cfg, now, router.Topics(reg.Names())...), watermill.NewSlogLogger(log.With("component", "bus")))
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	if e, ok := a.store.(*store.Encrypted); ok {
		sealBus(a.bus, e.Sealer())
	}

	if err := a.registerQueueDepth(router.Topics(reg.Names())); err != nil {
		return nil, err
	}

	zc := ZGWConfig(cfg, a.store, log)
	zc.Now = now
	enricher, err := zgw.New(zc)
	if err != nil {
		return nil, fmt.Errorf("zgw: %w", err)
	}
	resolver, err := Resolver(cfg, a.store, log)
	if err != nil {
		return nil, err
	}
	a.recipients = resolver

	var klantcontacten router.Klantcontacten
	if cfg.OpenKlant.RegisterKlantcontact && cfg.OpenKlant.URL != "" {
		// No in-process HTTP retries: a POST retried after a proxy 5xx could
		// register twice; the re-queue looks the kenmerk up first.
		klantcontacten = klant.NewClient(cfg.OpenKlant.URL, cfg.OpenKlant.Token, httpclient.New(httpclient.Options{Logger: log, RetryMax: -1}))
	}
	a.router, err = router.New(router.Deps{
		Publisher: a.bus.Publisher, Subscriber: a.bus.Subscriber, Store: a.store,
		Enricher: enricher, Rules: a.rules, Recipients: resolver, Channels: reg, Klantcontacten: klantcontacten,
		Timing: &router.Timing{Grouper: &router.Grouper{Cache: a.store, Now: now}, Throttler: &router.Throttler{Claims: a.store, Cache: a.store, Now: now}},
		Logger: log, Now: now, Tracer: a.prov.Tracer, Meter: a.prov.Meter, PurgeZaak: a.purgeZaak,
	}, router.Options{Concurrency: cfg.Pipeline.Concurrency, RetryMax: cfg.Pipeline.RetryMax,
		TemporaryBackoff: cfg.Pipeline.TemporaryBackoff, SubjectKey: []byte(cfg.Store.SubjectKey), LeaseTTL: cfg.Pipeline.DeliveryLease,
		PurgeGrace: cfg.Store.ZaakPurgeGrace, MarkerTTL: cfg.Store.Retention.Dedup})
	if err != nil {
		return nil, err
	}
	if len(batching) > 0 {
		a.sealer = batch.NewSealer(a.store, telemetry.TracingPublisher{Publisher: a.bus.Publisher}, batching,
			batch.Options{Now: now, Logger: log.With("component", "sealer"), Poll: cfg.Print.Poll})
	}
	for _, ch := range batching {
		if bc, ok := ch.(*berichtenbox.BatchChannel); ok {
			if a.bbPoller, err = a.newBerichtenboxPoller(bc); err != nil {
				return nil, err
			}
			a.bbChannel = bc
			if err := a.registerBerichtenboxAge(bc); err != nil {
				return nil, err
			}
		}
	}

	a.api = httpapi.New(httpapi.Options{
		Publisher: telemetry.TracingPublisher{Publisher: a.bus.Publisher}, Store: a.store,
		Tokens: cfg.Server.NotificatiesTokens, SourceTokens: cfg.Server.EventSources, AdminTokens: cfg.Server.AdminTokens,
		MaxBodyBytes: cfg.Server.MaxBodyBytes, MaxInflightRequests: cfg.Server.MaxInflightRequests, MaxInflightBytes: cfg.Server.MaxInflightBytes,
		Logger: log, Now: now, Meter: a.prov.Meter, TracerProvider: a.prov.TracerProvider, TrustedTraceSources: cfg.Server.TrustedTraceSources,
		Ready: []httpapi.ReadyCheck{{Name: "bus", Check: a.bus.Ping}},
	})
	// Each Notify service posts its receipts with its own token to its own
	// path; the first (default) service also to the path without a name.
	for i, svc := range cfg.Notify.AllServices() {
		if svc.CallbackToken == "" {
			continue
		}
		h := notifynl.CallbackHandler(svc.CallbackToken, a.publishOutcome)
		if i == 0 {
			a.api.Mount("POST /api/v1/callbacks/notify", h)
		}
		a.api.Mount("POST /api/v1/callbacks/notify/"+svc.Name, h)
	}
	a.mountOMC(cfg.Server.OMCCompat)
	a.mountAdmin()
	a.mountConsole(nil) // the print channel passes its batches here once it exists
	return a, nil
}

// StoreOptions and BusOptions map the configuration onto the store and the
// bus, for serve and for the operator commands alike, so they all see the
// same state and queues. now is the clock they run on: the operator
// commands pass the clock of the router they work beside, because a message
// they put back must be due on the clock of the router that reads it.
func StoreOptions(cfg config.Config, now func() time.Time) store.Options {
	return store.Options{Now: clock.Or(now), Backend: cfg.Store.Backend, SQLitePath: cfg.Store.SQLitePath, LedgerRetention: cfg.Store.LedgerRetention,
		Redis: store.RedisOptions{Addr: cfg.Store.Redis.Addr, Username: cfg.Store.Redis.Username, Password: cfg.Store.Redis.Password,
			DB: cfg.Store.Redis.DB, Prefix: cfg.Store.Redis.Prefix, TLS: cfg.Store.Redis.TLS, LedgerRetention: cfg.Store.LedgerRetention},
		DataKey: dataKey(cfg.Store.DataKey), DataKeyPrevious: dataKey(cfg.Store.DataKeyPrevious), DataKeyFile: cfg.Store.DataKeyFile}
}

func BusOptions(cfg config.Config, now func() time.Time, topics ...string) bus.Options {
	return bus.Options{Now: clock.Or(now), Backend: cfg.Bus.Backend, Topics: topics,
		SQLitePath: cfg.Bus.SQLite.Path, VisibilityTimeout: cfg.Bus.SQLite.VisibilityTimeout, NackDelay: cfg.Bus.SQLite.NackDelay,
		PollInterval: cfg.Bus.SQLite.PollInterval, AMQPURL: cfg.Bus.AMQP.URL, Prefetch: cfg.Bus.AMQP.Prefetch,
		ChannelPoolSize: cfg.Bus.AMQP.ChannelPoolSize}
}

// ZGWConfig is the enricher's configuration: one API per configured root.
// st may be nil when only the configuration is checked.
func ZGWConfig(cfg config.Config, st store.Store, log *slog.Logger) zgw.Config {
	var apis []zgw.API
	for _, root := range []string{cfg.ZGW.Zaken, cfg.ZGW.Catalogi, cfg.ZGW.Besluiten, cfg.ZGW.Documenten} {
		if root != "" {
			apis = append(apis, zgw.API{Root: root, ClientID: cfg.ZGW.ClientID, Secret: cfg.ZGW.Secret,
				UserID: cfg.ZGW.UserID, UserRepresentation: cfg.ZGW.UserRepresentation})
		}
	}
	if cfg.ZGW.Objecten != "" {
		apis = append(apis, zgw.API{Root: cfg.ZGW.Objecten, Token: cfg.ZGW.ObjectenToken})
	}
	return zgw.Config{APIs: apis, Cache: st, Claims: st, CatalogiTTL: cfg.ZGW.CatalogiCacheTTL, RolBackoff: cfg.ZGW.RolBackoff,
		BesluitTrigger: cfg.ZGW.BesluitTrigger, Documenten: cfg.ZGW.DocumentEvents,
		TaakObjecttypen: cfg.ZGW.TaakObjecttypes, HerinneringDagen: cfg.ZGW.ReminderDays, TaakStateTTL: cfg.Store.Retention.TaakState,
		HTTP: httpclient.Options{Logger: log}, Logger: log}
}

// Resolver builds the recipient resolver over the configured registries
// (Open Klant, BRP, KVK, Berichtenbox); st may be nil when only the
// configuration is checked.
func Resolver(cfg config.Config, st store.Store, log *slog.Logger) (*klant.Resolver, error) {
	o := klant.ResolverOptions{Cache: st, KlantCacheTTL: *cfg.OpenKlant.CacheTTL, BRPCacheTTL: *cfg.BRP.CacheTTL,
		CacheKeySecret: []byte(cfg.Store.SubjectKey), Logger: log}
	if cfg.OpenKlant.URL != "" {
		o.Klant = klant.NewClient(cfg.OpenKlant.URL, cfg.OpenKlant.Token, httpclient.New(httpclient.Options{Logger: log}))
	}
	if cfg.BRP.URL != "" {
		hc, err := tlsClient(cfg.BRP.TLS, httpclient.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("brp: %w", err)
		}
		o.BRP = brp.New(brp.Options{BaseURL: cfg.BRP.URL, APIKey: cfg.BRP.APIKey, APIKeyHeader: cfg.BRP.APIKeyHeader, HTTPClient: hc})
	}
	if cfg.KVK.URL != "" {
		o.KVK = kvk.New(kvk.Options{BaseURL: cfg.KVK.URL, APIKey: cfg.KVK.APIKey, HTTPClient: httpclient.New(httpclient.Options{Logger: log})})
	}
	if cfg.Berichtenbox.ValidatieURL != "" {
		// SOAP faults arrive as HTTP 500: retrying them in-process only
		// spends Logius' call quota.
		hc, err := tlsClient(cfg.Berichtenbox.TLS, httpclient.Options{Logger: log, RetryMax: -1})
		if err != nil {
			return nil, fmt.Errorf("berichtenbox: %w", err)
		}
		v, err := berichtenbox.NewValidator(berichtenbox.ValidatorOptions{URL: cfg.Berichtenbox.ValidatieURL,
			BerichtleverancierCode: cfg.Berichtenbox.BerichtleverancierCode, HTTPClient: hc, Cache: st,
			CacheTTL: *cfg.Berichtenbox.CacheTTL, CacheKeySecret: []byte(cfg.Store.SubjectKey), Logger: log})
		if err != nil {
			return nil, err
		}
		o.Berichtenbox = v.ForBerichtType(cfg.Berichtenbox.BerichtType)
	}
	return klant.NewResolver(o), nil
}

// tlsClient builds an HTTP client with a client certificate when one is
// configured (BRP and Logius require mutual TLS in production).
func tlsClient(t config.TLS, o httpclient.Options) (*http.Client, error) {
	if t.CertFile != "" {
		tr, err := httpclient.MutualTLS(t.CertFile, t.KeyFile, t.CAFile)
		if err != nil {
			return nil, err
		}
		o.Transport = tr
	}
	return httpclient.New(o), nil
}

// Channels builds the channel registry: adding a channel is one case here
// and one package under channels/. The Notify limiter is in-process here;
// New shares it through Redis when the store is Redis.
func Channels(cfg config.Config, log *slog.Logger, now func() time.Time) (*channels.Registry, error) {
	reg, _, _, err := buildChannels(cfg, log, now, nil, nil, nil)
	return reg, err
}

// buildChannels is Channels with the meter, the Notify limiter (nil: no
// metrics, an in-process limiter) and the store the batching channels'
// deliveries wait in (nil: the registry only names them, as rules check
// needs). It also returns the Notify clients, one per service, default
// first, and the batching channels for the sealer.
func buildChannels(cfg config.Config, log *slog.Logger, now func() time.Time, meter metric.Meter, lim ratelimit.Limiter, st store.Batches) (*channels.Registry, []*notifynl.Client, []batch.Channel, error) {
	var chs []channels.Channel
	documents, err := besluitDocuments(cfg, log, clock.Or(now))
	if err != nil {
		return nil, nil, nil, err
	}
	var services []*notifynl.Client
	var batching []batch.Channel
	if len(cfg.Print.Profiles) > 0 {
		p, err := PrintChannel(cfg, now)
		if err != nil {
			return nil, nil, nil, err
		}
		batching = append(batching, p)
		chs = append(chs, batch.NewQueue(p, st))
	}
	if cfg.Notify.URL != "" {
		n := cfg.Notify
		if lim == nil {
			lim = ratelimit.NewLocal(ratelimit.Limit{Requests: n.RateLimit.Requests, Per: n.RateLimit.Per, Margin: n.RateLimit.Margin}, clock.Or(now))
		}
		for _, svc := range n.AllServices() {
			// No in-process HTTP retries for Notify: a POST retried after a
			// 5xx from a proxy could send a message Notify had already
			// accepted. A failed send goes back to the bus instead, and the
			// next attempt first looks the delivery's reference up.
			opts := []notifynl.Option{notifynl.WithClock(clock.Or(now)), notifynl.WithReferenceLookup(*n.ReferenceLookup),
				notifynl.WithHTTPOptions(httpclient.Options{Logger: log, RetryMax: -1}),
				notifynl.WithService(svc.Name), notifynl.WithLimiter(lim), notifynl.WithRetryAfterCap(n.RetryAfterCap),
				notifynl.WithBreaker(notifynl.BreakerSettings{Failures: n.Breaker.Failures, Interval: n.Breaker.Interval}),
				notifynl.WithEmailReplyToID(svc.EmailReplyToID), notifynl.WithSMSSenderID(svc.SMSSenderID), notifynl.WithLogger(log)}
			if meter != nil {
				opts = append(opts, notifynl.WithMeter(meter))
			}
			c, err := notifynl.New(n.URL, svc.APIKey, nil, opts...)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("notify service %s: %w", svc.Name, err)
			}
			services = append(services, c)
		}
		chs = append(chs, notifynl.EmailChannel(services...), notifynl.SMSChannel(services...))
		if cfg.Berichtenbox.Transport == config.BerichtenboxMessagebox {
			// The default service's key: the Berichtenbox is the
			// gemeente's, not one department's.
			chs = append(chs, berichtenbox.NewChannel(notifynl.Messagebox(services[0]), documents))
		}
	}
	if cfg.Berichtenbox.Transport == config.BerichtenboxEBMS {
		bc, err := ebmsChannel(cfg, log, clock.Or(now), meter, st, documents)
		if err != nil {
			return nil, nil, nil, err
		}
		batching = append(batching, bc)
		chs = append(chs, batch.NewQueue(bc, st))
	}
	reg, err := channels.NewRegistry(chs...)
	return reg, services, batching, err
}

// notifyLimiter is the limiter all replicas share: on Redis when the store
// is Redis (the scaled set-up), else nil (buildChannels makes an
// in-process one).
func notifyLimiter(cfg config.Config) (ratelimit.Limiter, func()) {
	if cfg.Store.Backend != "redis" || cfg.Notify.URL == "" {
		return nil, func() {}
	}
	ro := &redis.Options{Addr: cfg.Store.Redis.Addr, Username: cfg.Store.Redis.Username, Password: cfg.Store.Redis.Password, DB: cfg.Store.Redis.DB}
	if cfg.Store.Redis.TLS {
		ro.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c := redis.NewClient(ro)
	r := cfg.Notify.RateLimit
	return ratelimit.NewRedis(c, cfg.Store.Redis.Prefix, ratelimit.Limit{Requests: r.Requests, Per: r.Per, Margin: r.Margin}), func() { _ = c.Close() }
}

// besluitDocuments fetches a besluit's documents for the Berichtenbox
// from the Documenten API, with the ZGW credentials and allow-list; nil
// when no Documenten API is configured.
func besluitDocuments(cfg config.Config, log *slog.Logger, now func() time.Time) (berichtenbox.Documents, error) {
	if cfg.ZGW.Besluiten == "" || cfg.ZGW.Documenten == "" {
		return nil, nil
	}
	zc, err := zgw.NewClient(ZGWConfig(cfg, nil, log).APIs, httpclient.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("zgw: %w", err)
	}
	zc.SetClock(now)
	return func(ctx context.Context, besluitURL string, limit int64) ([]berichtenbox.Document, error) {
		docs, err := zc.BesluitDocuments(ctx, besluitURL, limit)
		if errors.Is(err, zgw.ErrTooLarge) {
			return nil, fmt.Errorf("%w: %w", berichtenbox.ErrBijlageTeGroot, err)
		}
		if err != nil {
			return nil, err
		}
		out := make([]berichtenbox.Document, len(docs))
		for i, d := range docs {
			out[i] = berichtenbox.Document{Titel: d.Titel, Formaat: d.Formaat, Content: d.Content}
		}
		return out, nil
	}, nil
}

// PrintChannel builds the printstraat channel from cfg.Print.
func PrintChannel(cfg config.Config, now func() time.Time) (*printstraat.Channel, error) {
	pc := printstraat.Config{Sender: cfg.Print.Sender, TemplateDir: rulesDir(cfg.Rules.Path), Now: now}
	if w := cfg.Print.Window; w != nil {
		pc.Window = printstraat.Window{Left: w.Left, Top: w.Top, Width: w.Width, Height: w.Height}
	}
	for name, w := range cfg.Print.Envelopes {
		if pc.Envelopes == nil {
			pc.Envelopes = map[string]printstraat.Window{}
		}
		pc.Envelopes[name] = printstraat.Window{Left: w.Left, Top: w.Top, Width: w.Width, Height: w.Height}
	}
	if cfg.Print.Logo != "" {
		logo, err := os.ReadFile(cfg.Print.Logo)
		if err != nil {
			return nil, fmt.Errorf("print.logo: %w", err)
		}
		pc.Logo, pc.LogoType = logo, "PNG"
	}
	for _, p := range cfg.Print.Profiles {
		pp := printstraat.Profile{Name: p.Name, Cutoff: p.Cutoff, Dir: p.Dir}
		if s := p.SFTP; s != nil {
			pp.SFTP = &printstraat.SFTP{Addr: s.Addr, User: s.User, HostKey: s.HostKey, Password: s.Password, Dir: s.Dir}
			if s.KeyFile != "" {
				key, err := os.ReadFile(s.KeyFile)
				if err != nil {
					return nil, fmt.Errorf("print.profiles %s: sftp.key_file: %w", p.Name, err)
				}
				pp.SFTP.Key = key
			}
		}
		if r := p.REST; r != nil {
			pp.REST = &printstraat.REST{Endpoint: r.Endpoint, APIKeyHeader: r.APIKeyHeader, APIKey: r.APIKey, Username: r.Username, Password: r.Password}
		}
		pc.Profiles = append(pc.Profiles, pp)
	}
	return printstraat.New(pc)
}

// rulesDir is the folder letter templates are relative to: the rules
// folder, or the folder of the rules file.
func rulesDir(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return path
	}
	return filepath.Dir(path)
}

// Sealer is the batch sealer (nil when no channel batches), for
// `koerier batch flush`.
func (a *App) Sealer() *batch.Sealer { return a.sealer }

// registerQueueDepth exports the number of messages waiting per topic, read
// from the bus at scrape time: a growing queue is the first sign of a stage
// that cannot keep up or a peer that is down.
func (a *App) registerQueueDepth(topics []string) error {
	_, err := a.prov.Meter.Int64ObservableGauge("koerier_queue_depth",
		metric.WithDescription("Messages waiting on a bus topic (not yet acknowledged)."),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			for _, t := range topics {
				n, err := a.bus.Pending(ctx, t)
				if err != nil {
					continue // the bus is down: /readyz says so
				}
				o.Observe(int64(n), metric.WithAttributes(attribute.String("topic", t)))
			}
			return nil
		}))
	return err
}

// publishOutcome puts a provider's delivery-status callback on the bus for
// the settle stage.
func (a *App) publishOutcome(ctx context.Context, o event.Outcome) error {
	msg := message.NewMessage(watermill.NewUUID(), event.Marshal(o))
	msg.SetContext(ctx)
	return a.bus.Publisher.Publish(event.TopicOutcomes, msg)
}

// Listen binds the HTTP listener (separately from Run, so a caller can learn
// the port first).
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Server.Listen, err)
	}
	a.ln = ln
	return nil
}

// UseListener makes the app serve on ln, bound by a caller that had to know
// the address before the app was built (the demo's fake Notify posts
// receipts to it).
func (a *App) UseListener(ln net.Listener) { a.ln = ln }

// URL is the base URL the app listens on.
func (a *App) URL() string { return "http://" + a.ln.Addr().String() }

// Run serves until ctx ends: pipeline, HTTP, rules watch and SIGHUP reload.
func (a *App) Run(ctx context.Context) error {
	if a.ln == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- a.router.Run(ctx) }()
	if a.sealer != nil {
		go a.sealer.Run(ctx)
	}
	if a.bbPoller != nil {
		go a.runBerichtenboxPoller(ctx, a.bbPoller, a.bbChannel, *a.cfg.Berichtenbox.EBMS.PollInterval, *a.cfg.Berichtenbox.EBMS.ResultTimeout)
	}
	a.srv = httpapi.NewHTTPServer(a.api, httpapi.ListenerOptions{ReadHeaderTimeout: a.cfg.Server.ReadHeaderTimeout,
		ReadTimeout: a.cfg.Server.ReadTimeout, WriteTimeout: a.cfg.Server.WriteTimeout,
		IdleTimeout: a.cfg.Server.IdleTimeout, MaxHeaderBytes: a.cfg.Server.MaxHeaderBytes})
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if iv := *a.cfg.Rules.WatchInterval; iv > 0 {
		go a.rules.Watch(ctx, iv)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			// A failed reload is logged by the holder, which keeps the
			// previous rules.
			if err := a.rules.Reload(); err == nil {
				a.log.Info("rules reloaded", "hash", a.rules.Status().Hash)
			}
		case err := <-errc:
			a.shutdown()
			return err
		case <-ctx.Done():
			a.shutdown()
			return nil
		}
	}
}

func (a *App) shutdown() {
	if a.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.srv.Shutdown(sctx)
		cancel()
	}
	if a.router != nil {
		_ = a.router.Close()
	}
}

// Close stops the app and releases bus, store and telemetry.
func (a *App) Close() {
	a.shutdown()
	if a.bus != nil {
		_ = a.bus.Close()
	}
	if a.store != nil {
		_ = a.store.Close()
	}
	for _, c := range a.closers {
		c()
	}
	if a.prov != nil {
		_ = a.prov.Shutdown(context.Background())
	}
}

// Config is the configuration the app was built from.
func (a *App) Config() config.Config { return a.cfg }

// Store is the app's store (ledger, claims, caches).
func (a *App) Store() store.Store { return a.store }

// Bus is the app's bus.
func (a *App) Bus() *bus.Bus { return a.bus }

// Rules is the app's rules holder (status, reload).
func (a *App) Rules() *rules.Holder { return a.rules }

// Recipients resolves subjects as the route stage does (explain-recipient).
func (a *App) Recipients() *klant.Resolver { return a.recipients }

// Running is closed once the pipeline runs.
func (a *App) Running() <-chan struct{} { return a.router.Running() }
