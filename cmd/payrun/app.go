package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/payrun/payrun/internal/config"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/progress"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// app holds what every command shares: configuration, the clock, output.
type app struct {
	configFile string
	jsonOutput bool
	config     config.Config
	now        func() time.Time
	stdout     io.Writer
	stderr     io.Writer
}

func newApp() *app {
	return &app{now: func() time.Time { return time.Now().UTC() }, stdout: os.Stdout, stderr: os.Stderr}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "payrun",
		Short:         "Monthly publisher payouts and US tax withholding",
		Long:          "payrun pays a software marketplace's publishers every month and handles their US tax.\nConfiguration comes from environment variables (see the README), optionally from a file (--config).",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Usage mistakes first, before any configuration is read:
			// cobra checks required flags only after this hook, and as a
			// plain error (exit code 1).
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return &usageError{err}
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return &usageError{err}
			}
			if cmd.HasSubCommands() {
				return nil // a group of commands only prints its help
			}
			cfg, err := config.Load(a.configFile)
			if err != nil {
				return err
			}
			a.config = cfg
			if !cfg.Now.IsZero() {
				// An injected clock for one-shot commands: it advances from
				// the given instant at the real rate, so durations stay true.
				fmt.Fprintf(a.stderr, "payrun: PAYRUN_NOW=%s: taking that instant as now\n", cfg.Now.Format(time.RFC3339))
				start, offset := time.Now(), cfg.Now
				a.now = func() time.Time { return offset.Add(time.Since(start)).UTC() }
			}
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "a file of NAME=value settings (the environment wins)")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(a.versionCommand(), a.migrateCommand(), a.accountsCommand(), a.earningsCommand(), a.cycleCommand(),
		a.holdCommand(), a.payoutAccountCommand(), a.taxCommand(), a.fxCommand(), a.simulateCommand(), a.serveCommand(), a.operatorsCommand(), a.jobsCommand(), a.returnsCommand(), a.prenoteCommand(), a.statementCommand())
	root.AddCommand(a.partitionsCommand(), a.payoutsCommand())
	for _, cmd := range root.Commands() {
		wrapArgs(cmd)
	}
	groupCommands(root)
	return root
}

// groupCommands makes an unknown command a usage error (exit code 2) at
// every level: cobra checks the first word only (`payrun bogus`, as a plain
// error) and prints the help of a group for an unknown word after it
// (`payrun cycle bogus`, exit code 0). A group run alone still prints its
// help.
func groupCommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			message := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if suggestions := c.SuggestionsFor(args[0]); len(suggestions) > 0 {
				message += fmt.Sprintf(" (did you mean %s?)", strings.Join(suggestions, " or "))
			}
			return &usageError{errors.New(message)}
		}
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
	for _, child := range cmd.Commands() {
		groupCommands(child)
	}
}

// wrapArgs makes argument-count mistakes usage errors (exit code 2).
func wrapArgs(cmd *cobra.Command) {
	if cmd.Args != nil {
		check := cmd.Args
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	for _, child := range cmd.Commands() {
		wrapArgs(child)
	}
}

// openDB connects to the configured database.
func (a *app) openDB(cmd *cobra.Command) (*sqlx.DB, error) {
	database, err := db.Open(cmd.Context(), a.config.DatabaseURL)
	return database, a.databaseError(err)
}

// databaseError adds to an error opening the database where its URL came
// from when that was a file: the cluster a file points at (the user config
// or .data/database_url that some `make db` wrote) may have been stopped or
// deleted since, and the file is what to fix.
func (a *app) databaseError(err error) error {
	if err == nil || a.config.DatabaseURL == "" {
		return err
	}
	from := a.config.DatabaseURLFrom
	if from == "" || from == "DATABASE_URL" {
		return err
	}
	return fmt.Errorf("%w\n(the database URL came from %s: if that Postgres was stopped or deleted, run `make db` again in the "+
		"repository it belongs to, or set DATABASE_URL)", err, from)
}

// addJSONFlag gives a command that prints results a --json switch.
func (a *app) addJSONFlag(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&a.jsonOutput, "json", false, "print the result as JSON")
}

// printJSON writes v as indented JSON to stdout.
func (a *app) printJSON(v any) error {
	encoder := json.NewEncoder(a.stdout)
	encoder.SetIndent("", "  ")
	return encoder.Encode(v)
}

// terminal reports whether stderr is a terminal (progress bars go there).
func (a *app) terminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress reports a long step on stderr (package progress: nothing for a
// step under 2 s, a status line redrawn on a terminal, a plain line every
// 5 s in a log or a pipe). unit names what update counts ("" for a step
// without a count).
func (a *app) progress(what, unit string) (update func(int64), done func()) {
	meter := progress.Start(a.stderr, a.terminal(), what, unit, 0)
	return meter.Update, meter.Done
}

func (a *app) versionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print payrun's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.jsonOutput {
				return a.printJSON(map[string]string{"version": version})
			}
			fmt.Fprintln(a.stdout, "payrun "+version)
			return nil
		},
	}
	a.addJSONFlag(cmd)
	return cmd
}
