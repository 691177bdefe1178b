package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
)

// e2eDataKey is the scaled harness's store.data_key (Redis requires one);
// the embedded harness generates its own key file, as a new user's would.
const e2eDataKey = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

// personalData are the synthetic identifiers of the flows below, in the
// forms they travel in.
var personalData = []string{
	openzaak.DemoBSNJansen, demoBSNBounce, openklant.DemoBSNEnglish,
	"jan.jansen@example.com", "kees.bos@bounce.example", "0687654321", "+31687654321", "31687654321",
}

// TestEndToEndNoPersonalDataAtRest runs a flow that resolves a recipient in
// Open Klant, sends an email that bounces and falls back to SMS (so a
// delivery plan with email address and phone number waits in the store for
// the receipt), then reads the store as a copied backup or redis-cli would:
// the raw SQLite files (store and bus) and their WAL, or every Redis key
// under the prefix.
func TestEndToEndNoPersonalDataAtRest(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend)
			seedDemoExtras(h.sb)
			oz, d := h.sb.OpenZaak, h.sb.Demo
			z := newDemoZaak(oz, d, "ZAAK-E2E-AT-REST", "Versleuteld", demoBSNBounce, "Kees")
			n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
			h.post(t, n)
			nj := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
			h.post(t, nj)
			eventually(t, 30*time.Second, "the fallback SMS and the email to Jansen", func() bool {
				return hasStatus(h.trail(t, httpapi.NotificationID(n)), "settle", "fallback") &&
					hasStatus(h.trail(t, httpapi.NotificationID(nj)), "settle", event.OutcomeDelivered)
			})
			cfg := h.app.Config()
			// The delivery plans are in the store (for a late receipt), so
			// the scan below has something to find if it were in clear.
			if n := countCacheEntries(t, h.app.Store(), "delivery:"); n == 0 {
				t.Fatal("no delivery:* entries in the store; the scan would prove nothing")
			}
			var dump []byte
			switch backend {
			case "embedded":
				h.stop() // the WAL stays: it is scanned as it is
				// The store, and the bus: messages waiting (or dead-lettered)
				// there hold events and deliveries.
				for _, db := range []string{cfg.Store.SQLitePath, cfg.Bus.SQLite.Path} {
					for _, suffix := range []string{"", "-wal", "-shm"} {
						b, err := os.ReadFile(db + suffix)
						if err != nil && !os.IsNotExist(err) {
							t.Fatal(err)
						}
						dump = append(dump, b...)
					}
				}
				if fi, err := os.Stat(filepath.Join(cfg.DataDir, "data.key")); err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("generated key file: %v, %v; want mode 0600", fi, err)
				}
			case "scaled":
				dump = dumpRedis(t, cfg)
			}
			if len(dump) < 1000 {
				t.Fatalf("suspiciously little data read (%d bytes)", len(dump))
			}
			for _, secret := range personalData {
				if i := bytes.Index(dump, []byte(secret)); i >= 0 {
					t.Errorf("the store holds %q in clear: …%q…", secret, dump[max(0, i-120):min(len(dump), i+60)])
				}
			}
		})
	}
}

