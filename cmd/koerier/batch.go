package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

func init() { register(newBatchCmd) }

func newBatchCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Show the batches of the batching channels (printstraat, Berichtenbox)",
		Long: `Lists the sealed batches and shows what is in one, for the print street
and the functional admins. Times are Europe/Amsterdam.

  koerier batch list --config koerier.yaml
  koerier batch show --config koerier.yaml koerier-20260609-1600-1`,
	}
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	withStore := func(cmd *cobra.Command, f func(ctx context.Context, st store.Store) error) error {
		cfg, err := config.Load(path)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		st, err := app.OpenStore(ctx, cfg, operatorClock)
		if err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		defer st.Close()
		return f(ctx, st)
	}
	var bucket, state string
	list := &cobra.Command{
		Use:   "list",
		Short: "List sealed batches, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st store.Store) error {
				bs, err := st.ListBatches(ctx, bucket, state)
				if err != nil {
					return fmt.Errorf("batch list: %w", err)
				}
				printBatches(cmd.OutOrStdout(), bs)
				return nil
			})
		},
	}
	list.Flags().StringVar(&bucket, "bucket", "", "only this bucket (channel/profile, e.g. print/default)")
	list.Flags().StringVar(&state, "state", "", "only this state (sealed or sent)")
	var asJSON bool
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one batch and its deliveries",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, st store.Store) error {
				b, items, ok, err := st.Batch(ctx, args[0])
				if err != nil {
					return fmt.Errorf("batch show: %w", err)
				}
				if !ok {
					return fmt.Errorf("batch show: no batch %q", args[0])
				}
				return printBatch(cmd.OutOrStdout(), b, items, asJSON)
			})
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.AddCommand(list, show)
	return cmd
}

func printBatches(w io.Writer, bs []store.Batch) {
	if len(bs) == 0 {
		fmt.Fprintln(w, "Geen batches.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH\tBUCKET\tSTATE\tITEMS\tSEALED\tSENT")
	for _, b := range bs {
		sent := "-"
		if !b.SentAt.IsZero() {
			sent = localTime(b.SentAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", b.ID, b.Bucket, b.State, b.Items, localTime(b.SealedAt), sent)
	}
	tw.Flush()
}

// printBatch shows the deliveries of a batch without personal data beyond
// what the print street sees: delivery id, event, message and language.
func printBatch(w io.Writer, b store.Batch, items []store.BatchItem, asJSON bool) error {
	type line struct {
		DeliveryID string `json:"deliveryId"`
		InboundID  string `json:"inboundId"`
		Message    string `json:"message"`
		Template   string `json:"template"`
		Language   string `json:"language"`
	}
	var lines []line
	for _, it := range items {
		var d event.Delivery
		if err := json.Unmarshal(it.Payload, &d); err != nil {
			return fmt.Errorf("batch show: item %s: %w", it.ID, err)
		}
		lines = append(lines, line{d.ID, d.InboundID, d.Decision.Message, d.TemplateID, d.Recipient.Language})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			store.Batch
			Deliveries []line `json:"deliveries"`
		}{b, lines})
	}
	printBatches(w, []store.Batch{b})
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELIVERY\tNOTIFICATION\tMESSAGE\tTEMPLATE\tLANGUAGE")
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.DeliveryID, l.InboundID, l.Message, l.Template, l.Language)
	}
	return tw.Flush()
}
