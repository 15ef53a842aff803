// Command payrun is payrun's one binary: the worker, the operator CLI and the
// simulator. Commands are named after what they act on (SPEC §12). This file
// and its siblings wire configuration, the database and the packages that do
// the work; no business rule lives here.
//
// Exit codes: 0 success, 1 failure, 2 usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/payrun/payrun/internal/fielderr"
)

func main() {
	ownerOnly()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(profiled(func() int { return run(ctx, os.Args[1:]) }))
}

// profiled runs f under a CPU profile written to $PAYRUN_CPU_PROFILE, when
// set (for engineers measuring a command: go tool pprof bin/payrun FILE).
func profiled(f func() int) int {
	path := os.Getenv("PAYRUN_CPU_PROFILE")
	if path == "" {
		return f()
	}
	file, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "payrun: PAYRUN_CPU_PROFILE:", err)
		return 1
	}
	defer file.Close()
	if err := pprof.StartCPUProfile(file); err != nil {
		fmt.Fprintln(os.Stderr, "payrun: PAYRUN_CPU_PROFILE:", err)
		return 1
	}
	defer pprof.StopCPUProfile()
	return f()
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string) int {
	app := newApp()
	root := app.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	printError(os.Stderr, err)
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintln(os.Stderr, "run 'payrun --help' or 'payrun COMMAND --help' for usage")
		return 2
	}
	return 1
}

// printError is the one place a failed command's error is printed:
// "payrun: " and the error on one line. An input refused with several field
// errors (a validator's *fielderr.List, such as a payout account or tax
// form) is printed one field per line, "path: message", below a line naming
// the input and the number of problems:
//
//	payrun: payout account: 2 problems
//	  iban: IBAN: check digits fail (mod-97 = 5, want 1)
//	  bic: BIC: missing
//
// A field error inside a location wrapper (a file's line) is printed as the
// wrapper says it, on one line, so the location is never lost.
func printError(w io.Writer, err error) {
	text := err.Error()
	var list *fielderr.List
	if errors.As(err, &list) && len(list.Fields) > 1 && strings.HasSuffix(text, list.Error()) {
		// Only context was put before the list ("seller S: "): keep it.
		before := strings.TrimSuffix(text, list.Error())
		subject := list.Subject
		if subject == "" {
			subject = "invalid input"
		}
		fmt.Fprintf(w, "payrun: %s%s: %d problems\n", before, subject, len(list.Fields))
		for _, field := range fielderr.All(list) {
			fmt.Fprintln(w, "  "+field.Error())
		}
		return
	}
	fmt.Fprintln(w, "payrun: "+text)
}

// usageError marks a mistake in the command line itself (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}
