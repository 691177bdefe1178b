package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/internal/omc"
	"github.com/mijnservices/koerier/rules"
)

func init() { register(newMigrateCmd) }

// newMigrateCmd groups the migrations from other notification routers.
func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Convert another notification router's settings into Koerier rules and config",
	}
	cmd.AddCommand(newMigrateOMCCmd())
	return cmd
}

func newMigrateOMCCmd() *cobra.Command {
	var envPath, out, configOut string
	cmd := &cobra.Command{
		Use:   "omc --env omc.env [--out rules.yaml] [--config-out koerier.yaml]",
		Short: "Convert a NotifyNL-OMC environment into rules and a config fragment",
		Long: `Reads the OMC's environment (KEY=VALUE lines as in a docker-compose .env,
or a ConfigMap as printed by kubectl get cm -o yaml) and writes a rules
file and a config fragment that behave as that OMC did: one rule per OMC
scenario for its whitelisted zaaktypen, with the same Notify templates.
Secrets are written as ${NAME} references, never copied. Every OMC
variable without a Koerier equivalent is listed with the reason on stderr.
The rules are checked as koerier rules check does before they are written.
See docs/migratie-omc.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if envPath == "" {
				return errors.New("migrate omc: --env is required")
			}
			src, err := os.ReadFile(envPath)
			if err != nil {
				return fmt.Errorf("migrate omc: %w", err)
			}
			env, err := omc.ParseEnv(src)
			if err != nil {
				return fmt.Errorf("migrate omc: %s: %w", envPath, err)
			}
			res, err := omc.Convert(env, omc.Options{Source: filepath.Base(envPath), RulesPath: out})
			if err != nil {
				return fmt.Errorf("migrate omc: %w", err)
			}
			// Check before writing, so that a failed conversion never
			// leaves a rules file a running Koerier would try to load.
			if _, err := rules.LoadSources(rules.Source{Name: out, Data: res.Rules}); err != nil {
				return fmt.Errorf("migrate omc: the converted rules do not pass rules check (a bug; please report it): %w", err)
			}
			if err := os.WriteFile(out, res.Rules, 0o644); err != nil {
				return fmt.Errorf("migrate omc: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rules written to %s\n", out)
			if configOut != "" {
				if err := os.WriteFile(configOut, res.Config, 0o644); err != nil {
					return fmt.Errorf("migrate omc: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "config fragment written to %s\n", configOut)
			}
			if un := res.Unmapped(); len(un) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "not mapped (%d):\n", len(un))
				for _, n := range un {
					fmt.Fprintf(cmd.ErrOrStderr(), "  %s: %s\n", n.Key, n.Reason)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&envPath, "env", "", "the OMC's environment file (.env or kubectl ConfigMap YAML)")
	cmd.Flags().StringVar(&out, "out", "rules.yaml", "where to write the rules")
	cmd.Flags().StringVar(&configOut, "config-out", "", "where to write the config fragment (not written when empty)")
	return cmd
}
