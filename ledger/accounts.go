package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/country"
	"github.com/payrun/payrun/internal/csvlimit"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/internal/textcheck"
)

// AccountType is "company" or "individual" (SPEC §7.1).
type AccountType string

// Account types.
const (
	Company    AccountType = "company"
	Individual AccountType = "individual"
)

// Account is a publisher account as the ledger knows it.
type Account struct {
	ID                  int64       `db:"id" json:"-"`
	SellerID            string      `db:"seller_id" json:"seller_id"`
	PublisherID         string      `db:"publisher_id" json:"publisher_id"`
	Type                AccountType `db:"account_type" json:"account_type"`
	RegistrationCountry string      `db:"registration_country" json:"registration_country"`
	DisplayName         string      `db:"display_name" json:"display_name"`
	CreatedAt           time.Time   `db:"created_at" json:"created_at"`
}

// NewAccount is what creating an account needs. SellerID is empty when
// payrun assigns it (SPEC §7.2); bulk loads of existing publishers give it.
type NewAccount struct {
	SellerID            string
	Type                AccountType
	RegistrationCountry string
	DisplayName         string
}

// MaxAccountsPerImport bounds one accounts file (1M publishers is the scale
// target of the benchmarks; ten times that is a mistake, not a marketplace).
const MaxAccountsPerImport = 10_000_000

var sellerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Validate checks an account's fields and returns the first problem, by
// the field's CSV column and JSON name. Errors: *fielderr.Error.
func (a NewAccount) Validate() error {
	if a.SellerID != "" && !sellerIDPattern.MatchString(a.SellerID) {
		return fielderr.New("seller_id", fielderr.Invalid, "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit")
	}
	if a.Type != Company && a.Type != Individual {
		return fielderr.Newf("account_type", fielderr.Invalid, "%q is not company or individual", a.Type)
	}
	if !country.Valid(a.RegistrationCountry) {
		return fielderr.Newf("registration_country", fielderr.Country, "%q is not an ISO 3166-1 alpha-2 code", a.RegistrationCountry)
	}
	if textcheck.Length(a.DisplayName) > 200 {
		return fielderr.New("display_name", fielderr.TooLong, "longer than 200 characters")
	}
	if problem := textcheck.Problem(a.DisplayName); problem != "" {
		return fielderr.New("display_name", fielderr.Character, problem)
	}
	return nil
}

// publisherID derives the immutable publisher id from the seller id, so the
// same seller gets the same publisher id in every deterministic run.
func publisherID(sellerID string) string {
	sum := sha256.Sum256([]byte("publisher:" + sellerID))
	return "pub_" + hex.EncodeToString(sum[:10])
}

// ErrAccountExists is returned when a seller id is already taken.
var ErrAccountExists = errors.New("seller id already exists")