func countCacheEntries(t *testing.T, st store.Store, prefix string) int {
	t.Helper()
	sc, ok := st.(store.CacheScanner)
	if !ok {
		t.Fatalf("%T cannot list its cache", st)
	}
	n := 0
	if err := sc.ScanCache(context.Background(), prefix, func(store.CacheEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// dumpRedis returns every key under the configured prefix and its value.
func dumpRedis(t *testing.T, cfg config.Config) []byte {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: cfg.Store.Redis.Addr})
	defer c.Close()
	var out []byte
	iter := c.Scan(ctx, 0, cfg.Store.Redis.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		out = append(out, k...)
		out = append(out, '\n')
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "string":
			v, _ := c.Get(ctx, k).Bytes()
			out = append(out, v...)
		case "list":
			vs, _ := c.LRange(ctx, k, 0, -1).Result()
			out = append(out, strings.Join(vs, "\n")...)
		case "set":
			vs, _ := c.SMembers(ctx, k).Result()
			out = append(out, strings.Join(vs, "\n")...)
		case "hash":
			m, _ := c.HGetAll(ctx, k).Result()
			for f, v := range m {
				out = append(out, f+"="+v+"\n"...)
			}
		case "zset":
			vs, _ := c.ZRange(ctx, k, 0, -1).Result()
			out = append(out, strings.Join(vs, "\n")...)
		default:
			t.Errorf("key %s has type %s, which the scan does not read", k, typ)
		}
		out = append(out, '\n')
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEndToEndZaakDestroyPurges: records of two zaken exist; Open
// Notificaties reports one destroyed; afterwards no trail query (id, zaak,
// BSN) finds anything of it but the one line saying it was purged, and the
// other zaak's records are intact.
func TestEndToEndZaakDestroyPurges(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend)
			ctx := context.Background()
			oz, d := h.sb.OpenZaak, h.sb.Demo
			za := d.ZaakInwoner
			zb := newDemoZaak(oz, d, "ZAAK-E2E-BLIJFT", "Blijft bestaan", openklant.DemoBSNEnglish, "Emily")
			na := statusNotification(oz, za, oz.SetStatus(za.URL, d.Statustypen[0], h.clock.Now()))
			nb := statusNotification(oz, zb, oz.SetStatus(zb.URL, d.Statustypen[0], h.clock.Now()))
			h.post(t, na)
			h.post(t, nb)
			ida, idb := httpapi.NotificationID(na), httpapi.NotificationID(nb)
			eventually(t, 30*time.Second, "both emails delivered", func() bool {
				return hasStatus(h.trail(t, ida), "settle", event.OutcomeDelivered) && hasStatus(h.trail(t, idb), "settle", event.OutcomeDelivered)
			})
			// A taak on zaak A: its state must go with the zaak.
			now := h.clock.Now()
			taakURL := h.sb.Objecten.Put("", objecten.DemoTaakObjecttype, objecten.DenHaagTaak("Aanvullende gegevens aanleveren", "open",
				za.URL, now.Add(4*24*time.Hour).UTC().Format(time.RFC3339), openzaak.DemoBSNJansen))
			h.post(t, h.sb.Objecten.Notification("create", taakURL, now))
			eventually(t, 20*time.Second, "the taak email", func() bool { return len(sentTo(h.sb, "jan.jansen@example.com")) == 2 })
			if _, ok, err := h.app.Store().Get(ctx, zgw.TaakStateKey(taakURL)); err != nil || !ok {
				t.Fatalf("no taak state before the purge: %v", err)
			}
			key := []byte(h.app.Config().Store.SubjectKey)
			trailOf := func(q string, v string) []store.Record {
				t.Helper()
				tq := map[string]func() ([]store.Record, error){
					"id":  func() ([]store.Record, error) { return h.app.Store().Trail(ctx, v) },
					"bsn": func() ([]store.Record, error) { return trailBySubject(ctx, h, key, event.Subject{BSN: v}) },
					"zaak": func() ([]store.Record, error) {
						return h.app.Store().(store.ZaakPurger).ByZaak(ctx, store.ZaakRef(key, v))
					},
				}[q]
				recs, err := tq()
				if err != nil {
					t.Fatal(err)
				}
				return recs
			}
			before := h.trail(t, ida)
			var deliveries []string
			for _, r := range before {
				if r.DeliveryID != "" {
					deliveries = append(deliveries, r.DeliveryID)
				}
			}
			if len(deliveries) == 0 || len(trailOf("zaak", za.URL)) == 0 || len(trailOf("bsn", openzaak.DemoBSNJansen)) == 0 {
				t.Fatalf("zaak A has no deliveries or cannot be found by zaak or BSN before the purge: %+v", before)
			}
			bBefore := len(h.trail(t, idb))

			destroy := event.Notification{Kanaal: "zaken", HoofdObject: za.URL, Resource: "zaak", ResourceURL: za.URL,
				Actie: "destroy", Aanmaakdatum: h.clock.Now().UTC(), Kenmerken: map[string]string{"zaaktype": za.Zaaktype}}
			h.post(t, destroy)
			ref := store.ZaakRef(key, za.URL)
			eventually(t, 20*time.Second, "the purge line", func() bool {
				return len(h.trail(t, store.PurgedTraceID(ref))) == 1
			})
			for _, q := range []struct{ kind, v string }{{"id", ida}, {"zaak", za.URL}, {"bsn", openzaak.DemoBSNJansen}} {
				if recs := trailOf(q.kind, q.v); len(recs) != 0 {
					t.Errorf("trail by %s finds %d record(s) of the destroyed zaak: %+v", q.kind, len(recs), recs)
				}
			}
			for _, id := range deliveries {
				if recs := h.trail(t, id); len(recs) != 0 {
					t.Errorf("trail by delivery %s finds %+v", id, recs)
				}
				if _, ok, _ := h.app.Store().Get(ctx, "delivery:"+id); ok {
					t.Errorf("delivery plan %s survived the purge", id)
				}
			}
			if _, ok, _ := h.app.Store().Get(ctx, zgw.TaakStateKey(taakURL)); ok {
				t.Error("the taak state of the destroyed zaak survived the purge")
			}
			tomb := h.trail(t, store.PurgedTraceID(ref))[0]
			if tomb.Stage != "purge" || strings.Contains(tomb.Detail, za.URL) || strings.Contains(tomb.Detail, za.Identificatie) {
				t.Errorf("purge line = %+v; want a purge line without identifiers", tomb)
			}
			// Zaak B is intact.
			if got := len(h.trail(t, idb)); got != bBefore {
				t.Errorf("zaak B's trail has %d records after the purge, had %d", got, bBefore)
			}
			if len(trailOf("zaak", zb.URL)) == 0 || len(trailOf("bsn", openklant.DemoBSNEnglish)) == 0 {
				t.Error("zaak B cannot be found by zaak or BSN after A's purge")
			}
		})
	}
}

