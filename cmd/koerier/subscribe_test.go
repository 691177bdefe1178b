package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/internal/sandbox/opennotificaties"
)

// TestSubscribeCommand runs `koerier subscribe` against a fake Open
// Notificaties that probes the callback the way the real one does, with a
// running Koerier as the callback: first run creates, second is a no-op.
func TestSubscribeCommand(t *testing.T) {
	h := startHarness(t, "embedded")
	on := opennotificaties.New("", map[string]string{sandbox.ZGWClientID: sandbox.ZGWSecret})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: on, ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	on.SetBaseURL("http://" + ln.Addr().String())

	cfg := h.app.Config()
	cfg.ZGW.OpenNotificaties = on.APIRoot()
	cfg.Server.PublicURL = h.url
	cfg.Server.NotificatiesTokens = []string{h.token}
	cfg.ZGW.Kanalen = []config.Kanaal{{Naam: "zaken"}, {Naam: "objecten"}}
	raw, _ := yaml.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "koerier.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() string {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetArgs([]string{"subscribe", "--config", path})
		if err := root.Execute(); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		return out.String()
	}
	if got := run(); !strings.Contains(got, "abonnement created") {
		t.Fatalf("first run: %q, want Created", got)
	}
	if got := run(); !strings.Contains(got, "abonnement unchanged") {
		t.Fatalf("second run: %q, want Unchanged", got)
	}
	if n := len(on.Abonnementen()); n != 1 {
		t.Fatalf("%d abonnementen, want 1", n)
	}
}
