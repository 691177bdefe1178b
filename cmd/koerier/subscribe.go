package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/nrc"
	"github.com/mijnservices/koerier/internal/telemetry"
)

func init() { register(newSubscribeCmd) }

// newSubscribeCmd registers (or updates) Koerier's abonnement at Open
// Notificaties. It is idempotent: run it at every deploy.
func newSubscribeCmd() *cobra.Command {
	var path string
	var force bool
	cmd := &cobra.Command{
		Use:   "subscribe",
		Short: "Create or update Koerier's abonnement at Open Notificaties (idempotent)",
		Long: `Makes sure Open Notificaties has exactly one abonnement whose callbackUrl is
<server.public_url>/api/v1/notificaties, with the kanalen and filters of
zgw.kanalen and the first of server.notificaties_tokens as its auth.
Open Notificaties probes the callback when it creates or updates the
abonnement, so Koerier must be running and reachable at public_url.
Open Notificaties never returns an abonnement's auth: after rotating the
token, run with --force-update.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			if cfg.ZGW.OpenNotificaties == "" || cfg.Server.PublicURL == "" || len(cfg.Server.NotificatiesTokens) == 0 {
				return errors.New("subscribe: zgw.open_notificaties, server.public_url and server.notificaties_tokens must be set")
			}
			log := telemetry.NewLogger(os.Stderr, cfg.Telemetry.LogFormat, cfg.Telemetry.LogLevel)
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			var kanalen []nrc.Kanaal
			for _, k := range cfg.ZGW.Kanalen {
				kanalen = append(kanalen, nrc.Kanaal{Naam: k.Naam, Filters: k.Filters})
			}
			res, err := nrc.Sync(ctx, httpclient.New(httpclient.Options{Logger: log}), nrc.Options{
				BaseURL: cfg.ZGW.OpenNotificaties, ClientID: cfg.ZGW.ClientID, Secret: cfg.ZGW.Secret,
				CallbackURL:  strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/api/v1/notificaties",
				CallbackAuth: cfg.Server.NotificatiesTokens[0], Kanalen: kanalen, ForceUpdate: force,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "abonnement %s: %s\n", res.Action, res.URL)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	cmd.Flags().BoolVar(&force, "force-update", false, "update the abonnement even if it looks unchanged (after rotating the callback token)")
	return cmd
}