func trailBySubject(ctx context.Context, h *harness, key []byte, s event.Subject) ([]store.Record, error) {
	return h.app.Store().(interface {
		BySubject(context.Context, string) ([]store.Record, error)
	}).BySubject(ctx, store.SubjectRefOf(key, s))
}

// runCLIWith is runCLI on a configuration changed by tweak.
func runCLIWith(t *testing.T, cfg config.Config, args ...string) (string, error) {
	t.Helper()
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "koerier.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append(args, "--config", path))
	err = root.Execute()
	return out.String(), err
}

// TestPurgeAndRekeyCommands runs the operator commands beside a running
// router: purge --zaak, trail --zaak, purge --older-than and store rekey.
func TestPurgeAndRekeyCommands(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend)
			ctx := context.Background()
			oz, d := h.sb.OpenZaak, h.sb.Demo
			za := d.ZaakInwoner
			zb := newDemoZaak(oz, d, "ZAAK-E2E-CLI", "Blijft", openklant.DemoBSNEnglish, "Emily")
			na := statusNotification(oz, za, oz.SetStatus(za.URL, d.Statustypen[0], h.clock.Now()))
			nb := statusNotification(oz, zb, oz.SetStatus(zb.URL, d.Statustypen[0], h.clock.Now()))
			h.post(t, na)
			h.post(t, nb)
			ida, idb := httpapi.NotificationID(na), httpapi.NotificationID(nb)
			eventually(t, 30*time.Second, "both emails delivered", func() bool {
				return hasStatus(h.trail(t, ida), "settle", event.OutcomeDelivered) && hasStatus(h.trail(t, idb), "settle", event.OutcomeDelivered)
			})
			out, err := runCLI(t, h, "trail", "--zaak", za.URL)
			if err != nil || !strings.Contains(out, ida) {
				t.Fatalf("trail --zaak before the purge: %v\n%s", err, out)
			}
			if out, err := runCLI(t, h, "purge", "--zaak", za.URL); err != nil || !strings.Contains(out, "Zaak purged") {
				t.Fatalf("purge --zaak: %v\n%s", err, out)
			}
			out, err = runCLI(t, h, "trail", "--zaak", za.URL)
			if err != nil || strings.Contains(out, ida) || !strings.Contains(out, "purged") {
				t.Fatalf("trail --zaak after the purge shows more than the purge line: %v\n%s", err, out)
			}
			if recs := h.trail(t, ida); len(recs) != 0 {
				t.Fatalf("Trail(A) after purge --zaak = %+v", recs)
			}
			if !hasStatus(h.trail(t, idb), "settle", event.OutcomeDelivered) {
				t.Fatal("zaak B's trail was touched")
			}

			// Rotation: the current key becomes the previous one.
			cfg := h.app.Config()
			oldKey := cfg.Store.DataKey
			if oldKey == "" {
				b, err := os.ReadFile(filepath.Join(cfg.DataDir, "data.key"))
				if err != nil {
					t.Fatal(err)
				}
				oldKey = strings.TrimSpace(string(b))
			}
			newKey := "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY="
			cfg.Store.DataKey, cfg.Store.DataKeyPrevious = newKey, oldKey
			out, err = runCLIWith(t, cfg, "store", "rekey")
			if err != nil || !strings.Contains(out, "rewritten") || strings.Contains(out, " 0 rewritten") {
				t.Fatalf("store rekey: %v\n%s", err, out)
			}
			nk, _ := store.ParseDataKey(newKey)
			onlyNew, err := store.Encrypt(h.app.Store().(*store.Encrypted).Unwrap(), nk, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			err = onlyNew.ScanCache(ctx, "delivery:", func(ce store.CacheEntry) error {
				n++
				_, _, err := onlyNew.Get(ctx, ce.Key)
				return err
			})
			if err != nil || n == 0 {
				t.Fatalf("after rekey, %d delivery plans read with the new key alone: %v", n, err)
			}

			// Retention: 401 days later the ledger is past a 400-day period.
			h.clock.Advance(401 * 24 * time.Hour)
			out, err = runCLI(t, h, "purge", "--older-than", "400d", "--class", "ledger")
			if err != nil || !strings.Contains(out, "ledger") || strings.Contains(out, "ledger     0 deleted") {
				t.Fatalf("purge --older-than 400d: %v\n%s", err, out)
			}
			if recs := h.trail(t, idb); len(recs) != 0 {
				t.Fatalf("Trail(B) after the retention = %+v", recs)
			}
		})
	}
}

