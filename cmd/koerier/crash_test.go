package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// TestMain lets the crash test run this test binary as `koerier serve`.
func TestMain(m *testing.M) {
	if path := os.Getenv("KOERIER_TEST_SERVE_CONFIG"); path != "" {
		root := newRootCmd()
		root.SetArgs([]string{"serve", "--config", path})
		if err := root.Execute(); err != nil {
			fmt.Fprintln(os.Stderr, "koerier:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe starts `koerier serve` as a child process and waits until it
// answers /healthz. The child's wall clock is set to clk's time (a test
// binary honours clock.TestWallClockEnv), so that it runs on the same clock
// as the sandbox fakes of the parent.
func startServe(t *testing.T, cfgPath, url string, logf *os.File, clk *clock.Fake) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KOERIER_TEST_SERVE_CONFIG="+cfgPath,
		clock.TestWallClockEnv+"="+clk.Now().Format(time.RFC3339Nano))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "koerier serve to answer /healthz", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return cmd
}

// TestCrashRecovery kills `koerier serve` with SIGKILL while accepted
// notifications are in flight, restarts it on the same data folder, and
// requires every accepted notification to produce exactly one email.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	addr := freeAddr(t)
	url := "http://" + addr
	clk := clock.NewFake(clock.WorkingDay)
	sb, err := sandbox.Start(sandbox.Options{NotifyCallbackURL: url + "/api/v1/callbacks/notify", NotifyTemplates: templatesFor(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	dir := t.TempDir()
	rulesAbs, _ := filepath.Abs(rulesFile)
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Server.Listen = addr
	cfg.Server.NotificatiesTokens = []string{"Token crash"}
	cfg.Store.SubjectKey = "crash-subject-key"
	cfg.Rules.Path = rulesAbs
	noWatch := time.Duration(0)
	cfg.Rules.WatchInterval = &noWatch
	// Short visibility timeout and lease, so the restarted process takes
	// over what the killed one held within seconds rather than minutes.
	cfg.Bus.SQLite.VisibilityTimeout = 2 * time.Second
	cfg.Bus.SQLite.PollInterval = 20 * time.Millisecond
	cfg.Pipeline.DeliveryLease = 2 * time.Second
	cfg.Pipeline.TemporaryBackoff = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second}
	cfg.Telemetry.LogLevel = "warn"
	sb.Configure(&cfg)
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "koerier.yaml")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()

	const n = 40
	oz, d := sb.OpenZaak, sb.Demo
	var notes []event.Notification
	for i := 0; i < n; i++ {
		z := newDemoZaak(oz, d, fmt.Sprintf("ZAAK-CRASH-%03d", i), "Crash", openzaak.DemoBSNJansen, "Jan")
		notes = append(notes, statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], clk.Now())))
	}

	child := startServe(t, cfgPath, url, logf, clk)
	h := &harness{url: url, token: "Token crash"}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	work := make(chan event.Notification)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for nt := range work {
				if h.post(t, nt) == http.StatusNoContent {
					accepted.Add(1)
				}
			}
		}()
	}
	for _, nt := range notes {
		work <- nt
	}
	close(work)
	wg.Wait()
	// Kill it mid-stream: some emails are out, the rest are somewhere in
	// the bus between the stages.
	eventually(t, 30*time.Second, "the first emails to go out", func() bool { return len(sb.Notify.Sent()) >= 3 })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	atKill := len(sb.Notify.Sent())
	t.Logf("accepted %d notifications; %d emails sent before SIGKILL", accepted.Load(), atKill)
	if accepted.Load() != n {
		t.Fatalf("accepted %d of %d before the kill", accepted.Load(), n)
	}

	child = startServe(t, cfgPath, url, logf, clk)
	defer func() {
		_ = child.Process.Signal(syscall.SIGTERM)
		_ = child.Wait()
	}()
	eventually(t, 90*time.Second, "every accepted notification to be emailed", func() bool {
		return len(sb.Notify.Sent()) >= n
	})
	// Give a duplicate, if the pipeline would make one, time to show up.
	time.Sleep(3 * time.Second)
	sent := sb.Notify.Sent()
	refs := map[string]int{}
	for _, s := range sent {
		refs[s.Reference]++
	}
	if len(sent) != n || len(refs) != n {
		logs, _ := os.ReadFile(logf.Name())
		t.Fatalf("after the crash: %d emails with %d distinct references for %d accepted notifications, want exactly one each\n%s", len(sent), len(refs), n, logs)
	}
}
