package app

import (
	"context"
	"errors"
	"io/fs"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/console"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/router"
	"github.com/mijnservices/koerier/rules"
)

// mountConsole serves the web console under /console/ when it is enabled.
// printBatches is the print channel's hook; nil hides the page.
func (a *App) mountConsole(printBatches console.PrintBatches) {
	c := a.cfg.Console
	if !c.Enabled {
		return
	}
	examples, _ := fs.Sub(config.Examples, "examples")
	a.api.Mount(console.Prefix, console.New(console.Options{
		Backend: consoleBackend{a}, PrintBatches: printBatches,
		AdminTokens: a.cfg.Server.AdminTokens, KCCTokens: c.KCCTokens,
		SessionKey: []byte(c.SessionKey), SessionTTL: c.SessionTTL, InsecureCookie: c.InsecureCookie, RecipientLookup: c.RecipientLookup,
		Examples: examples, Now: a.now, Logger: a.log,
	}))
}

// consoleReplayMax bounds one replay from the console.
const consoleReplayMax = 500

// consoleBackend is what the console reads and changes of this app.
type consoleBackend struct{ a *App }

func (b consoleBackend) Health(ctx context.Context) []console.Check {
	check := func(name string, err error) console.Check {
		if err != nil {
			return console.Check{Name: name, Detail: err.Error()}
		}
		return console.Check{Name: name, OK: true}
	}
	out := []console.Check{
		check("bus ("+b.a.bus.Backend()+")", b.a.bus.Ping(ctx)),
		check("opslag ("+b.a.cfg.Store.Backend+")", b.a.store.Ping(ctx)),
	}
	st := b.a.rules.Status()
	var rerr error
	if !st.LastReloadSuccessful && st.LastError != "" {
		rerr = errors.New("laatste herlaadpoging mislukt; de vorige regels gelden")
	}
	out = append(out, check("regels", rerr))
	return out
}

func (b consoleBackend) Queues(ctx context.Context) []console.Queue {
	var out []console.Queue
	for _, t := range router.Topics(b.a.channels.Names()) {
		n, err := b.a.bus.Pending(ctx, t)
		q := console.Queue{Topic: t, Pending: n}
		if err != nil {
			q.Err = err.Error()
		}
		out = append(out, q)
	}
	return out
}

func (b consoleBackend) Recent(ctx context.Context, n int) ([]store.Record, error) {
	return b.a.store.Recent(ctx, n)
}

func (b consoleBackend) RulesStatus() rules.ReloadStatus { return b.a.rules.Status() }

func (b consoleBackend) Rules() (*rules.RuleSet, []rules.Source, error) {
	srcs, err := rules.ReadSources(b.a.cfg.Rules.Path)
	return b.a.rules.Current(), srcs, err
}

func (b consoleBackend) ReloadRules() error { return b.a.rules.Reload() }

func (b consoleBackend) HasChannel(name string) bool { _, ok := b.a.channels.Get(name); return ok }

func (b consoleBackend) Trail(ctx context.Context, q console.TrailQuery) ([]store.Record, error) {
	if q.Text != "" {
		return nil, errors.New("zoeken op zaak kan nog niet: het logboek bewaart de zaak niet bij de stappen; zoek op het notificatie-id of op BSN/KVK")
	}
	return Trail(ctx, b.a.store, []byte(b.a.cfg.Store.SubjectKey), TrailQuery{ID: q.ID, Subject: q.Subject})
}

func (b consoleBackend) DeadLetters(ctx context.Context, max int) ([]console.DeadLetter, error) {
	ds, err := PeekDeadLetters(ctx, b.a.cfg, b.a.now, max)
	if err != nil {
		return nil, err
	}
	out := make([]console.DeadLetter, len(ds))
	for i, d := range ds {
		out[i] = console.DeadLetter{UUID: d.UUID, Topic: d.Topic, Handler: d.Handler, Reason: d.Reason, Kind: d.Kind,
			Notification: d.Notification, EventID: d.EventID, DeliveryID: d.DeliveryID, Chan: d.Channel,
			Replayed: d.Replayed, DeadSince: d.DeadSince}
	}
	return out, nil
}

func (b consoleBackend) Replay(ctx context.Context, f console.ReplayFilter) (console.ReplayResult, error) {
	// A bulk replay from a browser must end before the HTTP write timeout;
	// the rest stays in the queue for the next click (or the CLI).
	o := ReplayOptions{UUID: f.UUID, Reason: f.Reason, Max: consoleReplayMax}
	if f.UUID != "" {
		o.Max = 1
	}
	st, err := Replay(ctx, b.a.bus, o)
	return console.ReplayResult{Replayed: st.Replayed, Left: st.Skipped + st.Unknown, FailedAgain: st.FailedAgain}, err
}

// LookupRecipient resolves s with everything the route stage may ask for,
// so the tester sees what a plan with every channel would see.
func (b consoleBackend) LookupRecipient(ctx context.Context, s event.Subject) (event.Recipient, error) {
	return b.a.recipients.Resolve(ctx, s, klant.Need{Digital: true, Postal: true, Berichtenbox: true}, "")
}