// TestEndToEndZaakDestroyWaitsForGrace: with store.zaak_purge_grace the
// destroy notification waits on the bus, not in a worker, and the zaak's
// records stay until the grace period has passed.
func TestEndToEndZaakDestroyWaitsForGrace(t *testing.T) {
	h := startHarness(t, "embedded", func(c *config.Config) { c.Store.ZaakPurgeGrace = time.Hour })
	ctx := context.Background()
	oz, d := h.sb.OpenZaak, h.sb.Demo
	za := d.ZaakInwoner
	na := statusNotification(oz, za, oz.SetStatus(za.URL, d.Statustypen[0], h.clock.Now()))
	h.post(t, na)
	ida := httpapi.NotificationID(na)
	eventually(t, 20*time.Second, "the email delivered", func() bool {
		return hasStatus(h.trail(t, ida), "settle", event.OutcomeDelivered)
	})
	destroy := event.Notification{Kanaal: "zaken", HoofdObject: za.URL, Resource: "zaak", ResourceURL: za.URL,
		Actie: "destroy", Aanmaakdatum: h.clock.Now().UTC(), Kenmerken: map[string]string{"zaaktype": za.Zaaktype}}
	h.post(t, destroy)
	eventually(t, 20*time.Second, "the destroy notification to wait on the bus", func() bool {
		n, err := h.app.Bus().Pending(ctx, event.TopicInbound)
		return err == nil && n == 1
	})
	time.Sleep(300 * time.Millisecond) // several poll intervals: nothing may happen yet
	ref := store.ZaakRef([]byte(h.app.Config().Store.SubjectKey), za.URL)
	if len(h.trail(t, store.PurgedTraceID(ref))) != 0 || len(h.trail(t, ida)) == 0 {
		t.Fatal("the zaak was purged before the grace period ended")
	}
	h.clock.Advance(time.Hour)
	eventually(t, 20*time.Second, "the purge after the grace period", func() bool {
		return len(h.trail(t, store.PurgedTraceID(ref))) == 1
	})
	if recs := h.trail(t, ida); len(recs) != 0 {
		t.Fatalf("Trail after the purge = %+v", recs)
	}
}
