// Command koerier is Koerier's single binary: the router (serve), a
// self-contained demonstration (demo), and the tools for operators and
// functional admins (rules, trail, deadletter, subscribe, ...).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// subcommands are added to the root command; each command's file registers
// its constructor in an init function, so that adding a command touches one
// file.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

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
