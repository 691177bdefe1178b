package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/telemetry"
)

func init() { register(newDeadletterCmd) }

func newDeadletterCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "deadletter",
		Short: "List and replay messages in the dead-letter queue (koerier.deadletter)",
		Long: `A message lands in the dead-letter queue (topic koerier.deadletter) when
retrying cannot help: a configuration error (a wrong Notify API key or
template), a malformed payload, a peer that refused us (403), or a message
that failed on every re-queue. Every such step is also in the ledger (see
'koerier trail'). Fix the cause, then replay: each message goes back to the
topic it failed on, as if new, with a koerier_replayed counter.

  koerier deadletter list   --config koerier.yaml [--max 50] [--json]
  koerier deadletter replay --config koerier.yaml [--max N] [--topic koerier.deliveries.email] [--dry-run]`,
	}
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	load := func() (config.Config, error) { return config.Load(path) }
	cmd.AddCommand(newDeadletterListCmd(load), newDeadletterReplayCmd(load))
	return cmd
}

func newDeadletterListCmd(load func() (config.Config, error)) *cobra.Command {
	var (
		max    int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show dead-lettered messages: why, where from, and the ids inside (never the payload)",
		Long: `Shows up to --max dead-lettered messages, oldest first, without taking them
off the queue: the reason, the topic and handler they failed in, and the
notification, event and delivery ids inside (use 'koerier trail ID' for the
whole story). The payload itself is not shown: it may hold personal data.

On the embedded SQLite bus the list only reads the database. On RabbitMQ it
takes the messages unacknowledged and hands them back by closing its
channel: they stay in the queue, but their delivery count rises by one and
their order may change; messages another process holds at that moment are
not listed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			return listDeadLetters(ctx, cmd.OutOrStdout(), cfg, max, asJSON)
		},
	}
	cmd.Flags().IntVar(&max, "max", 50, "show at most this many messages")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines for scripts")
	return cmd
}

func newDeadletterReplayCmd(load func() (config.Config, error)) *cobra.Command {
	var o replayOptions
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Send dead-lettered messages back to the topic they failed on",
		Long: `Takes messages from koerier.deadletter, oldest first, and publishes each to
the topic it failed on (topic_poisoned) with the failure's metadata removed
and koerier_replayed incremented, then acknowledges it. The pipeline then
handles it as new; its idempotency keys still stop a second email for a
delivery that did go out. Ends when --max messages are replayed or no dead
letter arrived for 2 s. Fix the cause first, or the message returns: one
that fails again during the run is left in the queue, not replayed again.

--topic replays only messages from that topic; the others stay in the
queue, moved to its end. --dry-run lists what would be replayed and
changes nothing.

Progress ("replayed 120/500") goes to standard error, the summary to
standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if o.DryRun {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Minute)
				defer cancel()
			}
			o.Progress = cmd.ErrOrStderr()
			return replayDeadLetters(ctx, cmd.OutOrStdout(), cfg, o)
		},
	}
	cmd.Flags().IntVar(&o.Max, "max", 0, "replay at most this many messages (0: all)")
	cmd.Flags().StringVar(&o.Topic, "topic", "", "replay only messages that failed on this topic, e.g. koerier.deliveries.email")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "show what would be replayed; change nothing")
	return cmd
}

// listDeadLetters prints up to max dead letters, or JSON lines for scripts.
func listDeadLetters(ctx context.Context, w io.Writer, cfg config.Config, max int, asJSON bool) error {
	dls, err := app.PeekDeadLetters(ctx, cfg, operatorClock, max)
	if err != nil {
		return fmt.Errorf("deadletter: list: %w", err)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, d := range dls {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
		return nil
	}
	if len(dls) == 0 {
		fmt.Fprintln(w, "The dead-letter queue is empty.")
		return nil
	}
	for i, d := range dls {
		printDeadLetter(w, i+1, d)
	}
	if len(dls) == max {
		fmt.Fprintf(w, "(showing the first %d; there may be more: use --max)\n", max)
	}
	return nil
}

func printDeadLetter(w io.Writer, n int, d app.DeadLetter) {
	fmt.Fprintf(w, "%d. message %s from %s", n, d.UUID, orDash(d.Topic))
	if d.Handler != "" {
		fmt.Fprintf(w, " (handler %s)", d.Handler)
	}
	fmt.Fprintln(w)
	if !d.DeadSince.IsZero() {
		fmt.Fprintf(w, "   dead-lettered  %s\n", localTime(d.DeadSince))
	}
	for i, l := range wrap(orDash(d.Reason), 90) {
		label := ""
		if i == 0 {
			label = "reason"
		}
		fmt.Fprintf(w, "   %-14s %s\n", label, l)
	}
	if d.Replayed > 0 {
		fmt.Fprintf(w, "   %-14s %d time(s) before\n", "replayed", d.Replayed)
	}
	for _, f := range [][2]string{{"notification", d.Notification}, {"event", d.EventID}, {"delivery", d.DeliveryID}, {"channel", d.Channel}} {
		if f[1] != "" {
			fmt.Fprintf(w, "   %-14s %s\n", f[0], f[1])
		}
	}
	fmt.Fprintln(w)
}

// replayOptions are the replay command's flags.
type replayOptions struct {
	// Max is the most messages to replay; 0 means all.
	Max int
	// Topic, when set, replays only messages that failed on it.
	Topic  string
	DryRun bool
	// Idle ends the replay when no dead letter arrived for this long
	// (default 2s).
	Idle time.Duration
	// Progress receives "replayed 120/500" lines; nil for none.
	Progress io.Writer
}

func replayDeadLetters(ctx context.Context, w io.Writer, cfg config.Config, o replayOptions) error {
	if o.DryRun {
		max := o.Max
		if max <= 0 {
			max = 10000
		}
		dls, err := app.PeekDeadLetters(ctx, cfg, operatorClock, max)
		if err != nil {
			return fmt.Errorf("deadletter: replay: %w", err)
		}
		n := 0
		for _, d := range dls {
			if o.Topic != "" && d.Topic != o.Topic {
				continue
			}
			n++
			fmt.Fprintf(w, "would replay %s to %s (%s)\n", d.UUID, orDash(d.Topic), telemetry.Mask(firstLine(d.Reason)))
		}
		fmt.Fprintf(w, "dry run: %d message(s) would be replayed; nothing changed\n", n)
		return nil
	}
	log := telemetry.NewLogger(os.Stderr, cfg.Telemetry.LogFormat, "warn")
	b, err := app.OpenBus(ctx, cfg, operatorClock, log)
	if err != nil {
		return err
	}
	defer b.Close()
	st, err := app.Replay(ctx, b, app.ReplayOptions{Max: o.Max, Topic: o.Topic, Idle: o.Idle, Progress: o.Progress})
	fmt.Fprintf(w, "replayed %d message(s)", st.Replayed)
	if st.Skipped > 0 {
		fmt.Fprintf(w, ", left %d from other topics in the queue", st.Skipped)
	}
	if st.Unknown > 0 {
		fmt.Fprintf(w, ", left %d whose origin topic is unknown", st.Unknown)
	}
	if st.FailedAgain > 0 {
		fmt.Fprintf(w, "; %d failed again and are back in the queue (is the cause fixed? see 'koerier deadletter list')", st.FailedAgain)
	}
	fmt.Fprintln(w)
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
