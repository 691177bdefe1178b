package zgw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/store"
)

// Config configures an Enricher. Zero values get the defaults noted.
type Config struct {
	// APIs are the ZGW and Objecten API roots with their credentials; they
	// are also the allow-list.
	APIs []API
	// HTTP tunes the outbound client (timeouts, retries, base transport).
	HTTP httpclient.Options
	// Cache holds catalogue objects and the last seen taak state. Pass the
	// shared store so replicas agree; nil means an in-process cache.
	Cache store.Cache
	// Claims, when set, serialises the handling of one taak across
	// replicas: a create and an update of the same object handled at once
	// would both compare against the same last seen state. Pass the shared
	// store. A taak that is busy elsewhere yields failure.Later.
	Claims store.Claims
	// CatalogiTTL is how long catalogue objects are cached; 0 means no
	// cache (config applies DefaultCatalogiTTL when the key is unset).
	CatalogiTTL time.Duration
	// RolBackoff is the delay before each re-try when the initiator rol of a
	// zaak does not exist yet (default DefaultRolBackoff). After the last
	// one the message is dead-lettered with ReasonRolOntbreekt.
	RolBackoff []time.Duration
	// BesluitTrigger is the notification that makes besluit.genomen:
	// BesluitTriggerBesluit (default) or BesluitTriggerInformatieobject.
	BesluitTrigger string
	// Documenten enables document.toegevoegd on zaakinformatieobject create.
	Documenten bool
	// TaakObjecttypen are the Objecttypen API URLs of taak objecttypes;
	// objecten notifications of other objecttypes are skipped.
	TaakObjecttypen []string
	// HerinneringDagen lists how many days before a taak's verloopdatum a
	// taak.herinnering is due, e.g. [3, 1]; empty means no reminders.
	HerinneringDagen []int
	// TaakStateTTL is how long the last seen state of a taak is kept
	// (default 400 days).
	TaakStateTTL time.Duration
	// Now is the clock (default clock.System).
	Now    func() time.Time
	Logger *slog.Logger
}

// Result is what Enrich made of one inbound message: zero or more events,
// or a recorded skip.
type Result struct {
	Events []event.Event
	// Skipped is a reason key (ReasonInformerenUit, ...) when the message
	// deliberately produced no event; empty otherwise.
	Skipped string
	// Detail is a sentence for the ledger, free of personal data.
	Detail string
	// Timers are messages to publish for later (taak reminders): Source
	// event.SourceScheduler, DueAt set, deterministic IDs. When one comes
	// due, feed it to Enrich like any inbound message.
	Timers []event.Inbound
}

// Defaults for Config. config.Default() holds the same values (config's
// TestDefaultsMatchPackages fails when they drift).
const DefaultCatalogiTTL = time.Hour

// DefaultRolBackoff gives Open Zaak about 40 minutes to create the
// initiator rol after the status.
var DefaultRolBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// Enricher turns inbound notifications into typed events.
type Enricher struct {
	cfg    Config
	client *Client
	cache  store.Cache
	log    *slog.Logger
}

