package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/store"
)

func init() {
	register(newPurgeCmd)
	register(newStoreCmd)
}

// parseAge reads a retention period: a Go duration ("2160h") or a number
// of days ("400d").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a number of days (e.g. 400d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a period (e.g. 400d or 2160h)", s)
	}
	return d, nil
}

func newPurgeCmd() *cobra.Command {
	var (
		path, zaak, olderThan string
		retention             bool
		classes               []string
	)
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete everything about a zaak, or what is older than its retention period",
		Long: `Deletes personal data from the store (SQLite or Redis).

  koerier purge --config koerier.yaml --zaak https://zaken.example.nl/zaken/api/v1/zaken/UUID
      every ledger line, delivery plan, done marker, lease, group window and
      taak state about that zaak, as a 'zaken zaak destroy' notification does;
      one ledger line remains saying that a zaak was purged (only a keyed
      hash of its URL; find it with koerier trail --zaak URL).
  koerier purge --config koerier.yaml --retention
      applies the configured retention per data class: ledger
      (store.ledger_retention), taak_state (store.retention.taak_state) and
      dedup markers (store.retention.dedup).
  koerier purge --config koerier.yaml --older-than 400d [--class ledger,taak_state,dedup]
      the same with one period for the chosen classes (default: all).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, set := range []bool{zaak != "", olderThan != "", retention} {
				if set {
					n++
				}
			}
			if n != 1 {
				return errors.New("purge: give one of --zaak URL, --older-than PERIOD or --retention")
			}
			var age time.Duration
			if olderThan != "" {
				var err error
				if age, err = parseAge(olderThan); err != nil {
					return fmt.Errorf("purge: --older-than: %w", err)
				}
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
			defer cancel()
			return runPurge(ctx, cmd.OutOrStdout(), cfg, zaak, age, classes)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	cmd.Flags().StringVar(&zaak, "zaak", "", "URL of the zaak to purge")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "delete what is older than this period (400d, 2160h)")
	cmd.Flags().BoolVar(&retention, "retention", false, "apply the configured retention per data class")
	cmd.Flags().StringSliceVar(&classes, "class", nil, "data classes for --older-than/--retention: ledger, taak_state, dedup (default all)")
	return cmd
}

func runPurge(ctx context.Context, w io.Writer, cfg config.Config, zaak string, age time.Duration, classes []string) error {
	st, err := app.OpenStore(ctx, cfg, operatorClock)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	defer st.Close()
	if zaak != "" {
		stats, err := app.PurgeZaak(ctx, st, []byte(cfg.Store.SubjectKey), zaak, operatorClock())
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "Zaak purged: %d ledger record(s) and %d other entr(ies) deleted; one line records the purge (%s).\n",
			stats.Records, stats.Keys, store.PurgedTraceID(store.ZaakRef([]byte(cfg.Store.SubjectKey), zaak)))
		return nil
	}
	got, err := app.Retain(ctx, st, cfg, age, classes, operatorClock())
	for _, c := range app.Classes {
		if n, ok := got[c]; ok {
			fmt.Fprintf(w, "%-10s %d deleted\n", c, n)
		}
	}
	return err
}

func newStoreCmd() *cobra.Command {
	var path string
	root := &cobra.Command{Use: "store", Short: "Maintain the store (SQLite or Redis)"}
	rekey := &cobra.Command{
		Use:   "rekey",
		Short: "Re-encrypt every stored value under store.data_key",
		Long: `Rotating the data key:
  1. set store.data_key_previous to the current key and store.data_key to a
     new one (openssl rand -base64 32); restart Koerier (it reads both);
  2. koerier store rekey --config koerier.yaml: every value still under the
     previous key (or stored before encryption) is rewritten under the new
     key, keeping its expiry;
  3. when it reports 0 rewritten, remove store.data_key_previous.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Minute)
			defer cancel()
			st, err := app.OpenStore(ctx, cfg, operatorClock)
			if err != nil {
				return fmt.Errorf("rekey: %w", err)
			}
			defer st.Close()
			e, ok := st.(*store.Encrypted)
			if !ok {
				return fmt.Errorf("rekey: the %T store is not encrypted", st)
			}
			stats, err := e.Rekey(ctx)
			fmt.Fprintf(cmd.OutOrStdout(), "%d value(s) read, %d rewritten under store.data_key.\n", stats.Scanned, stats.Rewritten)
			return err
		},
	}
	rekey.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	root.AddCommand(rekey)
	return root
}
