package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mijnservices/koerier/channels"
	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/internal/zgw"
	"github.com/mijnservices/koerier/rules"
)

// runBenchChild is the router process of koerier bench: Koerier as serve
// builds it (internal/app), or the peers-only router, on the inherited
// listener, until SIGTERM.
func runBenchChild(raw string) error {
	var c benchChild
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return err
	}
	if err := config.Finish(&c.Config); err != nil {
		return err
	}
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		return fmt.Errorf("inherited listener: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.Pprof != "" {
		pln, err := net.Listen("tcp", c.Pprof)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		go func() { _ = http.Serve(pln, pprofMux()) }()
	}
	cfg := c.Config
	log := telemetry.NewLogger(os.Stderr, cfg.Telemetry.LogFormat, cfg.Telemetry.LogLevel)
	if c.PeersOnly {
		return runPeersOnly(ctx, cfg, log, ln)
	}
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	a.UseListener(ln)
	return a.Run(ctx)
}

// pprofMux serves net/http/pprof (not on http.DefaultServeMux, which
// nothing else here should expose).
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// runPeersOnly is the ceiling: a router that does per notification what
// Koerier's stages do towards the peers — the zgw enricher (Open Zaak,
// same client and JWTs), the recipient resolver (Open Klant, same client)
// and the rules' decision, then the Notify email channel's Send (same
// client, including its reference look-up) — with an unbounded in-memory
// queue instead of bus, store and ledger, and no dedup, retries or
// callbacks handling. It is what the peers allow on this machine, not a
// router anyone should run.
func runPeersOnly(ctx context.Context, cfg config.Config, log *slog.Logger, ln net.Listener) error {
	enricher, err := zgw.New(app.ZGWConfig(cfg, nil, log))
	if err != nil {
		return err
	}
	// Koerier keeps Open Klant, BRP and Berichtenbox answers in its store
	// for a while (the route stage asks twice when a plan needs postal
	// facts); the ceiling keeps them in memory.
	resolver, err := app.Resolver(cfg, &memCacheStore{m: map[string]memEntry{}}, log)
	if err != nil {
		return err
	}
	reg, err := app.Channels(cfg, log, nil)
	if err != nil {
		return err
	}
	rs, err := rules.Load(cfg.Rules.Path)
	if err != nil {
		return err
	}
	q := &memQueue{}
	q.cond = sync.NewCond(&q.mu)
	tokens := map[string]bool{}
	for _, t := range cfg.Server.NotificatiesTokens {
		tokens[t] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /api/v1/callbacks/notify", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/notificaties", func(w http.ResponseWriter, r *http.Request) {
		if !tokens[r.Header.Get("Authorization")] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, cfg.Server.MaxBodyBytes))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n, err := httpapi.ParseNotification(body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		q.push(event.Inbound{ID: httpapi.NotificationID(n), Source: event.SourceNotificaties, ReceivedAt: time.Now().UTC(), Notification: &n})
		w.WriteHeader(http.StatusAccepted)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// As many in flight as Koerier's three stages (enrich, route, deliver)
	// may have together.
	workers := 3 * cfg.Pipeline.Concurrency
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				in, ok := q.pop(ctx)
				if !ok {
					return
				}
				if err := peersOnlyHandle(ctx, enricher, resolver, reg, rs, in); err != nil {
					log.Warn("peers-only: event failed", "err", err)
				}
			}
		}()
	}
	<-ctx.Done()
	q.close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	wg.Wait()
	return nil
}