// New builds an Enricher.
func New(cfg Config) (*Enricher, error) {
	if cfg.Now == nil {
		cfg.Now = clock.System
	}
	if cfg.CatalogiTTL < 0 {
		return nil, fmt.Errorf("zgw: catalogi cache TTL %s is negative", cfg.CatalogiTTL)
	}
	if cfg.RolBackoff == nil {
		cfg.RolBackoff = slices.Clone(DefaultRolBackoff)
	}
	if cfg.BesluitTrigger == "" {
		cfg.BesluitTrigger = BesluitTriggerBesluit
	}
	if cfg.BesluitTrigger != BesluitTriggerBesluit && cfg.BesluitTrigger != BesluitTriggerInformatieobject {
		return nil, fmt.Errorf("zgw: besluit trigger %q: want %q or %q", cfg.BesluitTrigger, BesluitTriggerBesluit, BesluitTriggerInformatieobject)
	}
	if cfg.TaakStateTTL == 0 {
		cfg.TaakStateTTL = 400 * 24 * time.Hour
	}
	for _, d := range cfg.HerinneringDagen {
		if d < 0 {
			return nil, fmt.Errorf("zgw: herinnering %d days before verloopdatum: want 0 or more", d)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTP.Logger == nil {
		cfg.HTTP.Logger = cfg.Logger
	}
	c, err := NewClient(cfg.APIs, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	c.now = cfg.Now
	e := &Enricher{cfg: cfg, client: c, cache: cfg.Cache, log: cfg.Logger}
	if e.cache == nil {
		e.cache = newMemCache(cfg.Now)
	}
	return e, nil
}

// Client returns the enricher's API client.
func (e *Enricher) Client() *Client { return e.client }

// Enrich turns one inbound message into a Result or an error classified as
// documented in errors.go.
func (e *Enricher) Enrich(ctx context.Context, in event.Inbound) (Result, error) {
	res, err := e.enrich(ctx, in)
	if err != nil {
		var fe *ForbiddenURLError
		switch {
		case errors.As(err, &fe):
			return Result{Skipped: ReasonURLNietToegestaan, Detail: fe.Error()}, nil
		case NotFound(err):
			return Result{Skipped: ReasonNietGevonden, Detail: err.Error()}, nil
		}
		return Result{}, err
	}
	return res, nil
}

func (e *Enricher) enrich(ctx context.Context, in event.Inbound) (Result, error) {
	n := in.Notification
	if n == nil {
		switch {
		case in.Timer != nil:
			if err := e.client.allow.Check(in.Timer.ObjectURL); err != nil {
				return Result{}, err
			}
			return e.herinnering(ctx, in)
		case in.External != nil:
			return e.external(ctx, in)
		}
		return Result{Skipped: ReasonNietOndersteund, Detail: "inbound message carries no notification"}, nil
	}
	if n.Kanaal == "test" {
		return Result{Skipped: ReasonKanaalTest, Detail: "Open Notificaties probe"}, nil
	}
	// Check the notified URLs before anything else, so that even a skip
	// never follows a URL off the allow-list.
	if err := e.client.allow.Check(n.ResourceURL); err != nil {
		return Result{}, err
	}
	switch n.Kanaal {
	case "zaken":
		switch {
		case n.Resource == "status" && n.Actie == "create":
			return e.statusCreated(ctx, in)
		case n.Resource == "zaakinformatieobject" && n.Actie == "create":
			return e.zaakinformatieobjectCreated(ctx, in)
		case n.Resource == "zaak" && n.Actie == "create":
			return Result{Skipped: ReasonZaakViaEersteStatus, Detail: "the zaak's rollen do not exist yet; its first status makes zaak.aangemaakt"}, nil
		case n.Resource == "zaak" && (n.Actie == "partial_update" || n.Actie == "update"):
			return Result{Skipped: ReasonZaakWijziging, Detail: "a zaak update carries no news for the citizen; when it is part of zaak_afsluiten, the eindstatus announces the closing"}, nil
		case n.Resource == "resultaat" && n.Actie == "create":
			return Result{Skipped: ReasonAfsluitenViaEindstatus, Detail: "a closing zaak is announced once, by its eindstatus, which carries the resultaat"}, nil
		}
	case "besluiten":
		return e.besluitNotified(ctx, in)
	case "objecten":
		return e.objectNotified(ctx, in)
	}
	return notSupported(n), nil
}

// eventID derives an event id from stable parts, so that a redelivered
// notification yields the same id and the router's dedup collapses it.
func eventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return hex.EncodeToString(h[:])
}

func occurredAt(in event.Inbound, now time.Time) time.Time {
	if in.Notification != nil && !in.Notification.Aanmaakdatum.IsZero() {
		return in.Notification.Aanmaakdatum.UTC()
	}
	if in.External != nil && !in.External.OccurredAt.IsZero() {
		return in.External.OccurredAt.UTC()
	}
	return now.UTC()
}
