package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/rules"
)

func init() { register(newConfigCmd) }

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check Koerier's configuration",
	}
	cmd.AddCommand(newConfigCheckCmd())
	return cmd
}

func newConfigCheckCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Check a configuration as serve would, without opening the bus or the store",
		Long: `Checks everything serve checks before it starts: every key and value of
--config (file:line: key path for each problem), secrets present, peers' URLs
well-formed, Notify API key and TLS files usable, and the rules file loads.
It opens neither the bus nor the store and calls no peer, so it is safe in CI
and before a deploy. Exits 1 on any error; a secret still holding a change-me
placeholder is a WARN.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConfigCheck(cmd.OutOrStdout(), path)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	return cmd
}

func runConfigCheck(out io.Writer, path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		printErrors(out, err)
		return errReported
	}
	warnings := cfg.Warnings()
	for _, w := range warnings {
		fmt.Fprintln(out, "WARN:", w)
	}
	rs, errs := app.Check(cfg)
	for _, e := range errs {
		printErrors(out, e)
	}
	if len(errs) > 0 {
		return errReported
	}
	fmt.Fprintf(out, "%s: OK\n", path)
	fmt.Fprintf(out, "  bus:      %s\n", describeBus(cfg))
	fmt.Fprintf(out, "  store:    %s\n", describeStore(cfg))
	fmt.Fprintf(out, "  rules:    %s: %d rules, %d messages\n", cfg.Rules.Path, len(rs.Rules()), len(rs.Messages()))
	fmt.Fprintf(out, "  peers:    %s\n", strings.Join(configuredPeers(cfg), ", "))
	fmt.Fprintf(out, "  listen:   %s (public %s)\n", cfg.Server.Listen, orNone(cfg.Server.PublicURL))
	fmt.Fprintf(out, "  warnings: %d\n", len(warnings))
	return nil
}

// printErrors prints one line per problem (config errors are joined).
func printErrors(w io.Writer, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			printErrors(w, e)
		}
		return
	}
	var res rules.Errors
	if errors.As(err, &res) {
		for _, e := range res {
			fmt.Fprintln(w, "error:", e)
		}
		return
	}
	fmt.Fprintln(w, "error:", err)
}

// warnPlaceholders logs, loudly, every secret that is still a change-me
// placeholder of the example config.
func warnPlaceholders(log *slog.Logger, cfg config.Config) {
	for _, w := range cfg.Warnings() {
		log.Warn("INSECURE CONFIGURATION: a secret is still the example's placeholder; set a real one before this serves anyone",
			"key", w.Key, "at", fmt.Sprintf("%s:%d", w.File, w.Line))
	}
}

func describeBus(cfg config.Config) string {
	if cfg.Bus.Backend == "amqp" {
		return "amqp (RabbitMQ, prefetch " + fmt.Sprint(cfg.Bus.AMQP.Prefetch) + ")"
	}
	return "sqlite (" + cfg.Bus.SQLite.Path + ")"
}

func describeStore(cfg config.Config) string {
	if cfg.Store.Backend == "redis" {
		return "redis (" + cfg.Store.Redis.Addr + ")"
	}
	return "sqlite (" + cfg.Store.SQLitePath + ")"
}

func configuredPeers(cfg config.Config) []string {
	var peers []string
	for _, p := range []struct{ name, url string }{
		{"zaken", cfg.ZGW.Zaken}, {"catalogi", cfg.ZGW.Catalogi}, {"besluiten", cfg.ZGW.Besluiten},
		{"documenten", cfg.ZGW.Documenten}, {"objecten", cfg.ZGW.Objecten}, {"openklant", cfg.OpenKlant.URL},
		{"brp", cfg.BRP.URL}, {"kvk", cfg.KVK.URL}, {"berichtenbox", cfg.Berichtenbox.ValidatieURL}, {"notify", cfg.Notify.URL},
	} {
		if p.url != "" {
			peers = append(peers, p.name)
		}
	}
	if len(peers) == 0 {
		return []string{"none"}
	}
	return peers
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
