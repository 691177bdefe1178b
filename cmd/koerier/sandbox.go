package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/rules"
)

func init() { register(newSandboxCmd) }

// sandboxExample is the shipped example notification the sandbox's Open Zaak
// knows: its zaak, status and initiator are seeded at the example
// configuration's Open Zaak address.
const sandboxExample = "config/examples/status-created.json"

func newSandboxCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the router with fakes of its peers on the example configuration's addresses, until Ctrl-C",
		Long: `Starts fakes of Open Zaak, Objecten, Open Klant 2 and Notify NL on the
addresses --config names for them (config/koerier.example.yaml: 127.0.0.1
ports 8001, 8004, 8003 and 8005; BRP, KVK and Berichtenbox on free ports),
and Koerier itself as 'serve' would run it, with the fakes' credentials.
It keeps running until Ctrl-C, so you can post notifications with curl and
follow them with 'koerier trail --config' on the same configuration.

The fake Open Zaak knows the zaak of ` + sandboxExample + `:

  curl -i -X POST http://127.0.0.1:8080/api/v1/notificaties \
    -H 'Authorization: Token change-me-notificaties' \
    -H 'Content-Type: application/json' --data @` + sandboxExample + `

Bus and store are whatever --config says (the example: SQLite in data_dir).
The fakes keep nothing: a restart starts from their seeded demo people.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			log := telemetry.NewLogger(os.Stderr, cfg.Telemetry.LogFormat, cfg.Telemetry.LogLevel)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runSandbox(ctx, cmd.OutOrStdout(), path, cfg, log, nil, nil)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file whose peer addresses the fakes take")
	return cmd
}

// sandboxRun is what runSandbox started, for a test to look into.
type sandboxRun struct {
	sb  *sandbox.Sandbox
	app *app.App
}

// runSandbox starts the fakes on cfg's peer addresses and Koerier on cfg,
// pointed at the fakes, and serves until ctx ends. now is the clock of both
// (nil: the wall clock); started, when set, is called once both listen.
func runSandbox(ctx context.Context, out io.Writer, cfgPath string, cfg config.Config, log *slog.Logger, now func() time.Time, started func(sandboxRun)) error {
	addrs, err := sandboxAddrs(cfg)
	if err != nil {
		return err
	}
	rs, err := rules.Load(cfg.Rules.Path)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	base := strings.TrimSuffix(cfg.Server.PublicURL, "/")
	if base == "" {
		base = "http://" + cfg.Server.Listen
	}
	sb, err := sandbox.Start(sandbox.Options{Addrs: addrs, NotifyCallbackURL: base + "/api/v1/callbacks/notify",
		NotifyTemplates: notifyTemplates(rs), Now: now})
	if err != nil {
		return fmt.Errorf("%w (is another koerier sandbox running?)", err)
	}
	defer sb.Close()
	sb.Configure(&cfg)
	if err := config.Finish(&cfg); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, log, now)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Listen(); err != nil {
		return err
	}
	printSandboxIntro(out, cfgPath, cfg, sb, a.URL())
	if started != nil {
		started(sandboxRun{sb: sb, app: a})
	}
	return a.Run(ctx)
}

// sandboxAddrs are the listen addresses of the fakes, taken from the peers'
// URLs in cfg. They must be loopback addresses: the fakes are for this
// machine only, and a hostname such as openzaak.gemeente.example would not
// resolve anyway.
func sandboxAddrs(cfg config.Config) (sandbox.Addrs, error) {
	var a sandbox.Addrs
	for _, p := range []struct {
		key, raw string
		addr     *string
	}{
		{"zgw.zaken", cfg.ZGW.Zaken, &a.OpenZaak}, {"zgw.objecten", cfg.ZGW.Objecten, &a.Objecten},
		{"openklant.url", cfg.OpenKlant.URL, &a.OpenKlant}, {"notify.url", cfg.Notify.URL, &a.Notify},
	} {
		u, err := url.Parse(p.raw)
		if err != nil || u.Port() == "" {
			return a, fmt.Errorf("sandbox: %s is %q; the sandbox needs a loopback URL with a port there, as in config/koerier.example.yaml", p.key, p.raw)
		}
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return a, fmt.Errorf("sandbox: %s is %s; the fakes listen on this machine only: use a 127.0.0.1 address, as config/koerier.example.yaml does", p.key, p.raw)
		}
		*p.addr = u.Host
	}
	// The fake Open Zaak serves Zaken, Catalogi, Besluiten and Documenten
	// under one address.
	for key, raw := range map[string]string{"zgw.catalogi": cfg.ZGW.Catalogi, "zgw.besluiten": cfg.ZGW.Besluiten, "zgw.documenten": cfg.ZGW.Documenten} {
		if u, err := url.Parse(raw); raw != "" && (err != nil || u.Host != a.OpenZaak) {
			return a, fmt.Errorf("sandbox: %s is %s; the fake Open Zaak serves it at %s, as zgw.zaken", key, raw, a.OpenZaak)
		}
	}
	return a, nil
}

func printSandboxIntro(out io.Writer, cfgPath string, cfg config.Config, sb *sandbox.Sandbox, koerierURL string) {
	fmt.Fprintf(out, "Koerier sandbox: router on %s, bus %s, store %s\n", koerierURL, describeBus(cfg), describeStore(cfg))
	fmt.Fprintf(out, "Fake peers: Open Zaak %s, Objecten %s, Open Klant %s, Notify NL %s\n\n",
		sb.OpenZaak.BaseURL(), cfg.ZGW.Objecten, sb.OpenKlant.BaseURL(), cfg.Notify.URL)
	token := "<a value of server.notificaties_tokens>"
	if len(cfg.Server.NotificatiesTokens) > 0 && strings.Contains(cfg.Server.NotificatiesTokens[0], "change-me") {
		token = cfg.Server.NotificatiesTokens[0] // the example's placeholder, not a secret
	}
	fmt.Fprintf(out, "Post the example notification (Open Zaak sets a status on Jan Jansen's zaak):\n\n")
	fmt.Fprintf(out, "  curl -i -X POST %s/api/v1/notificaties -H 'Authorization: %s' \\\n    -H 'Content-Type: application/json' --data @%s\n\n", koerierURL, token, sandboxExample)
	id := "ID"
	if raw, err := os.ReadFile(sandboxExample); err == nil {
		if n, err := httpapi.ParseNotification(raw); err == nil {
			id = httpapi.NotificationID(n)
		}
	}
	fmt.Fprintf(out, "and follow it to the email the fake Notify NL accepted:\n\n  koerier trail --config %s %s\n\nCtrl-C stops the sandbox.\n", cfgPath, id)
}
