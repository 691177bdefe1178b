// Command koerier is Koerier's single binary: the router (serve), a
// self-contained demonstration (demo), and the tools for operators and
// functional admins (rules, trail, deadletter, subscribe, ...).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/internal/clock"
)

// subcommands are added to the root command; each command's file registers
// its constructor in an init function, so that adding a command touches one
// file.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

// operatorClock is the clock on which the operator commands (deadletter,
// trail, explain-recipient) open the bus and the store. A message they put
// back must be due on the clock of the router that reads it; the
// end-to-end tests run the router on a fake clock and set this to it.
var operatorClock = clock.System

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "koerier",
		Short:         "Koerier routes ZGW case and task events to citizens and companies",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "koerier", version)
		},
	})
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "koerier:", err)
		os.Exit(1)
	}
}
