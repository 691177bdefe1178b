package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/channels/batch"
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
  koerier batch show --config koerier.yaml koerier-20260609-1600-1
  koerier batch flush --config koerier.yaml --profile default`,
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
	var channel, profile string
	flush := &cobra.Command{
		Use:   "flush",
		Short: "Seal the open batch now, whatever the cut-off, and hand it over",
		Long: `Seals the open bucket of a print profile now (every profile without
--profile), hands the batch to the print street and publishes the
outcomes, as the cut-off would. A running koerier serve holding the lock
makes flush wait for nothing: it reports that another replica seals.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			return flushBatches(cmd.Context(), cmd.OutOrStdout(), cfg, channel, profile)
		},
	}
	flush.Flags().StringVar(&channel, "channel", event.ChannelPrint, "the batching channel")
	flush.Flags().StringVar(&profile, "profile", "", "only this profile (default: every profile of the channel)")
	cmd.AddCommand(list, show, flush)
	return cmd
}

// flushBatches seals and hands over the channel's open buckets now, with
// a progress line per batch.
func flushBatches(ctx context.Context, w io.Writer, cfg config.Config, channel, profile string) error {
	if channel != event.ChannelPrint {
		return fmt.Errorf("batch flush: channel %q does not batch here (only %s)", channel, event.ChannelPrint)
	}
	if len(cfg.Print.Profiles) == 0 {
		return fmt.Errorf("batch flush: the configuration has no print profiles (print.profiles)")
	}
	ch, err := app.PrintChannel(cfg, operatorClock)
	if err != nil {
		return fmt.Errorf("batch flush: %w", err)
	}
	st, err := app.OpenStore(ctx, cfg, operatorClock)
	if err != nil {
		return fmt.Errorf("batch flush: %w", err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	b, err := app.OpenBus(ctx, cfg, operatorClock, log)
	if err != nil {
		return fmt.Errorf("batch flush: %w", err)
	}
	defer b.Close()
	s := batch.NewSealer(st, b.Publisher, []batch.Channel{ch}, batch.Options{Now: operatorClock, Logger: log})
	start := time.Now()
	var last time.Time
	ctx = batch.WithProgress(ctx, func(id string, done, total int) {
		if done < total && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r%s  %s  %d/%d brieven", id, progressBar(done, total, 30), done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	})
	bs, err := s.Flush(ctx, channel, profile)
	for _, x := range bs {
		fmt.Fprintf(w, "%s: %d brieven in %s, overgedragen (%s)\n", x.ID, x.Items, x.Bucket, time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		return fmt.Errorf("batch flush: %w", err)
	}
	if len(bs) == 0 {
		fmt.Fprintln(w, "Niets te verzegelen: de bak is leeg, of een andere replica verzegelt hem nu.")
	}
	return nil
}

func progressBar(done, total, width int) string {
	n := width
	if total > 0 {
		n = done * width / total
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
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
