package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/telemetry"
)

const (
	exampleConfig       = "../../config/koerier.example.yaml"
	exampleNotification = "../../" + sandboxExample
)

// TestSandbox is a newcomer's first post: `koerier sandbox` on the example
// configuration, the shipped example notification posted with curl, an
// email at the fake Notify NL and the whole story in `koerier trail`. The
// test moves the example's fixed ports to free ones (through the example's
// own ${ENV} overrides) so it cannot collide with a sandbox someone runs.
func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	listen, oz, obj, ok, notify := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	for k, v := range map[string]string{
		"KOERIER_DATA_DIR": dir, "KOERIER_LISTEN": listen, "KOERIER_PUBLIC_URL": "http://" + listen,
		"KOERIER_ZAKEN_URL": "http://" + oz + "/zaken/api/v1", "KOERIER_CATALOGI_URL": "http://" + oz + "/catalogi/api/v1",
		"KOERIER_BESLUITEN_URL": "http://" + oz + "/besluiten/api/v1", "KOERIER_DOCUMENTEN_URL": "http://" + oz + "/documenten/api/v1",
		"KOERIER_OBJECTEN_URL": "http://" + obj + "/api/v2", "KOERIER_OPENKLANT_URL": "http://" + ok + "/klantinteracties/api/v1",
		"KOERIER_NOTIFY_URL": "http://" + notify, "KOERIER_RULES": rulesFile,
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(clock.WorkingDay)
	operatorClock = clk.Now
	t.Cleanup(func() { operatorClock = clock.System })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var intro bytes.Buffer
	runs := make(chan sandboxRun, 1)
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- runSandbox(ctx, &intro, exampleConfig, cfg, telemetry.NewLogger(logs, "json", "info"), clk.Now, func(r sandboxRun) { runs <- r })
	}()
	var run sandboxRun
	select {
	case run = <-runs:
	case err := <-done:
		t.Fatalf("sandbox ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox did not start")
	}
	select {
	case <-run.app.Running():
	case <-time.After(20 * time.Second):
		t.Fatal("router did not start")
	}
	if !strings.Contains(intro.String(), "--data @"+sandboxExample) {
		t.Errorf("the sandbox does not show the curl of the example:\n%s", intro.String())
	}

	// The example names the example config's Open Zaak (127.0.0.1:8001);
	// this test's Open Zaak listens elsewhere.
	raw, err := os.ReadFile(exampleNotification)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(string(raw), "127.0.0.1:8001", oz)
	n, err := httpapi.ParseNotification([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+listen+"/api/v1/notificaties", strings.NewReader(body))
	req.Header.Set("Authorization", "Token change-me-notificaties") // the example config's default
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("post the example: HTTP %d, want 204", resp.StatusCode)
	}

	eventually(t, 30*time.Second, "the email at the fake Notify NL", func() bool {
		return len(sentTo(run.sb, "jan.jansen@example.com")) == 1
	})
	id := httpapi.NotificationID(n)
	var out string
	eventually(t, 20*time.Second, "the delivery in koerier trail", func() bool {
		out, err = runKoerier(t, "trail", "--config", exampleConfig, id)
		return err == nil && strings.Contains(out, "deliver  sent") && strings.Contains(out, "settle   delivered")
	})
	if !strings.Contains(out, "channel email") || !strings.Contains(out, "provider id "+sentTo(run.sb, "jan.jansen@example.com")[0].ID) {
		t.Errorf("koerier trail %s does not show the email with Notify's id:\n%s", id, out)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sandbox ended with %v", err)
	}
}

// TestSandboxREADME keeps the README's first post honest: it posts the
// example the sandbox knows, and the trail command it shows names that
// notification's id.
func TestSandboxREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(exampleNotification)
	if err != nil {
		t.Fatal(err)
	}
	n, err := httpapi.ParseNotification(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"koerier sandbox", "--data @" + sandboxExample, "trail --config config/koerier.example.yaml " + httpapi.NotificationID(n)} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	for _, addr := range []string{"127.0.0.1:8001"} {
		if !strings.Contains(string(raw), addr) {
			t.Errorf("%s does not point at the example config's Open Zaak %s", sandboxExample, addr)
		}
	}
}
