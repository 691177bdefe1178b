package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/telemetry"
)

func init() { register(newServeCmd) }

func newServeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the router: webhooks, pipeline and admin API",
		Long: `Runs Koerier as configured in --config (see config/koerier.example.yaml).
Without a bus or store section it runs on the embedded default: SQLite files
in data_dir, one process, no servers. SIGHUP reloads the rules; SIGINT and
SIGTERM stop it gracefully (nothing accepted is lost either way).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			log := telemetry.NewLogger(os.Stderr, cfg.Telemetry.LogFormat, cfg.Telemetry.LogLevel)
			warnPlaceholders(log, cfg)
			// Fail on what config check would find before the bus and
			// the store are opened.
			if _, errs := app.Check(cfg); len(errs) > 0 {
				return errors.Join(errs...)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := app.New(ctx, cfg, log, nil)
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.Listen(); err != nil {
				return err
			}
			log.Info("koerier serving", "url", a.URL(), "bus", cfg.Bus.Backend, "store", cfg.Store.Backend, "rules", cfg.Rules.Path)
			return a.Run(ctx)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	return cmd
}
