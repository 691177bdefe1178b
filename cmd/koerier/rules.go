package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/rules"
)

func init() { register(newRulesCmd) }

// Exit codes of the rules commands (see docs/regels.md): 0 all is well,
// 1 errors in the rule file, failing cases, or wrong use of the command.
func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check, test and explain routing rules",
		Long: "Tools for the functional admins who write Koerier's routing rules.\n" +
			"PATH is a rule file or a folder of *.yaml rule files. See docs/regels.md.",
	}
	cmd.AddCommand(newRulesCheckCmd(), newRulesTestCmd(), newRulesExplainCmd(), newRulesFieldsCmd())
	return cmd
}

// errReported tells main to exit 1 without printing again what the
// command already printed.
var errReported = errors.New("see above")

func loadRules(w io.Writer, path string) (*rules.RuleSet, error) {
	rs, err := rules.Load(path)
	if err != nil {
		var es rules.Errors
		if errors.As(err, &es) {
			for _, e := range es {
				fmt.Fprintln(w, "error:", e)
			}
			return nil, fmt.Errorf("rules in %s: %d error(s)", path, len(es))
		}
		return nil, err
	}
	return rs, nil
}

// installedChannels reads which channels the installation configured in
// the Koerier config file at path (the channels serve would register).
func installedChannels(path string) (func(string) bool, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	reg, err := app.Channels(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return nil, fmt.Errorf("channels in %s: %w", path, err)
	}
	return func(ch string) bool { _, ok := reg.Get(ch); return ok }, nil
}

func newRulesCheckCmd() *cobra.Command {
	var strict bool
	var configPath string
	cmd := &cobra.Command{
		Use:   "check PATH",
		Short: "Check a rule file or folder: exit 0, or print every error with file:line:column and exit 1",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			rs, err := loadRules(out, args[0])
			if err != nil {
				return err
			}
			warnings := len(rs.Warnings())
			for _, w := range rs.Warnings() {
				fmt.Fprintln(out, "warning:", w)
			}
			if configPath != "" {
				has, err := installedChannels(configPath)
				if err != nil {
					return err
				}
				for _, g := range rs.PlanGaps(has) {
					fmt.Fprintln(out, "warning:", g)
					warnings++
				}
			}
			fmt.Fprintf(out, "%s: %d rules, %d messages, %d warning(s)\n", args[0], len(rs.Rules()), len(rs.Messages()), warnings)
			if strict && warnings > 0 {
				return fmt.Errorf("rules in %s: %d warning(s) with --strict", args[0], warnings)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors (exit 1)")
	cmd.Flags().StringVar(&configPath, "config", "", "Koerier config file: also warn about every rule plan this installation cannot deliver")
	return cmd
}

func newRulesTestCmd() *cobra.Command {
	var casesPath string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test PATH --cases CASES.yaml",
		Short: "Run expected decisions against the rules; print a diff and exit 1 on any mismatch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			rs, err := loadRules(out, args[0])
			if err != nil {
				return err
			}
			cases, err := rules.LoadCases(casesPath)
			if err != nil {
				var es rules.Errors
				if errors.As(err, &es) {
					for _, e := range es {
						fmt.Fprintln(out, "error:", e)
					}
					return fmt.Errorf("cases in %s: %d error(s)", casesPath, len(es))
				}
				return err
			}
			failed := 0
			for _, res := range rs.RunCases(cases) {
				if res.Passed() {
					fmt.Fprintf(out, "PASS  %s\n", res.Case.Name)
					if verbose {
						printDecisions(out, res.Decisions)
					}
					continue
				}
				failed++
				fmt.Fprintf(out, "FAIL  %s (%s)\n", res.Case.Name, res.Case.Pos)
				for _, d := range res.Diffs {
					fmt.Fprintln(out, "      "+d)
				}
				fmt.Fprintln(out, "      explanation:")
				for _, d := range res.Decisions {
					for _, line := range d.Explanation {
						fmt.Fprintln(out, "        "+line)
					}
				}
			}
			fmt.Fprintf(out, "%d of %d cases passed\n", len(cases)-failed, len(cases))
			if failed > 0 {
				return fmt.Errorf("%d case(s) failed", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&casesPath, "cases", "", "the cases file (required)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print the explanation of passing cases")
	_ = cmd.MarkFlagRequired("cases")
	return cmd
}

func newRulesExplainCmd() *cobra.Command {
	var eventPath, recipientPath, role, nowText, configPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain PATH --event FILE [--recipient FILE]",
		Short: "Explain which rules were tried, which matched and why, and how the channel plan was expanded",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			rs, err := loadRules(out, args[0])
			if err != nil {
				return err
			}
			var ev event.Event
			if err := rules.DecodeFile(eventPath, &ev); err != nil {
				return err
			}
			var rcpt *event.Recipient
			if recipientPath != "" {
				rcpt = &event.Recipient{}
				if err := rules.DecodeFile(recipientPath, rcpt); err != nil {
					return err
				}
			}
			var has func(string) bool
			if configPath != "" {
				if has, err = installedChannels(configPath); err != nil {
					return err
				}
			}
			now := clock.System()
			if nowText != "" {
				if now, err = time.Parse(time.RFC3339, nowText); err != nil {
					return fmt.Errorf("--now %q is not an RFC 3339 time like 2026-01-05T22:30:00+01:00", nowText)
				}
			}
			var all []event.Decision
			for _, e := range rs.Explain(rules.ExplainInput{Event: &ev, Recipient: rcpt, Role: role, Now: now, Has: has}) {
				all = append(all, e.Decisions...)
				if !asJSON {
					fmt.Fprintln(out, e.Header())
					for _, line := range e.Lines() {
						fmt.Fprintln(out, line)
					}
				}
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			if has == nil {
				fmt.Fprintln(out, "(no --config given: every channel counts as configured; with --config the plan is trimmed to the channels this installation has)")
			}
			if rcpt == nil {
				fmt.Fprintln(out, "(no --recipient given: the plan is expanded for a recipient of whom nothing is known)")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&eventPath, "event", "", "event file, JSON or YAML (required)")
	cmd.Flags().StringVar(&recipientPath, "recipient", "", "recipient facts, JSON or YAML")
	cmd.Flags().StringVar(&role, "role", "", "only the subject with this rol (initiator, gemachtigde, ...)")
	cmd.Flags().StringVar(&nowText, "now", "", "decision time (RFC 3339), default now")
	cmd.Flags().StringVar(&configPath, "config", "", "Koerier config file: trim the plan to the channels this installation has, as the router does")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the decisions as JSON")
	_ = cmd.MarkFlagRequired("event")
	return cmd
}

func newRulesFieldsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "fields",
		Short: "List every field a condition (when:) or a personalisation template ({{ .zaak.uuid }}) can use",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			for _, f := range rules.Fields() {
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
		},
	}
}

func printDecisions(w io.Writer, ds []event.Decision) {
	for _, line := range rules.DecisionLines(ds) {
		fmt.Fprintln(w, line)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