func peersOnlyHandle(ctx context.Context, enricher *zgw.Enricher, resolver *klant.Resolver, reg *channels.Registry, rs *rules.RuleSet, in event.Inbound) error {
	res, err := enricher.Enrich(ctx, in)
	if err != nil {
		return err
	}
	for i := range res.Events {
		ev := &res.Events[i]
		zaakID := ""
		if ev.Zaak != nil {
			zaakID = ev.Zaak.Identificatie
		}
		for _, s := range ev.Subjects {
			rcp, err := resolver.Resolve(ctx, s, klant.Need{Digital: true}, zaakID)
			if err != nil {
				return err
			}
			resolved := rules.Need{Digital: true}
			for _, m := range rs.MatchAll(rules.Input{Event: ev, Recipient: &rcp, Subject: s, Now: time.Now()}) {
				// As the route stage does: the registries a plan needs
				// (BRP for print, the Berichtenbox) are asked once it is
				// known that it needs them.
				if !m.Skip && ((m.Need.Postal && !resolved.Postal) || (m.Need.Berichtenbox && !resolved.Berichtenbox)) {
					need := klant.Need{Digital: true, Postal: m.Need.Postal || resolved.Postal, Berichtenbox: m.Need.Berichtenbox || resolved.Berichtenbox}
					if rcp, err = resolver.Resolve(ctx, s, need, zaakID); err != nil {
						return err
					}
					resolved = rules.Need{Digital: true, Postal: need.Postal, Berichtenbox: need.Berichtenbox}
				}
				dec := m.ExpandResolved(&rcp, resolved)
				if dec.Skip || len(dec.Plan) == 0 {
					continue
				}
				name := dec.Plan[0]
				ch, ok := reg.Get(name)
				if !ok {
					continue
				}
				tmpl, _ := rs.Template(dec.Message, name, dec.Language)
				pers := map[string]string{"naam": rcp.Name, "zaak_identificatie": zaakID}
				for k, v := range dec.Personalisation {
					pers[k] = v
				}
				d := event.Delivery{ID: benchDeliveryID(ev.ID, name, s.BSN+s.KVK, dec.Message), EventID: ev.ID, InboundID: in.ID,
					Channel: name, Decision: dec, Recipient: rcp, TemplateID: tmpl, Personalisation: pers}
				if _, err := ch.Send(ctx, d); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// memCacheStore is an in-memory store.Cache for the peers-only router's
// resolver; it has no claims or ledger (calling them panics: the resolver
// uses only the cache).
type memCacheStore struct {
	store.Store
	mu sync.Mutex
	m  map[string]memEntry
}

type memEntry struct {
	val []byte
	exp time.Time
}

func (c *memCacheStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || (!e.exp.IsZero() && !time.Now().Before(e.exp)) {
		return nil, false, nil
	}
	return e.val, true, nil
}

func (c *memCacheStore) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := memEntry{val: append([]byte(nil), val...)}
	if ttl > 0 {
		e.exp = time.Now().Add(ttl)
	}
	c.m[key] = e
	return nil
}

func (c *memCacheStore) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// memQueue is an unbounded FIFO of inbound messages.
type memQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []event.Inbound
	closed bool
}

func (q *memQueue) push(in event.Inbound) {
	q.mu.Lock()
	q.items = append(q.items, in)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *memQueue) pop(ctx context.Context) (event.Inbound, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return event.Inbound{}, false
	}
	in := q.items[0]
	q.items[0] = event.Inbound{}
	q.items = q.items[1:]
	return in, true
}

func (q *memQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// scaledBackend points cfg at RabbitMQ, in a fresh vhost made with
// rabbitmqctl, and Redis under a unique key prefix; cleanup removes both.
func scaledBackend(ctx context.Context, cfg *config.Config, o benchOptions) (func(), error) {
	id := fmt.Sprintf("koerier-bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	for _, args := range [][]string{{"add_vhost", id}, {"set_permissions", "-p", id, "guest", ".*", ".*", ".*"}} {
		if out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("bench: rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	cfg.Bus.Backend = "amqp"
	cfg.Bus.AMQP.URL = strings.TrimSuffix(o.AMQPURL, "/") + "/" + id
	cfg.Store.Backend = "redis"
	cfg.Store.Redis.Addr = o.RedisAddr
	cfg.Store.Redis.Prefix = id + ":"
	return func() {
		_ = exec.Command("rabbitmqctl", "delete_vhost", id).Run()
		rdb := redis.NewClient(&redis.Options{Addr: o.RedisAddr})
		defer rdb.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := rdb.Scan(cctx, 0, id+":*", 1000).Iterator()
		var keys []string
		for iter.Next(cctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				rdb.Unlink(cctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			rdb.Unlink(cctx, keys...)
		}
	}, nil
}