// CreateAccount creates one account and assigns its seller id when none is
// given. Errors: *fielderr.Error, ErrAccountExists.
func CreateAccount(ctx context.Context, database *sqlx.DB, account NewAccount, now time.Time) (Account, error) {
	if err := account.Validate(); err != nil {
		return Account{}, err
	}
	var created Account
	err := db.WithTx(ctx, database, func(tx *sqlx.Tx) error {
		sellerID := account.SellerID
		if sellerID == "" {
			var next int64
			if err := tx.GetContext(ctx, &next, `SELECT nextval('seller_ids')`); err != nil {
				return err
			}
			sellerID = fmt.Sprintf("S%09d", next)
		}
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM accounts WHERE seller_id = $1)`, sellerID); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("%w: %s", ErrAccountExists, sellerID)
		}
		return tx.GetContext(ctx, &created, `
			INSERT INTO accounts (seller_id, publisher_id, account_type, registration_country, display_name, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING id, seller_id, publisher_id, account_type, registration_country, display_name, created_at`,
			sellerID, publisherID(sellerID), account.Type, account.RegistrationCountry, account.DisplayName, now.UTC())
	})
	return created, err
}

// AccountsHeader is the header of an accounts CSV file.
const AccountsHeader = "seller_id,account_type,registration_country,display_name"

// ImportAccounts loads an accounts CSV (AccountsHeader) in one transaction:
// every row is validated first and a file with any bad row loads nothing.
// Accounts that already exist with the same type and country are skipped;
// the same seller id with other details is a bad row. It returns how many
// were created and skipped. Errors: *ImportError.
func ImportAccounts(ctx context.Context, database *sqlx.DB, r io.Reader, now time.Time) (created, skipped int64, err error) {
	limit := csvlimit.NewReader(r, MaxRecordBytes)
	reader := csv.NewReader(limit)
	reader.FieldsPerRecord = 4
	header, err := reader.Read()
	if err != nil {
		return 0, 0, &ImportError{Rows: []RowError{{Line: 1, Reason: "no header row: want " + AccountsHeader}}}
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	if strings.Join(header, ",") != AccountsHeader {
		return 0, 0, &ImportError{Rows: []RowError{{Line: 1, Reason: "header must be " + AccountsHeader}}}
	}
	var rows [][]any
	var problems ImportError
	seen := map[string]int64{}
	for {
		record, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// FieldPos is only defined for a record that was read.
			err = limit.Cause(err)
			var parseErr *csv.ParseError
			var tooLong *csvlimit.RecordTooLongError
			switch {
			case errors.As(err, &parseErr):
				problems.add(RowError{Line: int64(parseErr.StartLine), Reason: err.Error()})
			case errors.As(err, &tooLong):
				column := ""
				if columns := strings.Split(AccountsHeader, ","); tooLong.Field < len(columns) {
					column = columns[tooLong.Field]
				}
				problems.add(RowError{Line: int64(tooLong.Line), Column: column, Reason: err.Error()})
			default:
				return 0, 0, fmt.Errorf("read: %w", err)
			}
			if !errors.Is(err, csv.ErrFieldCount) {
				break
			}
			continue
		}
		line, _ := reader.FieldPos(0)
		account := NewAccount{SellerID: record[0], Type: AccountType(record[1]), RegistrationCountry: record[2], DisplayName: record[3]}
		if account.SellerID == "" {
			problems.add(RowError{Line: int64(line), Column: "seller_id", Reason: "required"})
			continue
		}
		if err := account.Validate(); err != nil {
			var fieldErr *fielderr.Error
			errors.As(err, &fieldErr)
			problems.add(RowError{Line: int64(line), Column: fieldErr.Path, Reason: fieldErr.Message})
			continue
		}
		if first, dup := seen[account.SellerID]; dup {
			problems.add(RowError{Line: int64(line), Column: "seller_id", Reason: fmt.Sprintf("duplicate of line %d", first)})
			continue
		}
		seen[account.SellerID] = int64(line)
		if len(rows) >= MaxAccountsPerImport {
			problems.add(RowError{Line: int64(line), Reason: fmt.Sprintf("more than %d accounts in one file", MaxAccountsPerImport)})
			break
		}
		rows = append(rows, []any{int64(line), account.SellerID, publisherID(account.SellerID), string(account.Type), account.RegistrationCountry, account.DisplayName})
	}
	if len(problems.Rows) > 0 {
		return 0, 0, &problems
	}
	err = db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE staged_accounts (line bigint, seller_id text, publisher_id text, account_type text, registration_country text, display_name text) ON COMMIT DROP`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"staged_accounts"},
				[]string{"line", "seller_id", "publisher_id", "account_type", "registration_country", "display_name"}, pgx.CopyFromRows(rows)); err != nil {
				return err
			}
			conflicts, err := tx.Query(ctx, `
				SELECT s.line, a.account_type, a.registration_country FROM staged_accounts s
				JOIN accounts a USING (seller_id)
				WHERE (a.account_type, a.registration_country) <> (s.account_type, s.registration_country)
				ORDER BY s.line LIMIT $1`, MaxReportedErrors)
			if err != nil {
				return err
			}
			for conflicts.Next() {
				var line int64
				var accountType, registration string
				if err := conflicts.Scan(&line, &accountType, &registration); err != nil {
					return err
				}
				problems.add(RowError{Line: line, Column: "seller_id", Reason: fmt.Sprintf("already exists as a %s account registered in %s", accountType, registration)})
			}
			if err := conflicts.Err(); err != nil {
				return err
			}
			if len(problems.Rows) > 0 {
				return &problems
			}
			tag, err := tx.Exec(ctx, `
				INSERT INTO accounts (seller_id, publisher_id, account_type, registration_country, display_name, created_at)
				SELECT seller_id, publisher_id, account_type, registration_country, display_name, $1
				FROM staged_accounts ORDER BY line
				ON CONFLICT (seller_id) DO NOTHING`, now.UTC())
			if err != nil {
				return err
			}
			created = tag.RowsAffected()
			skipped = int64(len(rows)) - created
			return nil
		})
	})
	if err != nil {
		return 0, 0, err
	}
	return created, skipped, nil
}

// AccountBySellerID returns one account. Errors: ErrUnknownSeller.
func AccountBySellerID(ctx context.Context, database sqlx.QueryerContext, sellerID string) (Account, error) {
	var account Account
	err := sqlx.GetContext(ctx, database, &account, `
		SELECT id, seller_id, publisher_id, account_type, registration_country, display_name, created_at
		FROM accounts WHERE seller_id = $1`, sellerID)
	if err != nil {
		if errors.Is(err, sqlNoRows) {
			return Account{}, fmt.Errorf("%w: %s", ErrUnknownSeller, sellerID)
		}
		return Account{}, err
	}
	return account, nil
}

// CountAccounts is the number of publisher accounts.
func CountAccounts(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM accounts`)
	return n, err
}
