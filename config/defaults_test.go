package config

import (
	"slices"
	"testing"

	"github.com/mijnservices/koerier/channels/berichtenbox"
	"github.com/mijnservices/koerier/internal/bus"
	"github.com/mijnservices/koerier/internal/console"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
	"github.com/mijnservices/koerier/router"
)

// Default() is the one place Koerier's defaults live. The packages keep
// defaults of their own for use without config (their unit tests, a
// library user); this test fails when the two drift apart, so a running
// Koerier and a package's documentation never disagree.
func TestDefaultsMatchPackages(t *testing.T) {
	d := Default()
	checks := []struct {
		key        string
		config     any
		pkg        string
		pkgDefault any
	}{
		{"bus.sqlite.visibility_timeout", d.Bus.SQLite.VisibilityTimeout, "bus.DefaultVisibilityTimeout", bus.DefaultVisibilityTimeout},
		{"bus.sqlite.nack_delay", d.Bus.SQLite.NackDelay, "bus.DefaultNackDelay", bus.DefaultNackDelay},
		{"bus.sqlite.poll_interval", d.Bus.SQLite.PollInterval, "bus.DefaultPollInterval", bus.DefaultPollInterval},
		{"bus.amqp.prefetch", d.Bus.AMQP.Prefetch, "bus.DefaultPrefetch", bus.DefaultPrefetch},
		{"bus.amqp.channel_pool_size", d.Bus.AMQP.ChannelPoolSize, "bus.DefaultChannelPoolSize", bus.DefaultChannelPoolSize},
		{"store.ledger_retention", d.Store.LedgerRetention, "store.DefaultLedgerRetention", store.DefaultLedgerRetention},
		{"store.retention.taak_state", d.Store.Retention.TaakState, "store.DefaultTaakStateRetention", store.DefaultTaakStateRetention},
		{"store.retention.dedup", d.Store.Retention.Dedup, "store.DefaultDedupRetention", store.DefaultDedupRetention},
		{"store.zaak_purge_grace", d.Store.ZaakPurgeGrace, "router.DefaultPurgeGrace", router.DefaultPurgeGrace},
		{"store.redis.prefix", d.Store.Redis.Prefix, "store.DefaultRedisPrefix", store.DefaultRedisPrefix},
		{"server.max_body_bytes", d.Server.MaxBodyBytes, "httpapi.DefaultMaxBodyBytes", int64(httpapi.DefaultMaxBodyBytes)},
		{"server.omc_compat.clock_skew", d.Server.OMCCompat.ClockSkew, "httpapi.DefaultOMCClockSkew", httpapi.DefaultOMCClockSkew},
		{"server.read_header_timeout", d.Server.ReadHeaderTimeout, "httpapi.DefaultReadHeaderTimeout", httpapi.DefaultReadHeaderTimeout},
		{"server.read_timeout", d.Server.ReadTimeout, "httpapi.DefaultReadTimeout", httpapi.DefaultReadTimeout},
		{"server.write_timeout", d.Server.WriteTimeout, "httpapi.DefaultWriteTimeout", httpapi.DefaultWriteTimeout},
		{"server.idle_timeout", d.Server.IdleTimeout, "httpapi.DefaultIdleTimeout", httpapi.DefaultIdleTimeout},
		{"server.max_header_bytes", d.Server.MaxHeaderBytes, "httpapi.DefaultMaxHeaderBytes", httpapi.DefaultMaxHeaderBytes},
		{"server.max_inflight_requests", d.Server.MaxInflightRequests, "httpapi.DefaultMaxInflightRequests", httpapi.DefaultMaxInflightRequests},
		{"server.max_inflight_bytes", d.Server.MaxInflightBytes, "httpapi.DefaultMaxInflightBytes", int64(httpapi.DefaultMaxInflightBytes)},
		{"zgw.catalogi_cache_ttl", d.ZGW.CatalogiCacheTTL, "zgw.DefaultCatalogiTTL", zgw.DefaultCatalogiTTL},
		{"zgw.rol_backoff", fmtDurations(d.ZGW.RolBackoff), "zgw.DefaultRolBackoff", fmtDurations(zgw.DefaultRolBackoff)},
		{"zgw.besluit_trigger", d.ZGW.BesluitTrigger, "zgw.BesluitTriggerBesluit", zgw.BesluitTriggerBesluit},
		{"openklant.cache_ttl", *d.OpenKlant.CacheTTL, "klant.DefaultCacheTTL", klant.DefaultCacheTTL},
		{"brp.cache_ttl", *d.BRP.CacheTTL, "klant.DefaultCacheTTL", klant.DefaultCacheTTL},
		{"berichtenbox.cache_ttl", *d.Berichtenbox.CacheTTL, "berichtenbox.DefaultValidatieCacheTTL", berichtenbox.DefaultValidatieCacheTTL},
		{"console.session_ttl", d.Console.SessionTTL, "console.DefaultSessionTTL", console.DefaultSessionTTL},
		{"pipeline.concurrency", d.Pipeline.Concurrency, "router.DefaultConcurrency", router.DefaultConcurrency},
		{"pipeline.retry_max", d.Pipeline.RetryMax, "router.DefaultRetryMax", router.DefaultRetryMax},
		{"pipeline.delivery_lease", d.Pipeline.DeliveryLease, "router.DefaultLeaseTTL", router.DefaultLeaseTTL},
		{"pipeline.temporary_backoff", fmtDurations(d.Pipeline.TemporaryBackoff), "router.DefaultTemporaryBackoff", fmtDurations(router.DefaultTemporaryBackoff)},
	}
	for _, c := range checks {
		if c.config != c.pkgDefault {
			t.Errorf("config.Default() %s = %v, but %s = %v: pick one value and set it in both", c.key, c.config, c.pkg, c.pkgDefault)
		}
	}
	// Default() must hand out fresh slices: a caller that appends must not
	// change the next Default().
	a := Default()
	a.Pipeline.TemporaryBackoff[0] = 0
	if slices.Contains(Default().Pipeline.TemporaryBackoff, 0) {
		t.Fatal("Default() shares its slices")
	}
}
