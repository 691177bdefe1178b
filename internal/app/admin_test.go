package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/clock"
)

// TestAdminRoutes builds an App on the embedded backends without peers and
// checks that the admin API it mounts answers only with the admin token.
func TestAdminRoutes(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.File = "(test)"
	cfg.DataDir = dir
	cfg.Bus.SQLite.Path = filepath.Join(dir, "bus.db")
	cfg.Store.SQLitePath = filepath.Join(dir, "store.db")
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Server.NotificatiesTokens = []string{"Token t"}
	cfg.Server.AdminTokens = []string{"Bearer admin"}
	cfg.Store.SubjectKey = "k"
	cfg.Rules.Path = "../../config/rules.example.yaml"
	noWatch := time.Duration(0)
	cfg.Rules.WatchInterval = &noWatch
	if err := config.Finish(&cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler), clock.NewFake(clock.WorkingDay).Now)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })

	get := func(method, path, auth string) (int, string) {
		req, _ := http.NewRequest(method, a.URL()+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct {
		method, path, auth string
		want               int
		body               string
	}{
		{"GET", "/admin/rules", "", http.StatusUnauthorized, ""},
		{"GET", "/admin/rules", "Bearer wrong", http.StatusForbidden, ""},
		{"GET", "/admin/rules", "Bearer admin", http.StatusOK, `"hash"`},
		{"POST", "/admin/rules/reload", "Bearer admin", http.StatusOK, `"hash"`},
		{"GET", "/admin/trail/unknown", "Bearer admin", http.StatusOK, ""},
		{"GET", "/admin/ledger", "Bearer admin", http.StatusOK, ""},
		{"GET", "/metrics", "", http.StatusUnauthorized, ""},
		{"GET", "/metrics", "Bearer admin", http.StatusOK, ""},
		{"GET", "/readyz", "", http.StatusOK, `"ok"`},
	} {
		code, body := get(tt.method, tt.path, tt.auth)
		if code != tt.want || !strings.Contains(body, tt.body) {
			t.Errorf("%s %s (auth %q) = %d %s; want %d with %s", tt.method, tt.path, tt.auth, code, body, tt.want, tt.body)
		}
	}
}
