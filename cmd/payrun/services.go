package main

import (
	"fmt"
	"os"
	"os/user"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax/taxstore"
)

// services are the stores a command works with, on one database.
type services struct {
	db     *sqlx.DB
	sealer *secret.Sealer
	cycles *store.Store
	taxes  *taxstore.Store
}

// open connects and builds the stores. The data key is required unless in
// development mode, which says so loudly.
func (a *app) open(cmd *cobra.Command) (*services, error) {
	sealer, err := secret.FromConfig(a.config.DataKey, a.config.Dev)
	if err != nil {
		return nil, err
	}
	if sealer.Dev {
		fmt.Fprintln(a.stderr, secret.DevKeyBanner)
	}
	database, err := a.openDB(cmd)
	if err != nil {
		return nil, err
	}
	return &services{
		db:     database,
		sealer: sealer,
		cycles: &store.Store{DB: database, Sealer: sealer, Clock: a.now},
		taxes:  &taxstore.Store{DB: database, Sealer: sealer},
	}, nil
}

func (s *services) close() { s.db.Close() }

// account finds an account by seller id.
func (s *services) account(cmd *cobra.Command, sellerID string) (ledger.Account, error) {
	if sellerID == "" {
		return ledger.Account{}, usagef("--seller is required")
	}
	return ledger.AccountBySellerID(cmd.Context(), s.db, sellerID)
}

// withServices opens the services for one command and closes them after.
func (a *app) withServices(cmd *cobra.Command, fn func(s *services) error) error {
	s, err := a.open(cmd)
	if err != nil {
		return err
	}
	defer s.close()
	return fn(s)
}

// withAccount is withServices for a command about one publisher (--seller).
func (a *app) withAccount(cmd *cobra.Command, sellerID string, fn func(s *services, account ledger.Account) error) error {
	return a.withServices(cmd, func(s *services) error {
		account, err := s.account(cmd, sellerID)
		if err != nil {
			return err
		}
		return fn(s, account)
	})
}

// actorFlag adds --by, the name recorded as the author of a change.
func actorFlag(cmd *cobra.Command, actor *string) {
	name := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = "cli:" + u.Username
	}
	cmd.Flags().StringVar(actor, "by", name, "who makes the change (recorded in the history)")
}

// readJSONFile opens a JSON input file ("-" for standard input).
func readJSONFile(path string) (*os.File, error) {
	if path == "" {
		return nil, usagef("--file is required")
	}
	if path == "-" {
		return os.Stdin, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("input file: %w", err)
	}
	return file, nil
}
