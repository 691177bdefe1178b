package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	_ "time/tzdata" // admins read Dutch time; a slim container may lack the zone database

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

func init() { register(newTrailCmd) }

// amsterdam is the zone functional admins and auditors think in.
var amsterdam = clock.Amsterdam

func localTime(t time.Time) string {
	return t.In(amsterdam).Format("2006-01-02 15:04:05.000 MST")
}

// trailQuery says which ledger records to show: exactly one of ID, Subject
// or Recent is set.
type trailQuery struct {
	ID      string
	Subject event.Subject
	Recent  int
	Zaak    string
	JSON    bool
}

func newTrailCmd() *cobra.Command {
	var (
		path                  string
		q                     trailQuery
		bsn, kvkNr, vestiging string
		rsin, partij          string
	)
	cmd := &cobra.Command{
		Use:   "trail [ID]",
		Short: "Show every recorded decision and attempt for a notification, event, delivery or person",
		Long: `Prints the ledger: every step Koerier took (ingest, enrich, route, deliver,
settle), oldest first, with the rule that decided, the channel, the provider's
id and the sentence that explains it; times in Europe/Amsterdam.

ID is a notification's id (its dedup key, as in the webhook's logs and the
ledger's traceId), an event id or a delivery id (Notify's "reference").

  koerier trail --config koerier.yaml 5c0d2c6f...            one notification
  koerier trail --config koerier.yaml --bsn 999993653         everything about an inwoner
  koerier trail --config koerier.yaml --kvk 69599084 [--vestiging 000012345678]
  koerier trail --config koerier.yaml --zaak https://.../zaken/UUID   everything about a zaak
  koerier trail --config koerier.yaml --recent 20 [--json]

The ledger stores no BSN: --bsn/--kvk/--rsin/--partij compute the same keyed
hash the router records (store.subject_key), so they only find records made
under the current key. A bedrijf recorded with a vestigingsnummer is found
only with --vestiging. BSNs are never printed in clear.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				q.ID = args[0]
			}
			if bsn != "" || kvkNr != "" || rsin != "" || partij != "" {
				q.Subject = event.Subject{BSN: bsn, KVK: kvkNr, Vestigingsnummer: vestiging, RSIN: rsin, PartijURL: partij}
			}
			n := 0
			for _, set := range []bool{q.ID != "", q.Subject != (event.Subject{}), q.Recent > 0, q.Zaak != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return errors.New("trail: give one of an ID, --bsn, --kvk, --rsin, --partij, --zaak URL or --recent N")
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			return runTrail(ctx, cmd.OutOrStdout(), cfg, q)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config/koerier.example.yaml", "configuration file")
	cmd.Flags().StringVar(&bsn, "bsn", "", "BSN of an inwoner")
	cmd.Flags().StringVar(&kvkNr, "kvk", "", "KVK number of a bedrijf")
	cmd.Flags().StringVar(&vestiging, "vestiging", "", "vestigingsnummer (with --kvk)")
	cmd.Flags().StringVar(&rsin, "rsin", "", "RSIN of a rechtspersoon")
	cmd.Flags().StringVar(&partij, "partij", "", "Open Klant partij URL")
	cmd.Flags().IntVar(&q.Recent, "recent", 0, "show the newest N records")
	cmd.Flags().StringVar(&q.Zaak, "zaak", "", "zaak URL: every record about the zaak (or the line saying it was purged)")
	cmd.Flags().BoolVar(&q.JSON, "json", false, "print the records as JSON")
	return cmd
}

func runTrail(ctx context.Context, w io.Writer, cfg config.Config, q trailQuery) error {
	st, err := app.OpenStore(ctx, cfg, operatorClock)
	if err != nil {
		return fmt.Errorf("trail: %w", err)
	}
	defer st.Close()
	what := trailHeading(q)
	recs, err := app.Trail(ctx, st, []byte(cfg.Store.SubjectKey), app.TrailQuery{ID: q.ID, Subject: q.Subject, Recent: q.Recent, Zaak: q.Zaak})
	if err != nil {
		return fmt.Errorf("trail: %w", err)
	}
	if q.JSON {
		for i := range recs {
			recs[i].Detail = telemetry.Mask(recs[i].Detail)
		}
		if recs == nil {
			recs = []store.Record{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(recs)
	}
	printLedger(w, what, recs)
	return nil
}

// trailHeading names the records q asks for, for the heading.
func trailHeading(q trailQuery) string {
	switch {
	case q.ID != "":
		return "id " + q.ID
	case q.Subject != (event.Subject{}):
		return describeSubject(q.Subject)
	case q.Zaak != "":
		return "zaak " + q.Zaak
	}
	return fmt.Sprintf("the newest %d records", q.Recent)
}

func describeSubject(s event.Subject) string {
	switch {
	case s.BSN != "":
		return "BSN " + telemetry.MaskBSN(s.BSN)
	case s.KVK != "" && s.Vestigingsnummer != "":
		return "KVK " + s.KVK + " vestiging " + s.Vestigingsnummer
	case s.KVK != "":
		return "KVK " + s.KVK
	case s.RSIN != "":
		return "RSIN " + telemetry.MaskBSN(s.RSIN)
	}
	return "partij " + s.PartijURL
}

// printLedger writes records for a reader, grouped per notification.
func printLedger(w io.Writer, what string, recs []store.Record) {
	if len(recs) == 0 {
		fmt.Fprintf(w, "No ledger records for %s.\n", what)
		return
	}
	fmt.Fprintf(w, "Ledger for %s: %d record(s), oldest first, times in Europe/Amsterdam.\n", what, len(recs))
	trace := ""
	for _, r := range recs {
		if r.TraceID != trace {
			trace = r.TraceID
			fmt.Fprintf(w, "\nnotification %s\n", r.TraceID)
		}
		head := fmt.Sprintf("  %s  %-8s %-10s", localTime(r.At), r.Stage, r.Status)
		var parts []string
		if r.Channel != "" {
			parts = append(parts, "channel "+r.Channel)
		}
		if r.Rule != "" {
			parts = append(parts, "rule "+r.Rule)
		}
		fmt.Fprintln(w, strings.TrimRight(head+" "+strings.Join(parts, ", "), " "))
		const indent = "      "
		for _, l := range wrap(telemetry.Mask(r.Detail), 88) {
			fmt.Fprintf(w, "%s%s\n", indent, l)
		}
		var ids []string
		if r.EventID != "" {
			ids = append(ids, "event "+r.EventID)
		}
		if r.DeliveryID != "" {
			ids = append(ids, "delivery "+r.DeliveryID)
		}
		if r.ProviderID != "" {
			ids = append(ids, "provider id "+r.ProviderID)
		}
		if len(ids) > 0 {
			fmt.Fprintf(w, "%s[%s]\n", indent, strings.Join(ids, ", "))
		}
	}
}
