package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/klant"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

func init() { register(newExplainRecipientCmd) }

// newExplainRecipientCmd is for the KCC and functional admins: how would
// Koerier reach this inwoner or bedrijf, and where does each fact come from?
func newExplainRecipientCmd() *cobra.Command {
	var path, bsn, kvkNr, vestiging, partij, zaak string
	cmd := &cobra.Command{
		Use:   "explain-recipient",
		Short: "Show how Koerier would reach an inwoner or bedrijf, and the source of every fact",
		Long: `Resolves one subject against the configured registries (Open Klant 2, BRP,
KVK, Berichtenbox) exactly as the route stage does, and prints the result
with masked identifiers and the source of each fact.

  koerier explain-recipient --config koerier.yaml --bsn 999993653
  koerier explain-recipient --config koerier.yaml --kvk 69599084 --zaak ZAAK-2025-0000123`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := subjectFromFlags(bsn, kvkNr, vestiging, partij)
			if err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			log := telemetry.NewLogger(os.Stderr, cfg.Telemetry.LogFormat, "warn")
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if cfg.Store.Backend == "sqlite" {
				if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
					return err
				}
			}
			st, err := store.Open(ctx, app.StoreOptions(cfg, operatorClock))
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := app.Resolver(cfg, st, log)
			if err != nil {
				return err
			}
			return explainRecipient(ctx, cmd.OutOrStdout(), res, s, zaak)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	cmd.Flags().StringVar(&bsn, "bsn", "", "BSN of an inwoner")
	cmd.Flags().StringVar(&kvkNr, "kvk", "", "KVK number of a bedrijf")
	cmd.Flags().StringVar(&vestiging, "vestiging", "", "vestigingsnummer (with --kvk)")
	cmd.Flags().StringVar(&partij, "partij", "", "Open Klant partij URL")
	cmd.Flags().StringVar(&zaak, "zaak", "", "zaak identificatie (a digitaal adres with this referentie wins)")
	return cmd
}

func subjectFromFlags(bsn, kvkNr, vestiging, partij string) (event.Subject, error) {
	switch {
	case bsn != "":
		return event.Subject{Role: event.RoleInitiator, Kind: event.KindInwoner, BSN: bsn}, nil
	case kvkNr != "":
		return event.Subject{Role: event.RoleInitiator, Kind: event.KindBedrijf, KVK: kvkNr, Vestigingsnummer: vestiging}, nil
	case partij != "":
		return event.Subject{Role: event.RoleInitiator, PartijURL: partij}, nil
	}
	return event.Subject{}, errors.New("explain-recipient: give --bsn, --kvk or --partij")
}

func explainRecipient(ctx context.Context, w io.Writer, res *klant.Resolver, s event.Subject, zaak string) error {
	r, err := res.Resolve(ctx, s, klant.Need{Digital: true, Postal: true, Berichtenbox: true}, zaak)
	if err != nil {
		return fmt.Errorf("explain-recipient: %w", err)
	}
	return klant.Explain(w, r)
}
