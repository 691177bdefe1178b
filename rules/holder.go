package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/clock"
)

// HolderOptions configures a Holder. Every field is optional.
type HolderOptions struct {
	// Meter receives koerier_rules_last_reload_successful (1 or 0),
	// koerier_rules_hash (the first 8 hex digits of the content hash as a
	// number, with the first 12 hex digits as attribute "hash") and
	// koerier_rules_last_reload_success_timestamp_seconds.
	Meter  metric.Meter
	Logger *slog.Logger
	Now    func() time.Time
}

// ReloadStatus is what GET /admin/rules shows.
type ReloadStatus struct {
	Path string `json:"path"`
	// Hash is the content hash of the rules in use.
	Hash     string    `json:"hash"`
	LoadedAt time.Time `json:"loadedAt"`
	Rules    int       `json:"rules"`
	// LastAttempt is the time of the last reload, successful or not.
	LastAttempt          time.Time `json:"lastAttempt"`
	LastReloadSuccessful bool      `json:"lastReloadSuccessful"`
	// LastError is the last failed reload's error, every problem on its own
	// line; empty after a successful reload.
	LastError string `json:"lastError,omitempty"`
}

// Holder keeps the rules in use and swaps them atomically on reload. The
// router calls Current for every message; a reload does all fallible work
// (read, parse, compile, validate) before the swap, and a failed reload
// keeps the previous rules, so the router is never without rules.
type Holder struct {
	path   string
	opts   HolderOptions
	cur    atomic.Pointer[RuleSet]
	mu     sync.Mutex // serialises reloads and guards status
	status ReloadStatus
	// seen is the hash of the content last tried, so Watch reacts to a
	// change once rather than re-reporting a broken file every tick.
	seen string
}

// NewHolder loads path; it fails when the initial rules do not load, since
// there is nothing to fall back to.
func NewHolder(path string, opts HolderOptions) (*Holder, error) {
	h := &Holder{path: path, opts: opts}
	if h.opts.Now == nil {
		h.opts.Now = clock.System
	}
	if h.opts.Logger == nil {
		h.opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := h.Reload(); err != nil {
		return nil, err
	}
	if opts.Meter != nil {
		if err := h.registerMetrics(opts.Meter); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Current returns the rules in use; never nil after NewHolder succeeded.
func (h *Holder) Current() *RuleSet { return h.cur.Load() }

// Reload reads and compiles the rules again and swaps them in. On failure
// the previous rules stay in use and the error is remembered in Status.
func (h *Holder) Reload() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reloadLocked()
}

func (h *Holder) reloadLocked() error {
	now := h.opts.Now()
	h.status.Path = h.path
	h.status.LastAttempt = now
	srcs, err := ReadSources(h.path)
	var rs *RuleSet
	var hash string
	if err == nil {
		hash = Hash(srcs)
		h.seen = hash
		rs, err = LoadSources(srcs...)
	}
	if err != nil {
		h.status.LastReloadSuccessful = false
		h.status.LastError = err.Error()
		var es Errors
		n := 1
		if errors.As(err, &es) {
			n = len(es)
		}
		h.opts.Logger.Error("rules: reload failed; keeping the previous rules", "path", h.path, "errors", n, "error", err.Error())
		return fmt.Errorf("rules: reload %s: %w", h.path, err)
	}
	h.cur.Store(rs)
	h.status.Hash = hash
	h.status.LoadedAt = now
	h.status.Rules = len(rs.rules)
	h.status.LastReloadSuccessful = true
	h.status.LastError = ""
	h.opts.Logger.Info("rules: loaded", "path", h.path, "hash", hash[:12], "rules", len(rs.rules), "warnings", len(rs.warnings))
	for _, w := range rs.warnings {
		h.opts.Logger.Warn("rules: "+w.Msg, "at", w.Pos.String(), "hint", w.Hint)
	}
	return nil
}

// Status reports the rules in use and the outcome of the last reload.
func (h *Holder) Status() ReloadStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// Watch polls the file or folder every interval and reloads when its
// content changes, until ctx is done. Polling a hash needs no platform file
// events and also notices a ConfigMap's symlink swap.
func (h *Holder) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.CheckForChange()
		}
	}
}

// CheckForChange reloads when the content differs from what was last tried
// and reports whether it reloaded. Watch calls it on every tick.
func (h *Holder) CheckForChange() bool {
	srcs, err := ReadSources(h.path)
	if err != nil {
		// A folder being rewritten may be briefly missing; the next tick
		// sees the result.
		return false
	}
	hash := Hash(srcs)
	h.mu.Lock()
	defer h.mu.Unlock()
	if hash == h.seen {
		return false
	}
	_ = h.reloadLocked() // logged and kept in Status
	return true
}

func (h *Holder) registerMetrics(m metric.Meter) error {
	ok, err := m.Int64ObservableGauge("koerier_rules_last_reload_successful",
		metric.WithDescription("1 when the last rules reload succeeded, 0 when it failed and the previous rules are still in use"))
	if err != nil {
		return fmt.Errorf("rules: metrics: %w", err)
	}
	hashGauge, err := m.Int64ObservableGauge("koerier_rules_hash",
		metric.WithDescription("the first 8 hex digits of the hash of the rules in use, as a number; attribute hash has 12 hex digits"))
	if err != nil {
		return fmt.Errorf("rules: metrics: %w", err)
	}
	loadedAt, err := m.Int64ObservableGauge("koerier_rules_last_reload_success_timestamp_seconds",
		metric.WithDescription("when the rules in use were loaded, in Unix seconds"), metric.WithUnit("s"))
	if err != nil {
		return fmt.Errorf("rules: metrics: %w", err)
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := h.Status()
		v := int64(0)
		if st.LastReloadSuccessful {
			v = 1
		}
		o.ObserveInt64(ok, v)
		o.ObserveInt64(loadedAt, st.LoadedAt.Unix())
		if len(st.Hash) >= 12 {
			n, _ := strconv.ParseInt(st.Hash[:8], 16, 64)
			o.ObserveInt64(hashGauge, n, metric.WithAttributes(attribute.String("hash", st.Hash[:12])))
		}
		return nil
	}, ok, hashGauge, loadedAt)
	if err != nil {
		return fmt.Errorf("rules: metrics: %w", err)
	}
	return nil
}
