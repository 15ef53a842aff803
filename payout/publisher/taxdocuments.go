package publisher

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/tax/yearend"
)

// TaxYear is a publisher's own year-end tax data for one tax year: the
// rows the year-end files hold for it (package tax/yearend: the same
// streams, scoped to the account), TINs masked.
type TaxYear struct {
	Year int `json:"year"`
	// Form1042S has a row per rate of the W-8 payouts of the year.
	Form1042S []Form1042S `json:"form_1042s"`
	// Form1099 is the W-9 payouts' data, when there were any.
	Form1099 *Form1099 `json:"form_1099,omitempty"`
}

// Form1042S is one 1042-S row: gross US-sourced income at one rate.
type Form1042S struct {
	RecipientName    string `json:"recipient_name"`
	Country          string `json:"country"`
	EntityType       string `json:"entity_type"`
	MaskedUSTIN      string `json:"us_tin,omitempty"`
	MaskedForeignTIN string `json:"foreign_tin,omitempty"`
	IncomeCode       string `json:"income_code"`
	Gross            string `json:"gross"`
	Rate             string `json:"rate"`
	Withheld         string `json:"withheld"`
	Reason           string `json:"reason"`
}

// Form1099 is the 1099 data: which form the thresholds give (1099-K,
// 1099-MISC, or none), gross, backup withholding and the sales counted.
type Form1099 struct {
	Form          string `json:"form"`
	RecipientName string `json:"recipient_name"`
	MaskedTIN     string `json:"tin"`
	Gross         string `json:"gross"`
	Withheld      string `json:"withheld"`
	Transactions  int    `json:"transactions"`
}

// TaxDocuments lists accountID's year-end data, newest year first: every
// year with a payment (a released or settled cycle's paid payout) dated in
// it, up to the current year (an unfinished year's figures are so far).
// Service.Thresholds choose the 1099 form (zero: the year-end defaults,
// yearend.DefaultThresholds).
// Errors: ErrUnknownAccount.
func (s *Service) TaxDocuments(ctx context.Context, accountID int64) ([]TaxYear, error) {
	thresholds := s.Thresholds
	if thresholds == (reports.Thresholds1099{}) {
		thresholds = yearend.DefaultThresholds()
	}
	if err := s.checkAccount(ctx, accountID); err != nil {
		return nil, err
	}
	years := []TaxYear{}
	err := db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `
				SELECT DISTINCT extract(year FROM c.payment_date)::int AS year
				FROM payouts p JOIN cycles c ON c.month = p.month
				WHERE p.account_id = $1 AND p.status = 'paid' AND c.state IN ($3, $4) AND c.payment_date < $2
				ORDER BY year DESC`, accountID, time.Date(s.now().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC), store.StateReleased, store.StateSettled)
			if err != nil {
				return err
			}
			list, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err != nil {
				return err
			}
			for _, year := range list {
				t := TaxYear{Year: year, Form1042S: []Form1042S{}}
				if err := yearend.Stream1042SOf(ctx, tx, year, accountID, func(r reports.Form1042SRow) error {
					t.Form1042S = append(t.Form1042S, Form1042S{RecipientName: r.RecipientName, Country: r.Country, EntityType: r.EntityType,
						MaskedUSTIN: r.MaskedUSTIN, MaskedForeignTIN: r.MaskedForeignTIN, IncomeCode: r.IncomeCode,
						Gross: r.Gross.StringFixed(2), Rate: r.Rate.StringFixed(4), Withheld: r.Withheld.StringFixed(2), Reason: r.Reason})
					return nil
				}); err != nil {
					return err
				}
				if err := yearend.Stream1099Of(ctx, tx, year, accountID, func(r reports.Form1099Row) error {
					t.Form1099 = &Form1099{Form: reports.Form1099Kind(thresholds, r), RecipientName: r.RecipientName, MaskedTIN: r.MaskedTIN,
						Gross: r.Gross.StringFixed(2), Withheld: r.Withheld.StringFixed(2), Transactions: r.Transactions}
					return nil
				}); err != nil {
					return err
				}
				years = append(years, t)
			}
			return nil
		})
	})
	return years, err
}
